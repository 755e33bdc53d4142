// test/fuzz/corpus/: inputs worth replaying on every run. Each *.json file is one case: a note saying what it found
// or why it is there, and its steps, sent in order on one server. A step is either raw (path, headers, body as
// base64 chunks or a bodyFile of raw bytes beside it) or an RPC with its messages as protobuf JSON.
import { readdirSync, readFileSync } from "node:fs";
import type { JsonValue } from "@bufbuild/protobuf";
import type { CorpusStep } from "./fuzzer.js";

export interface CorpusCase {
  name: string;
  note: string;
  steps: CorpusStep[];
}

export const corpusDir = new URL("../corpus/", import.meta.url);

/**
 * Expands `{"$repeat": value, "times": n}` anywhere in a message's JSON into n copies of value, and
 * `{"$repeatText": "ab", "times": n}` into the text repeated n times, so a case that needs a huge field stays a small
 * file.
 */
export function expandRepeats(json: JsonValue): JsonValue {
  if (Array.isArray(json)) return json.map(expandRepeats);
  if (typeof json !== "object" || json === null) return json;
  const keys = Object.keys(json);
  if (keys.length === 2 && "$repeat" in json && typeof json.times === "number") {
    const value = expandRepeats(json.$repeat!);
    return Array.from({ length: json.times }, () => value);
  }
  if (keys.length === 2 && typeof json.$repeatText === "string" && typeof json.times === "number") return json.$repeatText.repeat(json.times);
  return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, expandRepeats(v)]));
}

/** Ways a step may give its raw body besides base64 chunks: a file beside it, or a text repeated. */
interface BodySources {
  bodyFile?: string;
  bodyRepeat?: { text: string; times: number };
}

interface CorpusFile {
  note: string;
  found?: string;
  steps?: (CorpusStep & BodySources)[];
}

export function loadCorpus(): CorpusCase[] {
  return readdirSync(corpusDir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((name) => {
      const file = JSON.parse(readFileSync(new URL(name, corpusDir), "utf8")) as CorpusFile & CorpusStep & BodySources;
      const steps = (file.steps ?? [file]).map((step): CorpusStep => {
        const { bodyFile, bodyRepeat, ...rest } = step;
        if (bodyFile !== undefined) return { ...rest, body: [readFileSync(new URL(bodyFile, corpusDir)).toString("base64")] };
        if (bodyRepeat !== undefined) return { ...rest, body: [Buffer.from(bodyRepeat.text.repeat(bodyRepeat.times)).toString("base64")] };
        return rest;
      });
      if (typeof file.note !== "string" || file.note === "") throw new Error(`${name}: every corpus case needs a note`);
      return { name, note: file.note, steps };
    });
}

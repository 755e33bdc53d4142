// A strict reader of the Prometheus text exposition format (version 0.0.4): it refuses any line that is not a
// HELP, TYPE, comment, blank or well-formed sample line, samples outside their family's group or without a TYPE,
// duplicate series, and histograms whose buckets, sum and count do not agree.

export type Labels = Record<string, string>;

export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string;
  samples: Sample[];
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// Values are read with Go's strconv.ParseFloat, which takes NaN and Inf(inity) in any case (prom-client writes "Nan").
const number = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity)$|^nan$/i;
const types = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseNumber(text: string): number {
  if (!number.test(text)) throw new Error(`"${text}" is not a number`);
  const lower = text.toLowerCase();
  if (lower === "nan") return NaN;
  if (lower.endsWith("inf") || lower.endsWith("infinity")) return lower.startsWith("-") ? -Infinity : Infinity;
  return Number(text);
}

/** Reads `{a="x",b="y"}` starting at `start` (the brace); returns the labels and the index after the closing brace. */
function parseLabels(line: string, start: number): { labels: Labels; end: number } {
  const labels: Labels = {};
  let i = start + 1;
  for (;;) {
    if (line[i] === "}") return { labels, end: i + 1 };
    const eq = line.indexOf("=", i);
    if (eq === -1) throw new Error("label without '='");
    const name = line.slice(i, eq);
    if (!labelName.test(name)) throw new Error(`bad label name "${name}"`);
    if (name in labels) throw new Error(`label "${name}" twice`);
    if (line[eq + 1] !== '"') throw new Error(`label "${name}" value is not quoted`);
    let value = "";
    let j = eq + 2;
    for (;; j++) {
      const c = line[j];
      if (c === undefined) throw new Error(`label "${name}" value is not closed`);
      if (c === '"') break;
      if (c === "\\") {
        const next = line[++j];
        if (next === "\\") value += "\\";
        else if (next === '"') value += '"';
        else if (next === "n") value += "\n";
        else throw new Error(`bad escape "\\${next ?? ""}" in label "${name}"`);
      } else value += c;
    }
    labels[name] = value;
    i = j + 1;
    if (line[i] === ",") i += 1;
    else if (line[i] !== "}") throw new Error(`expected ',' or '}' after label "${name}"`);
  }
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    throw new Error(`bad escape "\\${c}" in HELP`);
  });
}

/** The family a sample name belongs to, given the family whose group is open. */
function sampleBelongs(family: Family, sample: Sample): boolean {
  const { name, type } = family;
  if (type === "histogram") {
    if (sample.name === `${name}_bucket`) return "le" in sample.labels;
    return (sample.name === `${name}_sum` || sample.name === `${name}_count`) && !("le" in sample.labels);
  }
  if (type === "summary") {
    if (sample.name === name) return "quantile" in sample.labels;
    return (sample.name === `${name}_sum` || sample.name === `${name}_count`) && !("quantile" in sample.labels);
  }
  return sample.name === name;
}

function seriesKey(name: string, labels: Labels): string {
  return `${name}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(",")}}`;
}

function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = seriesKey("", rest);
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (s.name.endsWith("_bucket")) group.buckets.push([parseNumber(le!), s.value]);
    else if (s.name.endsWith("_sum")) group.sum = s.value;
    else group.count = s.value;
  }
  for (const [key, g] of groups) {
    const where = `${family.name}${key}`;
    if (g.sum === undefined || g.count === undefined) throw new Error(`${where}: histogram without _sum or _count`);
    if (g.buckets.length === 0) throw new Error(`${where}: histogram without buckets`);
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i]![0] > g.buckets[i - 1]![0])) throw new Error(`${where}: bucket bounds not increasing`);
      if (g.buckets[i]![1] < g.buckets[i - 1]![1]) throw new Error(`${where}: bucket counts not cumulative`);
    }
    const last = g.buckets[g.buckets.length - 1]!;
    if (last[0] !== Infinity) throw new Error(`${where}: no le="+Inf" bucket`);
    if (last[1] !== g.count) throw new Error(`${where}: +Inf bucket ${last[1]} != _count ${g.count}`);
    if (g.count > 0 && !(g.sum >= 0)) throw new Error(`${where}: negative or NaN _sum of durations`);
  }
}

/** Parses and validates an exposition; throws naming the first offending line. */
export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const series = new Set<string>();
  let open: Family | undefined;
  const enter = (name: string): Family => {
    if (open?.name === name) return open;
    if (open !== undefined) closed.add(open.name);
    if (closed.has(name)) throw new Error(`lines of ${name} are not grouped together`);
    const family: Family = { name, type: "untyped", help: "", samples: [] };
    families.set(name, family);
    open = family;
    return family;
  };
  const typed = new Set<string>();
  const helped = new Set<string>();

  text
    .slice(0, -1)
    .split("\n")
    .forEach((line, index) => {
      try {
        if (line === "") return;
        if (line.startsWith("#")) {
          const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
          if (meta === null) {
            if (/^#\s*(HELP|TYPE)\b/.test(line)) throw new Error("malformed HELP or TYPE");
            return; // any other comment
          }
          const [, keyword, name, rest = ""] = meta;
          if (!metricName.test(name!)) throw new Error(`bad metric name "${name}"`);
          const family = enter(name!);
          if (family.samples.length > 0) throw new Error(`${keyword} after samples of ${name}`);
          if (keyword === "TYPE") {
            if (typed.has(name!)) throw new Error(`second TYPE for ${name}`);
            if (!types.has(rest)) throw new Error(`unknown type "${rest}"`);
            typed.add(name!);
            family.type = rest as Family["type"];
          } else {
            if (helped.has(name!)) throw new Error(`second HELP for ${name}`);
            helped.add(name!);
            family.help = unescapeHelp(rest);
          }
          return;
        }
        const nameEnd = line.search(/[{ ]/);
        if (nameEnd <= 0) throw new Error("not a sample line");
        const name = line.slice(0, nameEnd);
        if (!metricName.test(name)) throw new Error(`bad metric name "${name}"`);
        let labels: Labels = {};
        let at = nameEnd;
        if (line[at] === "{") ({ labels, end: at } = parseLabels(line, at));
        if (line[at] !== " ") throw new Error("expected a space before the value");
        const fields = line.slice(at + 1).split(" ");
        if (fields.length > 2 || fields[0] === "") throw new Error("expected a value and at most a timestamp");
        const value = parseNumber(fields[0]!);
        if (fields.length === 2 && !/^-?\d+$/.test(fields[1]!)) throw new Error(`bad timestamp "${fields[1]}"`);
        const sample: Sample = { name, labels, value };
        if (open === undefined || !typed.has(open.name)) throw new Error(`sample ${name} without a TYPE line before it`);
        if (!sampleBelongs(open, sample)) throw new Error(`sample ${name} is not part of ${open.type} ${open.name}`);
        if (open.type === "counter" && !(value >= 0 && Number.isFinite(value))) throw new Error(`counter ${name} is ${value}`);
        const key = seriesKey(name, labels);
        if (series.has(key)) throw new Error(`duplicate series ${key}`);
        series.add(key);
        open.samples.push(sample);
      } catch (err) {
        throw new Error(`line ${index + 1}: ${(err as Error).message}: ${line}`);
      }
    });
  for (const family of families.values()) {
    if (!typed.has(family.name) || !helped.has(family.name)) throw new Error(`${family.name} lacks HELP or TYPE`);
    if (family.type === "histogram") checkHistogram(family);
  }
  return families;
}

/** Query helpers over a parsed exposition. */
export class Scrape {
  constructor(readonly families: Map<string, Family>) {}

  static parse(text: string): Scrape {
    return new Scrape(parseExposition(text));
  }

  family(name: string): Family {
    const family = this.families.get(name);
    if (family === undefined) throw new Error(`no metric family ${name}`);
    return family;
  }

  /** Samples named `sample` whose labels include `match`. */
  samples(sample: string, match: Labels = {}): Sample[] {
    const out: Sample[] = [];
    for (const family of this.families.values()) {
      for (const s of family.samples) {
        if (s.name === sample && Object.entries(match).every(([k, v]) => s.labels[k] === v)) out.push(s);
      }
    }
    return out;
  }

  /** The value of the one series with exactly these labels; 0 when absent (a counter not yet incremented). */
  value(sample: string, labels: Labels): number {
    const key = seriesKey(sample, labels);
    const found = this.samples(sample, labels).filter((s) => seriesKey(s.name, s.labels) === key);
    return found[0]?.value ?? 0;
  }

  /** The sum over every series named `sample` whose labels include `match`. */
  sum(sample: string, match: Labels = {}): number {
    return this.samples(sample, match).reduce((total, s) => total + s.value, 0);
  }
}

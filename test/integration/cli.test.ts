// The `sightline` CLI as people run it: the built JavaScript as a child process, against a real server (and worker)
// process over a real socket, with its own config directory. Uploads are read back through ReadRecords; progress is
// checked on a pseudo-terminal (util-linux `script`) and through a pipe; memory through /proc of the CLI process.
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { batchRows, createSightlineClient, SplitType, type RowObject, type SightlineClient } from "../../clients/ts/src/index.js";
import { isolation, startServerProcess, startWorkerProcess, type ChildHandle, type ServerHandle } from "../harness/processes.js";
import { wideSchemaYaml, writeWideCsv } from "../harness/wide-csv.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "dist/clients/ts/src/cli/main.js");
const python = join(root, ".venv-clients/bin/python");

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Peak resident set (VmHWM) of the CLI process in KiB, when sampled. */
  peakKiB: number;
  seconds: number;
}

let work: string;
/** Environment every CLI run starts from: nothing of the test runner's own, so no stray SIGHTLINE_* or NO_COLOR. */
let baseEnv: Record<string, string>;

function runCli(args: string[], env: Record<string, string> = {}, sampleRss = false): Promise<CliResult> {
  const started = Date.now();
  const child = spawn(process.execPath, [cli, ...args], { env: { ...baseEnv, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  let peakKiB = 0;
  // VmHWM is the process's own high-water mark, so sampling can only miss growth in the last interval before exit.
  const sampler = sampleRss
    ? setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
          if (m !== null) peakKiB = Math.max(peakKiB, Number(m[1]));
        } catch {
          // The process has just exited.
        }
      }, 20)
    : undefined;
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      clearInterval(sampler);
      resolve({ code, stdout, stderr, peakKiB, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** Runs the CLI on a pseudo-terminal through util-linux `script`; stdout and stderr arrive together. */
async function runCliOnTty(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, cli, ...args].map(quote).join(" ");
  const child = spawn("script", ["-qefc", command, "/dev/null"], { env: { ...baseEnv, TERM: "xterm", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  return { code, output };
}

function json<T>(result: CliResult): T {
  if (result.code !== 0 && result.code !== 2) throw new Error(`the CLI failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

// ---------------------------------------------------------------------------------------------------------------------
// One row of every field type, written as CSV (in several spellings per type) and as Parquet (typed columns)

const t0 = Date.UTC(2024, 0, 1);
const levels = ["low", "mid", "high"];
const big = 2n ** 62n + 12_345n; // beyond 2^53: must survive CSV text and Parquet INT64 exactly

interface Row {
  id: string;
  eventTime: number;
  amount: number | null;
  count: bigint | null;
  name: string | null;
  flag: boolean;
  level: string;
  seenAt: number | null;
  label: boolean | null;
  note: string | null;
  score: number;
}

function makeRow(prefix: string, i: number): Row {
  return {
    id: `${prefix}-${i}`,
    eventTime: t0 + i * 1_800_000 + (i % 3) * 7,
    amount: i % 7 === 3 ? null : ((i - 10) * 1234.5678) / 7,
    count: i % 5 === 2 ? null : i === 0 ? big : BigInt(i * 1_000_003),
    name: i % 6 === 1 ? null : `name ${i}, "quoted" ünï 🙂${i % 4 === 0 ? "\nsecond line" : ""}`,
    flag: i % 2 === 0,
    level: levels[i % 3]!,
    seenAt: i % 8 === 5 ? null : t0 - i * 90_000 + 123,
    label: i % 3 === 0 ? null : i % 2 === 1,
    note: i % 4 === 1 ? null : `note-${i}`,
    score: (i % 10) / 10 + 0.05,
  };
}

const schemaYaml = `# every field type; the names include a dot and a dollar sign
record_id_column: id
timestamp_column: event_time
fields:
  - name: amount.usd$
    kind: feature
    type: double
    nullable: true
  - name: count
    type: int64
    nullable: true
    range: { min: 0 }
  - name: name
    type: string
    nullable: true
  - name: flag
    type: bool
  - name: level
    type: categorical
    categories: [low, mid, high]
  - name: seen_at
    type: timestamp
    nullable: true
  - name: label
    kind: label
    type: bool
    nullable: true
  - name: note
    kind: extra
    type: string
    nullable: true
`;
const csvHeader = "id,event_time,amount.usd$,count,name,flag,level,seen_at,label,note,score";

/** The time spellings the CLI accepts: ISO with Z, zoneless (UTC), an offset, and Unix milliseconds. */
function timeText(ms: number, style: number): string {
  const iso = new Date(ms).toISOString();
  switch (style % 4) {
    case 0:
      return iso;
    case 1:
      return iso.replace("T", " ").replace("Z", "");
    case 2:
      return `${new Date(ms + 2 * 3_600_000).toISOString().replace("Z", "")}+02:00`;
    default:
      return String(ms);
  }
}

const boolSpellings: [string, string][] = [
  ["true", "false"],
  ["yes", "no"],
  ["1", "0"],
  ["TRUE", "False"],
];

function csvLine(r: Row, i: number): string {
  const quoted = (s: string | null) => (s === null ? "" : `"${s.replace(/"/g, '""')}"`);
  const bool = (b: boolean | null, style: number) => (b === null ? "" : boolSpellings[style % 4]![b ? 0 : 1]);
  return [
    r.id,
    timeText(r.eventTime, i),
    r.amount === null ? "" : String(r.amount),
    r.count === null ? "" : String(r.count),
    quoted(r.name),
    bool(r.flag, i),
    r.level,
    r.seenAt === null ? "" : timeText(r.seenAt, i + 1),
    bool(r.label, i + 2),
    quoted(r.note),
    String(r.score),
  ].join(",");
}

async function writeCsv(path: string, rows: Row[]): Promise<void> {
  await writeFile(path, `${csvHeader}\n${rows.map(csvLine).join("\n")}\n`);
}

const parquetWriter = `
import json, sys
import pyarrow as pa, pyarrow.parquet as pq
rows = json.load(open(sys.argv[1]))
col = lambda k: [r[k] for r in rows]
table = pa.table({
    "id": pa.array(col("id"), pa.string()),
    "event_time": pa.array(col("eventTime"), pa.timestamp("ms", tz="UTC")),
    "amount.usd$": pa.array(col("amount"), pa.float64()),
    "count": pa.array([None if v is None else int(v) for v in col("count")], pa.int64()),
    "name": pa.array(col("name"), pa.large_string()),
    "flag": pa.array(col("flag"), pa.bool_()),
    "level": pa.array(col("level"), pa.string()).dictionary_encode(),
    "seen_at": pa.array([None if v is None else v * 1000 for v in col("seenAt")], pa.timestamp("us", tz="UTC")),
    "label": pa.array(col("label"), pa.bool_()),
    "note": pa.array(col("note"), pa.string()),
    "score": pa.array(col("score"), pa.float64()),
})
pq.write_table(table, sys.argv[2], row_group_size=16)
`;

async function writeParquet(path: string, rows: Row[]): Promise<void> {
  const spec = join(work, "parquet-rows.json");
  await writeFile(spec, JSON.stringify(rows, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
  await promisify(execFile)(python, ["-c", parquetWriter, spec, path]);
}

function expectedRecord(r: Row): Pick<RowObject, "recordId" | "eventTime" | "columns" | "predictions"> {
  return {
    recordId: r.id,
    eventTime: new Date(r.eventTime),
    columns: {
      "amount.usd$": r.amount,
      count: r.count,
      name: r.name,
      flag: r.flag,
      level: r.level,
      seen_at: r.seenAt === null ? null : BigInt(r.seenAt),
      label: r.label,
      note: r.note,
    },
    predictions: { score: r.score },
  };
}

// ---------------------------------------------------------------------------------------------------------------------

const PROJECT = "cli";
const COLLECTION = "events";
const iso = isolation("cli");
let server: ServerHandle;
let worker: ChildHandle;
let admin: SightlineClient;
let projectKey: string;
/** Runs the CLI with the project key, as a user who logged in with it would. */
const sl = (args: string[], env: Record<string, string> = {}, sampleRss = false) => runCli(args, { SIGHTLINE_API_KEY: projectKey, ...env }, sampleRss);

async function readBack(target: { split: string } | { production: true }, recordIds: string[]): Promise<Map<string, RowObject>> {
  const destination = "split" in target ? { case: "split" as const, value: target.split } : { case: "production" as const, value: true };
  const rows = new Map<string, RowObject>();
  const request = { target: { project: PROJECT, collection: COLLECTION, destination, model: "split" in target ? "" : "m" }, recordIds };
  for await (const batch of admin.readRecords(request)) for (const row of batchRows(batch)) rows.set(row.recordId, row);
  return rows;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "sightline-cli-"));
  [server, worker] = await Promise.all([startServerProcess(iso), startWorkerProcess(iso)]);
  admin = createSightlineClient({ url: server.url, apiKey: iso.adminKey });
  baseEnv = { PATH: process.env.PATH ?? "", HOME: join(work, "home"), XDG_CONFIG_HOME: join(work, "config"), SIGHTLINE_URL: server.url };
  const asAdmin = { SIGHTLINE_API_KEY: iso.adminKey };
  expect((await runCli(["projects", "create", PROJECT, "--display-name", "CLI tests"], asAdmin)).code).toBe(0);
  const key = json<{ secret: string }>(await runCli(["--project", PROJECT, "keys", "create", "--display-name", "cli", "--json"], asAdmin));
  projectKey = key.secret;
  await writeFile(join(work, "schema.yaml"), schemaYaml);
  // With a project key the project is found without --project.
  expect((await sl(["collections", "create", COLLECTION, "--schema", join(work, "schema.yaml")])).code).toBe(0);
  expect((await sl(["splits", "create", "train", "-c", COLLECTION, "--baseline"])).code).toBe(0);
  const model = await sl(["models", "create", "m", "-c", COLLECTION, "--score-type", "probits", "--prediction", "score", "--label-field", "label", "--class-labels", "no,yes"]);
  expect(model.code, model.stderr).toBe(0);
});

afterAll(async () => {
  await Promise.all([server?.stop(), worker?.stop()]);
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe("help", () => {
  it.each([
    "",
    "login",
    "projects",
    "projects create",
    "keys",
    "keys create",
    "collections",
    "collections create",
    "collections infer",
    "splits",
    "splits create",
    "models",
    "models create",
    "upload",
    "stats",
    "monitor",
    "jobs",
    "jobs watch",
  ].map((path) => ({ path, command: `sightline ${path === "" ? "" : `${path} `}--help` })))("`$command` prints its usage", async ({ path }) => {
    const r = await runCli([...(path === "" ? [] : path.split(" ")), "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: sightline${path === "" ? "" : ` ${path}`} [options]`);
  });
});

describe("login and configuration", () => {
  it("stores the URL and key 0600 under XDG_CONFIG_HOME, and later commands use them", async () => {
    const config = join(work, "login-xdg");
    const env = { XDG_CONFIG_HOME: config, SIGHTLINE_URL: "" };
    const login = await runCli(["login", "--url", server.url, "--key", projectKey], env);
    expect(login.code, login.stderr).toBe(0);
    const file = join(config, "sightline", "config.json");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(config, "sightline"))).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({ url: server.url, key: projectKey });
    const list = json<{ name: string }[]>(await runCli(["collections", "list", "--json"], env));
    expect(list.map((c) => c.name)).toEqual([COLLECTION]);
  });

  it("falls back to ~/.config without XDG_CONFIG_HOME, and refuses to store a key the server rejects", async () => {
    const home = join(work, "home-fallback");
    await mkdir(home);
    const env = { HOME: home, XDG_CONFIG_HOME: "", SIGHTLINE_URL: "" };
    const bad = await runCli(["login", "--url", server.url, "--key", "slk_nope.nope"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("Unauthenticated");
    await expect(stat(join(home, ".config", "sightline", "config.json"))).rejects.toThrow(/ENOENT/);
    expect((await runCli(["login", "--url", server.url, "--key", projectKey], env)).code).toBe(0);
    expect((await stat(join(home, ".config", "sightline", "config.json"))).mode & 0o777).toBe(0o600);
  });

  it("lets SIGHTLINE_URL and SIGHTLINE_API_KEY override the stored values", async () => {
    const config = join(work, "login-override");
    const env = { XDG_CONFIG_HOME: config, SIGHTLINE_URL: "" };
    // A stored server that is not there, and the admin key stored: the environment must win over both.
    expect((await runCli(["login", "--url", "http://127.0.0.1:9", "--key", iso.adminKey, "--no-verify"], env)).code).toBe(0);
    const stored = await runCli(["projects", "list", "--json"], env);
    expect(stored.code).toBe(1);
    expect(stored.stderr).toContain("Unavailable");
    const overridden = await runCli(["projects", "list", "--json"], { ...env, SIGHTLINE_URL: server.url, SIGHTLINE_API_KEY: projectKey });
    // A project key sees only its own project; the admin key would have listed it too, so check the key was used.
    expect(json<{ name: string }[]>(overridden).map((p) => p.name)).toEqual([PROJECT]);
    const adminOnly = await runCli(["keys", "list"], { ...env, SIGHTLINE_URL: server.url, SIGHTLINE_API_KEY: projectKey, SIGHTLINE_PROJECT: PROJECT });
    expect(adminOnly.code).toBe(1);
    expect(adminOnly.stderr).toContain("PermissionDenied");
  });
});

describe("catalog", () => {
  it("prints a created collection's schema back in the documented format", async () => {
    const r = await sl(["collections", "get", COLLECTION, "--schema"]);
    expect(r.code).toBe(0);
    const printed = parseYaml(r.stdout) as { record_id_column: string; timestamp_column: string; fields: { name: string; kind: string; type: string; nullable: boolean }[] };
    expect(printed.record_id_column).toBe("id");
    expect(printed.timestamp_column).toBe("event_time");
    expect(printed.fields.map((f) => [f.name, f.kind, f.type, f.nullable])).toEqual([
      ["amount.usd$", "feature", "double", true],
      ["count", "feature", "int64", true],
      ["name", "feature", "string", true],
      ["flag", "feature", "bool", false],
      ["level", "feature", "categorical", false],
      ["seen_at", "feature", "timestamp", true],
      ["label", "label", "bool", true],
      ["note", "extra", "string", true],
    ]);
    const table = await sl(["collections", "get", COLLECTION]);
    expect(table.stdout).toMatch(/^level\s+feature\s+categorical\s+no\s+low, mid, high$/m);
    expect(table.stdout).toMatch(/^count\s+feature\s+int64\s+yes\s+\[0, \+inf\]$/m);
  });

  it("creates from a JSON schema, refuses a misspelt one, and deletes only with --yes", async () => {
    const schema = { record_id_column: "id", fields: [{ name: "x", kind: "feature", type: "double" }] };
    await writeFile(join(work, "schema.json"), JSON.stringify(schema));
    expect((await sl(["collections", "create", "scratch", "--schema", join(work, "schema.json")])).code).toBe(0);
    await writeFile(join(work, "typo.yaml"), "record_id_column: id\nfields:\n  - {name: x, tpye: double}\n");
    const typo = await sl(["collections", "create", "typo", "--schema", join(work, "typo.yaml")]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('fields[0]: unknown key "tpye"');
    expect((await sl(["collections", "delete", "scratch"])).code).toBe(1);
    expect((await sl(["collections", "delete", "scratch", "--yes"])).code).toBe(0);
    expect(json<{ name: string }[]>(await sl(["collections", "list", "--json"])).map((c) => c.name)).toEqual([COLLECTION]);
  });

  it("creates, lists, seals and reads splits and models", async () => {
    expect((await sl(["splits", "create", "holdout", "-c", COLLECTION, "--type", "out-of-time"])).code).toBe(0);
    const sealed = json<{ name: string; sealed: boolean; type: string }>(await sl(["splits", "seal", "holdout", "-c", COLLECTION, "--json"]));
    expect(sealed).toMatchObject({ name: "holdout", sealed: true, type: "SPLIT_TYPE_OUT_OF_TIME" });
    const splits = json<{ name: string; baseline?: boolean }[]>(await sl(["splits", "list", "-c", COLLECTION, "--json"]));
    expect(splits.map((s) => [s.name, s.baseline === true]).sort()).toEqual([
      ["holdout", false],
      ["train", true],
    ]);
    const model = json<{ scoreType: string; predictionFields: { name: string; type: string }[]; labelField: string; classLabels: string[] }>(
      await sl(["models", "get", "m", "-c", COLLECTION, "--json"]),
    );
    expect(model).toMatchObject({ scoreType: "SCORE_TYPE_PROBITS", labelField: "label", classLabels: ["no", "yes"], predictionFields: [{ name: "score", type: "FIELD_TYPE_DOUBLE" }] });
    const bad = await sl(["models", "create", "x", "-c", COLLECTION, "--score-type", "probability", "--prediction", "s"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--score-type must be one of probits, logits, regression, classification");
  });
});

describe("collections infer", () => {
  it("proposes types, kinds, nullability and categories from a CSV, and the proposal creates a collection", async () => {
    const lines = ["record_id,ts,age,income,member,segment,comment"];
    for (let i = 0; i < 60; i++) {
      lines.push(`u${i},2024-02-${String(1 + (i % 28)).padStart(2, "0")}T10:00:00Z,${20 + i},${i % 9 === 0 ? "" : (i * 10.25).toFixed(2)},${i % 2 === 0 ? "true" : "false"},${"abc"[i % 3]},free text ${i}`);
    }
    await writeFile(join(work, "infer.csv"), `${lines.join("\n")}\n`);
    const r = await runCli(["collections", "infer", join(work, "infer.csv"), "--label", "member"]);
    expect(r.code, r.stderr).toBe(0);
    const doc = parseYaml(r.stdout) as { record_id_column: string; timestamp_column: string; fields: { name: string; kind: string; type: string; nullable: boolean; categories?: string[] }[] };
    expect(doc.record_id_column).toBe("record_id");
    expect(doc.timestamp_column).toBe("ts");
    expect(doc.fields).toEqual([
      { name: "age", kind: "feature", type: "int64", nullable: false },
      { name: "income", kind: "feature", type: "double", nullable: true },
      { name: "member", kind: "label", type: "bool", nullable: false },
      { name: "segment", kind: "feature", type: "categorical", nullable: false, categories: ["a", "b", "c"] },
      { name: "comment", kind: "feature", type: "string", nullable: false },
    ]);
    await writeFile(join(work, "inferred.yaml"), r.stdout);
    expect((await sl(["collections", "create", "inferred", "--schema", join(work, "inferred.yaml")])).code).toBe(0);
    expect((await sl(["collections", "delete", "inferred", "--yes"])).code).toBe(0);
  });

  it("reads Parquet types from the file's schema", async () => {
    const path = join(work, "infer.parquet");
    await writeParquet(path, Array.from({ length: 30 }, (_, i) => makeRow("inf", i)));
    const doc = json<{ record_id_column: string; timestamp_column: string; fields: { name: string; type: string }[] }>(await runCli(["collections", "infer", path, "--json"]));
    expect(doc.record_id_column).toBe("id");
    expect(doc.timestamp_column).toBe("event_time");
    expect(Object.fromEntries(doc.fields.map((f) => [f.name, f.type]))).toEqual({
      "amount.usd$": "double",
      count: "int64",
      name: "string",
      flag: "bool",
      level: "categorical",
      seen_at: "timestamp",
      label: "bool",
      note: "string",
      score: "double",
    });
  });
});

describe("upload", () => {
  const rowCount = 40;

  it("uploads a CSV with every column type to production, and ReadRecords returns exactly those values", async () => {
    const rows = Array.from({ length: rowCount }, (_, i) => makeRow("csv", i));
    await writeCsv(join(work, "all-types.csv"), rows);
    // Small batches, so the file spans several of them.
    const r = await sl(["upload", join(work, "all-types.csv"), "-c", COLLECTION, "--production", "--model", "m", "--batch-size", "7", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ rowsRead: number; accepted: number; rejected: number }>(r)).toMatchObject({ rowsRead: rowCount, accepted: rowCount, rejected: 0 });
    const back = await readBack({ production: true }, rows.map((row) => row.id));
    expect(back.size).toBe(rowCount);
    for (const row of rows) expect(back.get(row.id), row.id).toMatchObject(expectedRecord(row));
  });

  it("uploads a Parquet file with every column type, row group by row group, with the same result", async () => {
    const rows = Array.from({ length: rowCount }, (_, i) => makeRow("pq", i));
    const path = join(work, "all-types.parquet");
    await writeParquet(path, rows);
    const r = await sl(["upload", path, "-c", COLLECTION, "--production", "--model", "m", "--batch-size", "10", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ rowsRead: number; accepted: number }>(r)).toMatchObject({ rowsRead: rowCount, accepted: rowCount });
    const back = await readBack({ production: true }, rows.map((row) => row.id));
    expect(back.size).toBe(rowCount);
    for (const row of rows) expect(back.get(row.id), row.id).toMatchObject(expectedRecord(row));
  });

  it("maps columns with --id-column and --prediction COL=FIELD, and sends predictions only with --model", async () => {
    const rows = Array.from({ length: 5 }, (_, i) => makeRow("map", i));
    const csv = [`key,when,flag,level,p`, ...rows.map((r) => `${r.id},${new Date(r.eventTime).toISOString()},${r.flag},${r.level},${r.score}`)].join("\n");
    await writeFile(join(work, "mapped.csv"), `${csv}\n`);
    const noModel = await sl(["upload", join(work, "mapped.csv"), "-c", COLLECTION, "--production", "--id-column", "key", "--time-column", "when", "--prediction", "p=score"]);
    expect(noModel.code).toBe(1);
    expect(noModel.stderr).toContain("--prediction and --influence need --model");
    const r = await sl(["upload", join(work, "mapped.csv"), "-c", COLLECTION, "--production", "--model", "m", "--id-column", "key", "--time-column", "when", "--prediction", "p=score", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const back = await readBack({ production: true }, rows.map((row) => row.id));
    for (const row of rows) {
      expect(back.get(row.id)).toMatchObject({ eventTime: new Date(row.eventTime), columns: { flag: row.flag, level: row.level, count: null }, predictions: { score: row.score } });
    }
  });

  it("reports rejected rows by file row, field and reason, lands the rest, and exits 2", async () => {
    const good = (i: number) => `b-${i},2024-01-01T00:00:00Z,1.5,${i},"n",true,low,2024-01-01T00:00:00Z,true,"x",0.5`;
    const lines = [
      csvHeader,
      good(1),
      `b-2,2024-01-01T00:00:00Z,1.5,-5,"n",true,low,,true,,0.5`, // count below its range: the server
      `b-3,2024-01-01T00:00:00Z,abc,3,"n",true,low,,true,,0.5`, // not a number: found before sending
      `b-4,2024-01-01T00:00:00Z,1.5,4,"n",true,extreme,,true,,0.5`, // not a category: the server
      good(5),
      `b-6,2024-01-01T00:00:00Z,1.5,6,"n",,low,,true,,0.5`, // null in a non-nullable field: the server
      `b-7,2024-01-01T00:00:00Z,1.5,7`, // too few values
      `b-8,2024-01-01T00:00:00Z,1.5,8,"n",true,low,yesterday,true,,0.5`, // not a time
      good(9),
      `b-10,2024-01-01T00:00:00Z,1.5,10,"n",maybe,low,,true,,0.5`, // not a bool
      good(11),
    ];
    await writeFile(join(work, "bad.csv"), `${lines.join("\n")}\n`);
    await admin.catalog.createSplit({ split: { project: PROJECT, collection: COLLECTION, name: "bad", type: SplitType.TEST } });
    // Batches of 3, so rows rejected before sending shift the server's row numbers within later batches.
    const r = await sl(["upload", join(work, "bad.csv"), "-c", COLLECTION, "--split", "bad", "--batch-size", "3", "--json"]);
    expect(r.code).toBe(2);
    const outcome = json<{ rowsRead: number; accepted: number; rejected: number; rejectedBeforeSending: number; rejectedByServer: number; errors: { row: number; recordId: string; field: string; reason: string; description: string }[] }>(r);
    expect(outcome).toMatchObject({ rowsRead: 11, accepted: 4, rejected: 7, rejectedBeforeSending: 4, rejectedByServer: 3 });
    expect(outcome.errors.map((e) => [e.row, e.recordId, e.field, e.reason])).toEqual([
      [2, "b-2", "count", "OUT_OF_RANGE"],
      [3, "b-3", "amount.usd$", "WRONG_TYPE"],
      [4, "b-4", "level", "UNKNOWN_CATEGORY"],
      [6, "b-6", "flag", "NULL_NOT_ALLOWED"],
      [7, "b-7", "", "MALFORMED_ROW"],
      [8, "b-8", "seen_at", "WRONG_TYPE"],
      [10, "b-10", "flag", "WRONG_TYPE"],
    ]);
    expect(outcome.errors[1]!.description).toBe('"abc" is not a DOUBLE');
    const back = await readBack({ split: "bad" }, Array.from({ length: 11 }, (_, i) => `b-${i + 1}`));
    expect([...back.keys()].sort()).toEqual(["b-1", "b-11", "b-5", "b-9"]);

    // The same for people: a summary and a table of the errors.
    await admin.catalog.createSplit({ split: { project: PROJECT, collection: COLLECTION, name: "bad-table", type: SplitType.TEST } });
    const table = await sl(["upload", join(work, "bad.csv"), "-c", COLLECTION, "--split", "bad-table", "--batch-size", "3"]);
    expect(table.code).toBe(2);
    expect(table.stdout).toMatch(/rejected\s+7 {2}\(4 before sending, 3 by the server\)/);
    expect(table.stdout).toMatch(/^\s*4\s+b-4\s+level\s+UNKNOWN_CATEGORY\s+"extreme" is not one of the field's categories$/m);
    expect(table.stdout).toMatch(/^\s*7\s+b-7\s+MALFORMED_ROW\s+has 4 values; the header has 11 columns$/m);
  });

  it("exits 1 when the upload itself fails", async () => {
    const r = await sl(["upload", join(work, "bad.csv"), "-c", COLLECTION, "--split", "no-such-split"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("NotFound");
    const both = await sl(["upload", join(work, "bad.csv"), "-c", COLLECTION, "--split", "train", "--production"]);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain("exactly one destination");
  });
});

describe("progress", () => {
  const rows = 6000;
  let file: string;
  beforeAll(async () => {
    file = join(work, "progress.csv");
    await writeCsv(file, Array.from({ length: rows }, (_, i) => makeRow("prog", i)));
    for (const split of ["tty", "tty-nocolor", "piped"]) await admin.catalog.createSplit({ split: { project: PROJECT, collection: COLLECTION, name: split, type: SplitType.CUSTOM } });
  });

  it("redraws a progress line with rows/s and an ETA on a terminal, in colour", async () => {
    const r = await runCliOnTty(["upload", file, "-c", COLLECTION, "--split", "tty", "--batch-size", "200"], { SIGHTLINE_API_KEY: projectKey });
    expect(r.code, r.output).toBe(0);
    const redraws = r.output.split("\r\u001b[K").slice(1);
    expect(redraws.length).toBeGreaterThanOrEqual(2);
    for (const line of redraws) expect(line).toMatch(/progress\.csv .*\d+%\s+[\d,]+ rows\s+[\d,]+ rows\/s\s+ETA \d+:\d\d/);
    expect(redraws.at(-1)).toMatch(/100%\s+6,000 rows/);
    expect(r.output).toContain("\u001b[32m"); // the bar and the accepted count in green
    expect(r.output).toMatch(/accepted\s+\S*6,000/);
  });

  it("drops the colour with NO_COLOR but keeps the progress line", async () => {
    const r = await runCliOnTty(["upload", file, "-c", COLLECTION, "--split", "tty-nocolor", "--batch-size", "200"], { SIGHTLINE_API_KEY: projectKey, NO_COLOR: "1" });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/[\d,]+ rows\/s/);
    expect(r.output).not.toMatch(/\u001b\[\d+m/);
  });

  it("prints no progress when piped, only the summary", async () => {
    const r = await sl(["upload", file, "-c", COLLECTION, "--split", "piped", "--batch-size", "200"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/rows\/s|ETA|\r/);
    expect(r.stdout).toMatch(/^ {2}accepted {4}6,000$/m);
    expect(r.stdout).not.toMatch(/\u001b\[/);
  });
});

describe("stats, monitor and jobs", () => {
  it("shows the statistics job's counts once it has counted the uploads", { timeout: 150_000 }, async () => {
    // The uploads above queue recounts on the worker; wait for the production count to include all of them.
    const expected = 2 * 40 + 5;
    let stats: { productionRecords?: string; targets?: { split?: string; production?: boolean; records: string }[] } | null = null;
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
      stats = json(await sl(["stats", COLLECTION, "--json"]));
      if (Number(stats?.productionRecords ?? 0) === expected && stats?.targets?.some((t) => t.split === "piped")) break;
    }
    expect(Number(stats?.productionRecords)).toBe(expected);
    expect(stats?.targets?.find((t) => t.split === "bad")?.records).toBe("4");
    const table = await sl(["stats", COLLECTION]);
    expect(table.stdout).toMatch(/^production\s+85\s+85\s+/m);
  });

  it("refreshes and prints a model's metric series, as JSON and as a table", async () => {
    const r = await sl(["monitor", "-c", COLLECTION, "--model", "m", "--from", "2024-01-01", "--to", "2024-01-03", "--refresh", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const series = json<{ buckets: { startTime: string; counts: { records?: string; predictions?: string } }[]; lastRunTime?: string }>(r);
    expect(series.lastRunTime).toBeDefined();
    // Every production record has an event time in the range: 40 + 40 + 5, over 20 hours.
    expect(series.buckets.reduce((n, b) => n + Number(b.counts.records ?? 0), 0)).toBe(85);
    expect(series.buckets[0]!.startTime).toBe("2024-01-01T00:00:00Z");
    const day = await sl(["monitor", "-c", COLLECTION, "--model", "m", "--from", "2024-01-01", "--to", "2024-01-03", "--granularity", "day"]);
    expect(day.code, day.stderr).toBe(0);
    expect(day.stdout).toMatch(/^start\s+records\s+predictions\s+labelled\s+accuracy\s+/m);
    expect(day.stdout).toMatch(/^2024-01-01T00:00:00Z\s+85\s+85\s+/m);
  });

  it("watches a job to its end, and fails for an unknown job", async () => {
    const { jobId } = await admin.monitoring.refreshMonitoring({ project: PROJECT, collection: COLLECTION, model: "m", full: true });
    const r = await sl(["jobs", "watch", jobId, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ jobId: string; state: string; progress: number }>(r)).toMatchObject({ jobId, state: "JOB_STATE_COMPLETED", progress: 100 });
    const piped = await sl(["jobs", "watch", jobId]);
    expect(piped.stdout).toContain(`job ${jobId} completed: recomputed`);
    const unknown = await sl(["jobs", "watch", "nope"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("InvalidArgument");
  });
});

describe("memory", () => {
  // Its own server without a worker, so no statistics job competes with the measured upload for the database.
  const memIso = isolation("climem");
  let memServer: ServerHandle;
  let key: string;
  beforeAll(async () => {
    memServer = await startServerProcess(memIso);
    const asAdmin = { SIGHTLINE_URL: memServer.url, SIGHTLINE_API_KEY: memIso.adminKey };
    expect((await runCli(["projects", "create", "mem"], asAdmin)).code).toBe(0);
    key = json<{ secret: string }>(await runCli(["--project", "mem", "keys", "create", "--json"], asAdmin)).secret;
    await writeFile(join(work, "wide.yaml"), wideSchemaYaml);
    const env = { SIGHTLINE_URL: memServer.url, SIGHTLINE_API_KEY: key };
    expect((await runCli(["collections", "create", "wide", "--schema", join(work, "wide.yaml")], env)).code).toBe(0);
    expect((await runCli(["splits", "create", "train", "-c", "wide"], env)).code).toBe(0);
  });
  afterAll(async () => {
    await memServer?.stop();
  });

  it("keeps the CLI's peak RSS for a 200 MB CSV within 10% of that for a 20 MB one", { timeout: 30 * 60_000 }, async () => {
    const env = { SIGHTLINE_URL: memServer.url, SIGHTLINE_API_KEY: key };
    const measured: { mb: number; rows: number; peakMiB: number; seconds: number; rowsPerSecond: number }[] = [];
    for (const mb of [20, 200]) {
      const path = join(work, `wide-${mb}.csv`);
      const rows = await writeWideCsv(path, mb * 1024 * 1024, `w${mb}-`);
      const r = await runCli(["upload", path, "-c", "wide", "--split", "train", "--json"], env, true);
      await rm(path);
      expect(r.code, r.stderr).toBe(0);
      expect(json<{ accepted: number }>(r).accepted).toBe(rows);
      measured.push({ mb, rows, peakMiB: r.peakKiB / 1024, seconds: r.seconds, rowsPerSecond: rows / r.seconds });
    }
    for (const m of measured) console.log(`cli upload ${m.mb} MB: ${m.rows} rows, peak RSS ${m.peakMiB.toFixed(1)} MiB, ${m.seconds.toFixed(1)} s, ${Math.round(m.rowsPerSecond)} rows/s`);
    const [small, large] = measured as [(typeof measured)[0], (typeof measured)[0]];
    expect(small.peakMiB).toBeGreaterThan(0);
    expect(large.peakMiB).toBeLessThanOrEqual(small.peakMiB * 1.1);
  });
});

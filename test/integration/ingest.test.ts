// Ingestion against a real server process, through all three ways in (Upload, Stream, Put): every data kind alone and
// joined by record ID, out-of-order arrival, idempotent re-sends, each row-level rejection with the rest of its batch
// landing, each call-level refusal writing nothing, and the same upload through two gRPC stacks.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../clients/ts/src/gen/google/rpc/error_details_pb.js";
import {
  batchRows,
  ColumnSchema,
  createSightlineClient,
  DataKind,
  FieldKind,
  FieldType,
  IngestService,
  ModelMode,
  RowErrorReason,
  ScoreType,
  SplitType,
  toRecordBatch,
  type BatchInput,
  type Cell,
  type RecordBatch,
  type RowObject,
  type SightlineClient,
  type StreamResponse,
  type TargetInit,
  type WriteSummary,
} from "../../clients/ts/src/index.js";
import { isolation, startServerProcess, startWorkerProcess, type ChildHandle, type ServerHandle } from "../harness/processes.js";
import { grpcJsCaller, RpcFailure } from "../harness/rpc.js";
import { eventually } from "../harness/eventually.js";

// ---------------------------------------------------------------------------------------------------------------------
// Schema, model and deterministic data

/** Field names with dots, '$' and non-ASCII (astral included), covering every type; all but two are nullable. */
const F = {
  dbl: "f.dbl",
  i64: "$i64",
  str: "ünï.str🙂",
  bool: "b$ool",
  cat: "cat.é",
  time: "t.ime$",
  age: "age",
  income: "income",
} as const;
const L = { flag: "label.y", value: "label$v" } as const;
const X = { note: "extra.note", count: "extra.n" } as const;
const PRED = { score: "score", klass: "pred.class$" } as const;
const categories = ["α", "β", "γ"];

const schemaFields = [
  { name: F.dbl, kind: FieldKind.FEATURE, type: FieldType.DOUBLE, nullable: true },
  { name: F.i64, kind: FieldKind.FEATURE, type: FieldType.INT64, nullable: true },
  { name: F.str, kind: FieldKind.FEATURE, type: FieldType.STRING, nullable: true },
  { name: F.bool, kind: FieldKind.FEATURE, type: FieldType.BOOL, nullable: true },
  { name: F.cat, kind: FieldKind.FEATURE, type: FieldType.CATEGORICAL, nullable: true, categories },
  { name: F.time, kind: FieldKind.FEATURE, type: FieldType.TIMESTAMP, nullable: true },
  { name: F.age, kind: FieldKind.FEATURE, type: FieldType.INT64, range: { min: 0, max: 130 } },
  { name: F.income, kind: FieldKind.FEATURE, type: FieldType.DOUBLE, range: { min: 0 } },
  { name: L.flag, kind: FieldKind.LABEL, type: FieldType.BOOL, nullable: true },
  { name: L.value, kind: FieldKind.LABEL, type: FieldType.DOUBLE, nullable: true },
  { name: X.note, kind: FieldKind.EXTRA, type: FieldType.STRING, nullable: true },
  { name: X.count, kind: FieldKind.EXTRA, type: FieldType.INT64, nullable: true },
];
const predictionFields = [
  { name: PRED.score, type: FieldType.DOUBLE },
  { name: PRED.klass, type: FieldType.STRING },
];
const features = schemaFields.filter((f) => f.kind === FieldKind.FEATURE).map((f) => f.name);
const fieldTypes = new Map<string, FieldType>([...schemaFields.map((f) => [f.name, f.type] as const), ...predictionFields.map((f) => [f.name, f.type] as const)]);

const P = "ingest";
const MODEL = "m";
const big = 2n ** 62n + 12_345n; // beyond 2^53: stored as a BSON Int64, must come back exact
const hour = 3_600_000;
const t0 = Date.UTC(2024, 0, 1);

type Kind = "features" | "labels" | "extra" | "predictions" | "influences";
const allKinds: Kind[] = ["features", "labels", "extra", "predictions", "influences"];

function featureCells(i: number): Record<string, Cell> {
  return {
    [F.dbl]: i % 7 === 1 ? null : i % 7 === 6 ? Number.NaN : i * 1.25 - 3,
    [F.i64]: i % 5 === 2 ? null : i === 0 ? big : BigInt(i) * -1_000_000_007n,
    [F.str]: i % 5 === 3 ? null : i === 4 ? "" : `wert-${i}-ß☃🙂 "quoted" {json} $x.y`,
    [F.bool]: i % 5 === 4 ? null : i % 2 === 0,
    [F.cat]: i % 4 === 3 ? null : categories[i % 3]!,
    [F.time]: i % 6 === 5 ? null : new Date(t0 - 5 * hour + i * 60_000),
    [F.age]: BigInt(18 + (i % 100)),
    [F.income]: 1000 + i * 10.5,
  };
}
function labelCells(i: number): Record<string, Cell> {
  return { [L.flag]: i % 3 === 0 ? null : i % 2 === 1, [L.value]: i * 0.5 };
}
function extraCells(i: number): Record<string, Cell> {
  return { [X.note]: i % 4 === 0 ? null : `note ${i} ✓`, [X.count]: i % 3 === 1 ? null : BigInt(i) };
}
function predictionCells(i: number): Record<string, Cell> {
  return { [PRED.score]: (i % 11) / 10, [PRED.klass]: i % 2 === 0 ? "no" : "yes" };
}
function influenceCells(i: number): Record<string, Cell> {
  return Object.fromEntries(features.map((name, j) => [name, (i + 1) * 0.01 * (j + 1) - 0.05]));
}
const eventTime = (i: number) => new Date(t0 + i * hour);

/** A batch of the given kinds for records `${prefix}${i}`. */
function build(prefix: string, indices: number[], kinds: Kind[], opts: { times?: boolean } = {}): BatchInput {
  const columns: Record<string, Cell[]> = {};
  const predictions: Record<string, Cell[]> = {};
  const influences: Record<string, Cell[]> = {};
  const add = (group: Record<string, Cell[]>, cells: Record<string, Cell>) => {
    for (const [name, cell] of Object.entries(cells)) (group[name] ??= []).push(cell);
  };
  for (const i of indices) {
    if (kinds.includes("features")) add(columns, featureCells(i));
    if (kinds.includes("labels")) add(columns, labelCells(i));
    if (kinds.includes("extra")) add(columns, extraCells(i));
    if (kinds.includes("predictions")) add(predictions, predictionCells(i));
    if (kinds.includes("influences")) add(influences, influenceCells(i));
  }
  return {
    recordIds: indices.map((i) => `${prefix}${i}`),
    eventTimes: opts.times === true ? indices.map(eventTime) : undefined,
    columns,
    predictions,
    influences,
  };
}

/** A cell as ReadRecords returns it for a field of the given type. */
function readForm(type: FieldType | undefined, cell: Cell): Cell {
  if (cell === null || cell === undefined) return null;
  switch (type) {
    case FieldType.DOUBLE:
      return typeof cell === "bigint" ? Number(cell) : Number.isNaN(cell) ? null : cell;
    case FieldType.INT64:
    case FieldType.TIMESTAMP:
      return cell instanceof Date ? BigInt(cell.getTime()) : typeof cell === "number" ? BigInt(cell) : cell;
    default:
      return cell;
  }
}

/** What ReadRecords (with the model) must return for each row of `input`, given what the record held before. */
function expectedRows(input: BatchInput, before: Map<string, RowObject> = new Map()): Map<string, RowObject> {
  const out = new Map<string, RowObject>();
  input.recordIds.forEach((recordId, row) => {
    const prior = before.get(recordId) ?? emptyRow(recordId);
    const next: RowObject = structuredClone(prior);
    const kindsOf = (group: Record<string, readonly Cell[]> | undefined) => Object.keys(group ?? {});
    // A kind write replaces the whole kind: its fields missing from the batch become null.
    const touched = new Set(kindsOf(input.columns).map((name) => schemaFields.find((f) => f.name === name)!.kind));
    for (const field of schemaFields) if (touched.has(field.kind)) next.columns[field.name] = null;
    for (const [name, cells] of Object.entries(input.columns ?? {})) next.columns[name] = readForm(fieldTypes.get(name), cells[row]);
    if (kindsOf(input.predictions).length > 0) for (const f of predictionFields) next.predictions[f.name] = null;
    for (const [name, cells] of Object.entries(input.predictions ?? {})) next.predictions[name] = readForm(fieldTypes.get(name), cells[row]);
    for (const [name, cells] of Object.entries(input.influences ?? {})) next.influences[name] = readForm(FieldType.DOUBLE, cells[row]);
    const time = input.eventTimes?.[row];
    if (time !== undefined && time !== null) next.eventTime = new Date(time);
    out.set(recordId, next);
  });
  return out;
}

function emptyRow(recordId: string, withModel = true): RowObject {
  return {
    recordId,
    eventTime: null,
    columns: Object.fromEntries(schemaFields.map((f) => [f.name, null])),
    predictions: withModel ? Object.fromEntries(predictionFields.map((f) => [f.name, null])) : {},
    influences: withModel ? Object.fromEntries(features.map((name) => [name, null])) : {},
  };
}

function merge(...maps: Map<string, RowObject>[]): Map<string, RowObject> {
  return new Map(maps.flatMap((m) => [...m]));
}

// ---------------------------------------------------------------------------------------------------------------------
// Targets, calls and reads

function splitTarget(collection: string, split: string, model = MODEL): TargetInit {
  return { project: P, collection, destination: { case: "split", value: split }, model };
}
function productionTarget(collection: string, model = MODEL): TargetInit {
  return { project: P, collection, destination: { case: "production", value: true }, model };
}

async function readAll(client: SightlineClient, target: TargetInit, recordIds: string[] = []): Promise<Map<string, RowObject>> {
  const out = new Map<string, RowObject>();
  for await (const batch of client.readRecords({ target, recordIds })) {
    for (const row of batchRows(batch)) {
      expect(out.has(row.recordId), `record ${row.recordId} read twice`).toBe(false);
      out.set(row.recordId, row);
    }
  }
  return out;
}

function streamMessages(target: TargetInit, batches: RecordBatch[], firstSequence = 1n) {
  return (async function* () {
    yield { message: { case: "header" as const, value: target } };
    for (const [i, batch] of batches.entries()) yield { message: { case: "batch" as const, value: { sequence: firstSequence + BigInt(i), batch } } };
  })();
}

/** One Stream call: header, the batches in sequence, then the acks. */
async function rawStream(client: SightlineClient, target: TargetInit, batches: (BatchInput | RecordBatch)[], firstSequence = 1n): Promise<StreamResponse[]> {
  const acks: StreamResponse[] = [];
  for await (const ack of client.ingest.stream(streamMessages(target, batches.map(toRecordBatch), firstSequence))) acks.push(ack);
  return acks;
}

type Way = "put" | "upload" | "stream";
const ways: Way[] = ["put", "upload", "stream"];

/** One batch through one way in; Stream's ack must carry a summary and no batch error. */
async function send(client: SightlineClient, way: Way, target: TargetInit, input: BatchInput | RecordBatch): Promise<WriteSummary> {
  switch (way) {
    case "put":
      return client.put(target, input);
    case "upload":
      return client.upload(target, [input]);
    case "stream": {
      const acks = await rawStream(client, target, [input]);
      expect(acks.map((a) => a.sequence)).toEqual([1n]);
      expect(acks[0]!.error).toBeUndefined();
      return acks[0]!.summary!;
    }
  }
}

/** Where a call's failure is reported: the call itself (Put, Upload, a Stream header) or a Stream ack. */
async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail, but it succeeded");
}

function violations(err: ConnectError): { field: string; description: string }[] {
  return (err.findDetails(BadRequestSchema)[0]?.fieldViolations ?? []).map((v) => ({ field: v.field, description: v.description }));
}

function rowErrorsOf(summary: WriteSummary) {
  return summary.rowErrors.map((e) => ({ row: Number(e.row), recordId: e.recordId, field: e.field, reason: RowErrorReason[e.reason], batch: Number(e.batch) }));
}

async function setUpCollection(client: SightlineClient, name: string, splits: string[] = ["s"]): Promise<void> {
  await client.catalog.createDataCollection({ collection: { project: P, name, schema: { recordIdColumn: "id", timestampColumn: "ts", fields: schemaFields } } });
  for (const split of splits) await client.catalog.createSplit({ split: { project: P, collection: name, name: split, type: SplitType.TRAIN } });
  await client.catalog.createModel({
    model: { project: P, collection: name, name: MODEL, scoreType: ScoreType.PROBITS, mode: ModelMode.DATA_ONLY, predictionFields, labelField: L.flag, decisionThreshold: 0.5 },
  });
}

// ---------------------------------------------------------------------------------------------------------------------

const iso = isolation("ingest");
let server: ServerHandle;
let client: SightlineClient;

beforeAll(async () => {
  server = await startServerProcess(iso);
  client = createSightlineClient({ url: server.url, apiKey: iso.adminKey });
  await client.admin.createProject({ project: { name: P } });
});
afterAll(async () => {
  await server?.stop();
});

describe("every kind alone, then joined by record ID across Upload, Stream and Put", () => {
  beforeAll(async () => {
    await setUpCollection(client, "kinds", ["features", "labels", "extra", "predictions", "influences", "joined"]);
  });
  const ids = Array.from({ length: 24 }, (_, i) => i);

  it.each([
    ["features", "upload"],
    ["labels", "put"],
    ["extra", "stream"],
    ["predictions", "stream"],
    ["influences", "put"],
  ] as [Kind, Way][])("%s alone, through %s", async (kind, way) => {
    const target = splitTarget("kinds", kind);
    const input = build(`${kind}-`, ids, [kind]);
    const summary = await send(client, way, target, input);
    expect(summary.rowsReceived).toBe(24n);
    expect(summary.rowsAccepted).toBe(24n);
    expect(summary.rowErrors).toEqual([]);
    expect(summary.kinds.map((k) => [DataKind[k.kind], k.accepted, k.rejected])).toEqual([[kind.toUpperCase(), 24n, 0n]]);
    const read = await readAll(client, target);
    // Only this kind is set; everything else reads as null, and the awkward values come back as they went in.
    expect(read).toEqual(expectedRows(input));
    if (kind === "features") {
      expect(read.get("features-0")!.columns[F.i64]).toBe(big);
      expect(read.get("features-6")!.columns[F.dbl]).toBeNull(); // NaN in a nullable DOUBLE reads as null
      expect(read.get("features-4")!.columns[F.str]).toBe("");
      expect(read.get("features-1")!.columns[F.dbl]).toBeNull();
    }
    // Without the model in the target, only the model-agnostic kinds are read.
    const agnostic = await readAll(client, splitTarget("kinds", kind, ""));
    expect(agnostic.get(`${kind}-1`)!.predictions).toEqual({});
    expect(agnostic.get(`${kind}-1`)!.influences).toEqual({});
    expect(agnostic.get(`${kind}-1`)!.columns).toEqual(read.get(`${kind}-1`)!.columns);
  });

  it("joins features (Upload), labels (Put), predictions + extra (Stream) and influences (Put) in production", async () => {
    const target = productionTarget("kinds");
    const feats = build("j-", ids, ["features"], { times: true });
    const labels = build("j-", ids, ["labels"]);
    const predsExtra = build("j-", ids, ["predictions", "extra"], { times: true });
    const infl = build("j-", ids, ["influences"]);

    // Upload in two batches; the summary adds them up.
    const half = (b: BatchInput, lo: number, hi: number): BatchInput => ({
      recordIds: b.recordIds.slice(lo, hi),
      eventTimes: b.eventTimes?.slice(lo, hi),
      columns: Object.fromEntries(Object.entries(b.columns ?? {}).map(([k, v]) => [k, v.slice(lo, hi)])),
    });
    const up = await client.upload(target, [half(feats, 0, 10), half(feats, 10, 24)]);
    expect([up.batches, up.rowsReceived, up.rowsAccepted]).toEqual([2n, 24n, 24n]);
    expect((await client.put(target, labels)).rowsAccepted).toBe(24n);
    const writer = client.streamWriter(target);
    const ack = await writer.write(toRecordBatch(predsExtra));
    await writer.close();
    expect(ack.error).toBeUndefined();
    expect(ack.summary?.rowsAccepted).toBe(24n);
    expect(ack.summary?.kinds.map((k) => DataKind[k.kind]).sort()).toEqual(["EXTRA", "PREDICTIONS"]);
    expect((await client.put(target, infl)).rowsAccepted).toBe(24n);

    const read = await readAll(client, target);
    let expected = expectedRows(feats);
    for (const next of [labels, predsExtra, infl]) expected = expectedRows(next, expected);
    expect(read).toEqual(expected);
    const sample = read.get("j-7")!;
    expect(sample.eventTime).toEqual(eventTime(7));
    expect(sample.columns[L.value]).toBe(3.5);
    expect(sample.columns[X.note]).toBe("note 7 ✓");
    expect(sample.predictions[PRED.klass]).toBe("yes");
    expect(Object.values(sample.influences).every((v) => typeof v === "number")).toBe(true);

    // Kinds and fields can be narrowed on read.
    const onlyLabels = [];
    for await (const b of client.readRecords({ target, kinds: [DataKind.LABELS], fields: [L.value], recordIds: ["j-7", "j-8"] })) onlyLabels.push(...batchRows(b));
    expect(onlyLabels.map((r) => [r.recordId, r.columns])).toEqual([
      ["j-7", { [L.value]: 3.5 }],
      ["j-8", { [L.value]: 4 }],
    ]);
    // Event-time windows: [start, end).
    const window = [];
    for await (const b of client.readRecords({ target, startTime: { seconds: BigInt((t0 + 3 * hour) / 1000) }, endTime: { seconds: BigInt((t0 + 5 * hour) / 1000) } })) {
      window.push(...batchRows(b).map((r) => r.recordId));
    }
    expect(window.sort()).toEqual(["j-3", "j-4"]);
    // Named records, unsorted, repeated and some unknown, within a window: each record once, in record-ID order, in
    // batches of the size asked for.
    const named: string[][] = [];
    const window2 = { startTime: { seconds: BigInt((t0 + 2 * hour) / 1000) }, endTime: { seconds: BigInt((t0 + 20 * hour) / 1000) } };
    const asked = ["j-9", "nope", "j-23", "j-12", "j-1", "j-9", "j-10", "j-3", "also-nope", "j-19"];
    for await (const b of client.readRecords({ target, ...window2, recordIds: asked, batchSize: 2 })) named.push(batchRows(b).map((r) => r.recordId));
    expect(named).toEqual([["j-10", "j-12"], ["j-19", "j-3"], ["j-9"]]);
  });

  it("joins the same kinds in a split, where no event time is needed", async () => {
    const target = splitTarget("kinds", "joined");
    const writes: [Way, BatchInput][] = [
      ["upload", build("s-", ids, ["features"])],
      ["put", build("s-", ids, ["labels"])],
      ["stream", build("s-", ids, ["predictions", "extra"])],
      ["put", build("s-", ids, ["influences"])],
    ];
    let expected = new Map<string, RowObject>();
    for (const [way, input] of writes) {
      expect((await send(client, way, target, input)).rowsAccepted).toBe(24n);
      expected = expectedRows(input, expected);
    }
    const read = await readAll(client, target);
    expect(read).toEqual(expected);
    expect([...read.values()].every((r) => r.eventTime === null)).toBe(true);
    // Production and the other splits are separate targets: nothing leaked across.
    expect([...(await readAll(client, splitTarget("kinds", "labels"))).keys()].every((id) => id.startsWith("labels-"))).toBe(true);
  });
});

describe("out-of-order arrival", () => {
  beforeAll(async () => {
    await setUpCollection(client, "order");
  });

  it("production: labels by ID only and influences first, then features + predictions with their event time", async () => {
    const target = productionTarget("order");
    const ids = [0, 1, 2, 3, 4, 5];
    const labels = build("o-", ids, ["labels"]);
    const influences = build("o-", ids, ["influences"]);
    expect((await client.put(target, labels)).rowsAccepted).toBe(6n);
    expect((await client.upload(target, [influences])).rowsAccepted).toBe(6n);

    // Labels and influences alone: the record exists, without an event time or any feature.
    const early = await readAll(client, target);
    expect(early).toEqual(expectedRows(influences, expectedRows(labels)));
    expect(early.get("o-2")!.eventTime).toBeNull();
    expect(early.get("o-2")!.columns[F.age]).toBeNull();
    expect(early.get("o-2")!.predictions[PRED.score]).toBeNull();

    const late = build("o-", ids, ["features", "predictions"], { times: true });
    const acks = await rawStream(client, target, [late]);
    expect(acks[0]?.summary?.rowsAccepted).toBe(6n);
    const read = await readAll(client, target);
    expect(read).toEqual(expectedRows(late, early));
    for (const i of ids) {
      const row = read.get(`o-${i}`)!;
      expect(row.eventTime).toEqual(eventTime(i));
      expect(row.columns[L.value]).toBe(i * 0.5);
      expect(row.influences[F.income]).toBeCloseTo((i + 1) * 0.08 - 0.05, 12);
      expect(row.predictions[PRED.score]).toBe((i % 11) / 10);
    }
    // The late event time places the records in time windows.
    const windowed = [];
    for await (const b of client.readRecords({ target, startTime: { seconds: BigInt(t0 / 1000) }, endTime: { seconds: BigInt((t0 + 2 * hour) / 1000) } })) {
      windowed.push(...batchRows(b).map((r) => r.recordId));
    }
    expect(windowed.sort()).toEqual(["o-0", "o-1"]);
  });

  it("split: labels before features, predictions after influences", async () => {
    const target = splitTarget("order", "s");
    const steps: [Way, BatchInput][] = [
      ["stream", build("q-", [0, 1, 2], ["labels"])],
      ["put", build("q-", [0, 1, 2], ["influences"])],
      ["upload", build("q-", [0, 1, 2], ["features"])],
      ["put", build("q-", [0, 1, 2], ["predictions"])],
    ];
    let expected = new Map<string, RowObject>();
    for (const [way, input] of steps) {
      await send(client, way, target, input);
      expected = expectedRows(input, expected);
      expect(await readAll(client, target)).toEqual(expected);
    }
    expect(expected.get("q-1")!.columns[F.age]).toBe(19n);
    expect(expected.get("q-1")!.columns[L.flag]).toBe(true);
  });
});

describe("idempotence, with statistics from a worker process", () => {
  // The figure: the same 10k rows, twice. Re-writing existing records is the slow path on the dev FerretDB
  // (about a hundred rows a second), so this test takes a couple of minutes there.
  const rows = 10_000;
  const perBatch = 1000;
  const isoIdem = isolation("idempotence");
  let idemServer: ServerHandle;
  let idem: SightlineClient;
  let worker: ChildHandle;
  beforeAll(async () => {
    idemServer = await startServerProcess(isoIdem);
    idem = createSightlineClient({ url: idemServer.url, apiKey: isoIdem.adminKey });
    await idem.admin.createProject({ project: { name: P } });
    await setUpCollection(idem, "idem");
    worker = await startWorkerProcess(isoIdem, { SIGHTLINE_STATS_INTERVAL_MS: "1000" });
  });
  afterAll(async () => {
    await worker?.stop();
    await idemServer?.stop();
  });

  const target = splitTarget("idem", "s");
  const batches = Array.from({ length: rows / perBatch }, (_, b) =>
    build("id-", Array.from({ length: perBatch }, (_, i) => b * perBatch + i), ["features", "labels", "predictions"]),
  );

  async function statsAfter(time: number) {
    return eventually("statistics computed after the last write", async () => {
      const stats = (await idem.catalog.getCollectionStats({ project: P, collection: "idem" })).stats;
      const computed = stats?.computeTime === undefined ? 0 : Number(stats.computeTime.seconds) * 1000 + stats.computeTime.nanos / 1e6;
      return stats !== undefined && computed > time ? stats : undefined;
    });
  }

  it("uploading the same rows twice leaves exactly one record per ID, unchanged", { timeout: 600_000 }, async () => {
    const first = await idem.upload(target, batches);
    expect([first.batches, first.rowsAccepted, first.rowsRejected]).toEqual([BigInt(batches.length), BigInt(rows), 0n]);
    const once = await readAll(idem, target);
    expect(once.size).toBe(rows);
    let expected = new Map<string, RowObject>();
    for (const b of batches) expected = merge(expected, expectedRows(b));
    expect(once).toEqual(expected);

    const second = await idem.upload(target, batches);
    expect(second.rowsAccepted).toBe(BigInt(rows));
    const afterSecond = Date.now();
    const twice = await readAll(idem, target);
    expect(twice.size).toBe(rows);
    expect(twice).toEqual(once);

    const stats = await statsAfter(afterSecond);
    const split = stats.targets.find((t) => t.split === "s")!;
    expect(split.records).toBe(BigInt(rows));
    expect(stats.splits.find((s) => s.split === "s")?.records).toBe(BigInt(rows));
    expect(split.kinds.map((k) => [DataKind[k.kind], k.records])).toEqual([
      ["FEATURES", BigInt(rows)],
      ["LABELS", BigInt(rows)],
      ["EXTRA", 0n],
    ]);
    expect(split.models.find((m) => m.model === MODEL)?.kinds.map((k) => [DataKind[k.kind], k.records])).toEqual([
      ["PREDICTIONS", BigInt(rows)],
      ["INFLUENCES", 0n],
    ]);
  });

  it("the last write of a kind wins, and replaces that kind only", async () => {
    const before = (await readAll(idem, target, ["id-5", "id-6"])).get("id-5")!;
    expect(before.columns[L.value]).toBe(2.5);
    // Both label fields re-sent with new values: the new ones are read.
    const relabel: BatchInput = { recordIds: ["id-5"], columns: { [L.flag]: [false], [L.value]: [-7.25] } };
    expect((await idem.put(target, relabel)).rowsAccepted).toBe(1n);
    const after = (await readAll(idem, target, ["id-5"])).get("id-5")!;
    expect(after.columns[L.flag]).toBe(false);
    expect(after.columns[L.value]).toBe(-7.25);
    // Features and predictions were not touched.
    expect(after.predictions).toEqual(before.predictions);
    expect({ ...after.columns, [L.flag]: null, [L.value]: null }).toEqual({ ...before.columns, [L.flag]: null, [L.value]: null });

    // A labels write carrying one label field replaces the kind: the other label field becomes null.
    await idem.upload(target, [{ recordIds: ["id-5"], columns: { [L.value]: [1.5] } }]);
    const replaced = (await readAll(idem, target, ["id-5"])).get("id-5")!;
    expect([replaced.columns[L.flag], replaced.columns[L.value]]).toEqual([null, 1.5]);
    // Re-sending the same write again changes nothing; the record count is still exact.
    await idem.put(target, { recordIds: ["id-5"], columns: { [L.value]: [1.5] } });
    expect((await readAll(idem, target, ["id-5"])).get("id-5")).toEqual(replaced);
    expect((await readAll(idem, target)).size).toBe(rows);
  }, 180_000);
});

// ---------------------------------------------------------------------------------------------------------------------
// Row-level rejections: exactly the bad row is refused, with its index, record ID, field and reason; the rest land.

interface RowCase {
  name: string;
  production?: boolean;
  /** The kinds of the valid base batch; features by default. */
  kinds?: Kind[];
  /** Spoils row 2 (or sets up the case); returns the expected field and reason of the row error. */
  spoil(input: BatchInput): { field: string; reason: RowErrorReason; row?: number };
}

const rowCases: RowCase[] = [
  {
    name: "empty record ID",
    spoil: (b) => {
      b.recordIds[2] = "";
      return { field: "", reason: RowErrorReason.INVALID_RECORD_ID };
    },
  },
  {
    name: "record ID over 512 bytes (257 two-byte characters), beside one of exactly 512",
    spoil: (b) => {
      b.recordIds[0] = `${b.recordIds[0]}-${"é".repeat(250)}`.padEnd(512 - 250, "x"); // 512 bytes exactly
      expect(Buffer.byteLength(b.recordIds[0], "utf8")).toBe(512);
      b.recordIds[2] = "é".repeat(257);
      return { field: "", reason: RowErrorReason.INVALID_RECORD_ID };
    },
  },
  {
    name: "NUL in a record ID",
    spoil: (b) => {
      b.recordIds[2] = `${b.recordIds[2]}\u0000x`;
      return { field: "", reason: RowErrorReason.INVALID_RECORD_ID };
    },
  },
  {
    name: "duplicate record ID within the batch",
    spoil: (b) => {
      b.recordIds[2] = b.recordIds[0]!;
      return { field: "", reason: RowErrorReason.DUPLICATE_RECORD_ID };
    },
  },
  {
    name: "missing event time in production",
    production: true,
    spoil: (b) => {
      (b.eventTimes as (Date | null)[])[2] = null;
      return { field: "event_times", reason: RowErrorReason.MISSING_TIMESTAMP };
    },
  },
  {
    name: "event time outside what a date can hold",
    production: true,
    spoil: (b) => {
      (b.eventTimes as (Date | number)[])[2] = 9e15;
      return { field: "event_times", reason: RowErrorReason.OUT_OF_RANGE };
    },
  },
  {
    name: "a string in a DOUBLE field",
    spoil: (b) => {
      b.columns![F.dbl] = [null, null, "1.5", null];
      return { field: F.dbl, reason: RowErrorReason.WRONG_TYPE };
    },
  },
  {
    name: "2.5 in an INT64 field (whole doubles are taken)",
    spoil: (b) => {
      b.columns![F.i64] = [1, -2, 2.5, 2 ** 40];
      return { field: F.i64, reason: RowErrorReason.WRONG_TYPE };
    },
  },
  {
    name: "null in a non-nullable field",
    spoil: (b) => {
      (b.columns![F.age] as Cell[])[2] = null;
      return { field: F.age, reason: RowErrorReason.NULL_NOT_ALLOWED };
    },
  },
  {
    name: "NaN in a non-nullable DOUBLE reads as null",
    spoil: (b) => {
      (b.columns![F.income] as Cell[])[2] = Number.NaN;
      return { field: F.income, reason: RowErrorReason.NULL_NOT_ALLOWED };
    },
  },
  {
    name: "+Infinity in a nullable DOUBLE",
    spoil: (b) => {
      (b.columns![F.dbl] as Cell[])[2] = Number.POSITIVE_INFINITY;
      return { field: F.dbl, reason: RowErrorReason.NOT_FINITE };
    },
  },
  {
    name: "-Infinity in a ranged DOUBLE",
    spoil: (b) => {
      (b.columns![F.income] as Cell[])[2] = Number.NEGATIVE_INFINITY;
      return { field: F.income, reason: RowErrorReason.NOT_FINITE };
    },
  },
  {
    name: "+Infinity in a label",
    kinds: ["labels"],
    spoil: (b) => {
      (b.columns![L.value] as Cell[])[2] = Number.POSITIVE_INFINITY;
      return { field: L.value, reason: RowErrorReason.NOT_FINITE };
    },
  },
  {
    name: "INT64 above its range",
    spoil: (b) => {
      (b.columns![F.age] as Cell[])[2] = 131n;
      (b.columns![F.age] as Cell[])[3] = 130n;
      return { field: F.age, reason: RowErrorReason.OUT_OF_RANGE };
    },
  },
  {
    name: "DOUBLE below its range",
    spoil: (b) => {
      (b.columns![F.income] as Cell[])[2] = -0.5;
      (b.columns![F.income] as Cell[])[3] = 0;
      return { field: F.income, reason: RowErrorReason.OUT_OF_RANGE };
    },
  },
  {
    name: "TIMESTAMP beyond what a date can hold",
    spoil: (b) => {
      (b.columns![F.time] as Cell[])[2] = 10n ** 16n;
      return { field: F.time, reason: RowErrorReason.OUT_OF_RANGE };
    },
  },
  {
    name: "unknown category",
    spoil: (b) => {
      b.columns![F.cat] = ["γ", "α", "δ", null];
      return { field: F.cat, reason: RowErrorReason.UNKNOWN_CATEGORY };
    },
  },
  {
    name: "string over 4096 bytes (2049 two-byte characters), beside one of exactly 4096",
    spoil: (b) => {
      (b.columns![F.str] as Cell[])[0] = "ü".repeat(2048);
      (b.columns![F.str] as Cell[])[2] = "ü".repeat(2049);
      return { field: F.str, reason: RowErrorReason.STRING_TOO_LONG };
    },
  },
  {
    name: "NUL in a string",
    kinds: ["extra"],
    spoil: (b) => {
      (b.columns![X.note] as Cell[])[2] = "a\u0000b";
      return { field: X.note, reason: RowErrorReason.INVALID_STRING };
    },
  },
  {
    name: "NaN influence",
    kinds: ["influences"],
    spoil: (b) => {
      (b.influences![F.cat] as Cell[])[2] = Number.NaN;
      return { field: F.cat, reason: RowErrorReason.NOT_FINITE };
    },
  },
  {
    name: "+Infinity influence",
    kinds: ["influences"],
    spoil: (b) => {
      (b.influences![F.income] as Cell[])[2] = Number.POSITIVE_INFINITY;
      return { field: F.income, reason: RowErrorReason.NOT_FINITE };
    },
  },
  {
    name: "PROBITS score above 1 (0 and 1 are taken)",
    kinds: ["features", "predictions"],
    spoil: (b) => {
      b.predictions![PRED.score] = [0, 1, 1.5, 0.25];
      return { field: PRED.score, reason: RowErrorReason.OUT_OF_RANGE };
    },
  },
  {
    name: "PROBITS score below 0 in production",
    production: true,
    kinds: ["predictions"],
    spoil: (b) => {
      b.predictions![PRED.score] = [0.5, 0.5, -0.01, 0.5];
      return { field: PRED.score, reason: RowErrorReason.OUT_OF_RANGE };
    },
  },
  {
    name: "+Infinity prediction",
    kinds: ["predictions"],
    spoil: (b) => {
      b.predictions![PRED.score] = [0.5, 0.5, Number.POSITIVE_INFINITY, 0.5];
      return { field: PRED.score, reason: RowErrorReason.NOT_FINITE };
    },
  },
  {
    name: "null prediction",
    kinds: ["predictions"],
    spoil: (b) => {
      b.predictions![PRED.klass] = ["a", "b", null, "d"];
      return { field: PRED.klass, reason: RowErrorReason.NULL_NOT_ALLOWED };
    },
  },
];

describe.each(ways)("row-level rejections through %s", (way) => {
  const collection = `rows_${way}`;
  beforeAll(async () => {
    await setUpCollection(client, collection);
  });

  it.each(rowCases.map((c, i) => [c.name, c, i] as const))("%s", async (_, rowCase, index) => {
    const target = rowCase.production === true ? productionTarget(collection) : splitTarget(collection, "s");
    const input = build(`c${index}-`, [0, 1, 2, 3], rowCase.kinds ?? ["features"], { times: rowCase.production });
    const { field, reason, row = 2 } = rowCase.spoil(input);
    const before = await readAll(client, target);

    const summary = await send(client, way, target, input);
    expect(rowErrorsOf(summary)).toEqual([{ row, recordId: input.recordIds[row], field, reason: RowErrorReason[reason], batch: way === "stream" ? 1 : 0 }]);
    expect(summary.rowErrors[0]!.description).not.toBe("");
    expect([summary.rowsReceived, summary.rowsAccepted, summary.rowsRejected]).toEqual([4n, 3n, 1n]);
    for (const kind of summary.kinds) expect([kind.accepted, kind.rejected]).toEqual([3n, 1n]);

    // The other three rows landed, with their values; the bad row wrote nothing.
    const good: BatchInput = {
      recordIds: input.recordIds.filter((_, i) => i !== row),
      eventTimes: input.eventTimes?.filter((_, i) => i !== row),
      columns: Object.fromEntries(Object.entries(input.columns ?? {}).map(([k, v]) => [k, v.filter((_, i) => i !== row)])),
      predictions: Object.fromEntries(Object.entries(input.predictions ?? {}).map(([k, v]) => [k, v.filter((_, i) => i !== row)])),
      influences: Object.fromEntries(Object.entries(input.influences ?? {}).map(([k, v]) => [k, v.filter((_, i) => i !== row)])),
    };
    const after = await readAll(client, target);
    expect(after).toEqual(merge(before, expectedRows(good, before)));
    expect(after.size).toBe(before.size + 3);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Call-level refusals: nothing of the call is written.

describe("call-level refusals write nothing", () => {
  const collection = "guard";
  const sealedTarget = splitTarget(collection, "sealed");
  /** Every target of the collection; a refused call must leave them all as they were. */
  const snapshot = () => Promise.all([splitTarget(collection, "s"), productionTarget(collection), sealedTarget].map((t) => readAll(client, t)));

  beforeAll(async () => {
    await setUpCollection(client, collection, ["s", "sealed"]);
    await client.put(splitTarget(collection, "s"), build("seed-", [0, 1], allKinds));
    await client.put(productionTarget(collection), build("seed-", [0, 1], allKinds, { times: true }));
    await client.put(sealedTarget, build("seed-", [0], ["features"]));
    await client.catalog.sealSplit({ project: P, collection, name: "sealed" });
    expect((await snapshot()).map((m) => m.size)).toEqual([2, 2, 1]);
  });

  /** A valid batch for any target of the guard collection: it would land if the call were accepted. */
  const valid = () => build("new-", [0, 1, 2], ["features", "predictions"], { times: true });

  const headerCases: { name: string; target: TargetInit; code: Code; field?: string; message?: RegExp }[] = [
    { name: "no destination", target: { project: P, collection, model: MODEL }, code: Code.InvalidArgument, field: "target.destination" },
    { name: "production set to false", target: { project: P, collection, destination: { case: "production", value: false } }, code: Code.InvalidArgument, field: "target.destination" },
    { name: "a malformed project name", target: { ...productionTarget(collection), project: "Bad Project" }, code: Code.InvalidArgument, field: "target.project" },
    { name: "a malformed collection name", target: productionTarget("has space"), code: Code.InvalidArgument, field: "target.collection" },
    { name: "a malformed split name", target: splitTarget(collection, "S!"), code: Code.InvalidArgument, field: "target.split" },
    { name: "a malformed model name", target: productionTarget(collection, "Model.V2"), code: Code.InvalidArgument, field: "target.model" },
    // The collection lookup is what fails for an unknown project.
    { name: "an unknown project", target: { ...productionTarget(collection), project: "ghost" }, code: Code.NotFound, message: /not found/ },
    { name: "an unknown collection", target: productionTarget("ghost"), code: Code.NotFound, message: /data collection "ghost" not found/ },
    { name: "an unknown split", target: splitTarget(collection, "ghost"), code: Code.NotFound, message: /split "ghost" not found/ },
    { name: "an unknown model", target: productionTarget(collection, "ghost"), code: Code.NotFound, message: /model "ghost" not found/ },
    { name: "a sealed split", target: sealedTarget, code: Code.FailedPrecondition, message: /sealed/ },
  ];

  describe.each(ways)("header refused through %s", (way) => {
    it.each(headerCases.map((c) => [c.name, c] as const))("%s", async (_, c) => {
      const before = await snapshot();
      const err = await failure(send(client, way, c.target, valid()));
      expect(Code[err.code]).toBe(Code[c.code]);
      if (c.field !== undefined) expect(violations(err).map((v) => v.field)).toContain(c.field);
      if (c.message !== undefined) expect(err.rawMessage).toMatch(c.message);
      expect(await snapshot()).toEqual(before);
    });
  });

  it("a client stream must open with its header, and only once", async () => {
    const target = splitTarget(collection, "s");
    const header = { message: { case: "header" as const, value: target } };
    const batchMessage = (input: BatchInput) => ({ message: { case: "batch" as const, value: toRecordBatch(input) } });
    const uploadOf = (...messages: (typeof header | ReturnType<typeof batchMessage>)[]) =>
      client.ingest.upload((async function* () {
        yield* messages;
      })());
    const before = await snapshot();

    const batchFirst = await failure(uploadOf(batchMessage(valid()), header));
    expect(batchFirst.code).toBe(Code.InvalidArgument);
    expect(violations(batchFirst).map((v) => v.field)).toEqual(["header"]);
    const empty = await failure(uploadOf());
    expect(violations(empty).map((v) => v.field)).toEqual(["header"]);
    const streamBatchFirst = await failure(
      (async () => {
        const responses = client.ingest.stream((async function* () {
          yield { message: { case: "batch" as const, value: { sequence: 1n, batch: toRecordBatch(valid()) } } };
        })());
        for await (const response of responses) throw new Error(`unexpected ack ${response.sequence}`);
      })(),
    );
    expect(streamBatchFirst.code).toBe(Code.InvalidArgument);
    expect(violations(streamBatchFirst).map((v) => v.field)).toEqual(["header"]);
    expect(await snapshot()).toEqual(before);

    // A second header later refuses the rest of the call; the batches before it stay written.
    const late = await failure(uploadOf(header, batchMessage(build("late-", [0], ["features"])), header, batchMessage(build("late-", [1], ["features"]))));
    expect(late.code).toBe(Code.InvalidArgument);
    expect(violations(late).map((v) => v.field)).toEqual(["messages[2]"]);
    expect([...(await readAll(client, target, ["late-0", "late-1"])).keys()]).toEqual(["late-0"]);
  });

  it("Put needs a target and a batch", async () => {
    const before = await snapshot();
    const noTarget = await failure(client.ingest.put({ batch: toRecordBatch(valid()) }));
    expect(violations(noTarget).map((v) => v.field)).toEqual(["target"]);
    const noBatch = await failure(client.ingest.put({ target: splitTarget(collection, "s") }));
    expect(violations(noBatch).map((v) => v.field)).toEqual(["batch"]);
    expect(await snapshot()).toEqual(before);
  });

  interface BatchCase {
    name: string;
    target?: TargetInit;
    input: () => BatchInput | RecordBatch;
    /** Expected violation field, relative to the batch ("batch.…"). */
    field: string;
    description?: RegExp;
  }
  const batchOf = (input: BatchInput, change: (b: RecordBatch) => void) => {
    const batch = toRecordBatch(input);
    change(batch);
    return batch;
  };
  const batchCases: BatchCase[] = [
    {
      name: "an unknown column",
      input: () => {
        const b = valid();
        b.columns!["no.such$field"] = [1, 2, 3];
        return b;
      },
      field: `batch.columns[${features.length}].name`,
      description: /no\.such\$field/,
    },
    {
      name: "an unknown prediction column",
      input: () => {
        const b = valid();
        b.predictions!.probability = [0.1, 0.2, 0.3];
        return b;
      },
      field: "batch.predictions[2].name",
    },
    {
      name: "influence columns missing a feature",
      input: () => {
        const b = build("new-", [0, 1, 2], ["influences"]);
        delete b.influences![F.time];
        return b;
      },
      field: "batch.influences",
      description: /t\.ime\$/,
    },
    {
      name: "an influence column that is not a feature",
      input: () => {
        const b = build("new-", [0, 1, 2], ["influences"]);
        b.influences![L.value] = [0, 0, 0];
        return b;
      },
      field: `batch.influences[${features.length}].name`,
    },
    {
      name: "column lengths that disagree with the record IDs",
      input: () => {
        const b = valid();
        b.columns![F.age] = [20n, 21n];
        return b;
      },
      field: `batch.columns[${features.indexOf(F.age)}].values`,
      description: /2 values for 3 record IDs/,
    },
    {
      name: "a null mask of the wrong size",
      input: () => batchOf(valid(), (b) => (b.columns[1]!.nullMask = new Uint8Array(2))),
      field: "batch.columns[1].null_mask",
    },
    {
      name: "a column without values",
      input: () => batchOf(valid(), (b) => b.columns.push(create(ColumnSchema, { name: L.flag }))),
      field: `batch.columns[${features.length}].values`,
    },
    {
      name: "the same column twice",
      input: () => batchOf(valid(), (b) => b.columns.push(b.columns[0]!)),
      field: `batch.columns[${features.length}].name`,
      description: /twice/,
    },
    {
      name: "event times that disagree with the record IDs",
      input: () => ({ ...valid(), eventTimes: [t0, t0] }),
      field: "batch.event_times.unix_millis",
    },
    {
      name: "a missing required column of a carried kind",
      input: () => {
        const b = valid();
        delete b.columns![F.age];
        return b;
      },
      field: "batch.columns",
      description: /"age"/,
    },
    {
      name: "a missing prediction field",
      input: () => {
        const b = valid();
        delete b.predictions![PRED.klass];
        return b;
      },
      field: "batch.predictions",
      description: /pred\.class\$/,
    },
    {
      name: "predictions without a model in the header",
      target: productionTarget(collection, ""),
      input: valid,
      field: "batch.predictions",
      description: /model/,
    },
    {
      name: "influences without a model in the header",
      target: splitTarget(collection, "s", ""),
      input: () => build("new-", [0, 1, 2], ["influences"]),
      field: "batch.influences",
    },
  ];

  it.each(batchCases.map((c, i) => [c.name, c, i] as const))("batch refused whole: %s", async (_, c, index) => {
    const target = c.target ?? productionTarget(collection);
    const used = target.destination?.case === "split" ? 0 : 1;
    const before = await snapshot();
    const check = (found: { field: string; description: string }[], prefix: string) => {
      const expectedField = c.field.replace(/^batch/, prefix);
      expect(found.map((v) => v.field)).toContain(expectedField);
      if (c.description !== undefined) expect(found.find((v) => v.field === expectedField)!.description).toMatch(c.description);
    };
    // Put: INVALID_ARGUMENT with the batch's violations.
    const put = await failure(client.put(target, c.input()));
    expect(put.code).toBe(Code.InvalidArgument);
    check(violations(put), "batch");
    // Upload: INVALID_ARGUMENT naming batches[i], after the valid batches before it.
    const upload = await failure(client.upload(target, [build(`up${index}-`, [0], ["features"], { times: true }), c.input()]));
    expect(upload.code).toBe(Code.InvalidArgument);
    expect(upload.rawMessage).toMatch(/batch 1 refused/);
    check(violations(upload), "batches[1]");
    // Stream: an ack with the error, and the stream goes on.
    const acks = await rawStream(client, target, [c.input(), build(`after${index}-`, [0], ["features"], { times: true })], 7n);
    expect(acks.map((a) => [a.sequence, a.error?.code])).toEqual([
      [7n, 3],
      [8n, undefined],
    ]);
    expect(acks[0]!.summary?.rowsAccepted ?? 0n).toBe(0n);
    check(acks[0]!.error!.violations, "batch");
    expect(acks[1]!.summary?.rowsAccepted).toBe(1n);

    // Nothing of the refused batch: only the valid one-row batches around it landed, and nothing else changed.
    const now = await snapshot();
    now.forEach((records, t) => {
      if (t !== used) expect(records).toEqual(before[t]);
    });
    expect([...now[used]!.keys()].filter((id) => !before[used]!.has(id)).sort()).toEqual([`after${index}-0`, `up${index}-0`]);
    for (const [id, record] of before[used]!) expect(now[used]!.get(id)).toEqual(record);
  });

  it("Upload: a bad batch 2 leaves batches 0 and 1 written and nothing of batch 2 or after", async () => {
    const target = splitTarget(collection, "s");
    const bad = build("u2-", [20, 21], ["features"]);
    bad.columns!.bogus = [1, 2];
    const err = await failure(
      client.upload(target, [build("u0-", [0, 1], ["features"]), build("u1-", [10, 11], ["labels"]), bad, build("u3-", [30], ["features"])]),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/^batch 2 refused, nothing of it written \(the 2 batches before it are\)/);
    expect(violations(err)).toEqual([{ field: `batches[2].columns[${features.length}].name`, description: expect.stringMatching(/bogus/) }]);
    const read = await readAll(client, target, ["u0-0", "u0-1", "u1-10", "u1-11", "u2-20", "u2-21", "u3-30"]);
    expect([...read.keys()].sort()).toEqual(["u0-0", "u0-1", "u1-10", "u1-11"]);
    expect(read.get("u1-10")!.columns[L.value]).toBe(5);
  });

  it("Stream: a refused batch gets an ack with its error, and later batches land with their own row errors", async () => {
    const target = splitTarget(collection, "s");
    const bad = build("t2-", [0, 1], ["features"]);
    delete bad.columns![F.income];
    const withBadRow = build("t3-", [0, 1, 2], ["features"]);
    (withBadRow.columns![F.age] as Cell[])[1] = 500n;
    const acks = await rawStream(client, target, [build("t1-", [0, 1], ["features"]), bad, withBadRow], 100n);
    expect(acks.map((a) => a.sequence)).toEqual([100n, 101n, 102n]);
    expect(acks[0]!.error).toBeUndefined();
    expect(acks[1]!.error?.code).toBe(3);
    expect(acks[1]!.error?.message).toMatch(/income/);
    expect(acks[1]!.error?.violations.map((v) => v.field)).toEqual(["batch.columns"]);
    expect(acks[2]!.error).toBeUndefined();
    expect(rowErrorsOf(acks[2]!.summary!)).toEqual([{ row: 1, recordId: "t3-1", field: F.age, reason: "OUT_OF_RANGE", batch: 102 }]);
    const read = await readAll(client, target, ["t1-0", "t1-1", "t2-0", "t2-1", "t3-0", "t3-1", "t3-2"]);
    expect([...read.keys()].sort()).toEqual(["t1-0", "t1-1", "t3-0", "t3-2"]);
  });
});

describe("server limits", () => {
  let limited: ServerHandle;
  let lc: SightlineClient;
  const target = splitTarget("limits", "s");
  beforeAll(async () => {
    await setUpCollection(client, "limits");
    // A second server on the same database, with small limits.
    limited = await startServerProcess(iso, {
      SIGHTLINE_MAX_ROWS_PER_BATCH: "6",
      SIGHTLINE_MAX_PUT_ROWS: "4",
      SIGHTLINE_MAX_MESSAGE_BYTES: "16384",
      SIGHTLINE_MAX_STRING_BYTES: "16",
    });
    lc = createSightlineClient({ url: limited.url, apiKey: iso.adminKey });
  });
  afterAll(async () => {
    await limited?.stop();
  });
  const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  // Short strings only: this server takes at most 16 bytes per string.
  const features7 = (prefix: string, n: number) => {
    const input = build(prefix, Array.from({ length: n }, (_, i) => i), ["features"]);
    input.columns![F.str] = input.recordIds.map((id) => id.slice(-16));
    return input;
  };

  it("refuses a batch over SIGHTLINE_MAX_ROWS_PER_BATCH in every way in", async () => {
    // Put's own, lower limit speaks first.
    const put = await failure(lc.put(target, features7("rows-put-", 7)));
    expect(put.code).toBe(Code.InvalidArgument);
    expect(violations(put).map((v) => v.field)).toEqual(["batch.record_ids"]);
    const upload = await failure(lc.upload(target, [features7("rows-up-", 7)]));
    expect(violations(upload)).toEqual([{ field: "batches[0].record_ids", description: expect.stringMatching(/holds 7 rows; the limit is 6/) }]);
    const acks = await rawStream(lc, target, [features7("rows-st-", 7), features7("rows-st6-", 6)]);
    expect(acks.map((a) => a.error?.violations[0]?.field)).toEqual(["batch.record_ids", undefined]);
    expect(acks[1]!.summary?.rowsAccepted).toBe(6n);
    const read = await readAll(client, target);
    expect([...read.keys()].sort()).toEqual(ids(6, "rows-st6-"));
  });

  it("refuses a Put over SIGHTLINE_MAX_PUT_ROWS, which Upload takes", async () => {
    const err = await failure(lc.put(target, features7("put5-", 5)));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(violations(err)).toEqual([{ field: "batch.record_ids", description: expect.stringMatching(/Put takes at most 4, use Upload/) }]);
    expect((await readAll(client, target, ids(5, "put5-"))).size).toBe(0);
    expect((await lc.put(target, features7("put4-", 4))).rowsAccepted).toBe(4n);
    expect((await lc.upload(target, [features7("up5-", 5)])).rowsAccepted).toBe(5n);
    expect((await readAll(client, target, [...ids(4, "put4-"), ...ids(5, "up5-")])).size).toBe(9);
  });

  it("refuses a message over SIGHTLINE_MAX_MESSAGE_BYTES with RESOURCE_EXHAUSTED in every way in", async () => {
    const huge = (prefix: string): BatchInput => ({ recordIds: ids(4, prefix), columns: { [X.note]: ids(4, "x").map(() => "z".repeat(6000)) } });
    const before = await readAll(client, target);
    expect((await failure(lc.put(target, huge("big-put-")))).code).toBe(Code.ResourceExhausted);
    expect((await failure(lc.upload(target, [huge("big-up-")]))).code).toBe(Code.ResourceExhausted);
    expect((await failure(rawStream(lc, target, [huge("big-st-")]))).code).toBe(Code.ResourceExhausted);
    expect(await readAll(client, target)).toEqual(before);
  });

  it("rejects a string over SIGHTLINE_MAX_STRING_BYTES as a row error, counting bytes", async () => {
    const input: BatchInput = { recordIds: ids(3, "str-"), columns: { [X.note]: ["ü".repeat(8), "ü".repeat(8) + "a", "a".repeat(16)] } };
    const summary = await lc.put(target, input);
    expect(rowErrorsOf(summary)).toEqual([{ row: 1, recordId: "str-1", field: X.note, reason: "STRING_TOO_LONG", batch: 0 }]);
    const read = await readAll(client, target, ids(3, "str-"));
    expect([...read.keys()]).toEqual(["str-0", "str-2"]);
    expect(read.get("str-0")!.columns[X.note]).toBe("ü".repeat(8));
  });
});

// ---------------------------------------------------------------------------------------------------------------------

describe("interop: the same upload through grpc-js and connect-es", () => {
  const stacks = ["grpcjs", "connect_grpc", "connect_protocol"] as const;
  beforeAll(async () => {
    for (const stack of stacks) await setUpCollection(client, `interop_${stack}`);
  });

  it("lands identical records and summaries", async () => {
    const batches = [0, 1, 2].map((b) => {
      const input = build("i-", Array.from({ length: 40 }, (_, i) => b * 40 + i), allKinds, { times: true });
      (input.columns![F.cat] as Cell[])[5] = "nope"; // one rejected row per batch, to compare row errors too
      return toRecordBatch(input);
    });
    const grpcJs = grpcJsCaller(server.address);
    const summaries: WriteSummary[] = [];
    try {
      const messages = [{ message: { case: "header" as const, value: productionTarget("interop_grpcjs") } }, ...batches.map((value) => ({ message: { case: "batch" as const, value } }))];
      const response = await grpcJs.clientStreaming(IngestService.method.upload, messages, iso.adminKey);
      summaries.push(response.summary!);
      // grpc-js reports a refused call with the same status and details.
      const refused = await grpcJs
        .clientStreaming(IngestService.method.upload, [{ message: { case: "header" as const, value: productionTarget("ghost") } }], iso.adminKey)
        .catch((e: unknown) => e);
      expect(refused instanceof RpcFailure && refused.code).toBe(Code.NotFound);
    } finally {
      grpcJs.close();
    }
    summaries.push(await client.upload(productionTarget("interop_connect_grpc"), batches));
    const connectProtocol = createSightlineClient({ url: server.url, apiKey: iso.adminKey, protocol: "connect" });
    summaries.push(await connectProtocol.upload(productionTarget("interop_connect_protocol"), batches));

    expect(summaries[0]!.rowsAccepted).toBe(117n);
    expect(rowErrorsOf(summaries[0]!).map((e) => [e.batch, e.row, e.recordId, e.reason])).toEqual([
      [0, 5, "i-5", "UNKNOWN_CATEGORY"],
      [1, 5, "i-45", "UNKNOWN_CATEGORY"],
      [2, 5, "i-85", "UNKNOWN_CATEGORY"],
    ]);
    expect(summaries[1]).toEqual(summaries[0]);
    expect(summaries[2]).toEqual(summaries[0]);

    const [a, b, c] = await Promise.all(stacks.map((s) => readAll(client, productionTarget(`interop_${s}`))));
    expect(a!.size).toBe(117);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(a!.get("i-40")).toEqual(expectedRows(build("i-", [40], allKinds, { times: true })).get("i-40"));
  });
});

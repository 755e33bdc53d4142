// Monitoring end to end against scikit-learn and SciPy: the dataset and its expected values come from
// test/reference/monitoring_reference.py (committed with its output). Rows go in through the real Upload path, the
// worker's job scheduler computes the buckets, and what GetMonitoring returns is compared with the reference, before
// and after late labels that change already computed buckets.
import { readFileSync } from "node:fs";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSightlineClient,
  FieldKind,
  FieldType,
  Granularity,
  JobState,
  ModelMode,
  ScoreType,
  SplitType,
  type BatchInput,
  type Cell,
  type MonitoringBucket,
  type SightlineClient,
  type TargetInit,
} from "../../clients/ts/src/index.js";
import { settledAfterWriteMs } from "../../server/src/jobs/monitoring-run.js";
import { isolation, startServerProcess, startWorkerProcess, type ChildHandle, type ServerHandle } from "../harness/processes.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../server/src/gen/google/rpc/error_details_pb.js";

async function expectFailure(call: Promise<unknown>, code: Code): Promise<ConnectError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${Code[code]}`).toBeInstanceOf(ConnectError);
  expect(Code[(err as ConnectError).code]).toBe(Code[code]);
  return err as ConnectError;
}

interface Row {
  id: string;
  ts?: number;
  features: Record<string, Cell>;
  labels?: Record<string, Cell>;
  predictions: Record<string, number>;
}
type Stats = Record<string, number | null>;
interface ExpectedBucket {
  start?: number;
  counts: { records: number; predictions: number; labelled: number; labelRate: number | null; unusableLabels: number; zeroLabels: number };
  performance: Stats;
  confusion?: { trueNegatives: number; falsePositives: number; falseNegatives: number; truePositives: number };
  drift: { field: string; source: string; baselineCount: number; currentCount: number; statistics: Stats }[];
  quality: { field: string; count: number; missing: number; missingRate: number | null; outOfRange?: number; outOfRangeRate?: number | null; unseen?: number; unseenRate?: number | null }[];
}
interface ModelExpectation {
  hours: ExpectedBucket[];
  days: ExpectedBucket[];
  splits: Record<string, ExpectedBucket>;
}
interface Cases {
  schema: { recordIdColumn: string; fields: { name: string; kind: string; type: string; nullable: boolean; categories?: string[] }[] };
  models: { name: string; scoreType: string; labelField: string; threshold: number | null; predictionField: { name: string; type: string } }[];
  baselineSplit: string;
  splits: Record<string, Row[]>;
  production: Row[];
  lateLabels: { id: string; labels: Record<string, Cell> }[];
  expected: { phase1: Record<string, ModelExpectation>; phase2: Record<string, ModelExpectation> };
}

const cases = JSON.parse(readFileSync(new URL("../reference/monitoring-cases.json", import.meta.url), "utf8")) as Cases;
const P = "mon";
const C = "loans";
const pValues = new Set(["ks_p_value", "chi_square_p_value"]);

/** The largest deviation seen, for the closing note. */
const deviation = { relative: 0, absolute: 0, where: "" };

function expectClose(actual: number | undefined, expected: number | null, name: string, where: string): void {
  if (expected === null) {
    expect(actual, `${where} ${name} should be undefined`).toBeUndefined();
    return;
  }
  expect(actual, `${where} ${name}`).toBeTypeOf("number");
  const a = actual!;
  const diff = Math.abs(a - expected);
  const relative = diff / Math.abs(expected);
  if (Math.abs(expected) > 1e-12 && relative > deviation.relative) Object.assign(deviation, { relative, where: `${where} ${name}` });
  if (Math.abs(expected) <= 1e-12) deviation.absolute = Math.max(deviation.absolute, diff);
  const tolerance = pValues.has(name) ? 1e-6 : 1e-9;
  const ok = diff <= 1e-12 || diff <= tolerance * Math.abs(expected);
  expect(ok, `${where} ${name}: got ${a}, expected ${expected}`).toBe(true);
}

function metricMap(values: { name: string; value?: number; undefinedReason: string }[], where: string): Map<string, number | undefined> {
  const map = new Map<string, number | undefined>();
  for (const v of values) {
    if (v.value === undefined) expect(v.undefinedReason, `${where} ${v.name} says why it is undefined`).not.toBe("");
    map.set(v.name, v.value);
  }
  return map;
}

function compareBucket(actual: MonitoringBucket, expected: ExpectedBucket, where: string): void {
  const c = actual.counts!;
  expect([Number(c.records), Number(c.predictions), Number(c.labelled), Number(c.unusableLabels), Number(c.zeroLabels)], `${where} counts`).toEqual([
    expected.counts.records,
    expected.counts.predictions,
    expected.counts.labelled,
    expected.counts.unusableLabels,
    expected.counts.zeroLabels,
  ]);
  expectClose(c.labelRate, expected.counts.labelRate, "label_rate", where);
  const performance = metricMap(actual.performance, where);
  expect([...performance.keys()].sort()).toEqual(Object.keys(expected.performance).sort());
  for (const [name, value] of Object.entries(expected.performance)) expectClose(performance.get(name), value, name, where);
  if (expected.confusion !== undefined) {
    const m = actual.confusion!;
    expect({ tn: Number(m.trueNegatives), fp: Number(m.falsePositives), fn: Number(m.falseNegatives), tp: Number(m.truePositives) }, `${where} confusion`).toEqual({
      tn: expected.confusion.trueNegatives,
      fp: expected.confusion.falsePositives,
      fn: expected.confusion.falseNegatives,
      tp: expected.confusion.truePositives,
    });
  }
  expect(actual.drift.map((d) => d.field)).toEqual(expected.drift.map((d) => d.field));
  expected.drift.forEach((e, i) => {
    const d = actual.drift[i]!;
    const at = `${where} drift ${e.field}`;
    expect([Number(d.baselineCount), Number(d.currentCount)], `${at} counts`).toEqual([e.baselineCount, e.currentCount]);
    const stats = metricMap(d.statistics, at);
    expect([...stats.keys()].sort()).toEqual(Object.keys(e.statistics).sort());
    for (const [name, value] of Object.entries(e.statistics)) expectClose(stats.get(name), value, name, at);
  });
  expect(actual.quality.map((q) => q.field)).toEqual(expected.quality.map((q) => q.field));
  expected.quality.forEach((e, i) => {
    const q = actual.quality[i]!;
    const at = `${where} quality ${e.field}`;
    expect([Number(q.count), Number(q.missing)], `${at} counts`).toEqual([e.count, e.missing]);
    const rates = metricMap(q.rates, at);
    expectClose(rates.get("missing_rate"), e.missingRate, "missing_rate", at);
    if (e.outOfRange !== undefined) {
      expect(Number(q.outOfRange), `${at} out of range`).toBe(e.outOfRange);
      expectClose(rates.get("out_of_range_rate"), e.outOfRangeRate ?? null, "out_of_range_rate", at);
    }
    if (e.unseen !== undefined) {
      expect(Number(q.unseen), `${at} unseen`).toBe(e.unseen);
      expectClose(rates.get("unseen_rate"), e.unseenRate ?? null, "unseen_rate", at);
    }
  });
}

const scoreTypes: Record<string, ScoreType> = { PROBITS: ScoreType.PROBITS, LOGITS: ScoreType.LOGITS, REGRESSION: ScoreType.REGRESSION };

function column<T>(rows: Row[], pick: (r: Row) => T): T[] {
  return rows.map(pick);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function batchesOf(rows: Row[], size: number, toBatch: (rows: Row[]) => BatchInput): BatchInput[] {
  return chunks(rows, size).map(toBatch);
}

const featureNames = cases.schema.fields.filter((f) => f.kind === "FEATURE").map((f) => f.name);
const labelNames = cases.schema.fields.filter((f) => f.kind === "LABEL").map((f) => f.name);

async function uploadRows(client: SightlineClient, destination: TargetInit["destination"], rows: Row[]): Promise<void> {
  const production = destination?.case === "production";
  const times = (part: Row[]) => (production ? { eventTimes: column(part, (r) => r.ts!) } : {});
  // The first model's upload creates the records whole (features, labels where they exist, its predictions), so
  // they are inserts; each other model's predictions follow.
  for (const [i, model] of cases.models.entries()) {
    const batches = chunks(rows, 500).flatMap((part) => {
      const groups = i === 0 ? [part.filter((r) => r.labels !== undefined), part.filter((r) => r.labels === undefined)] : [part];
      return groups
        .filter((g) => g.length > 0)
        .map((g): BatchInput => {
          const columns: Record<string, Cell[]> = {};
          if (i === 0) {
            for (const f of featureNames) columns[f] = column(g, (r) => r.features[f] ?? null);
            if (g[0]!.labels !== undefined) for (const l of labelNames) columns[l] = column(g, (r) => r.labels![l] ?? null);
          }
          return { recordIds: column(g, (r) => r.id), ...times(g), columns, predictions: { [model.predictionField.name]: column(g, (r) => r.predictions[model.name]!) } };
        });
    });
    const summary = await client.upload({ project: P, collection: C, destination, model: model.name }, batches);
    expect(summary.rowErrors, `upload of ${model.name}`).toEqual([]);
  }
}

async function uploadLabels(client: SightlineClient, destination: TargetInit["destination"], rows: { id: string; labels: Record<string, Cell> }[]): Promise<void> {
  const summary = await client.upload(
    { project: P, collection: C, destination },
    batchesOf(rows as unknown as Row[], 500, (part) => ({
      recordIds: column(part, (r) => r.id),
      columns: Object.fromEntries(labelNames.map((l) => [l, column(part, (r) => r.labels![l] ?? null)])),
    })),
  );
  expect(summary.rowErrors).toEqual([]);
}

async function productionSeries(client: SightlineClient, model: string, granularity: Granularity) {
  return client.monitoring.getMonitoring({ project: P, collection: C, model, granularity, splits: ["*"] });
}

function compareModel(actual: Awaited<ReturnType<typeof productionSeries>>, day: Awaited<ReturnType<typeof productionSeries>>, expected: ModelExpectation, where: string): void {
  expect(actual.buckets.map((b) => timestampMs(b.startTime!)), `${where} hours`).toEqual(expected.hours.map((h) => h.start));
  actual.buckets.forEach((b, i) => compareBucket(b, expected.hours[i]!, `${where} hour ${new Date(expected.hours[i]!.start!).toISOString()}`));
  expect(day.buckets.map((b) => timestampMs(b.startTime!)), `${where} days`).toEqual(expected.days.map((d) => d.start));
  day.buckets.forEach((b, i) => compareBucket(b, expected.days[i]!, `${where} day ${new Date(expected.days[i]!.start!).toISOString()}`));
  expect(actual.splits.map((s) => s.split).sort()).toEqual(Object.keys(expected.splits).sort());
  for (const s of actual.splits) compareBucket(s.result!, expected.splits[s.split]!, `${where} split ${s.split}`);
}

describe("monitoring against the scikit-learn and SciPy reference", () => {
  const iso = isolation("monitoring");
  let server: ServerHandle;
  let worker: ChildHandle;
  let client: SightlineClient;

  beforeAll(async () => {
    server = await startServerProcess(iso);
    worker = await startWorkerProcess(iso, { SIGHTLINE_MONITORING_INTERVAL_MS: "1000" });
    client = createSightlineClient({ url: server.url, apiKey: iso.adminKey });
    await client.admin.createProject({ project: { name: P } });
    const fieldTypes: Record<string, FieldType> = { DOUBLE: FieldType.DOUBLE, INT64: FieldType.INT64, STRING: FieldType.STRING, BOOL: FieldType.BOOL, CATEGORICAL: FieldType.CATEGORICAL };
    await client.catalog.createDataCollection({
      collection: {
        project: P,
        name: C,
        schema: {
          recordIdColumn: cases.schema.recordIdColumn,
          fields: cases.schema.fields.map((f) => ({
            name: f.name,
            kind: f.kind === "FEATURE" ? FieldKind.FEATURE : FieldKind.LABEL,
            type: fieldTypes[f.type]!,
            nullable: f.nullable,
            categories: f.categories ?? [],
          })),
        },
      },
    });
    for (const name of Object.keys(cases.splits)) {
      await client.catalog.createSplit({ split: { project: P, collection: C, name, type: name === cases.baselineSplit ? SplitType.TRAIN : SplitType.TEST } });
    }
    await client.catalog.setBaselineSplit({ project: P, collection: C, name: cases.baselineSplit });
    for (const m of cases.models) {
      await client.catalog.createModel({
        model: {
          project: P,
          collection: C,
          name: m.name,
          scoreType: scoreTypes[m.scoreType]!,
          mode: ModelMode.DATA_ONLY,
          predictionFields: [{ name: m.predictionField.name, type: FieldType.DOUBLE }],
          labelField: m.labelField,
          ...(m.threshold === null ? {} : { decisionThreshold: m.threshold }),
        },
      });
    }
    for (const [name, rows] of Object.entries(cases.splits)) await uploadRows(client, { case: "split", value: name }, rows);
    await uploadRows(client, { case: "production", value: true }, cases.production);
  }, 600_000);

  afterAll(async () => {
    await worker?.stop();
    await server?.stop();
    process.stdout.write(`monitoring reference: largest relative deviation ${deviation.relative.toExponential(2)} (${deviation.where}), largest absolute near zero ${deviation.absolute.toExponential(2)}\n`);
  });

  it("the scheduled runs compute every bucket, and each matches the reference", async () => {
    // Buckets written within the settle margin are recomputed by the next run too: count runs from after it.
    const uploadsDone = Date.now() + settledAfterWriteMs;
    // No refresh is requested: the per-model job schedulers (every second here) must find the data on their own.
    for (const m of cases.models) {
      // Runs of a model never overlap, so the second run to finish after the uploads started after them.
      const deadline = Date.now() + 90_000;
      const runsSeen = new Set<number>();
      let hours = await productionSeries(client, m.name, Granularity.HOUR);
      for (;;) {
        const lastRun = hours.lastRunTime === undefined ? 0 : timestampMs(hours.lastRunTime);
        if (lastRun > uploadsDone) runsSeen.add(lastRun);
        if (runsSeen.size >= 2) break;
        expect(Date.now(), `two scheduled runs of ${m.name} after the uploads`).toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 300));
        hours = await productionSeries(client, m.name, Granularity.HOUR);
      }
      compareModel(hours, await productionSeries(client, m.name, Granularity.DAY), cases.expected.phase1[m.name]!, `phase 1 ${m.name}`);
    }
  }, 180_000);

  it("late labels correct the buckets they belong to after a refresh, and only those are recomputed", async () => {
    await uploadLabels(client, { case: "production", value: true }, cases.lateLabels);
    for (const m of cases.models) {
      const { jobId } = await client.monitoring.refreshMonitoring({ project: P, collection: C, model: m.name });
      const states: JobState[] = [];
      const last = await client.waitForJob(jobId, (s) => states.push(s.state));
      expect(last.state, `refresh of ${m.name}: ${last.message}`).toBe(JobState.COMPLETED);
      expect(last.progress).toBe(100);
      // Another run may have taken some of the changed hours first; together they never redo a clean one.
      expect(Number(last.result!.hours)).toBeLessThanOrEqual(2);
      expect(last.result!.full).toBe(false);
      compareModel(
        await productionSeries(client, m.name, Granularity.HOUR),
        await productionSeries(client, m.name, Granularity.DAY),
        cases.expected.phase2[m.name]!,
        `phase 2 ${m.name}`,
      );
    }
  }, 180_000);

  it("counts overwritten records in the buckets of the overwrites", async () => {
    const res = await productionSeries(client, "clf", Granularity.HOUR);
    const overwritten = res.buckets.reduce((n, b) => n + Number(b.overwrittenRecords), 0);
    // Every late label replaced labels the record held, except those for records that had none.
    const hadLabels = new Set(cases.production.filter((r) => r.labels !== undefined).map((r) => r.id));
    expect(overwritten).toBe(cases.lateLabels.filter((l) => hadLabels.has(l.id)).length);
  });

  it("refuses unknown models, metrics, fields and splits, and bad job IDs, with details", async () => {
    await expectFailure(client.monitoring.getMonitoring({ project: P, collection: C, model: "nope" }), Code.NotFound);
    const bad = await expectFailure(
      client.monitoring.getMonitoring({ project: P, collection: C, model: "clf", metrics: ["mae"], fields: ["nope"], splits: ["nope"] }),
      Code.InvalidArgument,
    );
    expect(bad.findDetails(BadRequestSchema)[0]!.fieldViolations.map((v) => v.field).sort()).toEqual(["fields[0]", "metrics[0]", "splits[0]"]);
    await expectFailure(client.monitoring.refreshMonitoring({ project: P, collection: C, model: "nope" }), Code.NotFound);
    await expectFailure(
      (async () => {
        for await (const _ of client.monitoring.watchJob({ jobId: "bogus" })) void _;
      })(),
      Code.InvalidArgument,
    );
    await expectFailure(
      (async () => {
        for await (const _ of client.monitoring.watchJob({ jobId: "monitoring:999999" })) void _;
      })(),
      Code.NotFound,
    );
  });
});

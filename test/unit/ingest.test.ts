// Pure ingest code: column planning, cell rules and row outcomes, without a server.
import { Long } from "mongodb";
import { describe, expect, it } from "vitest";
import { toRecordBatch, type BatchInput } from "../../clients/ts/src/batch.js";
import { DataKind, RowErrorReason } from "../../server/src/gen/sightline/v1/records_pb.js";
import { FieldKind, FieldType, ModelMode, ScoreType } from "../../server/src/gen/sightline/v1/resources_pb.js";
import { collectionTargetsPattern, newRecordDoc, productionTarget, recordIdOf, splitTarget, targetKey } from "../../server/src/ingest/layout.js";
import { buildMask, isNull } from "../../server/src/ingest/null-mask.js";
import { planBatch, type IngestTarget } from "../../server/src/ingest/plan.js";
import { validateRows } from "../../server/src/ingest/rows.js";
import type { ModelDoc, StoredField } from "../../server/src/store/db.js";

const limits = { maxRowsPerBatch: 100, maxStringBytes: 16 };

function field(id: number, name: string, kind: FieldKind, type: FieldType, extra: Partial<StoredField> = {}): StoredField {
  return { id, name, kind, type, nullable: false, categories: [], rangeMin: null, rangeMax: null, ...extra };
}

const fields: StoredField[] = [
  field(0, "x.y", FieldKind.FEATURE, FieldType.DOUBLE, { rangeMin: 0, rangeMax: 10 }),
  field(1, "n", FieldKind.FEATURE, FieldType.INT64, { nullable: true }),
  field(2, "c", FieldKind.FEATURE, FieldType.CATEGORICAL, { categories: ["a", "b"], nullable: true }),
  field(3, "y", FieldKind.LABEL, FieldType.BOOL, { nullable: true }),
  field(4, "t", FieldKind.EXTRA, FieldType.TIMESTAMP, { nullable: true }),
];
const model: ModelDoc = {
  _id: "p/c/m",
  project: "p",
  collection: "c",
  name: "m",
  scoreType: ScoreType.PROBITS,
  predictionFields: [{ name: "score", type: FieldType.DOUBLE }],
  labelField: "y",
  decisionThreshold: null,
  classLabels: [],
  mode: ModelMode.DATA_ONLY,
  createTime: new Date(0),
};
const production: IngestTarget = { fields, production: true, model };

function run(input: BatchInput, target: IngestTarget = production) {
  const batch = toRecordBatch(input);
  const { plan, violations } = planBatch(target, batch, limits);
  if (plan === undefined) return { violations, writes: [], errors: [], kinds: [] as DataKind[] };
  const outcome = validateRows(plan, batch.recordIds, { targetKey: "p/c|p", production: target.production, model: target.model?.name, now: new Date(5) }, limits);
  return { violations, ...outcome };
}

describe("null masks", () => {
  it("set bit i, least significant first, for null row i", () => {
    const mask = buildMask([false, true, false, false, false, false, false, false, true]);
    expect([...mask]).toEqual([0b10, 0b1]);
    expect([0, 1, 8].map((r) => isNull(mask, r))).toEqual([false, true, true]);
    expect(buildMask([false, false]).length).toBe(0);
  });
});

describe("batch plans", () => {
  it("refuse unknown and repeated columns, length mismatches and missing required columns", () => {
    const batch = toRecordBatch({ recordIds: ["a", "b"], eventTimes: [1, 2], columns: { "x.y": [1, 2], nope: [1, 2] } });
    batch.columns.push(batch.columns[0]!);
    const { violations } = planBatch(production, batch, limits);
    expect(violations.map((v) => v.field)).toEqual(["batch.columns[1].name", "batch.columns[2].name"]);
    expect(run({ recordIds: ["a", "b"], columns: { "x.y": [1] } }).violations[0]?.description).toMatch(/1 values for 2 record IDs/);
    expect(run({ recordIds: ["a"], columns: { n: [1n] } }).violations[0]?.description).toBe('FEATURES needs a column for "x.y"');
    expect(run({ recordIds: ["a"], influences: { "x.y": [1] } }).violations.map((v) => v.description)).toContain('INFLUENCES needs a column for "n"');
  });

  it("refuse predictions without a model, batches over the row limit, and batches with no columns", () => {
    const noModel = { ...production, model: undefined };
    expect(run({ recordIds: ["a"], predictions: { score: [0.1] } }, noModel).violations[0]?.field).toBe("batch.predictions");
    expect(run({ recordIds: Array.from({ length: 101 }, (_, i) => `r${i}`) }).violations[0]?.description).toMatch(/limit is 100/);
    expect(run({ recordIds: ["a"] }).violations[0]?.description).toMatch(/no columns/);
  });

  it("report every one of 600,000 bad columns in each group without overflowing the stack", () => {
    const batch = toRecordBatch({ recordIds: ["a"], eventTimes: [1], columns: { "x.y": [1], nope: [1] }, predictions: { score: [0.5], nope: [1] }, influences: { nope: [1] } });
    for (const group of [batch.columns, batch.predictions, batch.influences]) {
      const bad = group.find((c) => c.name === "nope")!;
      for (let i = 0; i < 600_000; i++) group.push(bad);
    }
    const { plan, violations } = planBatch(production, batch, limits);
    expect(plan).toBeUndefined();
    expect(violations.filter((v) => v.description.includes('"nope" is not a known'))).toHaveLength(3 * 600_001);
  });
});

describe("rows", () => {
  it("build one $set per accepted row with only the kinds carried, keyed by field id", () => {
    const { writes, errors } = run({
      recordIds: ["a"],
      eventTimes: [3_600_000 * 5 + 7],
      columns: { "x.y": [2.5], n: [2n ** 60n], c: ["b"], y: [true] },
      predictions: { score: [0.25] },
    });
    expect(errors).toEqual([]);
    expect(writes).toHaveLength(1);
    const set = writes[0]!.set;
    expect(set.f).toEqual({ c0: 2.5, c1: Long.fromBigInt(2n ** 60n), c2: "b" });
    expect(set.l).toEqual({ c3: true });
    expect(set["p.m"]).toEqual({ c0: 0.25 });
    expect(set["wp.m"]).toEqual(new Date(5));
    expect(set.x).toBeUndefined();
    expect(set.ts).toEqual(new Date(3_600_000 * 5 + 7));
    expect(set.hb).toBe(`p/c|p|h${3_600_000 * 5}`);
  });

  it("reject each bad row with its reason and keep the others", () => {
    const { writes, errors } = run({
      recordIds: ["ok", "", "ok", "range", "nan", "inf", "cat", "x".repeat(513), "int", "time"],
      eventTimes: [1, 1, 1, 1, 1, 1, 1, 1, 1, null],
      columns: {
        "x.y": [1, 1, 1, 11, NaN, Infinity, 1, 1, 1, 1],
        n: [1, 1, 1, 1, 1, 1, 1, 1, 2.5, 1],
        c: ["a", "a", "a", "a", "a", "a", "z", "a", "a", "a"],
        t: [new Date(0), null, null, null, null, null, null, null, null, null],
      },
    });
    expect(writes.map((w) => w.recordId)).toEqual(["ok"]);
    expect(errors.map((e) => [Number(e.row), e.field, RowErrorReason[e.reason]])).toEqual([
      [1, "", "INVALID_RECORD_ID"],
      [2, "", "DUPLICATE_RECORD_ID"],
      [3, "x.y", "OUT_OF_RANGE"],
      [4, "x.y", "NULL_NOT_ALLOWED"],
      [5, "x.y", "NOT_FINITE"],
      [6, "c", "UNKNOWN_CATEGORY"],
      [7, "", "INVALID_RECORD_ID"],
      [8, "n", "WRONG_TYPE"],
      [9, "event_times", "MISSING_TIMESTAMP"],
    ]);
  });

  it("let labels arrive by ID alone in production, and read int64s held as whole doubles", () => {
    const late = run({ recordIds: ["a"], columns: { y: [false] } });
    expect(late.errors).toEqual([]);
    expect(late.writes[0]!.set).toEqual({ l: { c3: false }, wl: new Date(5) });
    const { writes } = run({ recordIds: ["b"], eventTimes: [1], columns: { "x.y": [1], n: [42] } });
    expect(writes[0]!.set.f).toEqual({ c0: 1, c1: 42 });
  });

  it("refuse strings that are too long or hold NUL, and a PROBITS score outside [0, 1]", () => {
    const { errors } = run({
      recordIds: ["a", "b", "c"],
      eventTimes: [1, 1, 1],
      columns: { "x.y": [1, 1, 1], c: ["a", "a", "a"], y: [true, true, true] },
      predictions: { score: [0.5, 1.5, -0.1] },
    });
    expect(errors.map((e) => [Number(e.row), RowErrorReason[e.reason]])).toEqual([
      [1, "OUT_OF_RANGE"],
      [2, "OUT_OF_RANGE"],
    ]);
    const strings = run({ recordIds: ["a", "b"], columns: { y: [true, true] } }, { ...production, fields: [...fields, field(5, "s", FieldKind.LABEL, FieldType.STRING)] });
    expect(strings.violations[0]?.description).toBe('LABELS needs a column for "s"');
    const s = run({ recordIds: ["a", "b"], columns: { y: [true, true], s: ["x".repeat(17), "a\u0000b"] } }, { ...production, fields: [...fields, field(5, "s", FieldKind.LABEL, FieldType.STRING)] });
    expect(s.errors.map((e) => RowErrorReason[e.reason])).toEqual(["STRING_TOO_LONG", "INVALID_STRING"]);
  });

  it("counts kinds from the columns present", () => {
    expect(run({ recordIds: ["a"], columns: { y: [true] }, predictions: { score: [0.1] } }).kinds.sort()).toEqual([DataKind.LABELS, DataKind.PREDICTIONS]);
  });
});

describe("record layout", () => {
  it("builds the document an upsert would create, and gives the record ID back from the _id", () => {
    const key = targetKey("acme", "credit", splitTarget("train"));
    const doc = newRecordDoc(key, "r|1", { f: { c0: 1 }, wf: new Date(0), "p.risk": { c0: 0.5 }, "wp.risk": new Date(0) });
    expect(doc).toEqual({ _id: `${key}|r|1`, ct: key, f: { c0: 1 }, wf: new Date(0), p: { risk: { c0: 0.5 } }, wp: { risk: new Date(0) } });
    expect(recordIdOf(doc)).toBe("r|1");
  });

  it("matches every target of a collection and no other collection's", () => {
    const pattern = collectionTargetsPattern("acme", "credit");
    expect(pattern.test(targetKey("acme", "credit", productionTarget))).toBe(true);
    expect(pattern.test(targetKey("acme", "credit", splitTarget("train")))).toBe(true);
    expect(pattern.test(targetKey("acme", "credit2", productionTarget))).toBe(false);
    expect(pattern.test(targetKey("acme-x", "credit", productionTarget))).toBe(false);
  });
});

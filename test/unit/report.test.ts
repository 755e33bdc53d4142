// The bucket report's own rules, beyond the metric and drift functions it calls (checked against the reference
// elsewhere): how scores and labels are read per score type, what is counted, and why absent values are absent.
import { describe, expect, it } from "vitest";
import { baselineOf, bucketReport, type ReportSpec } from "../../server/src/monitoring/report.js";
import { BucketSample } from "../../server/src/monitoring/sample.js";

function sample(rows: { score: unknown; label: unknown; x?: number | null; c?: string | null; features?: boolean }[]): BucketSample {
  const s = new BucketSample(2);
  for (const r of rows) s.add({ score: r.score, label: r.label, hasFields: r.features ?? true, fields: [r.x ?? null, r.c ?? null] });
  return s;
}

const fields = [
  { name: "x", numeric: true },
  { name: "c", numeric: false },
];

function spec(overrides: Partial<ReportSpec>): ReportSpec {
  return { reading: "probability", threshold: 0.5, classLabels: [], noLabels: undefined, score: { name: "s", numeric: true }, fields, ...overrides };
}

const value = (entries: { name: string; value: number | null; reason: string }[], name: string) => entries.find((e) => e.name === name)!;

describe("bucket report", () => {
  it("counts predictions, labelled records and unusable labels, and computes metrics over the labelled ones only", () => {
    const r = bucketReport(
      spec({}),
      sample([
        { score: 0.9, label: true },
        { score: 0.2, label: false },
        { score: 0.7, label: null },
        { score: 0.6, label: "maybe" },
        { score: null, label: true },
      ]),
      undefined,
    );
    expect(r.counts).toEqual({ records: 5, predictions: 4, labelled: 2, labelRate: 0.5, unusableLabels: 1, zeroLabels: 0 });
    expect(value(r.performance, "accuracy").value).toBe(1);
    expect(r.confusion).toEqual({ trueNegatives: 1, falsePositives: 0, falseNegatives: 0, truePositives: 1 });
  });

  it("compares a LOGITS threshold in logit space, and gives probabilities through the sigmoid", () => {
    const r = bucketReport(spec({ reading: "logit", threshold: 0 }), sample([{ score: -1e-17, label: true }, { score: 800, label: true }]), undefined);
    // sigmoid(-1e-17) is exactly 0.5, yet the logit is below the threshold: a false negative.
    expect(r.confusion).toEqual({ trueNegatives: 0, falsePositives: 0, falseNegatives: 1, truePositives: 1 });
    expect(value(r.performance, "brier_score").value).toBeCloseTo(0.125, 15);
  });

  it("reads a CLASSIFICATION model's classes through its class labels and leaves the score-based metrics absent", () => {
    const r = bucketReport(
      spec({ reading: "class", classLabels: ["no", "yes"], score: { name: "s", numeric: false } }),
      sample([
        { score: "yes", label: "yes" },
        { score: "no", label: "yes" },
        { score: "other", label: "no" },
      ]),
      undefined,
    );
    expect(r.counts.predictions).toBe(2);
    expect(value(r.performance, "recall").value).toBe(0.5);
    expect(value(r.performance, "roc_auc")).toEqual({ name: "roc_auc", value: null, reason: "the model gives classes, not scores" });
  });

  it("says why: one class present, nothing labelled, no label field, no baseline", () => {
    const oneClass = bucketReport(spec({}), sample([{ score: 0.3, label: true }, { score: 0.8, label: true }]), undefined);
    expect(value(oneClass.performance, "roc_auc")).toEqual({ name: "roc_auc", value: null, reason: "every label is positive" });
    const unlabelled = bucketReport(spec({}), sample([{ score: 0.3, label: null }]), undefined);
    expect(unlabelled.counts.labelRate).toBe(0);
    expect(value(unlabelled.performance, "accuracy").reason).toBe("no labelled predictions in the bucket");
    const empty = bucketReport(spec({}), sample([]), undefined);
    expect(empty.counts.labelRate).toBeNull();
    expect(value(empty.performance, "accuracy").reason).toBe("no predictions in the bucket");
    const noLabel = bucketReport(spec({ noLabels: "no label field" }), sample([{ score: 0.3, label: true }]), undefined);
    expect(noLabel.counts.labelled).toBe(0);
    expect(value(noLabel.performance, "f1").reason).toBe("no label field");
    for (const d of empty.drift) for (const s of d.statistics) expect(s.reason).toBe("the collection has no baseline split");
  });

  it("regression counts zero labels and leaves MAPE absent when every label is zero", () => {
    const r = bucketReport(spec({ reading: "regression" }), sample([{ score: 1, label: 0 }, { score: 2, label: 0 }]), undefined);
    expect(r.counts.zeroLabels).toBe(2);
    expect(value(r.performance, "mae").value).toBe(1.5);
    expect(value(r.performance, "mape")).toEqual({ name: "mape", value: null, reason: "every label is zero" });
  });

  it("measures drift and quality against the baseline: features first, then the score; quality over records with features", () => {
    const baselineRows = Array.from({ length: 20 }, (_, i) => ({ score: i / 20, label: i % 2 === 0, x: i, c: i % 2 === 0 ? "a" : "b" }));
    const s = spec({});
    const baseline = baselineOf(s, sample(baselineRows));
    const r = bucketReport(
      s,
      sample([
        { score: 0.5, label: true, x: 25, c: "z" },
        { score: 0.5, label: true, x: null, c: "a" },
        { score: 0.5, label: true, features: false },
      ]),
      baseline,
    );
    expect(r.drift.map((d) => [d.field, d.source, d.baselineCount, d.currentCount])).toEqual([
      ["x", "feature", 20, 1],
      ["c", "feature", 20, 2],
      ["s", "prediction", 20, 3],
    ]);
    expect(r.quality[0]).toMatchObject({ field: "x", count: 2, missing: 1, outOfRange: 1 });
    expect(value(r.quality[0]!.rates, "out_of_range_rate").value).toBe(1);
    expect(r.quality[1]).toMatchObject({ field: "c", count: 2, missing: 0, unseen: 1 });
    expect(value(r.quality[1]!.rates, "unseen_rate").value).toBe(0.5);
  });
});

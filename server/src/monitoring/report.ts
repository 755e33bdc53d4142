// One bucket's monitoring report: counts, performance, drift against the baseline and data quality, from its sample.
// Pure: the job builds the spec and the baseline once per run, then calls `bucketReport` for each bucket it
// recomputes. Undefined values are null with a reason, never a number, so the report stores and serves as it is.
import { binaryClass } from "./buckets.js";
import {
  categoricalDrift,
  numericBaseline,
  numericDrift,
  type CategoryCounts,
  type NumericBaseline,
} from "./drift.js";
import { binaryMetrics, regressionMetrics, sigmoid, type ConfusionMatrix } from "./metrics.js";
import {
  categoricalProfile,
  categoricalQuality,
  numericProfile,
  numericQuality,
  type CategoricalProfile,
  type NumericProfile,
} from "./quality.js";
import type { BucketSample } from "./sample.js";

/** How a model's score is read: a probability, a logit, a predicted class, or a regression value. */
export type ScoreReading = "probability" | "logit" | "class" | "regression";

export interface MonitoredField {
  name: string;
  numeric: boolean;
}

export interface ReportSpec {
  reading: ScoreReading;
  /** In score space: a probability for "probability", a logit for "logit". */
  threshold: number;
  classLabels: readonly string[];
  /** Why performance cannot be computed at all (no label field), or undefined when it can. */
  noLabels: string | undefined;
  score: MonitoredField;
  fields: readonly MonitoredField[];
}

export interface MetricEntry {
  name: string;
  value: number | null;
  /** Empty when the value is defined. */
  reason: string;
}

export interface BucketCounts {
  records: number;
  predictions: number;
  labelled: number;
  labelRate: number | null;
  unusableLabels: number;
  zeroLabels: number;
}

export type DriftSourceName = "feature" | "prediction";

export interface FieldDriftReport {
  field: string;
  source: DriftSourceName;
  baselineCount: number;
  currentCount: number;
  statistics: MetricEntry[];
}

export interface FieldQualityReport {
  field: string;
  count: number;
  missing: number;
  outOfRange: number;
  unseen: number;
  rates: MetricEntry[];
}

export interface BucketReport {
  counts: BucketCounts;
  performance: MetricEntry[];
  confusion: ConfusionMatrix | null;
  drift: FieldDriftReport[];
  quality: FieldQualityReport[];
}

/** What the baseline split says of one field: its distribution for drift and its range or categories for quality. */
export type FieldBaseline =
  | { numeric: true; distribution: NumericBaseline; range: NumericProfile | undefined }
  | { numeric: false; counts: CategoryCounts; profile: CategoricalProfile };

export interface Baseline {
  score: FieldBaseline;
  fields: FieldBaseline[];
}

export const binaryMetricNames = [
  "accuracy",
  "precision",
  "recall",
  "f1",
  "specificity",
  "false_positive_rate",
  "false_negative_rate",
  "roc_auc",
  "average_precision",
  "log_loss",
  "brier_score",
] as const;
export const regressionMetricNames = ["mae", "mse", "rmse", "mape", "r2", "mean_error"] as const;

const noBaseline = "the collection has no baseline split";

/** A stored number as a double: INT64 values beyond 2^53 come back from the driver as Long-like objects. */
export function asNumber(value: unknown): number | null {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "object" && value !== null && "toNumber" in value && typeof value.toNumber === "function") {
    return (value as { toNumber(): number }).toNumber();
  }
  return null;
}

/** A categorical value as the string its counts are keyed by. */
export function asCategory(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === "string" ? value : String(value);
}

function entry(name: string, value: number | undefined, reason: string): MetricEntry {
  return value === undefined || !Number.isFinite(value) ? { name, value: null, reason } : { name, value, reason: "" };
}

function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : part / whole;
}

// ─── Baseline ─────────────────────────────────────────────────────────────────────────────────────────────────────

function numericValues(column: readonly unknown[]): Float64Array {
  const out: number[] = [];
  for (const v of column) {
    const n = asNumber(v);
    if (n !== null) out.push(n);
  }
  return Float64Array.from(out);
}

function categoryCounts(column: readonly unknown[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of column) {
    const c = asCategory(v);
    if (c !== null) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return counts;
}

function fieldBaseline(field: MonitoredField, column: readonly unknown[]): FieldBaseline {
  if (field.numeric) {
    const values = numericValues(column);
    return { numeric: true, distribution: numericBaseline(values), range: numericProfile(values) };
  }
  const counts = categoryCounts(column);
  return { numeric: false, counts, profile: categoricalProfile(counts.keys()) };
}

/** Summarises the baseline split once per run: every bucket's drift and quality compare against this. */
export function baselineOf(spec: ReportSpec, sample: BucketSample): Baseline {
  return {
    score: fieldBaseline(spec.score, sample.scores),
    fields: spec.fields.map((field, f) => fieldBaseline(field, sample.fields[f]!)),
  };
}

// ─── Performance ──────────────────────────────────────────────────────────────────────────────────────────────────

interface PerformanceResult {
  counts: BucketCounts;
  performance: MetricEntry[];
  confusion: ConfusionMatrix | null;
}

function performanceOf(spec: ReportSpec, sample: BucketSample): PerformanceResult {
  const counts: BucketCounts = { records: sample.size, predictions: 0, labelled: 0, labelRate: null, unusableLabels: 0, zeroLabels: 0 };
  const binary = spec.reading !== "regression";
  const labels: number[] = [];
  const scores: number[] = [];
  const predictedClasses: number[] = [];
  for (let i = 0; i < sample.size; i++) {
    const raw = sample.scores[i];
    if (raw === null) continue;
    // A predicted class or score the model's type cannot read counts as no prediction.
    let score: number | null;
    let predictedClass: number | undefined;
    if (spec.reading === "class") {
      predictedClass = binaryClass(raw, spec.classLabels);
      score = predictedClass ?? null;
    } else {
      score = asNumber(raw);
    }
    if (score === null) continue;
    counts.predictions++;
    const rawLabel = sample.labels[i];
    if (spec.noLabels !== undefined || rawLabel === null) continue;
    const label = binary ? binaryClass(rawLabel, spec.classLabels) : (asNumber(rawLabel) ?? undefined);
    if (label === undefined) {
      counts.unusableLabels++;
      continue;
    }
    counts.labelled++;
    labels.push(label);
    scores.push(score);
    if (predictedClass !== undefined) predictedClasses.push(predictedClass);
  }
  counts.labelRate = ratio(counts.labelled, counts.predictions);
  const emptyReason = spec.noLabels ?? (counts.predictions === 0 ? "no predictions in the bucket" : "no labelled predictions in the bucket");

  if (!binary) {
    const m = regressionMetrics(labels, scores);
    counts.zeroLabels = m.zeroLabels;
    const reason = labels.length === 0 ? emptyReason : "";
    return {
      counts,
      confusion: null,
      performance: [
        entry("mae", m.meanAbsoluteError, reason),
        entry("mse", m.meanSquaredError, reason),
        entry("rmse", m.rootMeanSquaredError, reason),
        entry("mape", m.meanAbsolutePercentageError, reason || "every label is zero"),
        entry("r2", m.r2, reason || "the labels are constant"),
        entry("mean_error", m.meanError, reason),
      ],
    };
  }

  const probabilities =
    spec.reading === "probability" ? scores : spec.reading === "logit" ? scores.map(sigmoid) : undefined;
  // The threshold applies in score space: a logit threshold of 0 is a probability of 1/2, with no rounding between.
  const predicted =
    spec.reading === "class" ? predictedClasses : scores.map((s) => (s >= spec.threshold ? 1 : 0));
  const m = binaryMetrics({ labels, predicted, ...(probabilities === undefined ? {} : { probabilities }) });
  const reason = labels.length === 0 ? emptyReason : "";
  const noScores = probabilities === undefined ? "the model gives classes, not scores" : "";
  const oneClass = reason || noScores || (m.positives === 0 ? "every label is negative" : "every label is positive");
  return {
    counts,
    confusion: m.confusion,
    performance: [
      entry("accuracy", m.accuracy, reason),
      entry("precision", m.precision, reason || "nothing was predicted positive"),
      entry("recall", m.recall, reason || "no label is positive"),
      entry("f1", m.f1, reason || "no positive label or prediction"),
      entry("specificity", m.specificity, reason || "no label is negative"),
      entry("false_positive_rate", m.falsePositiveRate, reason || "no label is negative"),
      entry("false_negative_rate", m.falseNegativeRate, reason || "no label is positive"),
      entry("roc_auc", m.rocAuc, oneClass),
      entry("average_precision", m.averagePrecision, reason || noScores || "no label is positive"),
      entry("log_loss", m.logLoss, reason || noScores),
      entry("brier_score", m.brierScore, reason || noScores),
    ],
  };
}

// ─── Drift and quality ────────────────────────────────────────────────────────────────────────────────────────────

function driftOf(field: MonitoredField, source: DriftSourceName, column: readonly unknown[], baseline: FieldBaseline | undefined): FieldDriftReport {
  if (field.numeric) {
    const current = numericValues(column);
    if (baseline === undefined || !baseline.numeric) {
      const names = ["psi", "jensen_shannon", "wasserstein", "ks_statistic", "ks_p_value"];
      return { field: field.name, source, baselineCount: 0, currentCount: current.length, statistics: names.map((n) => entry(n, undefined, noBaseline)) };
    }
    const d = numericDrift(baseline.distribution, current);
    return {
      field: field.name,
      source,
      baselineCount: d.baselineCount,
      currentCount: d.currentCount,
      statistics: [
        entry("psi", d.psi, d.gaps.psi ?? "undefined"),
        entry("jensen_shannon", d.jensenShannon, d.gaps.jensenShannon ?? "undefined"),
        entry("wasserstein", d.wasserstein, d.gaps.wasserstein ?? "undefined"),
        entry("ks_statistic", d.ksStatistic, d.gaps.ksStatistic ?? "undefined"),
        entry("ks_p_value", d.ksPValue, d.gaps.ksPValue ?? "undefined"),
      ],
    };
  }
  const current = categoryCounts(column);
  const currentCount = [...current.values()].reduce((a, b) => a + b, 0);
  if (baseline === undefined || baseline.numeric) {
    const names = ["psi", "jensen_shannon", "chi_square", "chi_square_p_value"];
    return { field: field.name, source, baselineCount: 0, currentCount, statistics: names.map((n) => entry(n, undefined, noBaseline)) };
  }
  const d = categoricalDrift(baseline.counts, current);
  return {
    field: field.name,
    source,
    baselineCount: d.baselineCount,
    currentCount: d.currentCount,
    statistics: [
      entry("psi", d.psi, d.gaps.psi ?? "undefined"),
      entry("jensen_shannon", d.jensenShannon, d.gaps.jensenShannon ?? "undefined"),
      entry("chi_square", d.chiSquare, d.gaps.chiSquare ?? "fewer than two categories"),
      entry("chi_square_p_value", d.chiSquarePValue, d.gaps.chiSquarePValue ?? "fewer than two categories"),
    ],
  };
}

function qualityOf(field: MonitoredField, column: readonly unknown[], hasFields: readonly boolean[], baseline: FieldBaseline | undefined): FieldQualityReport {
  const present: unknown[] = [];
  for (let i = 0; i < column.length; i++) if (hasFields[i]) present.push(column[i]);
  if (field.numeric) {
    const q = numericQuality(present.map(asNumber), baseline?.numeric === true ? baseline.range : undefined);
    const rangeReason = baseline === undefined ? noBaseline : q.count === q.missing ? "no value present" : "the baseline holds no value";
    return {
      field: field.name,
      count: q.count,
      missing: q.missing,
      outOfRange: q.outOfRange ?? 0,
      unseen: 0,
      rates: [entry("missing_rate", q.missingRate, "no records carry the field"), entry("out_of_range_rate", q.outOfRangeRate, rangeReason)],
    };
  }
  const profile = baseline?.numeric === false ? baseline.profile : { categories: new Set<string>() };
  const q = categoricalQuality(present.map(asCategory), profile);
  const unseenReason = q.count === q.missing ? "no value present" : "";
  return {
    field: field.name,
    count: q.count,
    missing: q.missing,
    outOfRange: 0,
    unseen: baseline === undefined ? 0 : (q.unseen ?? 0),
    rates: [
      entry("missing_rate", q.missingRate, "no records carry the field"),
      baseline === undefined ? entry("unseen_rate", undefined, noBaseline) : entry("unseen_rate", q.unseenRate, unseenReason),
    ],
  };
}

/** The whole report of one bucket. `baseline` is undefined when the collection has no baseline split. */
export function bucketReport(spec: ReportSpec, sample: BucketSample, baseline: Baseline | undefined): BucketReport {
  const { counts, performance, confusion } = performanceOf(spec, sample);
  const drift = spec.fields.map((field, f) => driftOf(field, "feature", sample.fields[f]!, baseline?.fields[f]));
  drift.push(driftOf(spec.score, "prediction", sample.scores, baseline?.score));
  const quality = spec.fields.map((field, f) => qualityOf(field, sample.fields[f]!, sample.hasFields, baseline?.fields[f]));
  return { counts, performance, confusion, drift, quality };
}

// Model performance metrics of one bucket, computed exactly from its labelled records. Pure: the monitoring job
// feeds it arrays read from the store. A metric that is undefined for the data (a ratio with an empty denominator,
// AUC with one class present) is reported as `undefined` with no number, never as 0 or NaN.

/** Sums with Neumaier's compensation, so long buckets agree with NumPy's pairwise sums to the last digits. */
export function compensatedSum(values: ArrayLike<number>): number {
  let sum = 0;
  let compensation = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    const next = sum + value;
    compensation += Math.abs(sum) >= Math.abs(value) ? sum - next + value : value - next + sum;
    sum = next;
  }
  return sum + compensation;
}

function mean(values: ArrayLike<number>): number | undefined {
  return values.length === 0 ? undefined : compensatedSum(values) / values.length;
}

function ratio(numerator: number, denominator: number): number | undefined {
  return denominator === 0 ? undefined : numerator / denominator;
}

/** The logistic function, evaluated on the side where exp cannot overflow. */
export function sigmoid(logit: number): number {
  if (logit >= 0) return 1 / (1 + Math.exp(-logit));
  const e = Math.exp(logit);
  return e / (1 + e);
}

export interface ConfusionMatrix {
  trueNegatives: number;
  falsePositives: number;
  falseNegatives: number;
  truePositives: number;
}

export interface BinaryMetrics {
  count: number;
  positives: number;
  confusion: ConfusionMatrix;
  accuracy: number | undefined;
  precision: number | undefined;
  recall: number | undefined;
  f1: number | undefined;
  specificity: number | undefined;
  falsePositiveRate: number | undefined;
  falseNegativeRate: number | undefined;
  /** Needs probabilities and both classes. */
  rocAuc: number | undefined;
  /** Needs probabilities and at least one positive. */
  averagePrecision: number | undefined;
  logLoss: number | undefined;
  brierScore: number | undefined;
}

export interface BinaryInput {
  /** 1 for the positive class, 0 for the negative. */
  labels: ArrayLike<number>;
  /** Probabilities of the positive class, when the model gives them (PROBITS, or LOGITS after `sigmoid`). */
  probabilities?: ArrayLike<number>;
  /** Predicted classes, 1 or 0: from the probabilities at the threshold, or the model's own (CLASSIFICATION). */
  predicted: ArrayLike<number>;
}

/** Predicted class at a decision threshold: positive when the probability reaches it. */
export function classify(probabilities: ArrayLike<number>, threshold: number): Uint8Array {
  const out = new Uint8Array(probabilities.length);
  for (let i = 0; i < probabilities.length; i++) out[i] = probabilities[i]! >= threshold ? 1 : 0;
  return out;
}

export function confusionMatrix(labels: ArrayLike<number>, predicted: ArrayLike<number>): ConfusionMatrix {
  const m: ConfusionMatrix = { trueNegatives: 0, falsePositives: 0, falseNegatives: 0, truePositives: 0 };
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) predicted[i] === 1 ? m.truePositives++ : m.falseNegatives++;
    else predicted[i] === 1 ? m.falsePositives++ : m.trueNegatives++;
  }
  return m;
}

/** Indices ordered by descending score, so equal scores sit together as one threshold. */
function descendingOrder(scores: ArrayLike<number>): Uint32Array {
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => scores[b]! - scores[a]!);
}

/**
 * Area under the ROC curve: the trapezoids between the curve's points at each distinct score, which is the
 * probability that a random positive outscores a random negative, ties counting one half.
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number | undefined {
  const order = descendingOrder(scores);
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i] === 1 ? 1 : 0;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return undefined;
  // Twice the area, in units of one positive-negative pair, is an integer: no rounding until the last division.
  let doubledArea = 0;
  let truePositives = 0;
  let falsePositives = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    let tiedPositives = 0;
    let tiedNegatives = 0;
    while (end < order.length && scores[order[end]!] === scores[order[start]!]) {
      if (labels[order[end]!] === 1) tiedPositives++;
      else tiedNegatives++;
      end++;
    }
    doubledArea += tiedNegatives * (2 * truePositives + tiedPositives);
    truePositives += tiedPositives;
    falsePositives += tiedNegatives;
    start = end;
  }
  return doubledArea / (2 * positives * negatives);
}

/** Average precision: the precision at each distinct score, weighted by the recall gained there. */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number | undefined {
  const order = descendingOrder(scores);
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i] === 1 ? 1 : 0;
  if (positives === 0) return undefined;
  const terms: number[] = [];
  let truePositives = 0;
  let seen = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    let tiedPositives = 0;
    while (end < order.length && scores[order[end]!] === scores[order[start]!]) {
      if (labels[order[end]!] === 1) tiedPositives++;
      end++;
    }
    seen = end;
    truePositives += tiedPositives;
    if (tiedPositives > 0) terms.push((tiedPositives / positives) * (truePositives / seen));
    start = end;
  }
  return compensatedSum(terms);
}

/** Probabilities are clipped to [ε, 1 − ε] (ε the double epsilon), so a confident miss costs much but not infinity. */
export function logLoss(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number | undefined {
  const eps = Number.EPSILON;
  const losses = new Float64Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(Math.max(probabilities[i]!, eps), 1 - eps);
    losses[i] = labels[i] === 1 ? -Math.log(p) : -Math.log(1 - p);
  }
  return mean(losses);
}

export function brierScore(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number | undefined {
  const squares = new Float64Array(labels.length);
  for (let i = 0; i < labels.length; i++) squares[i] = (probabilities[i]! - labels[i]!) ** 2;
  return mean(squares);
}

export function binaryMetrics(input: BinaryInput): BinaryMetrics {
  const { labels, probabilities, predicted } = input;
  const confusion = confusionMatrix(labels, predicted);
  const { truePositives: tp, falsePositives: fp, trueNegatives: tn, falseNegatives: fn } = confusion;
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  return {
    count: labels.length,
    positives: tp + fn,
    confusion,
    accuracy: ratio(tp + tn, labels.length),
    precision,
    recall,
    // F1 from the counts, 2tp / (2tp + fp + fn): defined whenever anything was positive, predicted or labelled.
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    specificity: ratio(tn, tn + fp),
    falsePositiveRate: ratio(fp, fp + tn),
    falseNegativeRate: ratio(fn, fn + tp),
    rocAuc: probabilities === undefined ? undefined : rocAuc(labels, probabilities),
    averagePrecision: probabilities === undefined ? undefined : averagePrecision(labels, probabilities),
    logLoss: probabilities === undefined ? undefined : logLoss(labels, probabilities),
    brierScore: probabilities === undefined ? undefined : brierScore(labels, probabilities),
  };
}

export interface RegressionMetrics {
  count: number;
  meanAbsoluteError: number | undefined;
  meanSquaredError: number | undefined;
  rootMeanSquaredError: number | undefined;
  /** Over the records whose label is not zero; the others are counted in `zeroLabels`. */
  meanAbsolutePercentageError: number | undefined;
  zeroLabels: number;
  /** Undefined when every label is the same (no variance to explain). */
  r2: number | undefined;
  /** Mean of prediction − label: the bias. */
  meanError: number | undefined;
}

export function regressionMetrics(labels: ArrayLike<number>, predictions: ArrayLike<number>): RegressionMetrics {
  const n = labels.length;
  const absolute = new Float64Array(n);
  const squared = new Float64Array(n);
  const signed = new Float64Array(n);
  const percentages: number[] = [];
  for (let i = 0; i < n; i++) {
    const error = predictions[i]! - labels[i]!;
    signed[i] = error;
    absolute[i] = Math.abs(error);
    squared[i] = error * error;
    if (labels[i] !== 0) percentages.push(Math.abs(error) / Math.abs(labels[i]!));
  }
  const mse = mean(squared);
  const labelMean = mean(labels);
  let r2: number | undefined;
  if (labelMean !== undefined) {
    const deviations = new Float64Array(n);
    for (let i = 0; i < n; i++) deviations[i] = (labels[i]! - labelMean) ** 2;
    const total = compensatedSum(deviations);
    r2 = total === 0 ? undefined : 1 - compensatedSum(squared) / total;
  }
  return {
    count: n,
    meanAbsoluteError: mean(absolute),
    meanSquaredError: mse,
    rootMeanSquaredError: mse === undefined ? undefined : Math.sqrt(mse),
    meanAbsolutePercentageError: mean(percentages),
    zeroLabels: n - percentages.length,
    r2,
    meanError: mean(signed),
  };
}

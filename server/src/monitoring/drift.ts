// Drift of one field (feature or prediction) in one bucket against the collection's baseline split. Pure: the
// monitoring job feeds it the baseline's values (or category counts) and the bucket's, nulls already removed.
// A statistic the data cannot define (an empty side, a p-value SciPy leaves undefined) is reported as `undefined`
// with a reason in `gaps`, never as 0 or NaN. Formulas and their SciPy counterparts: docs/metrics.md, "Drift".
import { compensatedSum } from "./metrics.js";

/** Numeric values of one side: finite numbers, in any order. */
export type Sample = ArrayLike<number>;

/** Category → record count of one side. */
export type CategoryCounts = ReadonlyMap<string, number>;

/**
 * Pseudo-count added to every bin (or category) of both sides before PSI takes proportions: Jeffreys' ½, so an
 * empty bin costs a finite amount that shrinks as the bucket grows, instead of a fixed ε that dominates small buckets.
 */
export const PSI_PSEUDO_COUNT = 0.5;

/** The quantile levels of the bin edges: k/10 as doubles, the same values Python's `k / 10` gives. */
export const DECILE_LEVELS: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => k / 10);

/** Why a statistic is absent. */
export type DriftGap =
  | "empty baseline"
  | "empty current"
  // SciPy's asymptotic KS p-value uses the effective size round(n·m/(n+m)), which is 0 for one record against one.
  | "effective sample size rounds to 0";

function requireFinite(values: Sample, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new RangeError(`${what}[${i}] is ${String(values[i])}; drift needs finite values`);
  }
}

function requireCounts(counts: ArrayLike<number>, what: string): void {
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i]!;
    if (!(Number.isFinite(count) && count >= 0)) throw new RangeError(`${what}[${i}] is ${String(count)}; counts must be finite and non-negative`);
  }
}

function sortedCopy(values: Sample, what: string): Float64Array {
  requireFinite(values, what);
  // Typed-array sort is numeric, unlike Array.prototype.sort.
  return Float64Array.from(values).sort();
}

/** Smallest normal double; below it a probability keeps no relative precision, in SciPy or here. */
const SMALLEST_NORMAL = 2 ** -1022;

/** Clamps to [0, 1], and reports subnormal probabilities as 0 rather than as digits that mean nothing. */
function clipProbability(p: number): number {
  return p < SMALLEST_NORMAL ? 0 : Math.min(1, p);
}

// ─── Binning ────────────────────────────────────────────────────────────────────────────────────────────────────────

/** numpy.quantile's default ("linear", Hyndman–Fan 7) on sorted data, with NumPy's exact rounding steps. */
function linearQuantile(sorted: Float64Array, level: number): number {
  const last = sorted.length - 1;
  const position = last * level;
  if (position >= last) return sorted[last]!;
  const below = Math.floor(position);
  const weight = position - below;
  const low = sorted[below]!;
  const high = sorted[below + 1]!;
  const span = high - low;
  // NumPy interpolates from the nearer neighbour, so the two halves round differently; the edges must match bit for bit.
  return weight >= 0.5 ? high - span * (1 - weight) : low + span * weight;
}

function decileEdgesOfSorted(sorted: Float64Array): number[] {
  const edges: number[] = [];
  for (const level of DECILE_LEVELS) {
    const edge = linearQuantile(sorted, level);
    if (edges.length === 0 || edge !== edges[edges.length - 1]) edges.push(edge);
  }
  return edges;
}

/**
 * The baseline's deciles as bin edges: numpy.quantile(baseline, k/10) for k = 1…9 (linear interpolation), repeats
 * dropped. The bins are (−∞, e₁], (e₁, e₂], …, (e_last, +∞): up to ten, fewer when the baseline has ties.
 * Undefined for an empty baseline.
 */
export function decileEdges(baseline: Sample): number[] | undefined {
  return baseline.length === 0 ? undefined : decileEdgesOfSorted(sortedCopy(baseline, "baseline"));
}

/** Counts per bin of `decileEdges`: a value v falls in the bin whose upper edge is the first edge ≥ v. */
export function binCounts(values: Sample, edges: readonly number[]): number[] {
  requireFinite(values, "values");
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    let low = 0;
    let high = edges.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (edges[mid]! < value) low = mid + 1;
      else high = mid;
    }
    counts[low]!++;
  }
  return counts;
}

// ─── Divergences over bins or categories ──────────────────────────────────────────────────────────────────────────

/**
 * Population stability index of `current` against `baseline`, over aligned bin or category counts:
 * Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ), with eᵢ = (baselineᵢ + α) / (B + kα) and aᵢ = (currentᵢ + α) / (C + kα), B and C the
 * totals, k the number of bins and α the pseudo-count. Undefined when either side is empty.
 */
export function psi(baseline: ArrayLike<number>, current: ArrayLike<number>, pseudoCount: number = PSI_PSEUDO_COUNT): number | undefined {
  requireAligned(baseline, current);
  if (!(Number.isFinite(pseudoCount) && pseudoCount > 0)) throw new RangeError(`pseudoCount is ${pseudoCount}; it must be positive`);
  const baselineTotal = compensatedSum(baseline);
  const currentTotal = compensatedSum(current);
  if (baselineTotal === 0 || currentTotal === 0) return undefined;
  const bins = baseline.length;
  const expectedDenominator = baselineTotal + bins * pseudoCount;
  const actualDenominator = currentTotal + bins * pseudoCount;
  const terms = new Float64Array(bins);
  for (let i = 0; i < bins; i++) {
    const expected = (baseline[i]! + pseudoCount) / expectedDenominator;
    const actual = (current[i]! + pseudoCount) / actualDenominator;
    terms[i] = (actual - expected) * Math.log(actual / expected);
  }
  return compensatedSum(terms);
}

function requireAligned(baseline: ArrayLike<number>, current: ArrayLike<number>): void {
  if (baseline.length !== current.length) throw new RangeError(`${baseline.length} baseline counts against ${current.length} current counts`);
  requireCounts(baseline, "baseline");
  requireCounts(current, "current");
}

/** x · ln(x / y), 0 when x is 0: SciPy's rel_entr for the cases proportions can reach (y > 0 wherever x > 0). */
function relativeEntropyTerm(x: number, y: number): number {
  return x > 0 ? x * Math.log(x / y) : 0;
}

/**
 * Jensen–Shannon distance, base 2, between the proportions of two aligned count vectors: √(JSD), with
 * JSD = ½ KL(p‖m) + ½ KL(q‖m), m = (p + q)/2, logs base 2; in [0, 1]. No smoothing: empty bins are harmless here.
 * Equal to scipy.spatial.distance.jensenshannon(p, q, base=2). Undefined when either side is empty.
 */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>): number | undefined {
  requireAligned(p, q);
  const pTotal = compensatedSum(p);
  const qTotal = compensatedSum(q);
  if (pTotal === 0 || qTotal === 0) return undefined;
  const left = new Float64Array(p.length);
  const right = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / pTotal;
    const qi = q[i]! / qTotal;
    const mi = (pi + qi) / 2;
    left[i] = relativeEntropyTerm(pi, mi);
    right[i] = relativeEntropyTerm(qi, mi);
  }
  const divergence = (compensatedSum(left) + compensatedSum(right)) / Math.LN2;
  // Rounding can leave a hair below zero for near-identical inputs, where SciPy would return NaN.
  return Math.sqrt(Math.max(0, divergence / 2));
}

// ─── Distances between samples ────────────────────────────────────────────────────────────────────────────────────

/** Neumaier-compensated running sum, for loops that produce terms one at a time. */
class Accumulator {
  private sum = 0;
  private compensation = 0;

  add(value: number): void {
    const next = this.sum + value;
    this.compensation += Math.abs(this.sum) >= Math.abs(value) ? this.sum - next + value : value - next + this.sum;
    this.sum = next;
  }

  get total(): number {
    return this.sum + this.compensation;
  }
}

function wassersteinOfSorted(u: Float64Array, v: Float64Array): number {
  const distance = new Accumulator();
  let iu = 0;
  let iv = 0;
  // Walk the merged order one value at a time; between consecutive values both empirical CDFs are flat. Inside a
  // run of ties the gap is 0, so counting only part of the run there changes nothing.
  while (iu + iv < u.length + v.length - 1) {
    const taken = iv >= v.length || (iu < u.length && u[iu]! <= v[iv]!) ? u[iu++]! : v[iv++]!;
    const next = iv >= v.length || (iu < u.length && u[iu]! <= v[iv]!) ? u[iu]! : v[iv]!;
    distance.add(Math.abs(iu / u.length - iv / v.length) * (next - taken));
  }
  return distance.total;
}

/**
 * Wasserstein-1 (earth mover's) distance between the two empirical distributions: ∫ |U(x) − V(x)| dx, in the
 * field's units. Equal to scipy.stats.wasserstein_distance(u, v). Undefined when either sample is empty.
 */
export function wasserstein1(u: Sample, v: Sample): number | undefined {
  if (u.length === 0 || v.length === 0) return undefined;
  return wassersteinOfSorted(sortedCopy(u, "u"), sortedCopy(v, "v"));
}

export interface KsResult {
  /** D = sup |U(x) − V(x)| over the two empirical CDFs. */
  statistic: number;
  /** Two-sided, asymptotic (see `kolmogorovSmirnovSf`); undefined for one record against one. */
  pValue: number | undefined;
  /** round(n·m / (n + m)), half to even: the sample size of the one-sample distribution the p-value uses. */
  effectiveSize: number;
}

/** Python's round() and numpy.round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

function ksOfSorted(u: Float64Array, v: Float64Array): KsResult {
  let statistic = 0;
  let iu = 0;
  let iv = 0;
  while (iu < u.length || iv < v.length) {
    const value = iv >= v.length || (iu < u.length && u[iu]! <= v[iv]!) ? u[iu]! : v[iv]!;
    while (iu < u.length && u[iu] === value) iu++;
    while (iv < v.length && v[iv] === value) iv++;
    // The same two divisions and subtraction as SciPy's searchsorted CDFs, so D is the same double.
    statistic = Math.max(statistic, Math.abs(iu / u.length - iv / v.length));
  }
  const [larger, smaller] = u.length >= v.length ? [u.length, v.length] : [v.length, u.length];
  const effectiveSize = roundHalfEven((larger * smaller) / (larger + smaller));
  const pValue = effectiveSize >= 1 ? kolmogorovSmirnovSf(effectiveSize, statistic) : undefined;
  return { statistic, pValue, effectiveSize };
}

/**
 * Two-sample Kolmogorov–Smirnov test, two-sided, asymptotic method: SciPy's ks_2samp(u, v, method="asymp"), whose
 * p-value is the survival function of the one-sample two-sided statistic D_n at D for n = round(n₁n₂/(n₁+n₂)).
 * Undefined when either sample is empty.
 */
export function ksTwoSample(u: Sample, v: Sample): KsResult | undefined {
  if (u.length === 0 || v.length === 0) return undefined;
  return ksOfSorted(sortedCopy(u, "u"), sortedCopy(v, "v"));
}

// ─── The Kolmogorov–Smirnov distribution ──────────────────────────────────────────────────────────────────────────
// P(D_n ≥ d) for the one-sample two-sided statistic, computed region by region as Simard and L'Ecuyer (2011) choose,
// which is what scipy.stats.kstwo.sf does: exact methods where they are affordable, the Pelz–Good expansion for
// large n and small d. Where SciPy uses Pomeranz's recursion (n ≤ 140, 0.754693 < n·d² ≤ 4) this uses Durbin's
// matrix instead; both are exact, so they agree to rounding.

const PI_SQUARED = Math.PI * Math.PI;
const SQRT_2PI = Math.sqrt(2 * Math.PI);

/** x · 2^exponent without overflowing the intermediate power of two. */
function scaleByPowerOfTwo(x: number, exponent: number): number {
  let result = x;
  let remaining = exponent;
  while (remaining > 1000) {
    result *= 2 ** 1000;
    remaining -= 1000;
  }
  while (remaining < -1000) {
    result *= 2 ** -1000;
    remaining += 1000;
  }
  return result * 2 ** remaining;
}

/** A square matrix and a power of two it stands scaled by, so that repeated products stay in range. */
interface ScaledMatrix {
  entries: Float64Array;
  exponent: number;
}

function multiplyScaled(a: ScaledMatrix, b: ScaledMatrix, size: number): ScaledMatrix {
  const product = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let k = 0; k < size; k++) {
      const aik = a.entries[i * size + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < size; j++) product[i * size + j]! += aik * b.entries[k * size + j]!;
    }
  }
  let largest = 0;
  for (const entry of product) largest = Math.max(largest, Math.abs(entry));
  let exponent = a.exponent + b.exponent;
  if (largest > 0) {
    // Powers of two rescale exactly.
    const shift = Math.floor(Math.log2(largest));
    if (shift !== 0) {
      const factor = scaleByPowerOfTwo(1, -shift);
      for (let i = 0; i < product.length; i++) product[i]! *= factor;
      exponent += shift;
    }
  }
  return { entries: product, exponent };
}

/** P(D_n < d) by Durbin's matrix (Marsaglia, Tsang and Wang 2003): exact, O(m³ log n) for m = 2⌈nd⌉ − 1. */
function durbinCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const size = 2 * k - 1;
  const inverseFactorial = new Float64Array(size + 1);
  inverseFactorial[0] = 1;
  for (let j = 1; j <= size; j++) inverseFactorial[j] = inverseFactorial[j - 1]! / j;
  const base = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j <= Math.min(i + 1, size - 1); j++) base[i * size + j] = inverseFactorial[i - j + 1]!;
  }
  for (let i = 0; i < size; i++) base[i * size] = (1 - h ** (i + 1)) * inverseFactorial[i + 1]!;
  const lastRow = (size - 1) * size;
  for (let j = 0; j < size; j++) base[lastRow + j] = (1 - h ** (size - j)) * inverseFactorial[size - j]!;
  base[lastRow] = (1 - 2 * h ** size + Math.max(0, 2 * h - 1) ** size) * inverseFactorial[size]!;

  const identity = new Float64Array(size * size);
  for (let i = 0; i < size; i++) identity[i * size + i] = 1;
  let power: ScaledMatrix = { entries: identity, exponent: 0 };
  let square: ScaledMatrix = { entries: base, exponent: 0 };
  for (let remaining = n; remaining > 0; remaining = Math.floor(remaining / 2)) {
    if (remaining % 2 === 1) power = multiplyScaled(power, square, size);
    if (remaining > 1) square = multiplyScaled(square, square, size);
  }
  // The probability is (n!/nⁿ) · (Hⁿ)_kk; apply n!/nⁿ a factor at a time, moving its scale into the exponent.
  let probability = power.entries[(k - 1) * size + (k - 1)]!;
  let exponent = power.exponent;
  for (let i = 1; i <= n; i++) {
    probability = (probability * i) / n;
    if (probability !== 0 && Math.abs(probability) < 2 ** -128) {
      probability *= 2 ** 128;
      exponent -= 128;
    }
  }
  return clipProbability(scaleByPowerOfTwo(probability, exponent));
}

/** Bernoulli-number terms B₂ⱼ / (2j(2j−1)) of Stirling's series for ln Γ, j = 1…8. */
const STIRLING_TERMS = [1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400];

/** ln Γ(a) − [(a − ½) ln a − a + ½ ln 2π]; accurate to rounding for a ≥ 10. */
function stirlingCorrection(a: number): number {
  const inverseSquare = 1 / (a * a);
  let series = 0;
  for (let j = STIRLING_TERMS.length - 1; j >= 0; j--) series = series * inverseSquare + STIRLING_TERMS[j]!;
  return series / a;
}

/** ln Γ(a) for a > 0. */
export function logGamma(a: number): number {
  if (!(a > 0)) throw new RangeError(`logGamma needs a positive argument, got ${a}`);
  let shifted = a;
  let product = 1;
  // Raise the argument to where Stirling's series has converged to double precision, then divide the shift back out.
  while (shifted < 10) product *= shifted++;
  return (shifted - 0.5) * Math.log(shifted) - shifted + 0.5 * Math.log(2 * Math.PI) + stirlingCorrection(shifted) - Math.log(product);
}

/** P(D_n < d) by the Pelz–Good (1976) expansion: Kolmogorov's limit plus three correction terms in 1/√n. */
function pelzGoodCdf(n: number, d: number): number {
  if (d <= 0) return 0;
  if (d >= 1) return 1;
  const z = Math.sqrt(n) * d;
  const z2 = z * z;
  const z3 = z2 * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const logQ = -PI_SQUARED / 8 / z2;
  if (logQ < -708) return 0;
  const q = Math.exp(logQ);
  const pi4 = PI_SQUARED * PI_SQUARED;
  const pi6 = pi4 * PI_SQUARED;
  const terms = Math.ceil((16 * z) / Math.PI);
  // Σ over odd m = 2k − 1 of c(m) q^(m²), by Horner in q^(8k): consecutive odd squares differ by 8k.
  let k0 = 0;
  let k1 = 0;
  let k2 = 0;
  let k3 = 0;
  for (let k = terms; k >= 1; k--) {
    const m2 = (2 * k - 1) ** 2;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const step = q ** (8 * k);
    k0 = k0 * step + 1;
    k1 = k1 * step + (-z2 + (PI_SQUARED / 4) * m2);
    k2 = k2 * step + (6 * z6 + 2 * z4 + ((2 * z4 - 5 * z2) * PI_SQUARED * m2) / 4 + (pi4 * (1 - 2 * z2) * m4) / 16);
    k3 =
      k3 * step +
      (-30 * z6 - 90 * z ** 8 + (PI_SQUARED * (135 * z4 - 96 * z6) * m2) / 4 + (pi4 * (-60 * z2 + 212 * z4) * m4) / 16 + (pi6 * (5 - 30 * z2) * m6) / 64);
  }
  const scale = q * SQRT_2PI;
  k0 = (k0 * scale) / z;
  k1 = (k1 * scale) / (6 * z4);
  k2 = (k2 * scale) / (72 * z ** 7);
  k3 = (k3 * scale) / (6480 * z ** 10);
  // The terms of K₂ and K₃ over all integers k, weighted by e^(−k²π²/(2z²)).
  const r = Math.exp(-PI_SQUARED / 2 / z2);
  const sqrt3z = Math.sqrt(3) * z;
  let evenK2 = 0;
  let evenK3 = 0;
  for (let k = terms; k >= 1; k--) {
    const weight = k * k * r ** (k * k);
    evenK2 += weight;
    evenK3 += (sqrt3z + k * Math.PI) * (sqrt3z - k * Math.PI) * weight;
  }
  k2 += (evenK2 * PI_SQUARED * SQRT_2PI) / (-36 * z3);
  k3 += (evenK3 * PI_SQUARED * SQRT_2PI) / (216 * z6);
  return k0 + k1 / Math.sqrt(n) + k2 / n + k3 / n ** 1.5;
}

/** ln(n!/nⁿ) by Stirling's series, without forming n ln n. */
function logFactorialOverPower(n: number): number {
  return 0.5 * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI) + stirlingCorrection(n);
}

/** ln n! − ln(√(2πn) (n/e)ⁿ), the error of Stirling's formula, for integers n ≥ 1. */
function stirlingError(n: number): number {
  if (n >= 10) return stirlingCorrection(n);
  return logGamma(n + 1) - (n + 0.5) * Math.log(n) + n - 0.5 * Math.log(2 * Math.PI);
}

/**
 * k ln(k/m) + m − k, given k − m exactly: the deviance term of a binomial probability. Near k = m the direct form
 * cancels, so a series in (k − m)/(k + m) takes over there.
 */
function binomialDeviance(k: number, m: number, difference: number): number {
  if (Math.abs(difference) >= 0.1 * (k + m)) return k * Math.log(k / m) - difference;
  const ratio = difference / (k + m);
  const ratioSquared = ratio * ratio;
  let sum = difference * ratio;
  let power = 2 * k * ratio;
  for (let j = 1; j < 1000; j++) {
    power *= ratioSquared;
    const next = sum + power / (2 * j + 1);
    if (next === sum) break;
    sum = next;
  }
  return sum;
}

/**
 * ln C(n,v) + (v − 1) ln(x + v/n) + (n − v) ln(1 − x − v/n), the log of one Birnbaum–Tingey term, as the log of a
 * binomial probability at p = x + v/n over p. The binomial goes through Stirling errors and deviances (Loader's
 * saddle-point form), whose parts stay small: summing ln C(n,v) term by term would carry rounding of order n·ε
 * into every term.
 */
function logSmirnovTerm(n: number, x: number, nx: number, v: number): number {
  const p = x + v / n;
  if (v === 0) return n * Math.log1p(-x) - Math.log(p);
  const mean = nx + v;
  const complementMean = n - v - nx;
  const logCoefficient =
    stirlingError(n) - stirlingError(v) - stirlingError(n - v) - binomialDeviance(v, mean, -nx) - binomialDeviance(n - v, complementMean, nx);
  const logSpread = Math.log(2 * Math.PI) + Math.log(v) + Math.log1p(-v / n);
  return logCoefficient - 0.5 * logSpread - Math.log(p);
}

/**
 * P(D⁺_n ≥ x) for the one-sided one-sample statistic: scipy.special.smirnov(n, x). Exact, by the Birnbaum–Tingey
 * sum x Σ_{v=0}^{⌊n(1−x)⌋} C(n,v) (x + v/n)^(v−1) (1 − x − v/n)^(n−v), evaluated in logarithms so that large n and
 * tiny tails neither overflow nor underflow early.
 */
export function smirnovSf(n: number, x: number): number {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`smirnovSf needs a positive integer n, got ${n}`);
  if (x <= 0) return 1;
  if (x >= 1) return 0;
  if (n === 1) return 1 - x;
  // Past a million terms SciPy switches to the closed-form approximation e^(−(6nx+1)²/(18n)); so does this.
  if (n > 1_000_000) return clipProbability(Math.exp(-((6 * n * x + 1) ** 2) / 18 / n));
  const nx = n * x;
  if (nx <= 1) return clipProbability(1 - x * (1 + x) ** (n - 1));
  if (nx >= n - 1) return clipProbability((1 - x) ** n);
  const lastTerm = Math.floor(n - nx);
  // The terms rise then fall; keep the running sum in units of the largest term seen, and stop once the remaining
  // terms together cannot reach the last bit.
  let logScale = -Infinity;
  let scaledSum = 0;
  let previousLogTerm = -Infinity;
  for (let v = 0; v <= lastTerm; v++) {
    if (n - v - nx <= 0) break;
    const logTerm = logSmirnovTerm(n, x, nx, v);
    if (logTerm > logScale) {
      scaledSum = scaledSum * Math.exp(logScale - logTerm) + 1;
      logScale = logTerm;
    } else {
      const term = Math.exp(logTerm - logScale);
      scaledSum += term;
      if (logTerm < previousLogTerm && term * (lastTerm - v) < 2 ** -60 * scaledSum) break;
    }
    previousLogTerm = logTerm;
  }
  return clipProbability(Math.exp(Math.log(x) + logScale + Math.log(scaledSum)));
}

/**
 * P(D_n ≥ d) for the one-sample two-sided KS statistic D_n: scipy.stats.kstwo.sf(d, n), region by region as
 * Simard and L'Ecuyer (2011) choose. This is the p-value of `ksTwoSample` with n its effective size.
 */
export function kolmogorovSmirnovSf(n: number, d: number): number {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`kolmogorovSmirnovSf needs a positive integer n, got ${n}`);
  // kstwo's support is [1/(2n), 1]: D_n ≥ 1/(2n) always.
  if (d <= 0.5 / n) return 1;
  if (d >= 1) return 0;
  const t = n * d;
  if (t <= 1) {
    // Ruben and Gambino: P(D_n < d) = n!/nⁿ (2t − 1)ⁿ for 1/(2n) < d ≤ 1/n.
    let cdf: number;
    if (n <= 140) {
      cdf = 1;
      for (let i = 1; i <= n; i++) cdf *= i * (1 / n) * (2 * t - 1);
    } else {
      cdf = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    }
    return clipProbability(1 - cdf);
  }
  // Ruben and Gambino again: within 1/n of the top only the two one-sided extremes remain.
  if (t >= n - 1) return clipProbability(2 * (1 - d) ** n);
  // Above ½ the two one-sided events cannot both happen, so the two-sided tail is twice the one-sided one.
  if (d >= 0.5) return clipProbability(2 * smirnovSf(n, d));
  const nd2 = t * d;
  if (n <= 140) {
    if (nd2 <= 4) return clipProbability(1 - durbinCdf(n, d));
    return clipProbability(2 * smirnovSf(n, d));
  }
  // By Massart's bound the tail is below 2e^(−2nd²) < 2e^(−740): subnormal, reported as 0 anyway; skip the sum.
  if (nd2 >= 370) return 0;
  if (nd2 >= 2.2) return clipProbability(2 * smirnovSf(n, d));
  const cdf = n <= 100_000 && n * d ** 1.5 <= 1.4 ? durbinCdf(n, d) : pelzGoodCdf(n, d);
  return clipProbability(1 - cdf);
}

// ─── Chi-square ───────────────────────────────────────────────────────────────────────────────────────────────────

/** ln(xᵃ e⁻ˣ / Γ(a)), the common factor of both incomplete gamma expansions. */
function logGammaPrefactor(a: number, x: number): number {
  if (a < 10) return a * Math.log(x) - x - logGamma(a);
  // With Stirling written out, a·ln x − x − ln Γ(a) = −a·(r − 1 − ln r) + ½ ln(a/2π) − correction, r = x/a;
  // that avoids subtracting terms of size a·ln a when a is large.
  const relative = (x - a) / a;
  return -a * (relative - Math.log1p(relative)) + 0.5 * Math.log(a / (2 * Math.PI)) - stirlingCorrection(a);
}

/** Q(a, x) = Γ(a, x)/Γ(a), the regularized upper incomplete gamma function, for a ≥ ½, x ≥ 0. */
function regularizedGammaQ(a: number, x: number): number {
  if (!(a >= 0.5) || !(x >= 0)) throw new RangeError(`regularizedGammaQ needs a ≥ ½ and x ≥ 0, got a=${a}, x=${x}`);
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  const logPrefactor = logGammaPrefactor(a, x);
  if (x < a + 1) {
    // The series for P converges fast here, and for a ≥ ½ Q stays above 0.083 on this side (its least is at a = ½,
    // x → 1.5), so 1 − P keeps its relative accuracy. Smaller a would need Q computed directly.
    let term = 1 / a;
    let series = term;
    for (let k = 1; k < 1_000_000; k++) {
      term *= x / (a + k);
      series += term;
      if (term < series * 1e-17) break;
    }
    return clipProbability(1 - Math.exp(logPrefactor + Math.log(series)));
  }
  // Legendre's continued fraction for Q, by the modified Lentz method; converges quickly for x > a + 1.
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let fraction = d;
  for (let i = 1; i < 1_000_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    fraction *= delta;
    if (Math.abs(delta - 1) <= Number.EPSILON) break;
  }
  return clipProbability(Math.exp(logPrefactor + Math.log(fraction)));
}

/** P(χ²_k ≥ x): scipy.stats.chi2.sf(x, k), for k ≥ 1 (a test of homogeneity has at least one when it has any). */
export function chiSquareSf(x: number, degreesOfFreedom: number): number {
  if (!(degreesOfFreedom >= 1)) throw new RangeError(`chiSquareSf needs at least 1 degree of freedom, got ${degreesOfFreedom}`);
  return x <= 0 ? 1 : regularizedGammaQ(degreesOfFreedom / 2, x / 2);
}

export interface ChiSquareResult {
  statistic: number;
  pValue: number;
  degreesOfFreedom: number;
}

/**
 * Pearson's chi-square test of homogeneity on the 2 × k table [baseline; current] of aligned counts: do both sides
 * come from one categorical distribution? Σ (O − E)²/E over the cells, E = row total × column total / N, with k − 1
 * degrees of freedom and no continuity correction: scipy.stats.chi2_contingency(table, correction=False).
 * Columns empty on both sides are left out. With one column left the table has no freedom: statistic 0, p-value 1,
 * as SciPy reports. Undefined when either side is empty.
 */
export function chiSquareHomogeneity(baseline: ArrayLike<number>, current: ArrayLike<number>): ChiSquareResult | undefined {
  requireAligned(baseline, current);
  const columns: number[] = [];
  for (let i = 0; i < baseline.length; i++) if (baseline[i]! + current[i]! > 0) columns.push(i);
  const baselineTotal = compensatedSum(baseline);
  const currentTotal = compensatedSum(current);
  if (baselineTotal === 0 || currentTotal === 0) return undefined;
  if (columns.length <= 1) return { statistic: 0, pValue: 1, degreesOfFreedom: 0 };
  const total = baselineTotal + currentTotal;
  const cells = new Float64Array(2 * columns.length);
  for (const [row, counts, rowTotal] of [
    [0, baseline, baselineTotal],
    [1, current, currentTotal],
  ] as const) {
    columns.forEach((column, j) => {
      const expected = (rowTotal * (baseline[column]! + current[column]!)) / total;
      cells[row * columns.length + j] = (counts[column]! - expected) ** 2 / expected;
    });
  }
  const statistic = compensatedSum(cells);
  const degreesOfFreedom = columns.length - 1;
  return { statistic, pValue: chiSquareSf(statistic, degreesOfFreedom), degreesOfFreedom };
}

// ─── Reports ──────────────────────────────────────────────────────────────────────────────────────────────────────

/** What the job computes once per baseline and reuses for every bucket of a numeric field. */
export interface NumericBaseline {
  /** The values in ascending order. */
  sorted: Float64Array;
  /** See `decileEdges`; empty for an empty baseline. */
  edges: number[];
  /** Baseline records per bin. */
  bins: number[];
}

export function numericBaseline(values: Sample): NumericBaseline {
  const sorted = sortedCopy(values, "baseline");
  const edges = sorted.length === 0 ? [] : decileEdgesOfSorted(sorted);
  return { sorted, edges, bins: sorted.length === 0 ? [] : binCounts(sorted, edges) };
}

export type NumericStatistic = "psi" | "jensenShannon" | "wasserstein" | "ksStatistic" | "ksPValue";
export type CategoricalStatistic = "psi" | "jensenShannon" | "chiSquare" | "chiSquarePValue";

export interface NumericDrift {
  baselineCount: number;
  currentCount: number;
  /** Upper edges of every bin but the last (which is open): the baseline's deduplicated deciles. */
  edges: number[];
  baselineBins: number[];
  currentBins: number[];
  /** Over the decile bins, with `PSI_PSEUDO_COUNT` smoothing. */
  psi: number | undefined;
  /** Base 2, over the same bins, unsmoothed. */
  jensenShannon: number | undefined;
  wasserstein: number | undefined;
  ksStatistic: number | undefined;
  /** Two-sided, asymptotic. */
  ksPValue: number | undefined;
  /** Why each absent statistic is absent. */
  gaps: Partial<Record<NumericStatistic, DriftGap>>;
}

/** Every drift statistic of a numeric field's bucket against its baseline. */
export function numericDrift(baseline: NumericBaseline, current: Sample): NumericDrift {
  const currentSorted = sortedCopy(current, "current");
  const report: NumericDrift = {
    baselineCount: baseline.sorted.length,
    currentCount: currentSorted.length,
    edges: baseline.edges,
    baselineBins: baseline.bins,
    currentBins: baseline.sorted.length === 0 ? [] : binCounts(currentSorted, baseline.edges),
    psi: undefined,
    jensenShannon: undefined,
    wasserstein: undefined,
    ksStatistic: undefined,
    ksPValue: undefined,
    gaps: {},
  };
  const emptySide: DriftGap | undefined = baseline.sorted.length === 0 ? "empty baseline" : currentSorted.length === 0 ? "empty current" : undefined;
  if (emptySide !== undefined) {
    report.gaps = { psi: emptySide, jensenShannon: emptySide, wasserstein: emptySide, ksStatistic: emptySide, ksPValue: emptySide };
    return report;
  }
  report.psi = psi(report.baselineBins, report.currentBins);
  report.jensenShannon = jensenShannonDistance(report.baselineBins, report.currentBins);
  report.wasserstein = wassersteinOfSorted(baseline.sorted, currentSorted);
  const ks = ksOfSorted(baseline.sorted, currentSorted);
  report.ksStatistic = ks.statistic;
  report.ksPValue = ks.pValue;
  if (ks.pValue === undefined) report.gaps.ksPValue = "effective sample size rounds to 0";
  return report;
}

export interface AlignedCategories {
  /** Baseline categories in its order, then those only the current side has; none empty on both sides. */
  categories: string[];
  baseline: number[];
  current: number[];
}

/** Lines both sides' counts up over the union of their categories; a category missing from one side counts 0 there. */
export function alignCategories(baseline: CategoryCounts, current: CategoryCounts): AlignedCategories {
  const aligned: AlignedCategories = { categories: [], baseline: [], current: [] };
  const add = (category: string): void => {
    const baselineCount = baseline.get(category) ?? 0;
    const currentCount = current.get(category) ?? 0;
    if (baselineCount + currentCount === 0) return;
    aligned.categories.push(category);
    aligned.baseline.push(baselineCount);
    aligned.current.push(currentCount);
  };
  for (const category of baseline.keys()) add(category);
  for (const category of current.keys()) if (!baseline.has(category)) add(category);
  requireCounts(aligned.baseline, "baseline");
  requireCounts(aligned.current, "current");
  return aligned;
}

export interface CategoricalDrift extends AlignedCategories {
  baselineCount: number;
  currentCount: number;
  /** Over the categories, with `PSI_PSEUDO_COUNT` smoothing. */
  psi: number | undefined;
  /** Base 2, unsmoothed. */
  jensenShannon: number | undefined;
  /** Test of homogeneity, see `chiSquareHomogeneity`. */
  chiSquare: number | undefined;
  chiSquarePValue: number | undefined;
  chiSquareDegreesOfFreedom: number | undefined;
  /** Why each absent statistic is absent. */
  gaps: Partial<Record<CategoricalStatistic, DriftGap>>;
}

/** Every drift statistic of a categorical field's bucket against its baseline, from category counts. */
export function categoricalDrift(baseline: CategoryCounts, current: CategoryCounts): CategoricalDrift {
  const aligned = alignCategories(baseline, current);
  const baselineCount = compensatedSum(aligned.baseline);
  const currentCount = compensatedSum(aligned.current);
  const chi = chiSquareHomogeneity(aligned.baseline, aligned.current);
  const report: CategoricalDrift = {
    ...aligned,
    baselineCount,
    currentCount,
    psi: psi(aligned.baseline, aligned.current),
    jensenShannon: jensenShannonDistance(aligned.baseline, aligned.current),
    chiSquare: chi?.statistic,
    chiSquarePValue: chi?.pValue,
    chiSquareDegreesOfFreedom: chi?.degreesOfFreedom,
    gaps: {},
  };
  const emptySide: DriftGap | undefined = baselineCount === 0 ? "empty baseline" : currentCount === 0 ? "empty current" : undefined;
  if (emptySide !== undefined) report.gaps = { psi: emptySide, jensenShannon: emptySide, chiSquare: emptySide, chiSquarePValue: emptySide };
  return report;
}

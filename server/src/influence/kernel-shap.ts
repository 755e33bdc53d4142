// Model-agnostic Shapley values of the interventional game v(S) = mean_b f(x_S, b_notS).
//
// Two modes per explained row:
//  - exact: every coalition is evaluated and the Shapley formula is applied directly;
//  - sampled: KernelSHAP (Lundberg & Lee 2017) with the coalition design of shap.KernelExplainer — complete
//    size pairs first while the budget allows, then paired random draws with duplicates merged — and a
//    weighted least-squares fit in which the efficiency constraint is eliminated exactly.
//
// Model evaluation dominates the cost (coalitions × background rows per explained row), so the mixed rows of
// consecutive explained rows are streamed into two reusable buffers of `maxBatchRows` rows: one is filled while
// the evaluator works on the other, and each call is as full as possible. A model whose v(S) can be computed without
// mixed rows (a tree ensemble's raw sum, tree-coalitions.ts) supplies a CoalitionEvaluator instead; the coalitions,
// weights and solves are the same either way.

/** Evaluates the model's score (one number per row) for `rows` (nRows*nFeatures, row-major float64). */
export type BatchEvaluator = (rows: Float64Array, nRows: number) => Promise<Float64Array>;

/** Evaluates the game itself for one explained row at a time, against the background it was built for. */
export interface CoalitionEvaluator {
  /** Background rows it was built for; must be kernelShap's nBg. */
  readonly nBg: number;
  /** The model's score for each of `nRows` rows, as a BatchEvaluator returns it: gives v(∅) and f(x). */
  score(rows: Float64Array, nRows: number): Float64Array;
  /**
   * Writes Σ_b f(x_S, b_rest) over the background rows into out[k] for `count` coalitions, given over `varying`:
   * coalition k is bitmask k + 1 (bit i for varying[i]) when `masks` is undefined, else row k of `masks`
   * (count × varying.length, 1 for a member). A feature outside `varying` equals x in every background row, so
   * either side may supply it.
   */
  coalitionSums(x: Float64Array, varying: Int32Array, count: number, masks: Uint8Array | undefined, out: Float64Array): void;
}

export interface KernelShapOptions {
  /** Coalitions to evaluate per explained row when sampling (shap's nsamples). */
  samples: number;
  /** Use the full enumeration of the 2^M coalitions (exact Shapley values) when 2^M - 2 <= this, else sample. Default e.g. 4096. */
  exactUpTo: number;
  /** Seed of the deterministic PRNG used for sampling. */
  seed: number;
  /** Rows per model call: coalition×background rows of several explained rows are packed into one call up to this size (large onnxruntime batches, not row by row). */
  maxBatchRows: number;
}

export interface KernelShapResult {
  /** Shapley values, nRows*nFeatures row-major. */
  values: Float64Array;
  /** v(∅): the mean model score over the background. */
  base: number;
  /** f(x) per explained row. */
  fx: Float64Array;
  /** True when every row's coalitions were all evaluated, so `values` are exact Shapley values (up to rounding). */
  exact: boolean;
}

export const KERNEL_SHAP_DEFAULTS: Readonly<KernelShapOptions> = Object.freeze({
  samples: 2048,
  exactUpTo: 4096,
  seed: 0,
  // Large enough to amortise a model call, small enough that the two row buffers (2 × 16384 × M doubles) stay
  // cache-resident: at 65536 rows × 20 features the micro-benchmark's row building ran about 2× slower.
  maxBatchRows: 16_384,
});

// Coalitions are bitmasks in exact mode, so enumeration stops at 2^30 regardless of `exactUpTo`; shap caps its
// sampling budget at the same 2^30.
const MAX_EXACT_FEATURES = 30;
const MAX_COALITIONS = 2 ** 30;

/**
 * Explains `nRows` rows against `nBg` background rows. A BatchEvaluator is never called concurrently with itself;
 * the buffer it receives is only valid until its promise settles, and the array it returns is read before the
 * next call, so it may reuse its output buffer. A CoalitionEvaluator must have been built on this `background`.
 */
export async function kernelShap(
  f: BatchEvaluator | CoalitionEvaluator,
  background: Float64Array,
  nBg: number,
  nFeatures: number,
  rows: Float64Array,
  nRows: number,
  opts: KernelShapOptions,
): Promise<KernelShapResult> {
  validate(background, nBg, nFeatures, rows, nRows, opts);
  const job = new Job(background, nBg, nFeatures, rows, nRows, opts);
  if (typeof f === "function") await job.run(f);
  else {
    if (f.nBg !== nBg) throw new RangeError(`the coalition evaluator was built for ${f.nBg} background rows, not ${nBg}`);
    await job.runCoalitions(f);
  }
  return { values: job.values, base: job.base, fx: job.fx, exact: job.allExact };
}

function validate(
  background: Float64Array,
  nBg: number,
  nFeatures: number,
  rows: Float64Array,
  nRows: number,
  opts: KernelShapOptions,
): void {
  if (!Number.isInteger(nFeatures) || nFeatures < 1) throw new RangeError(`nFeatures must be an integer >= 1, got ${nFeatures}`);
  if (!Number.isInteger(nBg) || nBg < 1) throw new RangeError(`nBg must be an integer >= 1, got ${nBg}`);
  if (!Number.isInteger(nRows) || nRows < 0) throw new RangeError(`nRows must be an integer >= 0, got ${nRows}`);
  if (background.length !== nBg * nFeatures) {
    throw new RangeError(`background has ${background.length} values, expected nBg*nFeatures = ${nBg * nFeatures}`);
  }
  if (rows.length !== nRows * nFeatures) {
    throw new RangeError(`rows has ${rows.length} values, expected nRows*nFeatures = ${nRows * nFeatures}`);
  }
  if (!Number.isInteger(opts.samples) || opts.samples < 1) throw new RangeError(`samples must be an integer >= 1, got ${opts.samples}`);
  if (!(opts.exactUpTo >= 0)) throw new RangeError(`exactUpTo must be >= 0, got ${opts.exactUpTo}`);
  if (!Number.isInteger(opts.maxBatchRows) || opts.maxBatchRows < 1) {
    throw new RangeError(`maxBatchRows must be an integer >= 1, got ${opts.maxBatchRows}`);
  }
  if (!Number.isFinite(opts.seed)) throw new RangeError(`seed must be a finite number, got ${opts.seed}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Per-row coalition plans

/** The coalitions of one explained row, over its varying features only. */
interface Plan {
  row: number;
  /** Original indices of the features whose value differs from some background row. */
  varying: Int32Array;
  exactMode: boolean;
  /** Coalitions to evaluate. Exact: coalition k is bitmask k+1; sampled: row k of `masks`. */
  count: number;
  /** Sampled mode: count × m membership matrix over the varying features. */
  masks: Uint8Array;
  /** Sampled mode: kernel weight per coalition. */
  weights: Float64Array;
  /** Sum over background rows of f on the mixed rows; exact mode indexes it by bitmask (size 2^m). */
  acc: Float64Array;
  accOffset: number;
  /** Every coalition of the varying features was evaluated. */
  complete: boolean;
  /** Position one past this row's last mixed row in the stream of all evaluated rows. */
  streamEnd: number;
}

/** Equality that treats NaN as equal to NaN, like numpy's isclose(equal_nan=True) but exact. */
function same(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  const kk = Math.min(k, n - k);
  let r = 1;
  for (let i = 1; i <= kk; i++) r = (r * (n - kk + i)) / i;
  // The running product is exact up to rounding; snap it back to the integer it must be while that is representable.
  return r < 2 ** 53 ? Math.round(r) : r;
}

/** mulberry32: small, fast and good enough to pick coalitions; seeded so results are reproducible. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/**
 * Seeds a row's draws from the user seed and the row's own values (murmur3-style mixing of its bits), so a
 * record gets the same coalitions whichever batch or position it is explained in.
 */
function rowSeed(seed: number, bits: Uint32Array): number {
  let h = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < bits.length; i++) {
    let k = Math.imul(bits[i]!, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    h ^= k;
    h = (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) >>> 0;
  }
  h ^= bits.length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The coalition design of shap.KernelExplainer.addsample/explain: sizes are paired (s, m−s); a size pair is
 * enumerated completely while the remaining budget, spread by the Shapley kernel, gives every coalition of that
 * size at least one sample; the rest of the budget is drawn at random, each draw with its complement, and a
 * coalition drawn again only gains weight.
 */
class SampledDesign {
  masks: Uint8Array;
  weights: Float64Array;
  count = 0;
  private readonly m: number;

  constructor(m: number, budget: number, rng: Rng) {
    this.m = m;
    this.masks = new Uint8Array(budget * m);
    this.weights = new Float64Array(budget);

    const numSubsetSizes = Math.ceil((m - 1) / 2);
    const numPairedSizes = Math.floor((m - 1) / 2);
    const weightVector = new Float64Array(numSubsetSizes);
    let wsum = 0;
    for (let i = 1; i <= numSubsetSizes; i++) {
      weightVector[i - 1] = ((m - 1) / (i * (m - i))) * (i <= numPairedSizes ? 2 : 1);
      wsum += weightVector[i - 1]!;
    }
    for (let i = 0; i < numSubsetSizes; i++) weightVector[i]! /= wsum;

    let numFull = 0;
    let samplesLeft = budget;
    const remaining = Float64Array.from(weightVector);
    const scratch = new Uint8Array(m);
    for (let size = 1; size <= numSubsetSizes; size++) {
      const paired = size <= numPairedSizes;
      const nSubsets = binomial(m, size) * (paired ? 2 : 1);
      // The 1e-8 slack is shap's: without it rounding can refuse a size pair the budget exactly covers.
      if (!((samplesLeft * remaining[size - 1]!) / nSubsets >= 1 - 1e-8)) break;
      numFull++;
      samplesLeft -= nSubsets;
      const r = remaining[size - 1]!;
      if (r < 1) for (let i = 0; i < numSubsetSizes; i++) remaining[i]! /= 1 - r;
      const w = weightVector[size - 1]! / binomial(m, size) / (paired ? 2 : 1);
      this.enumerateSize(size, paired, w, scratch);
    }

    const nFixed = this.count;
    samplesLeft = budget - nFixed;
    if (numFull === numSubsetSizes || samplesLeft <= 0) return;

    // Each random draw of a paired size also adds its complement, so a paired size's probability is halved.
    const nRandomSizes = numSubsetSizes - numFull;
    const cdf = new Float64Array(nRandomSizes);
    let total = 0;
    for (let i = 0; i < nRandomSizes; i++) {
      const size = numFull + 1 + i;
      total += weightVector[size - 1]! / (size <= numPairedSizes ? 2 : 1);
      cdf[i] = total;
    }
    const perm = new Int32Array(m);
    for (let i = 0; i < m; i++) perm[i] = i;
    const keyOf = makeKeyer(m);
    // Index of each drawn coalition and of its complement (-1 when the budget ran out before it was added).
    const seen = new Map<number | string, number>();
    const complementOf = new Int32Array(budget).fill(-1);
    // shap gives up after 4× the remaining budget in draws, which bounds the loop when few coalitions are left.
    const maxDraws = 4 * samplesLeft;
    for (let draw = 0; draw < maxDraws && samplesLeft > 0; draw++) {
      const u = rng.next() * total;
      let ix = 0;
      while (ix < nRandomSizes - 1 && u >= cdf[ix]!) ix++;
      const size = numFull + 1 + ix;
      // Partial Fisher–Yates: the first `size` entries of any permutation shuffled this way are a uniform subset.
      scratch.fill(0);
      for (let i = 0; i < size; i++) {
        const j = i + Math.floor(rng.next() * (m - i));
        const t = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = t;
        scratch[perm[i]!] = 1;
      }
      const key = keyOf(scratch);
      const prev = seen.get(key);
      const paired = size <= numPairedSizes;
      if (prev === undefined) {
        const idx = this.add(scratch, 1);
        seen.set(key, idx);
        samplesLeft--;
        if (samplesLeft > 0 && paired) {
          for (let i = 0; i < m; i++) scratch[i] = 1 - scratch[i]!;
          complementOf[idx] = this.add(scratch, 1);
          samplesLeft--;
        }
      } else {
        this.weights[prev]! += 1;
        const c = complementOf[prev]!;
        if (samplesLeft > 0 && paired && c >= 0) this.weights[c]! += 1;
      }
    }

    // The random coalitions share the kernel weight of the sizes that were not enumerated, in proportion to counts.
    let weightLeft = 0;
    for (let i = numFull; i < numSubsetSizes; i++) weightLeft += weightVector[i]!;
    let drawn = 0;
    for (let k = nFixed; k < this.count; k++) drawn += this.weights[k]!;
    if (drawn > 0) for (let k = nFixed; k < this.count; k++) this.weights[k]! *= weightLeft / drawn;
  }

  private add(mask: Uint8Array, w: number): number {
    const k = this.count++;
    this.masks.set(mask, k * this.m);
    this.weights[k] = w;
    return k;
  }

  private enumerateSize(size: number, paired: boolean, w: number, scratch: Uint8Array): void {
    const m = this.m;
    const idx = new Int32Array(size);
    for (let i = 0; i < size; i++) idx[i] = i;
    for (;;) {
      scratch.fill(0);
      for (let i = 0; i < size; i++) scratch[idx[i]!] = 1;
      this.add(scratch, w);
      if (paired) {
        for (let i = 0; i < m; i++) scratch[i] = 1 - scratch[i]!;
        this.add(scratch, w);
      }
      // Next combination in lexicographic order.
      let i = size - 1;
      while (i >= 0 && idx[i] === m - size + i) i--;
      if (i < 0) return;
      idx[i]!++;
      for (let j = i + 1; j < size; j++) idx[j] = idx[j - 1]! + 1;
    }
  }
}

/** Exact numeric keys (sums of powers of two) up to 52 features; beyond that a 16-bits-per-char string. */
function makeKeyer(m: number): (mask: Uint8Array) => number | string {
  if (m <= 52) {
    return (mask) => {
      let key = 0;
      let p = 1;
      for (let i = 0; i < m; i++, p *= 2) if (mask[i] === 1) key += p;
      return key;
    };
  }
  const codes: number[] = new Array<number>(Math.ceil(m / 16)).fill(0);
  return (mask) => {
    codes.fill(0);
    for (let i = 0; i < m; i++) if (mask[i] === 1) codes[i >> 4]! |= 1 << (i & 15);
    return String.fromCharCode(...codes);
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The evaluation stream

/** A contiguous run of evaluated rows whose outputs go to one accumulator slot (sum) or to consecutive slots. */
interface Piece {
  target: Float64Array;
  index: number;
  start: number;
  count: number;
  sum: boolean;
}

interface Chunk {
  buf: Float64Array;
  n: number;
  pieces: Piece[];
  nPieces: number;
}

class Job {
  readonly values: Float64Array;
  readonly fx: Float64Array;
  base = 0;
  allExact = true;

  private readonly baseAcc = new Float64Array(1);
  private readonly M: number;
  private readonly tile: Float64Array;

  // Cursor over the stream: the background rows (for v(∅)), the explained rows (for f(x)), then per explained row
  // its coalitions × background rows.
  private phase: 0 | 1 | 2 | 3 = 0;
  private cursorRow = 0;
  private cursorPlan: Plan | null = null;
  private cursorCoalition = 0;
  private cursorBg = 0;
  private streamPos = 0;
  private readonly inIdx: Int32Array;
  private readonly outIdx: Int32Array;
  private nIn = 0;
  private nOut = 0;
  private membersOf = -1;

  private readonly pending: Array<Plan | undefined> = [];
  private pendingHead = 0;
  private processed = 0;

  // Solver scratch, sized for the widest row.
  private readonly ata: Float64Array;
  private readonly atb: Float64Array;
  private readonly sol: Float64Array;
  private readonly nz: Int32Array;

  constructor(
    private readonly background: Float64Array,
    private readonly nBg: number,
    nFeatures: number,
    private readonly rows: Float64Array,
    private readonly nRows: number,
    private readonly opts: KernelShapOptions,
  ) {
    this.M = nFeatures;
    this.values = new Float64Array(nRows * nFeatures);
    this.fx = new Float64Array(nRows);
    this.tile = new Float64Array(nBg * nFeatures);
    this.inIdx = new Int32Array(nFeatures);
    this.outIdx = new Int32Array(nFeatures);
    this.ata = new Float64Array(nFeatures * nFeatures);
    this.atb = new Float64Array(nFeatures);
    this.sol = new Float64Array(nFeatures);
    this.nz = new Int32Array(nFeatures);
  }

  async run(f: BatchEvaluator): Promise<void> {
    const cap = this.bufferRows();
    const mk = (): Chunk => ({ buf: new Float64Array(cap * this.M), n: 0, pieces: [], nPieces: 0 });
    let cur = mk();
    let spare = mk();
    this.fill(cur);
    while (cur.n > 0) {
      const input = cur.n === cap ? cur.buf : cur.buf.subarray(0, cur.n * this.M);
      const pending = f(input, cur.n);
      // Build the next batch while the evaluator (e.g. onnxruntime on its own threads) works on this one.
      this.fill(spare);
      this.scatter(cur, checked(await pending, cur.n));
      const t = cur;
      cur = spare;
      spare = t;
    }
    this.finishReady();
  }

  /** The same plans, accumulators and solves as `run`, with each row's coalition sums from the evaluator. */
  async runCoalitions(g: CoalitionEvaluator): Promise<void> {
    const M = this.M;
    const bg = checked(g.score(this.background, this.nBg), this.nBg);
    for (let b = 0; b < this.nBg; b++) this.baseAcc[0]! += bg[b]!;
    this.fx.set(checked(g.score(this.rows, this.nRows), this.nRows));
    this.processed = this.nBg + this.nRows;
    for (let row = 0; row < this.nRows; row++) {
      const plan = this.makePlan(row, this.processed);
      if (plan.count > 0) {
        const out = plan.acc.subarray(plan.accOffset, plan.accOffset + plan.count);
        g.coalitionSums(this.rows.subarray(row * M, row * M + M), plan.varying, plan.count, plan.exactMode ? undefined : plan.masks, out);
      }
      this.processed = plan.streamEnd;
      this.finishReady();
      // The evaluator is synchronous; yielding between rows keeps a worker's event loop (its job lock renewals) alive.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.finishReady();
  }

  /** A generous maxBatchRows must not allocate far more than the whole job can ever evaluate. */
  private bufferRows(): number {
    const perRow = Math.max(this.opts.samples, Math.min(this.opts.exactUpTo, 2 ** Math.min(this.M, MAX_EXACT_FEATURES) - 2));
    const bound = this.nBg + this.nRows + this.nRows * this.nBg * perRow;
    return Math.max(1, Math.min(this.opts.maxBatchRows, bound));
  }

  /** Fills a chunk with up to a buffer's worth of mixed rows from the cursor. */
  private fill(chunk: Chunk): void {
    const cap = chunk.buf.length / this.M;
    const M = this.M;
    const buf = chunk.buf;
    chunk.n = 0;
    chunk.nPieces = 0;
    while (chunk.n < cap && this.phase < 3) {
      const room = cap - chunk.n;
      const off = chunk.n * M;
      if (this.phase === 0) {
        // v(∅) is the same for every explained row, so the background is evaluated once.
        const take = Math.min(room, this.nBg - this.cursorBg);
        buf.set(this.background.subarray(this.cursorBg * M, (this.cursorBg + take) * M), off);
        this.piece(chunk, this.baseAcc, 0, take, true);
        this.cursorBg += take;
        if (this.cursorBg === this.nBg) {
          this.cursorBg = 0;
          this.phase = 1;
        }
      } else if (this.phase === 1) {
        const take = Math.min(room, this.nRows - this.cursorRow);
        if (take > 0) {
          buf.set(this.rows.subarray(this.cursorRow * M, (this.cursorRow + take) * M), off);
          this.piece(chunk, this.fx, this.cursorRow, take, false);
          this.cursorRow += take;
        }
        if (this.cursorRow === this.nRows) {
          this.cursorRow = 0;
          this.phase = 2;
        }
      } else {
        let plan = this.cursorPlan;
        if (plan === null || this.cursorCoalition === plan.count) {
          if (plan !== null) this.cursorRow++;
          if (this.cursorRow === this.nRows) {
            this.phase = 3;
            this.cursorPlan = null;
            break;
          }
          plan = this.makePlan(this.cursorRow, this.streamPos + chunk.n);
          this.fillTile(plan.row);
          this.membersOf = -1;
          this.cursorPlan = plan;
          this.cursorCoalition = 0;
          this.cursorBg = 0;
          continue;
        }
        const k = this.cursorCoalition;
        if (this.membersOf !== k) this.loadMembers(plan, k);
        const b0 = this.cursorBg;
        const take = Math.min(room, this.nBg - b0);
        this.writeMixed(buf, off, plan.row, b0, take);
        this.piece(chunk, plan.acc, k + plan.accOffset, take, true);
        this.cursorBg += take;
        if (this.cursorBg === this.nBg) {
          this.cursorBg = 0;
          this.cursorCoalition++;
        }
      }
    }
    this.streamPos += chunk.n;
  }

  private piece(chunk: Chunk, target: Float64Array, index: number, count: number, sum: boolean): void {
    let p = chunk.pieces[chunk.nPieces];
    if (p === undefined) {
      p = { target, index, start: chunk.n, count, sum };
      chunk.pieces.push(p);
    } else {
      p.target = target;
      p.index = index;
      p.start = chunk.n;
      p.count = count;
      p.sum = sum;
    }
    chunk.nPieces++;
    chunk.n += count;
  }

  private scatter(chunk: Chunk, out: Float64Array): void {
    for (let i = 0; i < chunk.nPieces; i++) {
      const p = chunk.pieces[i]!;
      if (p.sum) {
        let s = 0;
        for (let j = p.start, e = p.start + p.count; j < e; j++) s += out[j]!;
        p.target[p.index]! += s;
      } else {
        for (let j = 0; j < p.count; j++) p.target[p.index + j] = out[p.start + j]!;
      }
    }
    this.processed += chunk.n;
    this.finishReady();
  }

  /** Solves every row whose mixed rows have all been evaluated; the prefix (base, f(x)) always precedes them. */
  private finishReady(): void {
    if (this.processed < this.nBg + this.nRows) return;
    this.base = this.baseAcc[0]! / this.nBg;
    while (this.pendingHead < this.pending.length) {
      const plan = this.pending[this.pendingHead]!;
      if (plan.streamEnd > this.processed) break;
      // Drop the reference so a long job holds only the plans still in flight.
      this.pending[this.pendingHead++] = undefined;
      this.finish(plan);
    }
  }

  /** `start` is the stream position of the row's first mixed row. */
  private makePlan(row: number, start: number): Plan {
    const M = this.M;
    const nBg = this.nBg;
    const x = this.rows;
    const xo = row * M;
    const bg = this.background;
    // A feature equal to x in every background row is a null player: its value is exactly 0 and dropping it
    // shrinks the game (shap does the same with isclose; exact equality keeps the result exact).
    const vary: number[] = [];
    for (let j = 0; j < M; j++) {
      const xj = x[xo + j]!;
      for (let b = 0; b < nBg; b++) {
        if (!same(bg[b * M + j]!, xj)) {
          vary.push(j);
          break;
        }
      }
    }
    const m = vary.length;
    const varying = Int32Array.from(vary);
    const full = m >= 31 ? Infinity : 2 ** m - 2;
    const exactMode = m <= MAX_EXACT_FEATURES && full <= this.opts.exactUpTo;
    let plan: Plan;
    if (m <= 1) {
      plan = mkPlan(row, varying, true, 0, new Uint8Array(0), new Float64Array(0), new Float64Array(0), 0, true);
    } else if (exactMode) {
      plan = mkPlan(row, varying, true, full, new Uint8Array(0), new Float64Array(0), new Float64Array(full + 2), 1, true);
    } else {
      const budget = Math.min(this.opts.samples, full, MAX_COALITIONS);
      const bits = new Uint32Array(x.buffer, x.byteOffset + xo * 8, 2 * M);
      const d = new SampledDesign(m, budget, new Rng(rowSeed(this.opts.seed, bits)));
      plan = mkPlan(row, varying, false, d.count, d.masks, d.weights, new Float64Array(d.count), 0, d.count === full);
    }
    plan.streamEnd = start + plan.count * nBg;
    this.pending.push(plan);
    return plan;
  }

  private fillTile(row: number): void {
    const M = this.M;
    const x = this.rows.subarray(row * M, row * M + M);
    for (let b = 0; b < this.nBg; b++) this.tile.set(x, b * M);
  }

  private loadMembers(plan: Plan, k: number): void {
    const v = plan.varying;
    const m = v.length;
    let nIn = 0;
    let nOut = 0;
    if (plan.exactMode) {
      const mask = k + 1;
      for (let i = 0; i < m; i++) {
        if ((mask >>> i) & 1) this.inIdx[nIn++] = v[i]!;
        else this.outIdx[nOut++] = v[i]!;
      }
    } else {
      const o = k * m;
      for (let i = 0; i < m; i++) {
        if (plan.masks[o + i] === 1) this.inIdx[nIn++] = v[i]!;
        else this.outIdx[nOut++] = v[i]!;
      }
    }
    this.nIn = nIn;
    this.nOut = nOut;
    this.membersOf = k;
  }

  /**
   * Writes background rows b0..b0+take with the coalition's features taken from x. Starting from whichever
   * side (background or tiled x) needs fewer per-row overwrites keeps the per-row work at min(|S|, m−|S|)
   * on top of one block copy.
   */
  private writeMixed(buf: Float64Array, off: number, row: number, b0: number, take: number): void {
    const M = this.M;
    if (this.nIn <= this.nOut) {
      // Whole blocks are the common case; copying from the array itself spares a view allocation per coalition.
      buf.set(take === this.nBg ? this.background : this.background.subarray(b0 * M, (b0 + take) * M), off);
      const nIn = this.nIn;
      const idx = this.inIdx;
      const x = this.rows;
      const xo = row * M;
      for (let t = 0; t < nIn; t++) {
        const j = idx[t]!;
        const xj = x[xo + j]!;
        for (let p = off + j, e = off + take * M; p < e; p += M) buf[p] = xj;
      }
    } else {
      buf.set(take === this.nBg ? this.tile : this.tile.subarray(b0 * M, (b0 + take) * M), off);
      const nOut = this.nOut;
      const idx = this.outIdx;
      const bg = this.background;
      for (let t = 0; t < nOut; t++) {
        const j = idx[t]!;
        for (let b = 0, p = off + j, q = b0 * M + j; b < take; b++, p += M, q += M) buf[p] = bg[q]!;
      }
    }
  }

  private finish(plan: Plan): void {
    const M = this.M;
    const out = this.values.subarray(plan.row * M, plan.row * M + M);
    const fx = this.fx[plan.row]!;
    const base = this.base;
    const v = plan.varying;
    const m = v.length;
    if (!plan.complete) this.allExact = false;
    if (m === 0) return;
    if (m === 1) {
      out[v[0]!] = fx - base;
      return;
    }
    if (plan.exactMode) exactShapley(plan.acc, m, this.nBg, base, fx, v, out);
    else this.solveSampled(plan, base, fx, out);
  }

  /**
   * shap's KernelExplainer.solve without feature selection: with z_last eliminated through Σφ = fx − base, the
   * regression of v(S) − base − z_last·(fx − base) on (z_j − z_last), j < last, is solved by weighted least
   * squares, and φ_last takes whatever the constraint leaves.
   */
  private solveSampled(plan: Plan, base: number, fx: number, out: Float64Array): void {
    const m = plan.varying.length;
    const n = m - 1;
    const last = m - 1;
    const A = this.ata;
    const rhs = this.atb;
    A.fill(0, 0, n * n);
    rhs.fill(0, 0, n);
    const nz = this.nz;
    const total = fx - base;
    const inv = 1 / this.nBg;
    const { masks, weights, acc, count } = plan;
    for (let k = 0; k < count; k++) {
      const w = weights[k]!;
      const o = k * m;
      const zLast = masks[o + last]!;
      const y = acc[k]! * inv - base - zLast * total;
      // The design row z_j − z_last is the member indicator (z_last = 0) or minus the non-member indicator
      // (z_last = 1): all its nonzeros share one sign, so its outer product is w on the nonzero block.
      let cnt = 0;
      for (let j = 0; j < n; j++) if (masks[o + j] !== zLast) nz[cnt++] = j;
      const wy = zLast === 1 ? -w * y : w * y;
      for (let a = 0; a < cnt; a++) {
        const ia = nz[a]!;
        rhs[ia]! += wy;
        const row = ia * n;
        for (let b = a; b < cnt; b++) A[row + nz[b]!]! += w;
      }
    }
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) A[i * n + j] = A[j * n + i]!;
    const sol = this.sol;
    solveSymmetric(A, rhs, n, sol);
    let s = 0;
    for (let j = 0; j < n; j++) {
      out[plan.varying[j]!] = sol[j]!;
      s += sol[j]!;
    }
    out[plan.varying[last]!] = total - s;
  }
}

function mkPlan(
  row: number,
  varying: Int32Array,
  exactMode: boolean,
  count: number,
  masks: Uint8Array,
  weights: Float64Array,
  acc: Float64Array,
  accOffset: number,
  complete: boolean,
): Plan {
  return { row, varying, exactMode, count, masks, weights, acc, accOffset, complete, streamEnd: 0 };
}

function checked(out: unknown, n: number): Float64Array {
  if (!(out instanceof Float64Array) || out.length !== n) {
    throw new RangeError(`evaluator returned ${describe(out)} for ${n} rows; expected a Float64Array of length ${n}`);
  }
  return out;
}

function describe(x: unknown): string {
  if (x instanceof Float64Array) return `a Float64Array of length ${x.length}`;
  if (x === null) return "null";
  return typeof x === "object" ? (x.constructor?.name ?? "an object") : typeof x;
}

// ---------------------------------------------------------------------------------------------------------------
// Numerics

/**
 * φ_j = Σ_{S∌j} |S|!(m−|S|−1)!/m! · (v(S∪{j}) − v(S)), with v(S) = acc[S]/nBg, v(∅) = base, v(all) = fx.
 * Each mask contributes +c(|S|−1)·v(S) to its members and −c(|S|)·v(S) to the others, so one pass over masks.
 */
function exactShapley(
  acc: Float64Array,
  m: number,
  nBg: number,
  base: number,
  fx: number,
  varying: Int32Array,
  out: Float64Array,
): void {
  const nMasks = 2 ** m;
  const fullMask = nMasks - 1;
  // c[s] = s!(m−s−1)!/m! = 1/(m·C(m−1, s))
  const c = new Float64Array(m);
  for (let s = 0; s < m; s++) c[s] = 1 / (m * binomial(m - 1, s));
  const phi = new Float64Array(m);
  const inv = 1 / nBg;
  for (let mask = 0; mask < nMasks; mask++) {
    const vS = mask === 0 ? base : mask === fullMask ? fx : acc[mask]! * inv;
    let size = 0;
    for (let t = mask; t !== 0; t &= t - 1) size++;
    const plus = size > 0 ? c[size - 1]! * vS : 0;
    const minus = size < m ? c[size]! * vS : 0;
    for (let j = 0; j < m; j++) {
      if ((mask >>> j) & 1) phi[j]! += plus;
      else phi[j]! -= minus;
    }
  }
  for (let j = 0; j < m; j++) out[varying[j]!] = phi[j]!;
}

/**
 * Solves the SPD normal equations by Cholesky. When the budget is too small for the design to have full rank
 * (or it is numerically singular) it falls back to the minimum-norm solution through a Jacobi eigendecomposition,
 * which is what shap's lstsq fallback returns.
 */
function solveSymmetric(A: Float64Array, b: Float64Array, n: number, x: Float64Array): void {
  const L = new Float64Array(n * n);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, Math.abs(A[i * n + i]!));
  const tol = maxDiag * n * 1e-13;
  let ok = maxDiag > 0;
  for (let j = 0; j < n && ok; j++) {
    let d = A[j * n + j]!;
    for (let k = 0; k < j; k++) d -= L[j * n + k]! * L[j * n + k]!;
    if (!(d > tol)) {
      ok = false;
      break;
    }
    const ljj = Math.sqrt(d);
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      L[i * n + j] = s / ljj;
    }
  }
  if (ok) {
    for (let i = 0; i < n; i++) {
      let s = b[i]!;
      for (let k = 0; k < i; k++) s -= L[i * n + k]! * x[k]!;
      x[i] = s / L[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = x[i]!;
      for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * x[k]!;
      x[i] = s / L[i * n + i]!;
    }
    return;
  }
  pseudoInverseSolve(A, b, n, x);
}

function pseudoInverseSolve(A: Float64Array, b: Float64Array, n: number, x: Float64Array): void {
  const a = Float64Array.from(A.subarray(0, n * n));
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! * a[p * n + q]!;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const cs = 1 / Math.sqrt(t * t + 1);
        const sn = t * cs;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = cs * akp - sn * akq;
          a[k * n + q] = sn * akp + cs * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = cs * apk - sn * aqk;
          a[q * n + k] = sn * apk + cs * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p]!;
          const vkq = V[k * n + q]!;
          V[k * n + p] = cs * vkp - sn * vkq;
          V[k * n + q] = sn * vkp + cs * vkq;
        }
      }
    }
  }
  let maxEig = 0;
  for (let i = 0; i < n; i++) maxEig = Math.max(maxEig, Math.abs(a[i * n + i]!));
  const cut = maxEig * n * 1e-12;
  x.fill(0, 0, n);
  for (let k = 0; k < n; k++) {
    const lambda = a[k * n + k]!;
    if (!(Math.abs(lambda) > cut)) continue;
    let proj = 0;
    for (let i = 0; i < n; i++) proj += V[i * n + k]! * b[i]!;
    const coef = proj / lambda;
    for (let i = 0; i < n; i++) x[i]! += coef * V[i * n + k]!;
  }
}

// Exact interventional TreeSHAP: what shap.TreeExplainer(model, data=background,
// feature_perturbation="interventional") computes on the raw score. For an explained row x and a background row z
// the game is v_z(S) = f(x_S, z_rest); the result averages its Shapley values over the background.
//
// Why the formulas hold. For one tree, the hybrid row reaches leaf L iff, for every feature j split on along L's
// path, either j ∈ S and x passes all of L's tests on j, or j ∉ S and z passes them. Call A_L the path features
// only x passes and B_L those only z passes (a feature neither passes makes L unreachable for every S). Then
// v_z(S) = Σ_L v_L·[A_L ⊆ S and B_L ∩ S = ∅], and the Shapley value of one such unanimity-like term is
// +v·(a−1)!·b!/(a+b)! for each i ∈ A and −v·a!·(b−1)!/(a+b)! for each j ∈ B (a = |A|, b = |B|).
//
// Two exact evaluations of that sum, chosen per tree:
// - "table": x's and z's pass/fail patterns over a leaf's k path features are k-bit masks. Counting background
//   rows per (leaf, z-pattern) once makes the work per explained row independent of the background size: for
//   x-pattern X a leaf's contribution depends on X alone, so it is computed on first use and memoised. Needs
//   2^k·(k + 1) doubles per leaf, so it is used for shallow trees (k ≤ TABLE_MAX_K) with enough rows to explain.
// - "recursive": per (x, z) walk of the tree that follows both branches only where x and z disagree on a feature
//   not yet assigned to A or B. Linear in the nodes visited; used for deep trees.
import { NodeMode, takesYes, type Tree, type TreeEnsemble } from "./tree-ensemble.js";

export interface TreeShapResult {
  /** nRows × nFeatures, row-major: the attribution of each feature for each explained row. */
  values: Float64Array;
  /** Mean raw score over the background; base + Σ values of a row = that row's raw score. */
  base: number;
}

export interface TreeShapOptions {
  /** Evaluation strategy; "auto" picks per tree. The others exist so tests can check both against each other. */
  method?: "auto" | "table" | "recursive";
}

/** Path feature count up to which the memoised table evaluation is used. */
const TABLE_MAX_K = 12;
/** Table doubles per tree above which the recursive evaluation is used instead (32 MiB). */
const TABLE_MAX_DOUBLES = 1 << 22;

export function treeShap(
  ensemble: TreeEnsemble,
  background: Float64Array,
  nBg: number,
  rows: Float64Array,
  nRows: number,
  options: TreeShapOptions = {},
): TreeShapResult {
  const m = ensemble.nFeatures;
  if (!Number.isInteger(nBg) || nBg < 1) throw new RangeError(`nBg must be a positive integer, got ${nBg}`);
  if (!Number.isInteger(nRows) || nRows < 0) throw new RangeError(`nRows must be a non-negative integer, got ${nRows}`);
  if (background.length < nBg * m) throw new RangeError(`background holds ${background.length} values, ${nBg} rows of ${m} need ${nBg * m}`);
  if (rows.length < nRows * m) throw new RangeError(`rows holds ${rows.length} values, ${nRows} rows of ${m} need ${nRows * m}`);

  const paths = ensemble.trees.map((tree) => pathsOf(tree, m));
  const weights = shapleyWeights(paths.reduce((k, p) => Math.max(k, p.maxK), 0));
  const values = new Float64Array(nRows * m);
  const input: Inputs = { background, nBg, rows, nRows, m, round: ensemble.float32Input };
  let base = ensemble.base;
  ensemble.trees.forEach((tree, t) => {
    const p = paths[t]!;
    const method = options.method ?? "auto";
    const useTable = method === "table" || (method === "auto" && tablePays(p, nBg, nRows));
    base += useTable ? tableShap(tree, p, weights, input, values) : recursiveShap(tree, p, weights, input, values);
  });
  return { values, base };
}

// The tables are allocated and the background counted once per tree; the recursion instead costs about
// nBg·depth steps per explained row. With few rows to explain the tables do not pay for themselves.
function tablePays(p: Paths, nBg: number, nRows: number): boolean {
  return p.maxK <= TABLE_MAX_K && p.tableDoubles <= TABLE_MAX_DOUBLES && p.tableDoubles <= 8 * nRows * nBg * (p.maxDepth + 1);
}

interface Inputs {
  background: Float64Array;
  nBg: number;
  rows: Float64Array;
  nRows: number;
  m: number;
  round: boolean;
}

/** Per-tree path bookkeeping shared by both evaluations. */
interface Paths {
  /** Reachable nodes, parents before children. */
  order: Int32Array;
  /** Per split node: index of its feature among the distinct features on the path root..node. */
  slot: Int32Array;
  /** Per node: leaf index, or −1 for splits. */
  leafOf: Int32Array;
  /** Per leaf: number of distinct features on its path. */
  leafK: Int32Array;
  /** Per leaf: start of its slot → feature list in `slotFeature`. */
  leafSlotStart: Int32Array;
  slotFeature: Int32Array;
  maxK: number;
  maxDepth: number;
  tableDoubles: number;
}

function pathsOf(tree: Tree, nFeatures: number): Paths {
  const n = tree.mode.length;
  const order = new Int32Array(n);
  const parent = new Int32Array(n).fill(-1);
  const depth = new Int32Array(n);
  const kBefore = new Int32Array(n);
  const slot = new Int32Array(n);
  const leafOf = new Int32Array(n).fill(-1);
  const stack = new Int32Array(n + 1);
  let count = 0;
  let sp = 0;
  let leaves = 0;
  let maxK = 0;
  let maxDepth = 0;
  let kTotal = 0;
  let tableDoubles = 0;
  stack[sp++] = 0;
  while (sp > 0) {
    const node = stack[--sp]!;
    if (count === n) throw new RangeError("a tree has a node reachable twice; it is not a tree");
    order[count++] = node;
    maxDepth = Math.max(maxDepth, depth[node]!);
    if (tree.mode[node] === NodeMode.LEAF) {
      leafOf[node] = leaves++;
      const k = kBefore[node]!;
      maxK = Math.max(maxK, k);
      kTotal += k;
      tableDoubles += (k + 1) * 2 ** k;
      continue;
    }
    if (!(tree.feature[node]! < nFeatures)) throw new RangeError(`a split reads feature ${tree.feature[node]}, but rows have ${nFeatures}`);
    const ancestor = ancestorWithFeature(tree, parent, node);
    slot[node] = ancestor >= 0 ? slot[ancestor]! : kBefore[node]!;
    const kAfter = kBefore[node]! + (ancestor >= 0 ? 0 : 1);
    for (let side = 0; side < 2; side++) {
      const child = side === 0 ? tree.no[node]! : tree.yes[node]!;
      parent[child] = node;
      depth[child] = depth[node]! + 1;
      kBefore[child] = kAfter;
      stack[sp++] = child;
    }
  }
  const leafK = new Int32Array(leaves);
  const leafSlotStart = new Int32Array(leaves);
  const slotFeature = new Int32Array(kTotal);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const node = order[i]!;
    const leaf = leafOf[node]!;
    if (leaf < 0) continue;
    leafK[leaf] = kBefore[node]!;
    leafSlotStart[leaf] = offset;
    for (let a = parent[node]!; a >= 0; a = parent[a]!) slotFeature[offset + slot[a]!] = tree.feature[a]!;
    offset += kBefore[node]!;
  }
  return { order: order.subarray(0, count), slot, leafOf, leafK, leafSlotStart, slotFeature, maxK, maxDepth, tableDoubles };
}

function ancestorWithFeature(tree: Tree, parent: Int32Array, node: number): number {
  const feature = tree.feature[node]!;
  for (let a = parent[node]!; a >= 0; a = parent[a]!) if (tree.feature[a] === feature) return a;
  return -1;
}

/** wA[a·(K+1)+b] = (a−1)!·b!/(a+b)!, wB[a·(K+1)+b] = a!·(b−1)!/(a+b)!, as 1/(a·C(a+b, a)) and 1/(b·C(a+b, b)). */
interface Weights {
  stride: number;
  wA: Float64Array;
  wB: Float64Array;
}

function shapleyWeights(maxK: number): Weights {
  const stride = maxK + 1;
  const binom: Float64Array[] = [];
  for (let n = 0; n <= maxK; n++) {
    const row = new Float64Array(n + 1);
    row[0] = row[n] = 1;
    for (let k = 1; k < n; k++) row[k] = binom[n - 1]![k - 1]! + binom[n - 1]![k]!;
    binom.push(row);
  }
  const wA = new Float64Array(stride * stride);
  const wB = new Float64Array(stride * stride);
  for (let a = 0; a <= maxK; a++) {
    for (let b = 0; a + b <= maxK; b++) {
      if (a > 0) wA[a * stride + b] = 1 / (a * binom[a + b]![a]!);
      if (b > 0) wB[a * stride + b] = 1 / (b * binom[a + b]![b]!);
    }
  }
  return { stride, wA, wB };
}

/** Sets `mask[child]` for every reachable node: bit `slot` set where the row failed a test on that slot's feature. */
function propagateFailMasks(tree: Tree, p: Paths, row: Float64Array, offset: number, round: boolean, mask: Int32Array): void {
  const { order, slot } = p;
  mask[0] = 0;
  for (let i = 0; i < order.length; i++) {
    const node = order[i]!;
    if (tree.mode[node] === NodeMode.LEAF) continue;
    const raw = row[offset + tree.feature[node]!]!;
    const yes = takesYes(tree, node, round ? Math.fround(raw) : raw);
    const inherited = mask[node]!;
    const failed = inherited | (1 << slot[node]!);
    mask[tree.yes[node]!] = yes ? inherited : failed;
    mask[tree.no[node]!] = yes ? failed : inherited;
  }
}

/** Adds this tree's attributions to `values`; returns its mean leaf value over the background. */
function tableShap(tree: Tree, p: Paths, w: Weights, input: Inputs, values: Float64Array): number {
  const { order, leafOf, leafK, leafSlotStart, slotFeature } = p;
  const nLeaves = leafK.length;
  const countStart = new Int32Array(nLeaves);
  const phiStart = new Int32Array(nLeaves);
  let countSize = 0;
  let phiSize = 0;
  for (let leaf = 0; leaf < nLeaves; leaf++) {
    countStart[leaf] = countSize;
    phiStart[leaf] = phiSize;
    countSize += 1 << leafK[leaf]!;
    phiSize += (1 << leafK[leaf]!) * leafK[leaf]!;
  }
  // counts[countStart[L] + passMask]: background rows whose passed-slot pattern on L's path is passMask.
  const counts = new Float64Array(countSize);
  // 0 = not computed yet, 1 = computed, 2 = computed and all zero (skipped).
  const state = new Uint8Array(countSize);
  const phi = new Float64Array(phiSize);
  const mask = new Int32Array(tree.mode.length);
  const { background, nBg, rows, nRows, m, round } = input;

  let leafSum = 0;
  for (let z = 0; z < nBg; z++) {
    propagateFailMasks(tree, p, background, z * m, round, mask);
    for (let i = 0; i < order.length; i++) {
      const node = order[i]!;
      const leaf = leafOf[node]!;
      if (leaf < 0) continue;
      const failed = mask[node]!;
      if (failed === 0) leafSum += tree.leafValue[node]!;
      counts[countStart[leaf]! + (((1 << leafK[leaf]!) - 1) & ~failed)]! += 1;
    }
  }

  const acc = new Float64Array(Math.max(p.maxK, 1));
  const scaleBase = 1 / nBg;
  for (let r = 0; r < nRows; r++) {
    const rowOffset = r * m;
    propagateFailMasks(tree, p, rows, rowOffset, round, mask);
    for (let i = 0; i < order.length; i++) {
      const node = order[i]!;
      const leaf = leafOf[node]!;
      if (leaf < 0) continue;
      const k = leafK[leaf]!;
      const passed = ((1 << k) - 1) & ~mask[node]!;
      const entry = countStart[leaf]! + passed;
      if (state[entry] === 0) {
        const nonZero = fillLeafEntry(counts, countStart[leaf]!, k, passed, tree.leafValue[node]! * scaleBase, w, acc, phi, phiStart[leaf]! + passed * k);
        state[entry] = nonZero ? 1 : 2;
      }
      if (state[entry] !== 1) continue;
      const phiOffset = phiStart[leaf]! + passed * k;
      const features = leafSlotStart[leaf]!;
      for (let s = 0; s < k; s++) values[rowOffset + slotFeature[features + s]!]! += phi[phiOffset + s]!;
    }
  }
  return leafSum / nBg;
}

/**
 * One leaf's per-slot contribution for an explained row whose passed slots are `passed` (X): sums over the
 * background patterns compatible with it (every slot x fails, z must pass), grouped by which of X's slots z also
 * passes. Returns whether any contribution is non-zero.
 */
function fillLeafEntry(
  counts: Float64Array,
  countOffset: number,
  k: number,
  passed: number,
  scale: number,
  w: Weights,
  acc: Float64Array,
  phi: Float64Array,
  phiOffset: number,
): boolean {
  if (scale === 0 || k === 0) return false;
  const failed = ((1 << k) - 1) & ~passed;
  const b = bitCount(failed);
  const xPassCount = bitCount(passed);
  acc.fill(0, 0, k);
  let fromB = 0;
  let any = false;
  // Enumerate subsets s of `passed`: the slots z passes as well (neutral); the rest of `passed` is A.
  for (let s = passed; ; s = (s - 1) & passed) {
    const c = counts[countOffset + (failed | s)]!;
    if (c !== 0) {
      const a = xPassCount - bitCount(s);
      if (a + b > 0) any = true;
      if (b > 0) fromB += c * w.wB[a * w.stride + b]!;
      if (a > 0) {
        const share = c * w.wA[a * w.stride + b]!;
        for (let rest = passed & ~s; rest !== 0; rest &= rest - 1) acc[31 - Math.clz32(rest & -rest)]! += share;
      }
    }
    if (s === 0) break;
  }
  if (!any) return false;
  for (let slot = 0; slot < k; slot++) phi[phiOffset + slot] = ((passed >> slot) & 1) === 1 ? acc[slot]! * scale : -fromB * scale;
  return true;
}

function bitCount(v: number): number {
  let x = v - ((v >> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >> 2) & 0x33333333);
  return (((x + (x >> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

const IN_A = 1;
const IN_B = 2;

/** Adds this tree's attributions to `values`; returns its mean leaf value over the background. */
function recursiveShap(tree: Tree, p: Paths, w: Weights, input: Inputs, values: Float64Array): number {
  const { background, nBg, rows, nRows, m, round } = input;
  const n = tree.mode.length;
  const { order } = p;
  // Branch decisions are per (row, node), so they are taken once instead of once per background pairing.
  const zYes = new Uint8Array(nBg * n);
  let leafSum = 0;
  for (let z = 0; z < nBg; z++) {
    decide(tree, order, background, z * m, round, zYes, z * n);
    let node = 0;
    while (tree.mode[node] !== NodeMode.LEAF) node = zYes[z * n + node] === 1 ? tree.yes[node]! : tree.no[node]!;
    leafSum += tree.leafValue[node]!;
  }
  const xYes = new Uint8Array(n);
  const stack = new FrameStack(p.maxDepth);
  const { node: stNode, a: stA, b: stB, feature: stFeature, side: stSide, trail: stTrail } = stack;
  const featureSide = new Int8Array(m);
  const trail = new Int32Array(p.maxDepth + 1);
  const { wA, wB, stride } = w;
  const { feature, mode, yes, no, leafValue } = tree;
  const inv = 1 / nBg;

  for (let r = 0; r < nRows; r++) {
    const rowOffset = r * m;
    decide(tree, order, rows, rowOffset, round, xYes, 0);
    for (let z = 0; z < nBg; z++) {
      const zOffset = z * n;
      let trailLen = 0;
      stack.push(0, 0, 0, -1, 0, 0);
      while (stack.size > 0) {
        const top = --stack.size;
        let node = stNode[top]!;
        let a = stA[top]!;
        const b = stB[top]!;
        // Restore the path state this frame was created in, then apply its own assignment.
        for (const base = stTrail[top]!; trailLen > base; ) featureSide[trail[--trailLen]!] = 0;
        const added = stFeature[top]!;
        if (added >= 0) {
          featureSide[added] = stSide[top]!;
          trail[trailLen++] = added;
        }
        // Descend in place along x's side; only a new disagreement leaves a frame (z's side) for later.
        while (mode[node] !== NodeMode.LEAF) {
          const xGoesYes = xYes[node] === 1;
          const xChild = xGoesYes ? yes[node]! : no[node]!;
          if (xGoesYes === (zYes[zOffset + node] === 1)) {
            node = xChild;
            continue;
          }
          const f = feature[node]!;
          const side = featureSide[f]!;
          const zChild = xGoesYes ? no[node]! : yes[node]!;
          if (side === IN_A) {
            node = xChild;
          } else if (side === IN_B) {
            node = zChild;
          } else {
            stack.push(zChild, a, b + 1, f, IN_B, trailLen);
            featureSide[f] = IN_A;
            trail[trailLen++] = f;
            a++;
            node = xChild;
          }
        }
        const v = leafValue[node]! * inv;
        if (v === 0 || a + b === 0) continue;
        const toA = a > 0 ? v * wA[a * stride + b]! : 0;
        const toB = b > 0 ? v * wB[a * stride + b]! : 0;
        for (let t = 0; t < trailLen; t++) {
          const f = trail[t]!;
          values[rowOffset + f]! += featureSide[f] === IN_A ? toA : -toB;
        }
      }
      while (trailLen > 0) featureSide[trail[--trailLen]!] = 0;
    }
  }
  return leafSum / nBg;
}

/** Pending DFS frames: a node, its path's |A| and |B|, the feature it assigns (−1: none) and the trail length before it. */
class FrameStack {
  readonly node: Int32Array;
  readonly a: Int32Array;
  readonly b: Int32Array;
  readonly feature: Int32Array;
  readonly side: Int8Array;
  readonly trail: Int32Array;
  size = 0;

  constructor(maxDepth: number) {
    // Frames are only left at splits of the current path, at most one per level.
    const capacity = maxDepth + 2;
    this.node = new Int32Array(capacity);
    this.a = new Int32Array(capacity);
    this.b = new Int32Array(capacity);
    this.feature = new Int32Array(capacity);
    this.side = new Int8Array(capacity);
    this.trail = new Int32Array(capacity);
  }

  push(node: number, a: number, b: number, feature: number, side: number, trail: number): void {
    const i = this.size++;
    this.node[i] = node;
    this.a[i] = a;
    this.b[i] = b;
    this.feature[i] = feature;
    this.side[i] = side;
    this.trail[i] = trail;
  }
}

function decide(tree: Tree, order: Int32Array, data: Float64Array, offset: number, round: boolean, out: Uint8Array, outOffset: number): void {
  for (let i = 0; i < order.length; i++) {
    const node = order[i]!;
    if (tree.mode[node] === NodeMode.LEAF) continue;
    const raw = data[offset + tree.feature[node]!]!;
    out[outOffset + node] = takesYes(tree, node, round ? Math.fround(raw) : raw) ? 1 : 0;
  }
}

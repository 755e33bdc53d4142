// KernelSHAP's game v(S) = mean_b f(x_S, b_rest) for a tree ensemble's raw sum, computed from the trees instead of
// from coalitions × background mixed rows run through onnxruntime.
//
// Why it is exact. Number the nodes on the path from a tree's root to node n by their depth 0..d−1. A mixed row
// reaches n iff x passes every path node whose feature is in S and b passes every other path node. Let b's fail mask
// be the set of path positions whose test b does not pass, and s the set of positions whose feature is in S (a
// feature split on twice just sets two positions). Walking down from the root and following only x's branch at a
// node whose feature is in S takes care of x; b's part is then "fail mask ⊆ s", and
// T_n[s] = #{b : failMask_b(n) ⊆ s} does not depend on x. So with the tables counted once per ensemble and
// background, Σ_b f(x_S, b_rest) = nBg·base + Σ over the leaves L the walk reaches of leafValue_L·T_L[s].
// The raw sum is linear in the leaf values; a nonlinear post transform (a probability) is not, hence `treePathApplies`.
//
// The tables are also kept for split nodes: T_n[s] = 0 means no background row reaches n, and then none reaches
// anything below it, so the walk stops there.
import type { CoalitionEvaluator } from "./kernel-shap.js";
import type { LoadedArtifact } from "./load-artifact.js";
import { NodeMode, predictRaw, takesYes, type Tree, type TreeEnsemble } from "./tree-ensemble.js";

/**
 * Table entries (Σ over nodes of 2^depth) above which the evaluator is not built and KernelSHAP evaluates mixed rows:
 * 2^24 Int32 counts are 64 MiB. A full depth-6 tree needs 5,461 entries, so 100 of them take 546,100; depth 8 takes
 * 87,381 per tree.
 */
export const MAX_TABLE_ENTRIES = 2 ** 24;

/**
 * Whether the score a loaded artifact explains is its tree ensemble's raw sum, so the tree-path evaluator computes the
 * same v(S) as evaluating `loaded.score` on mixed rows. That is the case exactly when `loaded.ensemble` is set: the
 * loader then scores with `predictRaw` (a forest's probability or a regressor's value under post transform NONE, or a
 * LOGITS model's log-odds under NONE or LOGISTIC). A score read from onnxruntime is, for a tree model, a probability
 * behind a nonlinear transform, or its logit, neither of which is linear in the leaves.
 */
export function treePathApplies(loaded: Pick<LoadedArtifact, "ensemble">): boolean {
  return loaded.ensemble !== undefined;
}

/** The evaluator for a loaded artifact's score, or undefined when KernelSHAP has to evaluate mixed rows instead. */
export function coalitionEvaluatorFor(loaded: Pick<LoadedArtifact, "ensemble">, background: Float64Array, nBg: number): CoalitionEvaluator | undefined {
  return loaded.ensemble === undefined ? undefined : treeCoalitionEvaluator(loaded.ensemble, background, nBg);
}

/**
 * The coalition evaluator of `ensemble`'s raw sum against `background` (nBg rows of at least ensemble.nFeatures
 * values; extra columns are features the trees never read), or undefined when its tables would exceed
 * MAX_TABLE_ENTRIES.
 */
export function treeCoalitionEvaluator(ensemble: TreeEnsemble, background: Float64Array, nBg: number): CoalitionEvaluator | undefined {
  if (!Number.isInteger(nBg) || nBg < 1) throw new RangeError(`nBg must be a positive integer, got ${nBg}`);
  if (background.length % nBg !== 0 || background.length / nBg < ensemble.nFeatures) {
    throw new RangeError(`background holds ${background.length} values, not ${nBg} rows of at least ${ensemble.nFeatures}`);
  }
  const layout = flatten(ensemble);
  if (layout === undefined) return undefined;
  return new TreePathGame(ensemble, layout, background, nBg);
}

/** Every tree's nodes in one set of arrays, with global child indices and each node's table offset. */
interface Layout {
  nNodes: number;
  /** Global index of each tree's root, its first node. */
  starts: Int32Array;
  feature: Int32Array;
  yes: Int32Array;
  no: Int32Array;
  leaf: Uint8Array;
  leafValue: Float64Array;
  /** 1 << depth: the bit a node's own position takes in its children's s. */
  bit: Int32Array;
  offset: Int32Array;
  tableSize: number;
  maxDepth: number;
}

function flatten(ensemble: TreeEnsemble): Layout | undefined {
  const nNodes = ensemble.trees.reduce((n, t) => n + t.mode.length, 0);
  const depth = new Int32Array(nNodes);
  const offset = new Int32Array(nNodes);
  let tableSize = 0;
  let maxDepth = 0;
  let start = 0;
  for (const tree of ensemble.trees) {
    // Trees are acyclic and unshared (tree-ensemble.ts checks), so each node is reached once.
    const stack = [0];
    while (stack.length > 0) {
      const local = stack.pop()!;
      const d = depth[start + local]!;
      tableSize += 2 ** d;
      if (tableSize > MAX_TABLE_ENTRIES) return undefined;
      maxDepth = Math.max(maxDepth, d);
      if (tree.mode[local] === NodeMode.LEAF) continue;
      depth[start + tree.yes[local]!] = d + 1;
      depth[start + tree.no[local]!] = d + 1;
      stack.push(tree.yes[local]!, tree.no[local]!);
    }
    start += tree.mode.length;
  }
  const layout: Layout = {
    nNodes,
    starts: new Int32Array(ensemble.trees.length),
    feature: new Int32Array(nNodes),
    yes: new Int32Array(nNodes),
    no: new Int32Array(nNodes),
    leaf: new Uint8Array(nNodes),
    leafValue: new Float64Array(nNodes),
    bit: new Int32Array(nNodes),
    offset,
    tableSize,
    maxDepth,
  };
  let next = 0;
  start = 0;
  ensemble.trees.forEach((tree, t) => {
    layout.starts[t] = start;
    for (let local = 0; local < tree.mode.length; local++) {
      const g = start + local;
      // A node no path reaches (possible only in a malformed layout) keeps depth 0 and gets a table of one entry.
      offset[g] = next;
      next += 2 ** depth[g]!;
      layout.bit[g] = 1 << depth[g]!;
      if (tree.mode[local] === NodeMode.LEAF) {
        layout.leaf[g] = 1;
        layout.leafValue[g] = tree.leafValue[local]!;
      } else {
        layout.feature[g] = tree.feature[local]!;
        layout.yes[g] = start + tree.yes[local]!;
        layout.no[g] = start + tree.no[local]!;
      }
    }
    start += tree.mode.length;
  });
  layout.tableSize = next;
  return next > MAX_TABLE_ENTRIES ? undefined : layout;
}

/** Coalitions walked together: bounds the membership matrix and the per-level lists whatever the budget. */
const BLOCK = 2048;

class TreePathGame implements CoalitionEvaluator {
  readonly nBg: number;
  private readonly counts: Int32Array;
  /** x's child at each split node, for the row being explained. */
  private readonly xChild: Int32Array;
  /** Membership of the block's coalitions, feature-major: inS[f·BLOCK + k] (1: f ∈ S_k). */
  private readonly inS: Uint8Array;
  /** Per depth, the coalitions at a node that contain its feature, and those that do not. */
  private readonly inList: Int32Array[];
  private readonly outList: Int32Array[];
  private readonly root: Int32Array;
  /** The block's slice of the caller's sums, written by the walk. */
  private out: Float64Array<ArrayBufferLike> = new Float64Array(0);
  /** A bottom split's two shares: [not a member, member]. */
  private readonly leafPair = new Float64Array(2);
  /** nBg·(base + the leaf values of single-leaf trees): what every coalition's sum starts from. */
  private readonly constant: number;

  constructor(
    private readonly ensemble: TreeEnsemble,
    private readonly layout: Layout,
    background: Float64Array,
    nBg: number,
  ) {
    this.nBg = nBg;
    this.counts = new Int32Array(layout.tableSize);
    this.xChild = new Int32Array(layout.nNodes);
    this.inS = new Uint8Array(ensemble.nFeatures * BLOCK);
    this.inList = Array.from({ length: layout.maxDepth + 1 }, () => new Int32Array(BLOCK));
    this.outList = Array.from({ length: layout.maxDepth + 1 }, () => new Int32Array(BLOCK));
    this.root = Int32Array.from({ length: BLOCK }, (_, k) => k);
    let constant = ensemble.base;
    ensemble.trees.forEach((tree, t) => {
      const root = layout.starts[t]!;
      if (layout.leaf[root] === 1) constant += layout.leafValue[root]!;
      else this.countTree(tree, root, background);
    });
    this.constant = nBg * constant;
  }

  score(rows: Float64Array, nRows: number): Float64Array {
    const width = nRows === 0 ? 0 : rows.length / nRows;
    if (nRows > 0 && !(width >= this.ensemble.nFeatures)) throw new RangeError(`rows of ${width} values are narrower than the ensemble's ${this.ensemble.nFeatures} features`);
    const out = new Float64Array(nRows);
    for (let r = 0; r < nRows; r++) out[r] = predictRaw(this.ensemble, rows.subarray(r * width, (r + 1) * width));
    return out;
  }

  coalitionSums(x: Float64Array, varying: Int32Array, count: number, masks: Uint8Array | undefined, out: Float64Array): void {
    if (x.length < this.ensemble.nFeatures) throw new RangeError(`x holds ${x.length} values, the ensemble reads ${this.ensemble.nFeatures}`);
    this.prepareRow(x);
    out.fill(this.constant, 0, count);
    const { starts, leaf } = this.layout;
    for (let k0 = 0; k0 < count; k0 += BLOCK) {
      const n = Math.min(BLOCK, count - k0);
      this.members(varying, k0, n, masks);
      this.out = out.subarray(k0, k0 + n);
      for (let t = 0; t < starts.length; t++) {
        const root = starts[t]!;
        if (leaf[root] === 0) this.split(root, 0, 0, this.root, n);
      }
    }
  }

  /** Fills inS for coalitions k0..k0+n; features outside `varying` are members (x's value is every b's). */
  private members(varying: Int32Array, k0: number, n: number, masks: Uint8Array | undefined): void {
    const inS = this.inS;
    inS.fill(1);
    const m = varying.length;
    for (let i = 0; i < m; i++) {
      const f = varying[i]!;
      // Features past the ensemble's are never split on.
      if (f >= this.ensemble.nFeatures) continue;
      const col = f * BLOCK;
      if (masks === undefined) for (let k = 0; k < n; k++) inS[col + k] = ((k0 + k + 1) >>> i) & 1;
      else for (let k = 0, o = k0 * m + i; k < n; k++, o += m) inS[col + k] = masks[o]!;
    }
  }

  /**
   * The coalitions list[0..len) reach split node `node` (at `depth`) with path pattern s. Those containing its feature
   * follow x alone, with the node's bit set; the others follow both branches. The partition is branch-free: which way
   * a coalition goes is unpredictable, and a mispredicted branch per coalition and node would cost more than the walk.
   */
  private split(node: number, s: number, depth: number, list: Int32Array, len: number): void {
    const { feature, yes, no, bit, leaf } = this.layout;
    const inS = this.inS;
    const col = feature[node]! * BLOCK;
    const a = yes[node]!;
    const b = no[node]!;
    if (leaf[a] === 1 && leaf[b] === 1) {
      // Both children are leaves (the bottom of most trees): add each coalition's share in one pass, no lists.
      const w = this.leafPair;
      w[0] = this.leafShare(a, s) + this.leafShare(b, s);
      w[1] = this.leafShare(this.xChild[node]!, s | bit[node]!);
      const out = this.out;
      for (let i = 0; i < len; i++) {
        const k = list[i]!;
        out[k]! += w[inS[col + k]!]!;
      }
      return;
    }
    const ins = this.inList[depth]!;
    const outs = this.outList[depth]!;
    let nIn = 0;
    let nOut = 0;
    for (let i = 0; i < len; i++) {
      const k = list[i]!;
      const member = inS[col + k]!;
      ins[nIn] = k;
      outs[nOut] = k;
      nIn += member;
      nOut += 1 - member;
    }
    if (nIn > 0) this.reach(this.xChild[node]!, s | bit[node]!, depth + 1, ins, nIn);
    if (nOut > 0) {
      this.reach(a, s, depth + 1, outs, nOut);
      this.reach(b, s, depth + 1, outs, nOut);
    }
  }

  /** Σ_b of leaf `node`'s value over the background rows that reach it with pattern s. */
  private leafShare(node: number, s: number): number {
    const count = this.counts[this.layout.offset[node]! + s]!;
    return count === 0 ? 0 : this.layout.leafValue[node]! * count;
  }

  private reach(node: number, s: number, depth: number, list: Int32Array, len: number): void {
    const { leaf, leafValue, offset } = this.layout;
    const count = this.counts[offset[node]! + s]!;
    // No background row reaches the node with this pattern, so none reaches anything below it either.
    if (count === 0) return;
    if (leaf[node] === 0) {
      this.split(node, s, depth, list, len);
      return;
    }
    const w = leafValue[node]! * count;
    const out = this.out;
    for (let i = 0; i < len; i++) out[list[i]!]! += w;
  }

  private prepareRow(x: Float64Array): void {
    const starts = this.layout.starts;
    const trees = this.ensemble.trees;
    const round = this.ensemble.float32Input;
    for (let t = 0; t < trees.length; t++) {
      const tree = trees[t]!;
      const start = starts[t]!;
      for (let local = 0; local < tree.mode.length; local++) {
        if (tree.mode[local] === NodeMode.LEAF) continue;
        const v = x[tree.feature[local]!]!;
        this.xChild[start + local] = start + (takesYes(tree, local, round ? Math.fround(v) : v) ? tree.yes[local]! : tree.no[local]!);
      }
    }
  }

  /**
   * Counts each node's background fail masks and turns the histogram into T[s] = #{b : mask_b ⊆ s} with a
   * subset-sum (zeta) transform over the node's depth bits.
   */
  private countTree(tree: Tree, start: number, background: Float64Array): void {
    const nBg = this.nBg;
    const width = background.length / nBg;
    const round = this.ensemble.float32Input;
    const { offset, bit } = this.layout;
    const counts = this.counts;
    // Per level of the current path: every background row's fail mask, and which way it goes at that level's node.
    const levels: Int32Array[] = [new Int32Array(nBg)];
    const goesYes: Uint8Array[] = [];
    const visit = (local: number, d: number): void => {
      const g = start + local;
      const masks = levels[d]!;
      const size = 2 ** d;
      const o = offset[g]!;
      for (let b = 0; b < nBg; b++) counts[o + masks[b]!]!++;
      for (let step = 1; step < size; step *= 2) {
        for (let block = o; block < o + size; block += 2 * step) {
          for (let s = block + step; s < block + 2 * step; s++) counts[s]! += counts[s - step]!;
        }
      }
      if (tree.mode[local] === NodeMode.LEAF) return;
      if (levels.length === d + 1) levels.push(new Int32Array(nBg));
      if (goesYes.length === d) goesYes.push(new Uint8Array(nBg));
      const below = levels[d + 1]!;
      const yes = goesYes[d]!;
      const f = tree.feature[local]!;
      for (let b = 0; b < nBg; b++) {
        const v = background[b * width + f]!;
        yes[b] = takesYes(tree, local, round ? Math.fround(v) : v) ? 1 : 0;
      }
      const failBit = bit[g]!;
      for (let b = 0; b < nBg; b++) below[b] = masks[b]! | (yes[b] === 1 ? 0 : failBit);
      visit(tree.yes[local]!, d + 1);
      for (let b = 0; b < nBg; b++) below[b] = masks[b]! | (yes[b] === 1 ? failBit : 0);
      visit(tree.no[local]!, d + 1);
    };
    visit(0, 0);
  }
}

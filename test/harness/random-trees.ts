// Random small tree ensembles and rows for the tests that check TreeSHAP and the tree-path coalition sums against
// their brute-force definitions (test/unit/tree-shap.test.ts, tree-coalitions.test.ts). They are built to hit the
// awkward cases: a feature split on twice along a path, every comparison mode, NaN and its missing-value branch,
// single-leaf trees, rows exactly on a threshold, and rows on a threshold's float32 rounding.
import { NodeMode, type Tree, type TreeEnsemble } from "../../server/src/influence/tree-ensemble.js";
import type { Prng } from "../fuzz/lib/prng.js";

// Thresholds and data share these values, so rows sit on thresholds; 0.1 and Math.fround(0.1) are different doubles
// but the same float32, so float32 ensembles and double ones send such rows different ways.
const VALUES = [-1, -0.5, -0.25, 0, 0.1, Math.fround(0.1), 0.5, 1, 2];
const BRANCH_MODES = [NodeMode.BRANCH_LEQ, NodeMode.BRANCH_LT, NodeMode.BRANCH_GTE, NodeMode.BRANCH_GT, NodeMode.BRANCH_EQ, NodeMode.BRANCH_NEQ];

/** A tree no deeper than `maxDepth` (0: a single leaf); the deeper a node, the likelier it is a leaf. */
export function randomTree(rand: Prng, nFeatures: number, maxDepth: number): Tree {
  const feature: number[] = [];
  const threshold: number[] = [];
  const mode: number[] = [];
  const yes: number[] = [];
  const no: number[] = [];
  const missingYes: number[] = [];
  const leafValue: number[] = [];
  const add = (depth: number): number => {
    const id = mode.length;
    const isLeaf = depth >= maxDepth || rand.chance(0.15 * depth);
    feature.push(isLeaf ? 0 : rand.int(nFeatures));
    threshold.push(isLeaf ? 0 : rand.pick(VALUES));
    // Half LEQ, as most converters write, and the rest any mode.
    mode.push(isLeaf ? NodeMode.LEAF : rand.chance(0.5) ? NodeMode.BRANCH_LEQ : rand.pick(BRANCH_MODES));
    missingYes.push(!isLeaf && rand.chance(0.4) ? 1 : 0);
    // Multiples of 1/256: sums of a few are exact in any order, so two ways of adding up the same leaves agree.
    leafValue.push(isLeaf ? Math.round(rand.next() * 2000 - 1000) / 256 : 0);
    yes.push(0);
    no.push(0);
    if (!isLeaf) {
      yes[id] = add(depth + 1);
      no[id] = add(depth + 1);
    }
    return id;
  };
  add(0);
  return {
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    mode: Uint8Array.from(mode),
    yes: Int32Array.from(yes),
    no: Int32Array.from(no),
    missingYes: Uint8Array.from(missingYes),
    leafValue: Float64Array.from(leafValue),
  };
}

/** A raw-sum regression ensemble, float32 input half the time. */
export function randomEnsemble(rand: Prng, nFeatures: number, nTrees: number, maxDepth: number): TreeEnsemble {
  return {
    nFeatures,
    float32Input: rand.chance(0.5),
    // Depth 0 now and then: a tree that is a single leaf adds a constant.
    trees: Array.from({ length: nTrees }, () => randomTree(rand, nFeatures, rand.chance(0.1) ? 0 : maxDepth)),
    base: rand.next() - 0.5,
    postTransform: "NONE",
    explains: { output: "y", column: 0, encoding: "regression" },
  };
}

/** `n` rows of `width`: NaN, the thresholds' values, and values between them. */
export function randomRows(rand: Prng, n: number, width: number): Float64Array {
  return Float64Array.from({ length: n * width }, () => {
    const u = rand.next();
    return u < 0.1 ? Number.NaN : u < 0.7 ? rand.pick(VALUES) : rand.next() * 4 - 2;
  });
}

/** Whether some path splits on one feature twice: the tests count such ensembles to show the case occurred. */
export function repeatsAFeature(tree: Tree): boolean {
  const walk = (node: number, above: ReadonlySet<number>): boolean => {
    if (tree.mode[node] === NodeMode.LEAF) return false;
    const f = tree.feature[node]!;
    if (above.has(f)) return true;
    const below = new Set(above).add(f);
    return walk(tree.yes[node]!, below) || walk(tree.no[node]!, below);
  };
  return walk(0, new Set());
}

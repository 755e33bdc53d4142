// Interventional TreeSHAP against the definition: exact Shapley values over all 2^M coalitions of the game
// v_z(S) = f(x_S, z_rest), averaged over background rows, on random small trees built to hit the awkward cases
// (a feature split on twice along a path, values exactly on thresholds, NaN, every comparison mode).
import { describe, expect, it } from "vitest";
import { emptyTree, NodeMode, predictRaw, type Tree, type TreeEnsemble } from "../../server/src/influence/tree-ensemble.js";
import { treeShap, type TreeShapOptions } from "../../server/src/influence/tree-shap.js";
import { Prng } from "../fuzz/lib/prng.js";
import { randomEnsemble, randomRows, repeatsAFeature } from "../harness/random-trees.js";

/** Exact interventional Shapley values by enumerating every coalition. */
function bruteForce(ensemble: TreeEnsemble, background: Float64Array, nBg: number, rows: Float64Array, nRows: number): Float64Array {
  const m = ensemble.nFeatures;
  const out = new Float64Array(nRows * m);
  const factorial = [1];
  for (let i = 1; i <= m; i++) factorial.push(factorial[i - 1]! * i);
  const weight = (s: number): number => (factorial[s]! * factorial[m - s - 1]!) / factorial[m]!;
  const hybrid = new Float64Array(m);
  const v = new Float64Array(1 << m);
  for (let r = 0; r < nRows; r++) {
    for (let z = 0; z < nBg; z++) {
      for (let set = 0; set < 1 << m; set++) {
        for (let j = 0; j < m; j++) hybrid[j] = (set >> j) & 1 ? rows[r * m + j]! : background[z * m + j]!;
        v[set] = predictRaw(ensemble, hybrid);
      }
      for (let i = 0; i < m; i++) {
        let phi = 0;
        for (let set = 0; set < 1 << m; set++) {
          if ((set >> i) & 1) continue;
          phi += weight(popcount(set)) * (v[set | (1 << i)]! - v[set]!);
        }
        out[r * m + i]! += phi / nBg;
      }
    }
  }
  return out;
}

function popcount(v: number): number {
  let c = 0;
  for (let x = v; x !== 0; x &= x - 1) c++;
  return c;
}

function maxDiff(a: Float64Array, b: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

const METHODS: NonNullable<TreeShapOptions["method"]>[] = ["auto", "table", "recursive"];

describe("treeShap on random small trees", () => {
  let repeatedPaths = 0;
  let roundedEnsembles = 0;
  for (let seed = 1; seed <= 40; seed++) {
    it(`seed ${seed}: every method equals brute-force Shapley values and is additive`, () => {
      const rand = new Prng(1000 + seed);
      const m = 2 + rand.int(5);
      const ensemble = randomEnsemble(rand, m, 1 + rand.int(3), 1 + rand.int(4));
      const nBg = 1 + rand.int(5);
      const nRows = 3;
      const background = randomRows(rand, nBg, m);
      const rows = randomRows(rand, nRows, m);
      if (ensemble.trees.some(repeatsAFeature)) repeatedPaths++;
      if (ensemble.float32Input) roundedEnsembles++;

      const expected = bruteForce(ensemble, background, nBg, rows, nRows);
      let meanRaw = 0;
      for (let z = 0; z < nBg; z++) meanRaw += predictRaw(ensemble, background.subarray(z * m, (z + 1) * m)) / nBg;
      for (const method of METHODS) {
        const { values, base } = treeShap(ensemble, background, nBg, rows, nRows, { method });
        expect(maxDiff(values, expected), method).toBeLessThan(1e-12);
        expect(Math.abs(base - meanRaw), method).toBeLessThan(1e-12);
        for (let r = 0; r < nRows; r++) {
          const raw = predictRaw(ensemble, rows.subarray(r * m, (r + 1) * m));
          const total = values.subarray(r * m, (r + 1) * m).reduce((s, v) => s + v, base);
          expect(Math.abs(total - raw), `${method} additivity, row ${r}`).toBeLessThan(1e-12 * Math.max(1, Math.abs(raw)));
        }
      }
    });
  }

  it("covered repeated features on a path and both input precisions", () => {
    expect(repeatedPaths).toBeGreaterThan(10);
    expect(roundedEnsembles).toBeGreaterThan(5);
    expect(roundedEnsembles).toBeLessThan(35);
  });
});

describe("treeShap on known cases", () => {
  const stump: Tree = {
    feature: Int32Array.from([1, 0, 0]),
    threshold: Float64Array.from([0.5, 0, 0]),
    mode: Uint8Array.from([NodeMode.BRANCH_LEQ, NodeMode.LEAF, NodeMode.LEAF]),
    yes: Int32Array.from([1, 0, 0]),
    no: Int32Array.from([2, 0, 0]),
    missingYes: Uint8Array.from([0, 0, 0]),
    leafValue: Float64Array.from([0, 3, -1]),
  };
  const ensemble: TreeEnsemble = { nFeatures: 2, float32Input: true, trees: [stump], base: 10, postTransform: "NONE", explains: { output: "y", column: 0, encoding: "regression" } };

  it("gives a single split's feature f(x) − E f(z) and nothing to the other feature", () => {
    // Background: one row left of the split, three right: E f = 10 + (3 − 3)/4 = 10.
    const background = Float64Array.from([0, 0.2, 0, 0.9, 0, 0.7, 0, 1.5]);
    const { values, base } = treeShap(ensemble, background, 4, Float64Array.from([5, 0.5]), 1);
    expect(base).toBe(10);
    expect([...values]).toEqual([0, 3]);
  });

  it("sends NaN down the no branch unless missing values track true", () => {
    const background = Float64Array.from([0, 0]);
    const row = Float64Array.from([0, Number.NaN]);
    expect([...treeShap(ensemble, background, 1, row, 1).values]).toEqual([0, -4]);
    const tracking = { ...ensemble, trees: [{ ...stump, missingYes: Uint8Array.from([1, 0, 0]) }] };
    expect([...treeShap(tracking, background, 1, row, 1).values]).toEqual([0, 0]);
  });

  it("explains a path longer than the table limit (recursive fallback) exactly", () => {
    // A caterpillar: 14 distinct features in a row, each split with one leaf child.
    const depth = 14;
    const n = 2 * depth + 1;
    const tree = emptyTree(n);
    for (let d = 0; d < depth; d++) {
      const node = 2 * d;
      tree.feature[node] = d;
      tree.mode[node] = NodeMode.BRANCH_LEQ;
      tree.yes[node] = node + 1;
      tree.no[node] = node + 2;
      tree.leafValue[node + 1] = d + 1;
    }
    tree.leafValue[n - 1] = -7;
    const deep: TreeEnsemble = { ...ensemble, nFeatures: depth, trees: [tree], base: 0 };
    const rand = new Prng(7);
    const values = (count: number): Float64Array => Float64Array.from({ length: count * depth }, () => (rand.chance(0.3) ? -1 : 1));
    const background = values(2);
    const rows = values(2);
    const expected = bruteForce(deep, background, 2, rows, 2);
    for (const method of METHODS) expect(maxDiff(treeShap(deep, background, 2, rows, 2, { method }).values, expected), method).toBeLessThan(1e-12);
  });

  it("rejects inputs shorter than their declared row counts", () => {
    expect(() => treeShap(ensemble, new Float64Array(3), 2, new Float64Array(2), 1)).toThrow(RangeError);
    expect(() => treeShap(ensemble, new Float64Array(2), 1, new Float64Array(3), 2)).toThrow(RangeError);
    expect(() => treeShap(ensemble, new Float64Array(0), 0, new Float64Array(2), 1)).toThrow(RangeError);
  });
});

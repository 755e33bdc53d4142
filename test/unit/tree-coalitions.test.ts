// The tree-path coalition evaluator against the definition it replaces: Σ_b f(x_S, b_rest) of the raw sum, from
// predictRaw on mixed rows. Random ensembles are built to hit repeated features on a path, NaN, values on a
// threshold and on its float32 rounding, and every comparison mode; the committed ONNX fixtures add real converter
// output. Then kernelShap driven by it must give what kernelShap gives with mixed rows, and exact mode must give
// interventional TreeSHAP.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FieldKind, FieldType, ScoreType } from "../../server/src/gen/sightline/v1/resources_pb.js";
import { kernelShap, type BatchEvaluator, type CoalitionEvaluator, type KernelShapOptions } from "../../server/src/influence/kernel-shap.js";
import { loadArtifact } from "../../server/src/influence/load-artifact.js";
import { parseOnnxModel } from "../../server/src/influence/onnx-model.js";
import { coalitionEvaluatorFor, MAX_TABLE_ENTRIES, treeCoalitionEvaluator, treePathApplies } from "../../server/src/influence/tree-coalitions.js";
import { emptyTree, NodeMode, predictRaw, treeEnsembleOf, type TreeEnsemble, type TreeOutputRequest } from "../../server/src/influence/tree-ensemble.js";
import { treeShap } from "../../server/src/influence/tree-shap.js";
import type { ModelDoc, StoredField } from "../../server/src/store/db.js";
import { Prng } from "../fuzz/lib/prng.js";
import { randomEnsemble, randomRows, randomTree, repeatsAFeature } from "../harness/random-trees.js";

/** Σ_b predictRaw(x on `member` features, b elsewhere): the definition. */
function mixedRowSum(ensemble: TreeEnsemble, background: Float64Array, nBg: number, x: Float64Array, member: (j: number) => boolean): number {
  const width = x.length;
  const mixed = new Float64Array(width);
  let sum = 0;
  for (let b = 0; b < nBg; b++) {
    for (let j = 0; j < width; j++) mixed[j] = member(j) ? x[j]! : background[b * width + j]!;
    sum += predictRaw(ensemble, mixed);
  }
  return sum;
}

function rawScores(ensemble: TreeEnsemble, width: number): BatchEvaluator {
  return async (rows, n) => Float64Array.from({ length: n }, (_, r) => predictRaw(ensemble, rows.subarray(r * width, (r + 1) * width)));
}

function build(ensemble: TreeEnsemble, background: Float64Array, nBg: number): CoalitionEvaluator {
  const game = treeCoalitionEvaluator(ensemble, background, nBg);
  if (game === undefined) throw new Error("no evaluator for a small ensemble");
  return game;
}

function worst(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

const TIGHT = 1e-12;

describe("tree-path coalition sums equal the mean over mixed rows", () => {
  const seen = { repeated: 0, float32: 0, double: 0, nanInX: 0 };
  for (let seed = 1; seed <= 40; seed++) {
    it(`random ensemble ${seed}: every coalition by bitmask, and random ones by membership rows`, () => {
      const rand = new Prng(seed * 7919);
      const nFeatures = 2 + rand.int(5);
      // One more column than the trees read half the time: a feature the model ignores.
      const width = nFeatures + (rand.chance(0.5) ? 1 : 0);
      const ensemble = randomEnsemble(rand, nFeatures, 1 + rand.int(4), 1 + rand.int(5));
      const nBg = 1 + rand.int(8);
      const background = randomRows(rand, nBg, width);
      const x = randomRows(rand, 1, width);
      if (ensemble.trees.some(repeatsAFeature)) seen.repeated++;
      if (ensemble.float32Input) seen.float32++;
      else seen.double++;
      if (x.some(Number.isNaN)) seen.nanInX++;
      const game = build(ensemble, background, nBg);
      const varying = Int32Array.from({ length: width }, (_, j) => j);

      // Every non-empty proper coalition, as kernelShap's exact mode passes them (bitmask k + 1).
      const count = 2 ** width - 2;
      const sums = new Float64Array(count);
      game.coalitionSums(x, varying, count, undefined, sums);
      for (let k = 0; k < count; k++) {
        const expected = mixedRowSum(ensemble, background, nBg, x, (j) => (((k + 1) >>> j) & 1) === 1);
        expect(Math.abs(sums[k]! - expected), `bitmask ${k + 1}`).toBeLessThan(TIGHT * Math.max(1, Math.abs(expected)));
      }

      // Random coalitions over a random subset of the features, as membership rows (sampled mode's form). Features
      // left out of `varying` are made equal to x in every background row, which is what kernelShap guarantees.
      const subset = Int32Array.from([...varying].filter(() => rand.chance(0.7)));
      const bg = Float64Array.from(background);
      for (let j = 0; j < width; j++) if (!subset.includes(j)) for (let b = 0; b < nBg; b++) bg[b * width + j] = x[j]!;
      const subsetGame = build(ensemble, bg, nBg);
      const nDraws = 25;
      const masks = Uint8Array.from({ length: nDraws * subset.length }, () => (rand.chance(0.5) ? 1 : 0));
      const drawn = new Float64Array(nDraws);
      subsetGame.coalitionSums(x, subset, nDraws, masks, drawn);
      for (let k = 0; k < nDraws; k++) {
        const member = (j: number) => {
          const i = subset.indexOf(j);
          return i < 0 || masks[k * subset.length + i] === 1;
        };
        const expected = mixedRowSum(ensemble, bg, nBg, x, member);
        expect(Math.abs(drawn[k]! - expected), `draw ${k}`).toBeLessThan(TIGHT * Math.max(1, Math.abs(expected)));
      }
    });
  }

  it("covered repeated features on a path, both input precisions and NaN in x", () => {
    expect(seen.repeated).toBeGreaterThan(8);
    expect(seen.float32).toBeGreaterThan(8);
    expect(seen.double).toBeGreaterThan(8);
    expect(seen.nanInX).toBeGreaterThan(8);
  });

  // One stump, hand-checked: the cases above hold these on average, here each alone.
  const stump = (mode: number, threshold: number, missingYes: 0 | 1, float32Input: boolean): TreeEnsemble => ({
    nFeatures: 2,
    float32Input,
    trees: [
      {
        feature: Int32Array.from([1, 0, 0]),
        threshold: Float64Array.from([threshold, 0, 0]),
        mode: Uint8Array.from([mode, NodeMode.LEAF, NodeMode.LEAF]),
        yes: Int32Array.from([1, 0, 0]),
        no: Int32Array.from([2, 0, 0]),
        missingYes: Uint8Array.from([missingYes, 0, 0]),
        leafValue: Float64Array.from([0, 10, -1]),
      },
    ],
    base: 0.5,
    postTransform: "NONE",
    explains: { output: "y", column: 0, encoding: "regression" },
  });
  /** Σ_b f(x with feature 1 from x, feature 0 from b): coalition {1} over varying [0, 1], bitmask 2. */
  const withFeature1 = (ensemble: TreeEnsemble, background: number[], x: number[]): number => {
    const out = new Float64Array(2);
    build(ensemble, Float64Array.from(background), background.length / 2).coalitionSums(Float64Array.from(x), Int32Array.from([0, 1]), 2, undefined, out);
    return out[1]!;
  };

  it("rounds x to float32 before comparing when the graph reads floats", () => {
    // 0.1 <= 0.1 in double; as a float32, 0.1 becomes 0.10000000149 > 0.1.
    const background = [0, 5, 0, 5];
    expect(withFeature1(stump(NodeMode.BRANCH_LEQ, 0.1, 0, false), background, [0, 0.1])).toBe(2 * (0.5 + 10));
    expect(withFeature1(stump(NodeMode.BRANCH_LEQ, 0.1, 0, true), background, [0, 0.1])).toBe(2 * (0.5 - 1));
  });

  it("sends NaN where missing_value_tracks_true says, and NaN != t to yes", () => {
    const background = [0, 5];
    expect(withFeature1(stump(NodeMode.BRANCH_LEQ, 1, 0, true), background, [0, Number.NaN])).toBe(0.5 - 1);
    expect(withFeature1(stump(NodeMode.BRANCH_LEQ, 1, 1, true), background, [0, Number.NaN])).toBe(0.5 + 10);
    expect(withFeature1(stump(NodeMode.BRANCH_NEQ, 1, 0, true), background, [0, Number.NaN])).toBe(0.5 + 10);
  });

  it("declines an ensemble whose tables would pass MAX_TABLE_ENTRIES", () => {
    // A chain 25 splits deep: its deepest nodes alone need 2^25 entries each.
    const depth = 25;
    const n = 2 * depth + 1;
    const tree = emptyTree(n);
    for (let d = 0; d < depth; d++) {
      tree.mode[2 * d] = NodeMode.BRANCH_LEQ;
      tree.feature[2 * d] = d % 3;
      tree.yes[2 * d] = 2 * d + 1;
      tree.no[2 * d] = 2 * d + 2;
    }
    expect(2 ** depth).toBeGreaterThan(MAX_TABLE_ENTRIES);
    const deep: TreeEnsemble = { ...stump(NodeMode.BRANCH_LEQ, 0, 0, true), nFeatures: 3, trees: [tree] };
    expect(treeCoalitionEvaluator(deep, new Float64Array(6), 2)).toBeUndefined();
    // An ordinary tree fits.
    const shallow: TreeEnsemble = { ...deep, trees: [randomTree(new Prng(3), 3, 6)] };
    expect(treeCoalitionEvaluator(shallow, new Float64Array(6), 2)).toBeDefined();
  });

  it("rejects rows narrower than the features the trees read", () => {
    const ensemble = stump(NodeMode.BRANCH_LEQ, 0, 0, true);
    expect(() => treeCoalitionEvaluator(ensemble, new Float64Array(3), 3)).toThrow(RangeError);
    const game = build(ensemble, new Float64Array(4), 2);
    expect(() => game.coalitionSums(new Float64Array(1), Int32Array.from([0]), 0, undefined, new Float64Array(0))).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------------------------

const opts = (o: Partial<KernelShapOptions>): KernelShapOptions => ({ samples: 2048, exactUpTo: 4096, seed: 11, maxBatchRows: 512, ...o });

async function bothWays(ensemble: TreeEnsemble, background: Float64Array, nBg: number, rows: Float64Array, nRows: number, width: number, o: KernelShapOptions) {
  const viaTrees = await kernelShap(build(ensemble, background, nBg), background, nBg, width, rows, nRows, o);
  const viaRows = await kernelShap(rawScores(ensemble, width), background, nBg, width, rows, nRows, o);
  return { viaTrees, viaRows };
}

function expectSame(a: Awaited<ReturnType<typeof kernelShap>>, b: Awaited<ReturnType<typeof kernelShap>>, label: string): void {
  const scale = Math.max(1, ...Array.from(b.fx, Math.abs));
  expect(worst(a.values, b.values), `${label}: values`).toBeLessThan(TIGHT * scale);
  expect(worst(a.fx, b.fx), `${label}: f(x)`).toBe(0);
  expect(Math.abs(a.base - b.base), `${label}: base`).toBeLessThan(TIGHT * scale);
  expect(a.exact, `${label}: exact`).toBe(b.exact);
}

describe("kernelShap with the tree-path evaluator", () => {
  for (let seed = 1; seed <= 15; seed++) {
    it(`random ensemble ${seed}: the same values as mixed rows (exact and sampled), and TreeSHAP's when exact`, async () => {
      const rand = new Prng(seed * 104729);
      const width = 3 + rand.int(6);
      const ensemble = randomEnsemble(rand, width, 2 + rand.int(4), 2 + rand.int(4));
      const nBg = 2 + rand.int(7);
      const nRows = 4;
      const background = randomRows(rand, nBg, width);
      const rows = randomRows(rand, nRows, width);
      // Row 1 agrees with every background row on feature 0: it leaves the game (a null player).
      for (let b = 0; b < nBg; b++) background[b * width] = rows[width]!;

      const exact = await bothWays(ensemble, background, nBg, rows, nRows, width, opts({}));
      expect(exact.viaTrees.exact).toBe(true);
      expectSame(exact.viaTrees, exact.viaRows, "exact");
      const tree = treeShap(ensemble, background, nBg, rows, nRows);
      expect(worst(exact.viaTrees.values, tree.values), "exact vs treeShap").toBeLessThan(1e-9);
      expect(Math.abs(exact.viaTrees.base - tree.base)).toBeLessThan(1e-9);

      const sampled = await bothWays(ensemble, background, nBg, rows, nRows, width, opts({ exactUpTo: 0, samples: 2 + rand.int(40) }));
      expectSame(sampled.viaTrees, sampled.viaRows, "sampled");
    });
  }

  it("goes past one block of coalitions the same way as mixed rows", async () => {
    // 12 features: 4,094 coalitions exactly, or 3,000 sampled, are more per row than the evaluator walks at once.
    const rand = new Prng(99);
    const width = 12;
    const ensemble = randomEnsemble(rand, width, 6, 5);
    const background = randomRows(rand, 5, width);
    const rows = randomRows(rand, 2, width);
    const sampled = await bothWays(ensemble, background, 5, rows, 2, width, opts({ exactUpTo: 0, samples: 3000, maxBatchRows: 65_536 }));
    expect(sampled.viaTrees.exact).toBe(false);
    expectSame(sampled.viaTrees, sampled.viaRows, "sampled, 3,000");
    const exact = await bothWays(ensemble, background, 5, rows, 2, width, opts({ exactUpTo: 4094, maxBatchRows: 65_536 }));
    expect(exact.viaTrees.exact).toBe(true);
    expectSame(exact.viaTrees, exact.viaRows, "exact, 4,094");
    expect(worst(exact.viaTrees.values, treeShap(ensemble, background, 5, rows, 2).values)).toBeLessThan(1e-9);
  });

  it("refuses an evaluator built for another background size", async () => {
    const rand = new Prng(5);
    const ensemble = randomEnsemble(rand, 3, 2, 3);
    const background = randomRows(rand, 4, 3);
    const game = build(ensemble, background.subarray(0, 9), 3);
    await expect(kernelShap(game, background, 4, 3, background.subarray(0, 3), 1, opts({}))).rejects.toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------------------------

const FIXTURES = new URL("./fixtures/onnx/", import.meta.url);

interface Fixture {
  request: TreeOutputRequest;
  rows: (number | null)[][];
}

function fixture(name: string): { bytes: Uint8Array; ensemble: TreeEnsemble; rows: Float64Array; nRows: number; width: number } {
  const bytes = new Uint8Array(readFileSync(new URL(`${name}.onnx`, FIXTURES)));
  const fx = JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), "utf8")) as Fixture;
  const ensemble = treeEnsembleOf(parseOnnxModel(bytes), fx.request);
  if (ensemble === undefined) throw new Error(`${name}: no ensemble`);
  const width = fx.rows[0]!.length;
  return { bytes, ensemble, rows: Float64Array.from(fx.rows.flat(), (v) => (v === null ? Number.NaN : v)), nRows: fx.rows.length, width };
}

describe("on the committed ONNX fixtures (rows on thresholds, NaN)", () => {
  for (const name of ["gb_classifier", "rf_classifier", "xgb_classifier", "two_column_classifier", "gb_regressor", "double_regressor"]) {
    it(`${name}: exact and sampled equal mixed rows; exact equals treeShap`, async () => {
      const { ensemble, rows, nRows, width } = fixture(name);
      // The fixture's last rows (ties and NaN) are explained; the first ten are the background.
      const nBg = 10;
      const background = rows.subarray(0, nBg * width);
      const explained = rows.subarray(nBg * width);
      const n = nRows - nBg;
      const exact = await bothWays(ensemble, background, nBg, explained, n, width, opts({}));
      expectSame(exact.viaTrees, exact.viaRows, `${name} exact`);
      expect(worst(exact.viaTrees.values, treeShap(ensemble, background, nBg, explained, n).values)).toBeLessThan(1e-9);
      const sampled = await bothWays(ensemble, background, nBg, explained, n, width, opts({ exactUpTo: 0, samples: 12 }));
      expectSame(sampled.viaTrees, sampled.viaRows, `${name} sampled`);
    });
  }
});

describe("which loaded artifacts the tree-path evaluator applies to", () => {
  const fields: StoredField[] = Array.from({ length: 5 }, (_, i) => ({
    id: i + 1,
    name: `f${i}`,
    kind: FieldKind.FEATURE,
    type: FieldType.DOUBLE,
    nullable: true,
    categories: [],
    rangeMin: null,
    rangeMax: null,
  }));
  const model = (scoreType: ScoreType): ModelDoc => ({
    _id: "m",
    project: "p",
    collection: "c",
    name: "m",
    scoreType,
    predictionFields: [{ name: "score", type: FieldType.DOUBLE }],
    labelField: "",
    decisionThreshold: null,
    classLabels: [],
    mode: 0,
    createTime: new Date(0),
  });

  const cases: [string, ScoreType, boolean][] = [
    // The log-odds are the raw sum behind the logistic: linear in the leaves.
    ["gb_classifier", ScoreType.LOGITS, true],
    // The declared score is the probability, a logistic of the raw sum: not linear in the leaves.
    ["gb_classifier", ScoreType.PROBITS, false],
    // A forest's probability is its raw sum (post transform NONE).
    ["rf_classifier", ScoreType.PROBITS, true],
    ["gb_regressor", ScoreType.REGRESSION, true],
  ];
  for (const [name, scoreType, applies] of cases) {
    it(`${name} declared ${ScoreType[scoreType]}: ${applies ? "applies, with loaded.score's values" : "does not apply"}`, async () => {
      const { bytes, rows, nRows, width } = fixture(name);
      const loaded = await loadArtifact(bytes, fields, model(scoreType), { intraOpThreads: 1 });
      try {
        expect(treePathApplies(loaded)).toBe(applies);
        const nBg = 8;
        const background = rows.subarray(0, nBg * width);
        const game = coalitionEvaluatorFor(loaded, background, nBg);
        expect(game !== undefined).toBe(applies);
        if (game === undefined) return;
        const explained = rows.subarray(nBg * width);
        const n = nRows - nBg;
        for (const o of [opts({}), opts({ exactUpTo: 0, samples: 12 })]) {
          const viaTrees = await kernelShap(game, background, nBg, width, explained, n, o);
          const viaScore = await kernelShap((x, k) => loaded.score(x, k), background, nBg, width, explained, n, o);
          expectSame(viaTrees, viaScore, name);
        }
      } finally {
        await loaded.runner.release();
      }
    });
  }
});

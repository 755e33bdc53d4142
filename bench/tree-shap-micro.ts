// Micro-benchmark of treeShap alone: a random full-depth ensemble shaped like a typical gradient-boosting export,
// to see the order of magnitude of explained rows per second (no onnxruntime, no I/O).
//
//   npx tsx bench/tree-shap-micro.ts [--trees 100] [--depth 6] [--features 20] [--background 100] [--rows 1000]
//                                    [--method auto|table|recursive] [--repeat 3]
import { parseArgs } from "node:util";
import { emptyTree, NodeMode, predictRaw, type Tree, type TreeEnsemble } from "../server/src/influence/tree-ensemble.js";
import { treeShap, type TreeShapOptions } from "../server/src/influence/tree-shap.js";

const { values: args } = parseArgs({
  options: {
    trees: { type: "string", default: "100" },
    depth: { type: "string", default: "6" },
    features: { type: "string", default: "20" },
    background: { type: "string", default: "100" },
    rows: { type: "string", default: "1000" },
    method: { type: "string", default: "auto" },
    repeat: { type: "string", default: "3" },
  },
});
const nTrees = Number(args.trees);
const depth = Number(args.depth);
const M = Number(args.features);
const nBg = Number(args.background);
const nRows = Number(args.rows);
const method = args.method as NonNullable<TreeShapOptions["method"]>;
const repeat = Number(args.repeat);

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

const next = xorshift(42);

// Complete binary trees in heap order; thresholds near the data's centre so both branches get traffic.
function fullTree(): Tree {
  const n = 2 ** (depth + 1) - 1;
  const tree = emptyTree(n);
  for (let node = 0; node < n; node++) {
    if (2 * node + 1 >= n) {
      tree.leafValue[node] = next() - 0.5;
      continue;
    }
    tree.feature[node] = Math.floor(next() * M);
    tree.threshold[node] = Math.fround((next() - 0.5) * 1.5);
    tree.mode[node] = NodeMode.BRANCH_LEQ;
    tree.yes[node] = 2 * node + 1;
    tree.no[node] = 2 * node + 2;
  }
  return tree;
}

const ensemble: TreeEnsemble = {
  nFeatures: M,
  float32Input: true,
  trees: Array.from({ length: nTrees }, fullTree),
  base: 0.1,
  postTransform: "NONE",
  explains: { output: "y", column: 0, encoding: "regression" },
};
const background = Float64Array.from({ length: nBg * M }, () => next() * 2 - 1);
const rows = Float64Array.from({ length: nRows * M }, () => next() * 2 - 1);

let best = Infinity;
let additivity = 0;
for (let i = 0; i < repeat; i++) {
  const t0 = performance.now();
  const { values, base } = treeShap(ensemble, background, nBg, rows, nRows, { method });
  best = Math.min(best, performance.now() - t0);
  for (let r = 0; r < nRows; r++) {
    let total = base;
    for (let j = 0; j < M; j++) total += values[r * M + j]!;
    additivity = Math.max(additivity, Math.abs(total - predictRaw(ensemble, rows.subarray(r * M, (r + 1) * M))));
  }
}
console.log(
  `treeShap ${method}: ${nTrees} trees, depth ${depth}, ${M} features, ${nBg} background rows, ${nRows} rows: ` +
    `best of ${repeat} ${best.toFixed(1)} ms = ${Math.round((nRows / best) * 1000).toLocaleString("en-US")} rows/s ` +
    `(max additivity error ${additivity.toExponential(1)})`,
);

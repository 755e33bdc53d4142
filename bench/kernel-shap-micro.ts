// Micro-benchmark of kernelShap's own overhead: a cheap JS evaluator stands in for the model, so the time not
// spent inside it is coalition design, mixed-row construction, accumulation and the least-squares solves.
//
//   npx tsx bench/kernel-shap-micro.ts [--features 20] [--background 100] [--samples 500] [--rows 50]
//                                      [--max-batch-rows 16384] [--repeat 5]
import { parseArgs } from "node:util";
import { KERNEL_SHAP_DEFAULTS, kernelShap, type BatchEvaluator } from "../server/src/influence/kernel-shap.js";

const { values: args } = parseArgs({
  options: {
    features: { type: "string", default: "20" },
    background: { type: "string", default: "100" },
    samples: { type: "string", default: "500" },
    rows: { type: "string", default: "50" },
    "max-batch-rows": { type: "string", default: String(KERNEL_SHAP_DEFAULTS.maxBatchRows) },
    repeat: { type: "string", default: "5" },
  },
});
const M = Number(args.features);
const nBg = Number(args.background);
const samples = Number(args.samples);
const nRows = Number(args.rows);
const maxBatchRows = Number(args["max-batch-rows"]);
const repeat = Number(args.repeat);

function uniform(n: number, seed: number): Float64Array {
  let s = seed >>> 0 || 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 4294967296 - 0.5;
  }
  return out;
}

const weights = uniform(M, 3);
let evalMs = 0;
let calls = 0;
let evaluated = 0;
// Roughly the arithmetic of a small linear model with one interaction: about as cheap as a model can be.
const evaluator: BatchEvaluator = async (rows, n) => {
  const t0 = performance.now();
  const out = new Float64Array(n);
  for (let i = 0, o = 0; i < n; i++, o += M) {
    let s = 0;
    for (let j = 0; j < M; j++) s += weights[j]! * rows[o + j]!;
    out[i] = s + rows[o]! * rows[o + 1]!;
  }
  evalMs += performance.now() - t0;
  calls++;
  evaluated += n;
  return out;
};

const background = uniform(nBg * M, 1);
const rows = uniform(nRows * M, 2);
const opts = { samples, exactUpTo: 0, seed: 1, maxBatchRows };

await kernelShap(evaluator, background, nBg, M, rows, nRows, opts); // warm-up: JIT and allocation paths
const times: number[] = [];
let shares: number[] = [];
for (let r = 0; r < repeat; r++) {
  evalMs = 0;
  calls = 0;
  evaluated = 0;
  const t0 = performance.now();
  await kernelShap(evaluator, background, nBg, M, rows, nRows, opts);
  const ms = performance.now() - t0;
  times.push(ms);
  shares.push(evalMs / ms);
}
const order = times.map((t, i) => [t, i] as const).sort((a, b) => a[0] - b[0]);
const [medianMs, medianIdx] = order[Math.floor(order.length / 2)]!;
shares = [shares[medianIdx]!];

console.log(`kernelShap M=${M} nBg=${nBg} samples=${samples} rows=${nRows} maxBatchRows=${maxBatchRows} (median of ${repeat})`);
console.log(`  time            ${medianMs.toFixed(1)} ms (min ${order[0]![0].toFixed(1)}, max ${order[order.length - 1]![0].toFixed(1)})`);
console.log(`  explained rows  ${(nRows / (medianMs / 1000)).toFixed(1)} rows/s`);
console.log(`  mixed rows      ${evaluated} in ${calls} calls, ${((evaluated / medianMs) * 1000 / 1e6).toFixed(2)} M rows/s`);
console.log(`  in evaluator    ${(shares[0]! * 100).toFixed(1)} % of the time`);

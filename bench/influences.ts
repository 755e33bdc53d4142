// Influences benchmark: TreeSHAP and KernelSHAP against shap on the same models, data and background in the same
// run, then ComputeInfluences end to end through the service with one worker process and with two.
//
//   npm run build && npx tsx bench/influences.ts [--rows 10000] [--background 100] [--trees 100] [--depth 6]
//       [--features 20] [--kernel-rows 20] [--kernel-samples 2088] [--chunk-records 500] [--skip-service] [--skip-pure]
//       [--only tree,kernel,service]
//
// bench/influences_reference.py (run with .venv-clients/bin/python) trains the models, writes their ONNX files and
// the data into a temp directory, and times shap there; this script reads them back.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { Queue, type Job } from "bullmq";
import { Redis } from "ioredis";
import { MongoClient } from "mongodb";
import * as ort from "onnxruntime-node";
import { ferretdbServerEnv } from "../server/dev/services.js";
import { loadConfig } from "../server/src/config.js";
import { TargetSchema } from "../server/src/gen/sightline/v1/records_pb.js";
import { splitTarget, targetKey } from "../server/src/ingest/layout.js";
import { kernelShap, type BatchEvaluator, type KernelShapResult } from "../server/src/influence/kernel-shap.js";
import { parseOnnxModel } from "../server/src/influence/onnx-model.js";
import { influenceBatch } from "../server/src/influence/record-rows.js";
import { treeCoalitionEvaluator } from "../server/src/influence/tree-coalitions.js";
import { treeEnsembleOf, type TreeEnsemble } from "../server/src/influence/tree-ensemble.js";
import { treeShap } from "../server/src/influence/tree-shap.js";
import { readChunkRecords } from "../server/src/jobs/compute-chunk.js";
import { collectionStatsQueueName, computeChunkQueueName, computeQueueName, monitoringQueueName } from "../server/src/jobs/queues.js";
import { prepareBatch } from "../server/src/rpc/ingest-batch.js";
import { docId, openStore } from "../server/src/store/db.js";
import { resolveTarget, writeRecords } from "../server/src/store/records.js";
import { ArtifactFormat, ModelService } from "../clients/ts/src/gen/sightline/v1/model_service_pb.js";
import {
  createSightlineClient,
  DataKind,
  FieldKind,
  FieldType,
  InfluenceAlgorithm,
  JobState,
  ModelMode,
  ScoreType,
  SplitType,
  type BatchInput,
  type SightlineClient,
} from "../clients/ts/src/index.js";
import { root, startBenchServer, type BenchServer } from "./bench-server.js";

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "10000" },
    background: { type: "string", default: "100" },
    trees: { type: "string", default: "100" },
    depth: { type: "string", default: "6" },
    features: { type: "string", default: "20" },
    "kernel-rows": { type: "string", default: "20" },
    // Empty: shap's default (and the service's), 2 × features + 2048.
    "kernel-samples": { type: "string", default: "" },
    "chunk-records": { type: "string", default: "500" },
    "skip-service": { type: "boolean", default: false },
    "skip-pure": { type: "boolean", default: false },
    // A comma-separated subset of the sections: tree, kernel, service (all by default).
    only: { type: "string", default: "" },
  },
});
const SECTIONS = ["tree", "kernel", "service"] as const;
const sections = new Set<string>(args.only === "" ? SECTIONS : args.only.split(","));
for (const s of sections) if (!(SECTIONS as readonly string[]).includes(s)) throw new RangeError(`--only takes ${SECTIONS.join(", ")}; got "${s}"`);
if (args["skip-pure"]) {
  sections.delete("tree");
  sections.delete("kernel");
}
if (args["skip-service"]) sections.delete("service");
const nRows = Number(args.rows);
const nBg = Number(args.background);
const nTrees = Number(args.trees);
const depth = Number(args.depth);
const M = Number(args.features);
const kernelRows = Math.min(Number(args["kernel-rows"]), nRows);
const kernelSamples = args["kernel-samples"] === "" ? 2 * M + 2048 : Number(args["kernel-samples"]);
const chunkRecords = Number(args["chunk-records"]);
for (const [name, v] of Object.entries({ nRows, nBg, nTrees, depth, M, kernelRows, kernelSamples, chunkRecords })) {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
}
/** What a worker started from this environment packs into one model call (SIGHTLINE_KERNEL_BATCH_ROWS), so the pure run calls onnxruntime as a chunk job does. */
const kernelBatchRows = loadConfig("worker", { ...process.env, MONGODB_URL: "mongodb://unused", REDIS_URL: "redis://unused" }).compute.kernelBatchRows;
const P = "bench";
const MODEL = "gbm";

// ─── Formatting ─────────────────────────────────────────────────────────────────────────────────────────────────

function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function pct(x: number): string {
  return `${fmt(100 * x, 0)} %`;
}

function load(): string {
  return loadavg()
    .map((v) => v.toFixed(2))
    .join(" ");
}

/** The 1-minute load average, printed after each timed run so a figure taken on a busy machine shows it. */
function load1(): string {
  return loadavg()[0]!.toFixed(2);
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) throw new RangeError(`comparing ${a.length} values with ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

function maxAbs(a: Float64Array): number {
  return a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

// ─── The Python side ────────────────────────────────────────────────────────────────────────────────────────────

interface KernelFigures {
  seconds: number;
  evalSeconds: number;
  evalCalls: number;
  evalRows: number;
  rows: number;
  nsamples: number;
  nsamplesUsed: number;
  base: number;
  /** The 1-minute load average right after shap's run. */
  loadAfter: number;
}

interface PythonResult {
  versions: Record<"python" | "shap" | "sklearn" | "skl2onnx" | "onnxruntime" | "numpy", string>;
  trainRows: number;
  trainSeconds: number;
  gbcTrainAccuracy: number;
  mlpTrainAccuracy: number;
  gbcLeaves: number;
  /** gbc_margin.onnx against scikit-learn's decision_function on the rows: float32 rounding only. */
  marginMaxAbs: number;
  tree?: { seconds: number; rows: number; base: number; modelOutput: string; additivityMaxAbs: number; thresholdTies: number; loadAfter: number };
  kernel_gbc?: KernelFigures;
  kernel_gbc_margin?: KernelFigures;
  kernel_mlp?: KernelFigures;
}

interface Reference {
  dir: string;
  py: PythonResult;
  gbc: Uint8Array;
  /** The same trees with post transform NONE: probabilities[:, 1] is the raw margin. */
  gbcMargin: Uint8Array;
  mlp: Uint8Array;
  background: Float64Array;
  rows: Float64Array;
  f64(name: string): Float64Array;
}

function runPython(dir: string): Promise<void> {
  const pyArgs = ["bench/influences_reference.py", "--dir", dir, "--rows", String(nRows), "--background", String(nBg), "--trees", String(nTrees)];
  pyArgs.push("--depth", String(depth), "--features", String(M), "--kernel-rows", String(kernelRows), "--kernel-samples", String(kernelSamples));
  if (!sections.has("tree") && !sections.has("kernel")) pyArgs.push("--skip-shap");
  if (!sections.has("tree")) pyArgs.push("--skip-tree");
  if (!sections.has("kernel")) pyArgs.push("--skip-kernel");
  return new Promise((resolve, reject) => {
    const child = spawn(`${root}.venv-clients/bin/python`, pyArgs, { cwd: root, stdio: ["ignore", "inherit", "pipe"] });
    // shap's C extension draws a progress bar on stderr during long runs; it is shown only if the script fails.
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`influences_reference.py exited with ${code}:\n${stderr.slice(-4000)}`));
    });
  });
}

function readF64(path: string): Float64Array {
  const bytes = readFileSync(path);
  // A copy, so the array starts on an 8-byte boundary whatever Buffer pooling did.
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

async function reference(): Promise<Reference> {
  const dir = mkdtempSync(join(tmpdir(), "sightline-bench-influences-"));
  await runPython(dir);
  const f64 = (name: string) => readF64(join(dir, name));
  return {
    dir,
    py: JSON.parse(readFileSync(join(dir, "result.json"), "utf8")) as PythonResult,
    gbc: readFileSync(join(dir, "gbc.onnx")),
    gbcMargin: readFileSync(join(dir, "gbc_margin.onnx")),
    mlp: readFileSync(join(dir, "mlp.onnx")),
    background: f64("background.f64"),
    rows: f64("rows.f64"),
    f64,
  };
}

// ─── TreeSHAP ───────────────────────────────────────────────────────────────────────────────────────────────────

function gbcEnsemble(bytes: Uint8Array): TreeEnsemble {
  let reason = "";
  const ensemble = treeEnsembleOf(parseOnnxModel(bytes), { kind: "positive-class" }, (r) => (reason = r));
  if (ensemble === undefined) throw new Error(`the GBC's ONNX file has no usable tree ensemble: ${reason}`);
  // LOGISTIC over the raw sum: the raw sum is the margin shap explains with model_output="raw".
  if (ensemble.postTransform !== "LOGISTIC") throw new Error(`expected a LOGISTIC post transform, got ${ensemble.postTransform}`);
  return ensemble;
}

/** Explained rows per second when treeShap is called once per chunk, as the worker calls it (per-tree set-up per call). */
function chunkedTreeShapRate(ref: Reference, ensemble: TreeEnsemble): number {
  const t = performance.now();
  for (let start = 0; start < nRows; start += chunkRecords) {
    const n = Math.min(chunkRecords, nRows - start);
    treeShap(ensemble, ref.background, nBg, ref.rows.subarray(start * M, (start + n) * M), n);
  }
  return nRows / ((performance.now() - t) / 1000);
}

function treeSection(ref: Reference, ensemble: TreeEnsemble): { ratio: number; maxDiff: number; chunkedRate: number } {
  const py = ref.py.tree!;
  // Compiles the hot loops before the timed run, which is one call over every row, as shap's is.
  const warm = Math.min(100, nRows);
  treeShap(ensemble, ref.background, nBg, ref.rows.subarray(0, warm * M), warm);
  const t = performance.now();
  const ours = treeShap(ensemble, ref.background, nBg, ref.rows, nRows);
  const seconds = (performance.now() - t) / 1000;
  const ourLoad = load1();
  const chunkedRate = chunkedTreeShapRate(ref, ensemble);

  const theirs = ref.f64("tree_shap.f64");
  const rate = nRows / seconds;
  const shapRate = py.rows / py.seconds;
  const maxDiff = maxAbsDiff(ours.values, theirs);
  console.log(
    `\n# TreeSHAP: ${fmt(nRows)} rows against ${nBg} background rows, one timed call over all rows on each side (ours after a ${warm}-row warm-up);\n` +
      `# explained: the raw margin (log-odds), shap model_output="${py.modelOutput}", its additivity check off`,
  );
  console.log(`treeShap (ensemble from the ONNX file)     ${fmt(rate).padStart(9)} rows/s  (${fmt(seconds, 2)} s; load ${ourLoad} after)`);
  console.log(`shap TreeExplainer, interventional         ${fmt(shapRate).padStart(9)} rows/s  (${fmt(py.seconds, 2)} s; load ${py.loadAfter.toFixed(2)} after)`);
  console.log(`ratio ours/shap                            ${fmt(rate / shapRate, 2).padStart(9)}  (target >= 0.5)`);
  console.log(
    `max abs difference of the values           ${maxDiff.toExponential(1).padStart(9)}  (values up to ${fmt(maxAbs(theirs), 2)}; ` +
      `base ${ours.base.toFixed(7)} vs shap ${py.base.toFixed(7)}; rows on a float32-rounded threshold: ${py.thresholdTies})`,
  );
  console.log(`${`treeShap in calls of ${fmt(chunkRecords)} rows, as chunk jobs`.padEnd(43)}${fmt(chunkedRate).padStart(9)} rows/s`);
  return { ratio: rate / shapRate, maxDiff, chunkedRate };
}

// ─── KernelSHAP ─────────────────────────────────────────────────────────────────────────────────────────────────

interface EvalClock {
  calls: number;
  rows: number;
  convertMs: number;
  runMs: number;
  readMs: number;
}

/**
 * probabilities[:, 1] from onnxruntime, with the session options a worker uses (server/src/influence/model-runner.ts)
 * and the same float64 → float32 copy, timed in three parts.
 */
async function positiveProbability(bytes: Uint8Array): Promise<{ f: BatchEvaluator; clock: EvalClock; release(): Promise<void> }> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" });
  const input = session.inputNames[0]!;
  const clock: EvalClock = { calls: 0, rows: 0, convertMs: 0, runMs: 0, readMs: 0 };
  const f: BatchEvaluator = async (rows, n) => {
    // kernelShap fills its next batch right after calling us, on this thread (onnxruntime-node runs a session
    // synchronously inside a setImmediate), so nothing overlaps; yielding first keeps that fill out of our clock.
    await Promise.resolve();
    const t0 = performance.now();
    const tensor = new ort.Tensor("float32", Float32Array.from(rows), [n, M]);
    const t1 = performance.now();
    const result = await session.run({ [input]: tensor }, ["probabilities"]);
    const t2 = performance.now();
    const data = result.probabilities!.data as Float32Array;
    const out = new Float64Array(n);
    for (let r = 0; r < n; r++) out[r] = data[2 * r + 1]!;
    const t3 = performance.now();
    clock.calls++;
    clock.rows += n;
    clock.convertMs += t1 - t0;
    clock.runMs += t2 - t1;
    clock.readMs += t3 - t2;
    return out;
  };
  return { f, clock, release: () => session.release() };
}

async function kernelOne(name: string, description: string, bytes: Uint8Array, ref: Reference, py: KernelFigures): Promise<number> {
  const x = ref.rows.subarray(0, kernelRows * M);
  const opts = { samples: kernelSamples, exactUpTo: kernelSamples, seed: 0, maxBatchRows: kernelBatchRows };
  const { f, clock, release } = await positiveProbability(bytes);
  try {
    // One row first: compiles kernelShap's loops and warms the session (shap's constructor also calls f once).
    await kernelShap(f, ref.background, nBg, M, x.subarray(0, M), 1, opts);
    Object.assign(clock, { calls: 0, rows: 0, convertMs: 0, runMs: 0, readMs: 0 });
    const t = performance.now();
    const ours = await kernelShap(f, ref.background, nBg, M, x, kernelRows, opts);
    const ms = performance.now() - t;
    const ourLoad = load1();
    const theirs = ref.f64(`kernel_${name}.f64`);
    const perRow = ms / kernelRows;
    const evalMs = clock.convertMs + clock.runMs + clock.readMs;
    const pyPerRow = (1000 * py.seconds) / py.rows;
    const pyEval = (1000 * py.evalSeconds) / py.rows;
    console.log(`${name}: ${description}`);
    console.log(
      `  kernelShap + onnxruntime-node  ${fmt(perRow, 1).padStart(8)} ms/row   evaluation ${fmt(evalMs / kernelRows, 1)} ms/row (${pct(evalMs / ms)}: ` +
        `float32 copy ${fmt(clock.convertMs / kernelRows, 1)}, session.run ${fmt(clock.runMs / kernelRows, 1)}, column read ${fmt(clock.readMs / kernelRows, 1)}); ` +
        `kernelShap's own ${fmt((ms - evalMs) / kernelRows, 1)} ms/row; ${fmt(clock.rows / kernelRows)} model rows/row in ${fmt(clock.calls)} calls, ` +
        `session.run ${fmt((1e3 * clock.runMs) / clock.rows, 2)} µs per model row; load ${ourLoad} after`,
    );
    console.log(
      `  shap KernelExplainer           ${fmt(pyPerRow, 1).padStart(8)} ms/row   f ${fmt(pyEval, 1)} ms/row (${pct(py.evalSeconds / py.seconds)}); ` +
        `shap's own ${fmt(pyPerRow - pyEval, 1)} ms/row; ${fmt(py.evalRows / py.rows)} model rows/row in ${fmt(py.evalCalls)} calls, ` +
        `f ${fmt((1e6 * py.evalSeconds) / py.evalRows, 2)} µs per model row; load ${py.loadAfter.toFixed(2)} after`,
    );
    console.log(
      `  ratio shap/ours                ${fmt(pyPerRow / perRow, 2).padStart(8)}  (target >= 10)   max abs difference ${maxAbsDiff(ours.values, theirs).toExponential(1)} ` +
        `(sampling differs; values up to ${fmt(maxAbs(theirs), 3)}); base ${ours.base.toFixed(6)} vs shap ${py.base.toFixed(6)}; ` +
        `coalitions ${ours.exact ? "all" : "sampled"}, shap used nsamples ${fmt(py.nsamplesUsed)}`,
    );
    return pyPerRow / perRow;
  } finally {
    await release();
  }
}

async function kernelSection(ref: Reference, ensemble: TreeEnsemble): Promise<{ gbc: number; margin: TreePathFigures; mlp: number }> {
  console.log(
    `\n# KernelSHAP: the first ${kernelRows} rows, nsamples ${fmt(kernelSamples)}, ${nBg} background rows, l1_reg=False; both sides explain ` +
      `probabilities[:, 1] of the same ONNX file in onnxruntime with 1 intra-op thread; one timed call over all rows each (ours after a 1-row warm-up)`,
  );
  const gbc = await kernelOne("gbc", `the ${nTrees}-tree, depth-${depth} GradientBoostingClassifier (${fmt(ref.py.gbcLeaves)} leaves)`, ref.gbc, ref, ref.py.kernel_gbc!);
  const margin = await kernelTreePaths(ref, ensemble, ref.py.kernel_gbc_margin!);
  const mlp = await kernelOne("mlp", `MLPClassifier(hidden_layer_sizes=(32,)) on the same ${M} features`, ref.mlp, ref, ref.py.kernel_mlp!);
  return { gbc, margin, mlp };
}

interface TreePathFigures {
  ratio: number;
  maxDiff: number;
  sameCoalitionsDiff: number;
}

/**
 * The GBC's raw margin (log-odds), which is linear in the leaves, so kernelShap takes v(S) from the trees
 * (tree-coalitions.ts) instead of mixed rows. The evaluator is built inside the timed part: a chunk job builds one
 * per call. Against shap on the same margin (gbc_margin.onnx in Python onnxruntime), and against our own onnxruntime
 * run on the same margin and coalitions, which must agree up to onnxruntime's float32 sums.
 */
async function kernelTreePaths(ref: Reference, ensemble: TreeEnsemble, py: KernelFigures): Promise<TreePathFigures> {
  const x = ref.rows.subarray(0, kernelRows * M);
  const opts = { samples: kernelSamples, exactUpTo: kernelSamples, seed: 0, maxBatchRows: kernelBatchRows };
  const evaluator = () => treeCoalitionEvaluator(ensemble, ref.background, nBg) ?? refuseTables();
  // One row first, as for the onnxruntime runs: compiles the table build, the walk and kernelShap's own loops.
  await kernelShap(evaluator(), ref.background, nBg, M, x.subarray(0, M), 1, opts);
  const t0 = performance.now();
  const game = evaluator();
  const t1 = performance.now();
  const ours = await kernelShap(game, ref.background, nBg, M, x, kernelRows, opts);
  const ms = performance.now() - t0;
  const buildMs = t1 - t0;
  const ourLoad = load1();

  const { f, release } = await positiveProbability(ref.gbcMargin);
  let viaRows: KernelShapResult;
  let rowsMs: number;
  try {
    await kernelShap(f, ref.background, nBg, M, x.subarray(0, M), 1, opts);
    const t = performance.now();
    viaRows = await kernelShap(f, ref.background, nBg, M, x, kernelRows, opts);
    rowsMs = performance.now() - t;
  } finally {
    await release();
  }
  const rowsLoad = load1();

  const theirs = ref.f64("kernel_gbc_margin.f64");
  const perRow = ms / kernelRows;
  const pyPerRow = (1000 * py.seconds) / py.rows;
  const pyEval = (1000 * py.evalSeconds) / py.rows;
  const maxDiff = maxAbsDiff(ours.values, theirs);
  const sameCoalitionsDiff = maxAbsDiff(ours.values, viaRows.values);
  console.log(`gbc, raw margin: the same GradientBoostingClassifier's log-odds (post transform NONE; ONNX vs scikit-learn's decision_function ${ref.py.marginMaxAbs.toExponential(1)})`);
  console.log(
    `  kernelShap + tree paths        ${fmt(perRow, 1).padStart(8)} ms/row   table build ${fmt(buildMs, 1)} ms once per call (included), ` +
      `then ${fmt((ms - buildMs) / kernelRows, 1)} ms/row; no model rows; load ${ourLoad} after`,
  );
  console.log(
    `  kernelShap + onnxruntime-node  ${fmt(rowsMs / kernelRows, 1).padStart(8)} ms/row   the same coalitions on mixed rows of the margin model; ` +
      `values differ from the tree paths' by ${sameCoalitionsDiff.toExponential(1)} (onnxruntime sums in float32); load ${rowsLoad} after`,
  );
  console.log(
    `  shap KernelExplainer           ${fmt(pyPerRow, 1).padStart(8)} ms/row   f ${fmt(pyEval, 1)} ms/row (${pct(py.evalSeconds / py.seconds)}); ` +
      `shap's own ${fmt(pyPerRow - pyEval, 1)} ms/row; ${fmt(py.evalRows / py.rows)} model rows/row in ${fmt(py.evalCalls)} calls; load ${py.loadAfter.toFixed(2)} after`,
  );
  console.log(
    `  ratio shap/ours (tree paths)   ${fmt(pyPerRow / perRow, 2).padStart(8)}  (target >= 10)   max abs difference ${maxDiff.toExponential(1)} ` +
      `(sampling differs; values up to ${fmt(maxAbs(theirs), 3)}); base ${ours.base.toFixed(6)} vs shap ${py.base.toFixed(6)}; ` +
      `coalitions ${ours.exact ? "all" : "sampled"}, shap used nsamples ${fmt(py.nsamplesUsed)}`,
  );
  return { ratio: pyPerRow / perRow, maxDiff, sameCoalitionsDiff };
}

function refuseTables(): never {
  throw new Error("the GBC's path tables exceed MAX_TABLE_ENTRIES");
}

// ─── The service ────────────────────────────────────────────────────────────────────────────────────────────────

const featureNames = Array.from({ length: M }, (_, j) => `f${j}`);

function workerEnv(server: BenchServer): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...ferretdbServerEnv,
    MONGODB_URL: server.services.mongodbUrl,
    REDIS_URL: server.services.redisUrl,
    MONGODB_DATABASE: server.database,
    SIGHTLINE_QUEUE_PREFIX: `{${server.database}}`,
    SIGHTLINE_LOG_LEVEL: "info",
    SIGHTLINE_COMPUTE_CHUNK_RECORDS: String(chunkRecords),
    // Nothing periodic while measuring: the schedulers' first runs happen at start and are waited for.
    SIGHTLINE_MONITORING_INTERVAL_MS: String(86_400_000),
    SIGHTLINE_STATS_INTERVAL_MS: String(86_400_000),
  };
}

function startWorker(server: BenchServer): Promise<ChildProcess> {
  const env = workerEnv(server);
  const child = spawn(process.execPath, ["dist/server/src/worker.js"], { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (l) => {
      if (l.includes('"msg":"worker started"')) resolve(child);
      else if (/"level":"(warn|error)"/.test(l)) process.stderr.write(`worker ${child.pid}: ${l}\n`);
    });
    child.once("exit", (code) => reject(new Error(`worker exited with ${code}`)));
  });
}

function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve();
    }, 15_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** Waits until none of the queues has anything waiting or running (delayed jobs are schedulers' next runs, a day away). */
async function settle(queues: Queue[], timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (quiet < 2) {
    const counts = await Promise.all(queues.map((q) => q.getJobCounts("active", "wait", "prioritized", "waiting-children")));
    quiet = counts.every((c) => Object.values(c).every((v) => v === 0)) ? quiet + 1 : 0;
    if (Date.now() > deadline) throw new Error(`queues still busy after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

function rowsBatch(rows: Float64Array, start: number, n: number, idOf: (i: number) => string): BatchInput {
  const columns: Record<string, number[]> = {};
  featureNames.forEach((name, j) => {
    const values = new Array<number>(n);
    for (let i = 0; i < n; i++) values[i] = rows[(start + i) * M + j]!;
    columns[name] = values;
  });
  return { recordIds: Array.from({ length: n }, (_, i) => idOf(start + i)), columns };
}

const explainId = (i: number) => `x${String(i).padStart(6, "0")}`;
const backgroundId = (i: number) => `b${String(i).padStart(6, "0")}`;

/** A collection of M DOUBLE features, a baseline split holding the background, an "explain" split, the LOGITS model and its artifact. */
async function prepareCollection(client: SightlineClient, name: string, ref: Reference): Promise<void> {
  await client.catalog.createDataCollection({
    collection: { project: P, name, schema: { recordIdColumn: "id", fields: featureNames.map((f) => ({ name: f, kind: FieldKind.FEATURE, type: FieldType.DOUBLE })) } },
  });
  await client.catalog.createSplit({ split: { project: P, collection: name, name: "background", type: SplitType.TRAIN } });
  await client.catalog.setBaselineSplit({ project: P, collection: name, name: "background" });
  await client.catalog.createSplit({ split: { project: P, collection: name, name: "explain", type: SplitType.TEST } });
  const upload = async (split: string, rows: Float64Array, n: number, idOf: (i: number) => string) => {
    const batch = 2000;
    const summary = await client.upload(
      { project: P, collection: name, destination: { case: "split", value: split } },
      (function* () {
        for (let s = 0; s < n; s += batch) yield rowsBatch(rows, s, Math.min(batch, n - s), idOf);
      })(),
    );
    if (summary.rowErrors.length > 0) throw new Error(`upload to ${name}/${split}: ${summary.rowErrors[0]!.description}`);
  };
  await upload("background", ref.background, nBg, backgroundId);
  await upload("explain", ref.rows, nRows, explainId);
  await client.catalog.createModel({
    model: { project: P, collection: name, name: MODEL, scoreType: ScoreType.LOGITS, mode: ModelMode.DATA_AND_MODEL, predictionFields: [{ name: "score", type: FieldType.DOUBLE }] },
  });
  const models = createClient(ModelService, client.transport);
  const bytes = ref.gbc;
  const { artifact } = await models.uploadModelArtifact(
    (async function* () {
      const header = { project: P, collection: name, model: MODEL, format: ArtifactFormat.ONNX, sizeBytes: BigInt(bytes.length), sha256: createHash("sha256").update(bytes).digest("hex") };
      yield { part: { case: "header" as const, value: header } };
      for (let i = 0; i < bytes.length; i += 1 << 20) yield { part: { case: "chunk" as const, value: bytes.subarray(i, i + (1 << 20)) } };
    })(),
  );
  if (artifact?.influenceAlgorithm !== InfluenceAlgorithm.TREE_SHAP) throw new Error(`the artifact would get ${InfluenceAlgorithm[artifact?.influenceAlgorithm ?? 0]}, not TREE_SHAP`);
}

/** Influences as the service stored them, by explained row, in feature order. */
async function storedInfluences(client: SightlineClient, collection: string): Promise<Float64Array> {
  const out = new Float64Array(nRows * M).fill(Number.NaN);
  const target = { project: P, collection, destination: { case: "split" as const, value: "explain" }, model: MODEL };
  for await (const batch of client.readRecords({ target, kinds: [DataKind.INFLUENCES], batchSize: 10_000 })) {
    const rowOf = batch.recordIds.map((id) => Number(id.slice(1)));
    for (const column of batch.influences) {
      const j = featureNames.indexOf(column.name);
      if (j < 0 || column.values.case !== "doubles") continue;
      column.values.value.values.forEach((v, i) => (out[rowOf[i]! * M + j] = v));
    }
  }
  return out;
}

interface ServiceRun {
  workers: number;
  seconds: number;
  chunks: number;
  written: number;
  chunkSeconds: number[];
  maxDiff: number;
  load: string;
}

async function timeInfluences(client: SightlineClient, chunkQueue: Queue, collection: string, workers: number, expected: Float64Array): Promise<ServiceRun> {
  const models = createClient(ModelService, client.transport);
  const t0 = performance.now();
  const { jobId } = await models.computeInfluences({ project: P, collection, model: MODEL, scope: { case: "split", value: "explain" }, options: { backgroundRows: nBg } });
  const last = await client.waitForJob(jobId);
  const seconds = (performance.now() - t0) / 1000;
  const loadAfter = load1();
  if (last.state !== JobState.COMPLETED) throw new Error(`ComputeInfluences on ${collection} ended ${JobState[last.state]}: ${last.message}`);
  const r = last.computeResult!;
  if (r.algorithm !== InfluenceAlgorithm.TREE_SHAP) throw new Error(`the job used ${InfluenceAlgorithm[r.algorithm]}`);
  const plannerId = jobId.slice(jobId.indexOf(":") + 1);
  const done = (await chunkQueue.getJobs(["completed"], 0, -1)) as Job[];
  const chunkSeconds = done
    .filter((j) => j.id?.startsWith(`${plannerId}-`) === true && j.processedOn !== undefined && j.finishedOn !== undefined)
    .map((j) => (j.finishedOn! - j.processedOn!) / 1000);
  const stored = await storedInfluences(client, collection);
  return { workers, seconds, chunks: Number(r.chunks), written: Number(r.written), chunkSeconds, maxDiff: maxAbsDiff(stored, expected), load: loadAfter };
}

function runLine(r: ServiceRun, chunkedRate: number): string {
  const sum = r.chunkSeconds.reduce((a, b) => a + b, 0);
  const mean = sum / Math.max(r.chunkSeconds.length, 1);
  const pure = chunkRecords / chunkedRate;
  return (
    `${r.workers} worker${r.workers > 1 ? "s" : " "}   ${fmt(nRows / r.seconds).padStart(7)} rows/s  (${fmt(r.seconds, 2)} s; ${r.chunks} chunks, ${fmt(r.written)} written; ` +
    `chunk jobs ${fmt(mean, 2)} s each on average, ${fmt(sum, 1)} s in all, of which treeShap alone ≈ ${fmt(pure, 2)} s a chunk; ` +
    `stored vs in-process values ${r.maxDiff.toExponential(1)}; load ${r.load} after)`
  );
}

interface Replay {
  chunks: number;
  readMs: number;
  computeMs: number;
  writeMs: number;
}

/**
 * A chunk job's three steps made here, one chunk after another, with no worker running: the same point reads of
 * the chunk's records, treeShap on them, and the same write path (prepareBatch + writeRecords, with the worker's
 * configuration). It rewrites the values already stored, as a retried chunk would.
 */
async function replayChunks(server: BenchServer, collection: string, ensemble: TreeEnsemble, background: Float64Array): Promise<Replay> {
  const config = loadConfig("worker", workerEnv(server));
  const store = await openStore(server.services.mongodbUrl, server.database);
  try {
    const doc = await store.collections.findOne({ _id: docId(P, collection) });
    if (doc === null) throw new Error(`collection ${collection} is missing`);
    const features = doc.fields.filter((f) => f.kind === FieldKind.FEATURE);
    const ct = targetKey(P, collection, splitTarget("explain"));
    const target = await resolveTarget(store, create(TargetSchema, { project: P, collection, model: MODEL, destination: { case: "split", value: "explain" } }), "write");
    const r: Replay = { chunks: 0, readMs: 0, computeMs: 0, writeMs: 0 };
    for (let start = 0; start < nRows; start += chunkRecords) {
      const ids = Array.from({ length: Math.min(chunkRecords, nRows - start) }, (_, i) => explainId(start + i));
      let t = performance.now();
      const { found, rows } = await readChunkRecords(store, ct, ids, features, false);
      r.readMs += performance.now() - t;
      t = performance.now();
      const { values } = treeShap(ensemble, background, nBg, rows.values, rows.rows);
      r.computeMs += performance.now() - t;
      t = performance.now();
      const prepared = prepareBatch(target, influenceBatch(rows, features, values), config.ingest);
      await writeRecords(store, target, prepared, config.ingest.writeChunkRows, found);
      r.writeMs += performance.now() - t;
      r.chunks++;
    }
    return r;
  } finally {
    await store.close();
  }
}

async function serviceSection(ref: Reference, ensemble: TreeEnsemble, chunkedRate: number): Promise<{ one: ServiceRun; two: ServiceRun; replay: Replay }> {
  // What the worker should store: the same ensemble and background (the whole baseline split), in float64.
  const expected = treeShap(ensemble, ref.background, nBg, ref.rows, nRows).values;
  const server = await startBenchServer();
  const { services, database, adminKey } = server;
  const client = createSightlineClient({ url: `http://127.0.0.1:${server.port}`, apiKey: adminKey });
  const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  const prefix = `{${database}}`;
  const queues = [collectionStatsQueueName, monitoringQueueName, computeQueueName, computeChunkQueueName].map((n) => new Queue(n, { connection: redis, prefix }));
  const chunkQueue = queues[3]!;
  const workers: ChildProcess[] = [];
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: stopping the workers, the server and the services`);
    void Promise.all([...workers.map(stopChild), stopChild(server.child)])
      .then(() => services.stop())
      .finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    console.log(
      `\n# Service: ComputeInfluences on a split of ${fmt(nRows)} rows (${M} DOUBLE features), the LOGITS model's ONNX artifact, ` +
        `background_rows ${nBg} from a baseline split of ${nBg}; SIGHTLINE_COMPUTE_CHUNK_RECORDS=${chunkRecords}; timed from the request to WatchJob's COMPLETED; ` +
        `a fresh collection per run and fresh worker processes (nothing cached); database ${database}`,
    );
    await client.admin.createProject({ project: { name: P } });
    // Both collections are loaded before any worker starts; the recounts the uploads queue run (and are waited for)
    // when the first worker starts.
    await prepareCollection(client, "one", ref);
    await prepareCollection(client, "two", ref);

    const runs: ServiceRun[] = [];
    for (const [count, collection] of [
      [1, "one"],
      [2, "two"],
    ] as const) {
      while (workers.length > 0) await stopChild(workers.pop());
      for (let i = 0; i < count; i++) workers.push(await startWorker(server));
      await settle(queues);
      const run = await timeInfluences(client, chunkQueue, collection, count, expected);
      console.log(runLine(run, chunkedRate));
      runs.push(run);
    }
    const [one, two] = runs as [ServiceRun, ServiceRun];
    console.log(`ratio 2 workers/1     ${fmt(one.seconds / two.seconds, 2).padStart(7)}  (2 cores shared with the server, FerretDB and PostgreSQL)`);
    console.log(`in-process treeShap   ${fmt(chunkedRate).padStart(7)} rows/s in ${fmt(chunkRecords)}-row calls (the compute alone, one core)`);
    while (workers.length > 0) await stopChild(workers.pop());
    const replay = await replayChunks(server, "one", ensemble, ref.background);
    const total = replay.readMs + replay.computeMs + replay.writeMs;
    const part = (ms: number) => `${fmt(ms / replay.chunks, 0)} ms (${pct(ms / total)})`;
    console.log(
      `chunk steps replayed  ${fmt((1000 * nRows) / total).padStart(7)} rows/s  (here, no worker running, ${replay.chunks} chunks; per chunk: read ${part(replay.readMs)}, ` +
        `treeShap ${part(replay.computeMs)}, write through prepareBatch + writeRecords ${part(replay.writeMs)}; load ${load1()} after)`,
    );
    return { one, two, replay };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    for (const w of workers) await stopChild(w);
    await stopChild(server.child);
    for (const q of queues) await q.obliterate({ force: true }).catch(() => undefined);
    for (const q of queues) await q.close();
    redis.disconnect();
    await dropDatabase(services.mongodbUrl, database);
    await services.stop();
  }
}

async function dropDatabase(url: string, database: string): Promise<void> {
  const mongo = new MongoClient(url);
  try {
    await mongo.db(database).dropDatabase();
  } catch {
    // Best effort: a leftover bench_* database only takes space.
  } finally {
    await mongo.close();
  }
}

// ─── Main ───────────────────────────────────────────────────────────────────────────────────────────────────────

console.log(
  `# Influences: GradientBoostingClassifier(n_estimators=${nTrees}, max_depth=${depth}), binary, ${M} features; ${fmt(nRows)} rows to explain, ` +
    `${nBg} background rows; ${cpus().length} cores, load average ${load()} at start`,
);
const ref = await reference();
try {
  const v = ref.py.versions;
  console.log(
    `# Python ${v.python}, shap ${v.shap}, scikit-learn ${v.sklearn}, skl2onnx ${v.skl2onnx}, onnxruntime ${v.onnxruntime} (Python) and onnxruntime-node ` +
      `${ort.env.versions.node ?? "?"} (TS), NumPy ${v.numpy}; models trained on ${fmt(ref.py.trainRows)} other rows in ${fmt(ref.py.trainSeconds, 1)} s (not timed), ` +
      `GBC ${fmt(ref.py.gbcLeaves)} leaves; train accuracy GBC ${fmt(ref.py.gbcTrainAccuracy, 3)}, MLP ${fmt(ref.py.mlpTrainAccuracy, 3)}`,
  );
  const summary: string[] = [];
  const ensemble = gbcEnsemble(ref.gbc);
  let chunkedRate: number | undefined;
  if (sections.has("tree")) {
    const tree = treeSection(ref, ensemble);
    chunkedRate = tree.chunkedRate;
    summary.push(`TreeSHAP ours/shap         ${fmt(tree.ratio, 2)}  (target >= 0.5), max abs difference ${tree.maxDiff.toExponential(1)}`);
  }
  if (sections.has("kernel")) {
    const kernel = await kernelSection(ref, ensemble);
    summary.push(`KernelSHAP shap/ours, GBC  ${fmt(kernel.gbc, 2)}  (target >= 10; probabilities, onnxruntime on mixed rows)`);
    summary.push(
      `KernelSHAP shap/ours, GBC  ${fmt(kernel.margin.ratio, 2)}  (target >= 10; raw margin, tree paths), max abs difference ${kernel.margin.maxDiff.toExponential(1)} ` +
        `(${kernel.margin.sameCoalitionsDiff.toExponential(1)} from our onnxruntime run on the same coalitions)`,
    );
    summary.push(`KernelSHAP shap/ours, MLP  ${fmt(kernel.mlp, 2)}  (target >= 10)`);
  }
  if (sections.has("service")) {
    // The service section's baseline: the compute alone, in chunk-sized calls.
    chunkedRate ??= chunkedTreeShapRate(ref, ensemble);
    const { one, two, replay } = await serviceSection(ref, ensemble, chunkedRate);
    const total = replay.readMs + replay.computeMs + replay.writeMs;
    summary.push(`service, 1 worker          ${fmt(nRows / one.seconds)} rows/s`);
    summary.push(`service, 2 workers         ${fmt(nRows / two.seconds)} rows/s, ratio 2/1 ${fmt(one.seconds / two.seconds, 2)}`);
    summary.push(`a chunk's steps replayed   read ${pct(replay.readMs / total)}, treeShap ${pct(replay.computeMs / total)}, write ${pct(replay.writeMs / total)}`);
  }
  console.log(`\n# Summary (load average at the end: ${load()})\n${summary.join("\n")}`);
} finally {
  rmSync(ref.dir, { recursive: true, force: true });
}

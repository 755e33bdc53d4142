// Monitoring benchmark: a full recompute of a model's monitoring over N production records against a direct read of
// the same records, incremental refreshes after 1 % of the labels change (the most recent records, then records
// spread over the whole window), and the pure metric functions against scikit-learn and SciPy on the same arrays.
//
//   npm run build && npx tsx bench/monitoring.ts [--records 1000000] [--batch 5000] [--metrics-n 1000000] [--repeat 5]
//                                                [--skip-metrics] [--skip-server]
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { Queue, type Job } from "bullmq";
import { Redis } from "ioredis";
import { ferretdbServerEnv } from "../server/dev/services.js";
import { productionTarget, splitTarget, targetKey, hourBucketKey } from "../server/src/ingest/layout.js";
import { monitoringPlan, type MonitoringPlan } from "../server/src/jobs/monitoring-spec.js";
import { collectionStatsQueueName, monitoringQueueName } from "../server/src/jobs/queues.js";
import { dayMs, dayStart, hourMs } from "../server/src/monitoring/buckets.js";
import { numericBaseline, numericDrift } from "../server/src/monitoring/drift.js";
import { binaryMetrics, classify, regressionMetrics } from "../server/src/monitoring/metrics.js";
import { baselineOf, bucketReport, type Baseline } from "../server/src/monitoring/report.js";
import { BucketSample } from "../server/src/monitoring/sample.js";
import { findMarks } from "../server/src/store/bucket-marks.js";
import { docId, openStore, type Store } from "../server/src/store/db.js";
import { root, startBenchServer, type BenchServer } from "./bench-server.js";
import {
  createSightlineClient,
  FieldKind,
  FieldType,
  Granularity,
  JobState,
  ModelMode,
  ScoreType,
  SplitType,
  type BatchInput,
  type SightlineClient,
  type TargetInit,
} from "../clients/ts/src/index.js";

const { values: args } = parseArgs({
  options: {
    records: { type: "string", default: "1000000" },
    batch: { type: "string", default: "5000" },
    "baseline-rows": { type: "string", default: "10000" },
    "metrics-n": { type: "string", default: "1000000" },
    repeat: { type: "string", default: "5" },
    "skip-metrics": { type: "boolean", default: false },
    "skip-server": { type: "boolean", default: false },
  },
});
const records = Number(args.records);
const batchSize = Number(args.batch);
const baselineRows = Number(args["baseline-rows"]);
const metricsN = Number(args["metrics-n"]);
const repeat = Number(args.repeat);
const uploadChunk = 100_000;
const P = "bench";
const C = "loans";
const M = "clf";
const windowDays = 30;
/** The cursor batch size of the monitoring job's record reads (server/src/jobs/monitoring-run.ts). */
const jobReadBatch = 20_000;

// ─── Formatting and random numbers ──────────────────────────────────────────────────────────────────────────────

function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function pct(x: number): string {
  return `${fmt(100 * x, 2)} %`;
}

/** mulberry32: small, fast and deterministic, so every run (and both languages) sees the same numbers. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function normal(next: () => number): number {
  // Box–Muller; 1 − u keeps the logarithm finite.
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Seeds one record's own generator from its index and a stream, so any record can be regenerated alone. */
function recordRng(index: number, stream: number): () => number {
  return rng(Math.imul(index + 1, 0x9e3779b1) ^ Math.imul(stream, 0x85ebca6b));
}

// ─── The synthetic loans ────────────────────────────────────────────────────────────────────────────────────────

const regions = ["north", "south", "east", "west", "central"];
const regionWeights = [0.3, 0.25, 0.2, 0.15, 0.1];
const regionEffects = [0, 0.2, -0.1, 0.3, -0.2];

interface Loan {
  income: number;
  utilization: number;
  region: string;
  /** The model's probability of approval. */
  score: number;
  /** The probability labels are drawn from. */
  approval: number;
  approved: boolean;
  /** Position in the window, 0 to 1 (production only). */
  position: number;
}

/** Record `index` of a target; `drift` in [0, 1] moves the feature distributions away from the baseline. */
function loan(index: number, stream: number, count: number): Loan {
  const next = recordRng(index, stream);
  const position = (index + next()) / count;
  const drift = stream === 0 ? position : 0;
  const z = normal(next);
  const income = Math.exp(10.5 + 0.1 * drift + 0.5 * z);
  const utilization = next() ** (1.5 - 0.3 * drift);
  let pick = next();
  let r = 0;
  while (r < regions.length - 1 && pick >= regionWeights[r]!) pick -= regionWeights[r++]!;
  const logit = -0.8 + 0.9 * z + 2 * (utilization - 0.5) + regionEffects[r]!;
  const approval = sigmoid(logit);
  const score = sigmoid(logit + 0.5 * normal(next));
  return { income, utilization, region: regions[r]!, score, approval, approved: next() < approval, position };
}

/** A fresh label for a production record: drawn again from its approval probability, so some of them flip. */
function newLabel(index: number, round: number): boolean {
  return recordRng(index, 100 + round)() < loan(index, 0, records).approval;
}

const recordId = (i: number) => `r${String(i).padStart(8, "0")}`;

// ─── Pure metric functions against scikit-learn and SciPy ───────────────────────────────────────────────────────

type Values = Record<string, number>;

interface GroupFigures {
  group: string;
  what: string;
  tsMs: number;
  pyMs: number;
  maxRelative: number;
  where: string;
}

function bestOf(times: number, fn: () => Values): { ms: number; values: Values } {
  let ms = Infinity;
  let values: Values = {};
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    values = fn();
    ms = Math.min(ms, performance.now() - started);
  }
  return { ms, values };
}

function num(x: number | undefined): number {
  return x ?? NaN;
}

async function metricsAgainstPython(): Promise<GroupFigures[]> {
  const n = metricsN;
  const next = rng(20261126);
  const labels = new Float64Array(n);
  const probabilities = new Float64Array(n);
  const y = new Float64Array(n);
  const yHat = new Float64Array(n);
  const baseline = new Float64Array(n);
  const current = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = normal(next);
    labels[i] = next() < sigmoid(-0.5 + 1.2 * z) ? 1 : 0;
    probabilities[i] = sigmoid(-0.5 + 1.2 * z + 0.6 * normal(next));
    y[i] = 100 + 20 * normal(next);
    yHat[i] = y[i]! + 1 + 5 * normal(next);
    baseline[i] = normal(next);
    // A shift small enough that the KS p-value of a million against a million is still a number worth comparing.
    current[i] = 0.004 + 1.002 * normal(next);
  }
  const dir = mkdtempSync(join(tmpdir(), "sightline-bench-metrics-"));
  try {
    const arrays = { labels, probabilities, y, y_hat: yHat, baseline, current };
    for (const [name, array] of Object.entries(arrays)) writeFileSync(join(dir, `${name}.f64`), new Uint8Array(array.buffer));

    const ts = {
      binary: bestOf(repeat, () => {
        const m = binaryMetrics({ labels, probabilities, predicted: classify(probabilities, 0.5) });
        return {
          true_negatives: m.confusion.trueNegatives,
          false_positives: m.confusion.falsePositives,
          false_negatives: m.confusion.falseNegatives,
          true_positives: m.confusion.truePositives,
          accuracy: num(m.accuracy),
          precision: num(m.precision),
          recall: num(m.recall),
          f1: num(m.f1),
          roc_auc: num(m.rocAuc),
          average_precision: num(m.averagePrecision),
          log_loss: num(m.logLoss),
          brier_score: num(m.brierScore),
        };
      }),
      regression: bestOf(repeat, () => {
        const m = regressionMetrics(y, yHat);
        return { mae: num(m.meanAbsoluteError), mse: num(m.meanSquaredError), r2: num(m.r2), mape: num(m.meanAbsolutePercentageError) };
      }),
      drift: bestOf(repeat, () => {
        const d = numericDrift(numericBaseline(baseline), current);
        return { psi: num(d.psi), jensen_shannon: num(d.jensenShannon), wasserstein: num(d.wasserstein), ks_statistic: num(d.ksStatistic), ks_p_value: num(d.ksPValue) };
      }),
    };

    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(`${root}.venv-clients/bin/python`, ["bench/monitoring_metrics.py", "--dir", dir, "--repeat", String(repeat)], {
        cwd: root,
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      child.once("error", reject);
      child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`monitoring_metrics.py exited with ${code}`))));
    });
    const py = JSON.parse(output) as Record<"binary" | "regression" | "drift", { ms: number; values: Values }> & { versions: Record<string, string> };

    console.log(
      `# Pure metric functions: ${fmt(n)} values per array, best of ${repeat}; Python ${py.versions.python}, scikit-learn ${py.versions.sklearn}, ` +
        `SciPy ${py.versions.scipy}, NumPy ${py.versions.numpy}`,
    );
    const groups: [keyof typeof ts, string][] = [
      ["binary", "classify + binaryMetrics  vs  confusion_matrix, precision_recall_fscore_support, roc_auc_score, average_precision_score, log_loss, brier_score_loss"],
      ["regression", "regressionMetrics  vs  mean_absolute_error, mean_squared_error, r2_score, mean_absolute_percentage_error"],
      ["drift", "numericDrift(numericBaseline(b), c)  vs  np.quantile deciles + bins, PSI (NumPy), jensenshannon, wasserstein_distance, ks_2samp(asymp)"],
    ];
    const figures: GroupFigures[] = [];
    for (const [group, what] of groups) {
      let maxRelative = 0;
      let where = "";
      for (const [name, expected] of Object.entries(py[group].values)) {
        const actual = ts[group].values[name];
        if (actual === undefined) throw new Error(`${group}: TypeScript has no ${name}`);
        const relative = actual === expected ? 0 : Math.abs(actual - expected) / Math.max(Math.abs(expected), Number.MIN_VALUE);
        if (!(relative <= maxRelative)) {
          maxRelative = relative;
          where = `${name}: TS ${actual} vs Python ${expected}`;
        }
      }
      const f: GroupFigures = { group, what, tsMs: ts[group].ms, pyMs: py[group].ms, maxRelative, where };
      figures.push(f);
      console.log(`${group.padEnd(11)} TS ${fmt(f.tsMs, 1).padStart(8)} ms   Python ${fmt(f.pyMs, 1).padStart(8)} ms   TS/Python ${fmt(f.tsMs / f.pyMs, 2).padStart(5)}   max relative difference ${f.maxRelative.toExponential(1)}`);
      console.log(`            (${what})`);
      if (where !== "") console.log(`            largest difference: ${where}`);
    }
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ─── The service ────────────────────────────────────────────────────────────────────────────────────────────────

interface RunFigures {
  seconds: number;
  /** From the worker taking the job to its end, as BullMQ recorded it. */
  workerSeconds: number;
  hours: number;
  days: number;
  splits: number;
  recordsRead: number;
  full: boolean;
}

function runLine(r: RunFigures): string {
  return (
    `${fmt(r.seconds, 2).padStart(8)} s  (worker ${fmt(r.workerSeconds, 2)} s)  ${r.hours} hours, ${r.days} days, ${r.splits} splits, ` +
    `${fmt(r.recordsRead)} records read${r.full ? ", full" : ""}`
  );
}

function jobSeconds(job: Job | undefined): number {
  return job?.processedOn !== undefined && job.finishedOn !== undefined ? (job.finishedOn - job.processedOn) / 1000 : NaN;
}

function startWorker(server: BenchServer): Promise<ChildProcess> {
  const env = {
    ...process.env,
    ...ferretdbServerEnv,
    MONGODB_URL: server.services.mongodbUrl,
    REDIS_URL: server.services.redisUrl,
    MONGODB_DATABASE: server.database,
    SIGHTLINE_QUEUE_PREFIX: `{${server.database}}`,
    SIGHTLINE_LOG_LEVEL: "info",
    // Only on-demand refreshes while measuring: the schedulers' first runs happen at start, the next a day later.
    SIGHTLINE_MONITORING_INTERVAL_MS: String(86_400_000),
    SIGHTLINE_STATS_INTERVAL_MS: String(86_400_000),
  };
  const child = spawn(process.execPath, ["dist/server/src/worker.js"], { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (l) => {
      if (l.includes('"msg":"worker started"')) resolve(child);
      else if (/"level":"(warn|error)"/.test(l)) process.stderr.write(`worker: ${l}\n`);
    });
    child.once("exit", (code) => reject(new Error(`worker exited with ${code}`)));
  });
}

function peakRssMiB(child: ChildProcess): number {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
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

/** Waits until a queue has nothing waiting or running (delayed jobs are the schedulers' next runs, a day away). */
async function settle(queue: Queue, timeoutMs = 3_600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (quiet < 2) {
    const c = await queue.getJobCounts("active", "wait", "prioritized", "waiting-children");
    quiet = Object.values(c).every((v) => v === 0) ? quiet + 1 : 0;
    if (Date.now() > deadline) throw new Error(`queue ${queue.name} still busy after ${timeoutMs} ms: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function newestCompleted(queue: Queue, name: string): Promise<Job | undefined> {
  const jobs = await queue.getJobs(["completed"], 0, 20, false);
  return jobs.filter((j) => j.name === name).sort((a, b) => (b.finishedOn ?? 0) - (a.finishedOn ?? 0))[0];
}

function productionBatch(start: number, size: number, windowStart: number): BatchInput {
  const ids: string[] = [];
  const times: number[] = [];
  const income: number[] = [];
  const utilization: number[] = [];
  const region: string[] = [];
  const approved: boolean[] = [];
  const score: number[] = [];
  for (let i = start; i < start + size; i++) {
    const l = loan(i, 0, records);
    ids.push(recordId(i));
    times.push(windowStart + Math.floor(l.position * windowDays * dayMs));
    income.push(l.income);
    utilization.push(l.utilization);
    region.push(l.region);
    approved.push(l.approved);
    score.push(l.score);
  }
  return { recordIds: ids, eventTimes: times, columns: { income, utilization, region, approved }, predictions: { score } };
}

function baselineBatch(start: number, size: number): BatchInput {
  const rows = Array.from({ length: size }, (_, k) => loan(start + k, 1, baselineRows));
  return {
    recordIds: rows.map((_, k) => `b${String(start + k).padStart(6, "0")}`),
    columns: {
      income: rows.map((r) => r.income),
      utilization: rows.map((r) => r.utilization),
      region: rows.map((r) => r.region),
      approved: rows.map((r) => r.approved),
    },
    predictions: { score: rows.map((r) => r.score) },
  };
}

function* inBatches(indices: readonly number[], build: (part: number[]) => BatchInput): Generator<BatchInput> {
  for (let i = 0; i < indices.length; i += batchSize) yield build(indices.slice(i, i + batchSize));
}

async function uploadAll(client: SightlineClient, target: TargetInit, batches: Iterable<BatchInput>, expected: number): Promise<void> {
  const summary = await client.upload(target, batches);
  if (summary.rowErrors.length > 0) throw new Error(`upload refused rows: ${JSON.stringify(summary.rowErrors.slice(0, 3))}`);
  if (summary.rowsAccepted !== BigInt(expected)) throw new Error(`${summary.rowsAccepted} of ${expected} rows accepted`);
}

interface Replay {
  baselineMs: number;
  readMs: number;
  reportMs: number;
  records: number;
  hours: number;
  days: number;
  oneScanMs: number;
  oneScanRecords: number;
}

/**
 * What a full run does, without its writes: the same finds (hour by hour, the same projection and batch size) and
 * the same reports, read here with the driver and timed apart; then the production records again as one find.
 */
async function replayFullRun(store: Store): Promise<Replay> {
  const [collection, model] = await Promise.all([store.collections.findOne({ _id: docId(P, C) }), store.models.findOne({ _id: docId(P, C, M) })]);
  const plan = monitoringPlan(collection!, model!);
  const read = async (filter: Record<string, string>): Promise<BucketSample> => {
    const sample = new BucketSample(plan.spec.fields.length);
    for await (const doc of store.records.find(filter, { projection: plan.projection, batchSize: jobReadBatch })) sample.add(plan.readRow(doc));
    return sample;
  };
  const r: Replay = { baselineMs: 0, readMs: 0, reportMs: 0, records: 0, hours: 0, days: 0, oneScanMs: 0, oneScanRecords: 0 };

  let t = performance.now();
  const splitKey = targetKey(P, C, splitTarget("train"));
  const baselineSample = await read({ ct: splitKey });
  const baseline: Baseline = baselineOf(plan.spec, baselineSample);
  r.baselineMs = performance.now() - t;

  const productionKey = targetKey(P, C, productionTarget);
  const hours = (await findMarks(store, productionKey)).filter((m) => m.h !== null).map((m) => m.h!.getTime()).sort((a, b) => a - b);
  const byDay = new Map<number, number[]>();
  for (const h of hours) byDay.set(dayStart(h), [...(byDay.get(dayStart(h)) ?? []), h]);
  for (const dayHours of byDay.values()) {
    const daySample = new BucketSample(plan.spec.fields.length);
    for (const hour of dayHours) {
      t = performance.now();
      const sample = await read({ hb: hourBucketKey(productionKey, hour) });
      r.readMs += performance.now() - t;
      t = performance.now();
      bucketReport(plan.spec, sample, baseline);
      daySample.append(sample);
      r.reportMs += performance.now() - t;
      r.records += sample.size;
      r.hours++;
    }
    t = performance.now();
    bucketReport(plan.spec, daySample, baseline);
    r.reportMs += performance.now() - t;
    r.days++;
  }
  // The split's own result, as a full run computes it.
  t = performance.now();
  const splitSample = await read({ ct: splitKey });
  r.readMs += performance.now() - t;
  t = performance.now();
  bucketReport(plan.spec, splitSample, baseline);
  r.reportMs += performance.now() - t;
  r.records += splitSample.size;

  t = performance.now();
  const all = await read({ ct: productionKey });
  r.oneScanMs = performance.now() - t;
  r.oneScanRecords = all.size;
  return r;
}

/** Buckets the label times fall in: hours and days. */
function spanOf(times: number[]): { hours: number; days: number } {
  return { hours: new Set(times.map((t) => Math.floor(t / hourMs))).size, days: new Set(times.map(dayStart)).size };
}

async function serviceBenchmark(): Promise<string[]> {
  const summary: string[] = [];
  const server = await startBenchServer();
  const { services, database, adminKey } = server;
  const client = createSightlineClient({ url: `http://127.0.0.1:${server.port}`, apiKey: adminKey });
  const redis = new Redis(services.redisUrl, { maxRetriesPerRequest: null });
  const prefix = `{${database}}`;
  const monitoringQueue = new Queue(monitoringQueueName, { connection: redis, prefix });
  const statsQueue = new Queue(collectionStatsQueueName, { connection: redis, prefix });
  let store: Store | undefined;
  let worker: ChildProcess | undefined;
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: stopping the worker, the server and the services`);
    void Promise.all([stopChild(worker), stopChild(server.child)])
      .then(() => services.stop())
      .finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    store = await openStore(services.mongodbUrl, database);
    // Whole days: the window ends at this UTC midnight, so each of its 30 days is one full day bucket.
    const windowEnd = dayStart(Date.now());
    const windowStart = windowEnd - windowDays * dayMs;
    const eventTime = (i: number) => windowStart + Math.floor(loan(i, 0, records).position * windowDays * dayMs);
    console.log(
      `\n# Service: ${fmt(records)} production records over ${windowDays} days (${new Date(windowStart).toISOString().slice(0, 10)} to ` +
        `${new Date(windowEnd - 1).toISOString().slice(0, 10)}, UTC), 2 DOUBLE + 1 CATEGORICAL features, a BOOL label, a PROBITS model; ` +
        `baseline split of ${fmt(baselineRows)} rows; database ${database}`,
    );

    await client.admin.createProject({ project: { name: P } });
    await client.catalog.createDataCollection({
      collection: {
        project: P,
        name: C,
        schema: {
          recordIdColumn: "id",
          timestampColumn: "ts",
          fields: [
            { name: "income", kind: FieldKind.FEATURE, type: FieldType.DOUBLE },
            { name: "utilization", kind: FieldKind.FEATURE, type: FieldType.DOUBLE },
            { name: "region", kind: FieldKind.FEATURE, type: FieldType.CATEGORICAL, categories: regions },
            { name: "approved", kind: FieldKind.LABEL, type: FieldType.BOOL, nullable: true },
          ],
        },
      },
    });
    await client.catalog.createSplit({ split: { project: P, collection: C, name: "train", type: SplitType.TRAIN } });
    await client.catalog.setBaselineSplit({ project: P, collection: C, name: "train" });
    await client.catalog.createModel({
      model: {
        project: P,
        collection: C,
        name: M,
        scoreType: ScoreType.PROBITS,
        mode: ModelMode.DATA_ONLY,
        predictionFields: [{ name: "score", type: FieldType.DOUBLE }],
        labelField: "approved",
      },
    });
    await uploadAll(
      client,
      { project: P, collection: C, destination: { case: "split", value: "train" }, model: M },
      (function* () {
        for (let s = 0; s < baselineRows; s += batchSize) yield baselineBatch(s, Math.min(batchSize, baselineRows - s));
      })(),
      baselineRows,
    );

    // Features, labels and the model's predictions together, one Upload per chunk, in event-time order.
    const production: TargetInit = { project: P, collection: C, destination: { case: "production", value: true }, model: M };
    let started = performance.now();
    for (let chunk = 0; chunk < records; chunk += uploadChunk) {
      const end = Math.min(records, chunk + uploadChunk);
      await uploadAll(
        client,
        production,
        (function* () {
          for (let s = chunk; s < end; s += batchSize) yield productionBatch(s, Math.min(batchSize, end - s), windowStart);
        })(),
        end - chunk,
      );
      const seconds = (performance.now() - started) / 1000;
      if (end < records) console.log(`  loaded ${fmt(end)} of ${fmt(records)}  (${fmt(end / seconds)} records/s so far)`);
    }
    const loadSeconds = (performance.now() - started) / 1000;
    console.log(`load: Upload, batches of ${fmt(batchSize)}     ${fmt(records / loadSeconds).padStart(10)} records/s  (${fmt(loadSeconds, 1)} s, server peak RSS ${fmt(server.peakRssMiB())} MiB)`);
    summary.push(`load                      ${fmt(records / loadSeconds)} records/s (${fmt(loadSeconds, 1)} s for ${fmt(records)})`);

    // The worker starts now, so the load runs alone. Its schedulers run once at start: the model's first
    // (scheduled) monitoring run and the collection statistics sweep; both finish before anything is measured.
    started = performance.now();
    worker = await startWorker(server);
    await settle(statsQueue);
    await settle(monitoringQueue);
    const first = await newestCompleted(monitoringQueue, "scheduled");
    const firstResult = first?.returnvalue as RunFigures | undefined;
    console.log(
      `first scheduled run at worker start: ${fmt(jobSeconds(first), 2)} s, ${fmt(firstResult?.recordsRead ?? NaN)} records read, ` +
        `alongside the statistics sweep (${fmt(jobSeconds(await newestCompleted(statsQueue, "sweep")), 2)} s); all settled ${fmt((performance.now() - started) / 1000, 1)} s after start`,
    );

    const refresh = async (full: boolean): Promise<RunFigures> => {
      const t0 = performance.now();
      const { jobId } = await client.monitoring.refreshMonitoring({ project: P, collection: C, model: M, full });
      const last = await client.waitForJob(jobId);
      const seconds = (performance.now() - t0) / 1000;
      if (last.state !== JobState.COMPLETED) throw new Error(`refresh ${jobId} ended ${JobState[last.state]}: ${last.message}`);
      const job = await monitoringQueue.getJob(jobId.slice(jobId.indexOf(":") + 1));
      const r = last.result!;
      return { seconds, workerSeconds: jobSeconds(job), hours: Number(r.hours), days: Number(r.days), splits: Number(r.splits), recordsRead: Number(r.recordsRead), full: r.full };
    };

    // Full recompute, with the same records read directly as its baseline.
    const full = await refresh(true);
    const days = await client.monitoring.getMonitoring({ project: P, collection: C, model: M, granularity: Granularity.DAY, metrics: ["roc_auc"], fields: ["income"] });
    const counted = days.buckets.reduce((n, b) => n + Number(b.counts!.records), 0);
    const labelled = days.buckets.reduce((n, b) => n + Number(b.counts!.labelled), 0);
    if (counted !== records || labelled !== records) throw new Error(`day buckets hold ${counted} records, ${labelled} labelled; expected ${records}`);
    const replay = await replayFullRun(store);
    if (replay.records !== full.recordsRead) console.log(`  (the replay read ${fmt(replay.records)} records, the run ${fmt(full.recordsRead)})`);
    const directSeconds = (replay.readMs + replay.reportMs) / 1000;
    console.log(`\n# Full recompute (RefreshMonitoring full=true, then WatchJob to the end)`);
    console.log(`full refresh                 ${runLine(full)}`);
    console.log(`                             ${fmt(full.recordsRead / full.workerSeconds).padStart(8)} records/s in the worker, ${fmt((1000 * full.workerSeconds) / full.days)} ms per day bucket`);
    console.log(
      `direct reads, same finds     ${fmt(replay.readMs / 1000, 2).padStart(8)} s  (${replay.hours} hourly finds + the split, ${fmt(replay.records)} records, ` +
        `${fmt(replay.records / (replay.readMs / 1000))} records/s, ${fmt(replay.readMs / (replay.hours + 1), 1)} ms per find)`,
    );
    console.log(`reports of those samples     ${fmt(replay.reportMs / 1000, 2).padStart(8)} s  (bucketReport for ${replay.hours} hours, ${replay.days} days and the split, in this process)`);
    console.log(`one find over production     ${fmt(replay.oneScanMs / 1000, 2).padStart(8)} s  (${fmt(replay.oneScanRecords)} records, ${fmt(replay.oneScanRecords / (replay.oneScanMs / 1000))} records/s)`);
    console.log(`baseline read + summary      ${fmt(replay.baselineMs / 1000, 2).padStart(8)} s  (cached by the worker across runs)`);
    console.log(
      `ratio run/(reads+reports)    ${fmt(full.workerSeconds / directSeconds, 2).padStart(8)}  (the rest of the run: result writes, marks, progress; ` +
        `reads are ${pct(replay.readMs / 1000 / full.workerSeconds)} of the worker time)`,
    );
    const rest = full.workerSeconds - directSeconds;
    console.log(`  the rest, per result written ${fmt((1000 * rest) / (full.hours + full.days + full.splits), 1)} ms  (${full.hours + full.days + full.splits} result documents)`);
    summary.push(`full recompute            ${fmt(full.seconds, 2)} s (${fmt(full.recordsRead)} records read, ${full.hours} hours, ${full.days} days); direct reads alone ${fmt(replay.readMs / 1000, 2)} s, reports ${fmt(replay.reportMs / 1000, 2)} s`);

    // Incremental: 1 % of the labels change, first the most recent records, then records anywhere in the window.
    const k = Math.max(1, Math.round(records / 100));
    const incremental = async (title: string, indices: number[], round: number): Promise<{ upload: number; recount: number; run: RunFigures }> => {
      const times = indices.map(eventTime);
      const span = spanOf(times);
      console.log(`\n# Incremental: new labels for ${fmt(indices.length)} records (1 %), ${title}; they fall in ${span.hours} hours of ${span.days} days`);
      const statsBefore = (await newestCompleted(statsQueue, "collection"))?.id;
      const t0 = performance.now();
      await uploadAll(
        client,
        { project: P, collection: C, destination: { case: "production", value: true } },
        inBatches(indices, (part) => ({ recordIds: part.map(recordId), columns: { approved: part.map((i) => newLabel(i, round)) } })),
        indices.length,
      );
      const upload = (performance.now() - t0) / 1000;
      // Every Upload queues a recount of the whole collection; let it finish so the refresh is timed alone.
      await settle(statsQueue);
      const recountJob = await newestCompleted(statsQueue, "collection");
      const recount = recountJob !== undefined && recountJob.id !== statsBefore ? jobSeconds(recountJob) : NaN;
      const run = await refresh(false);
      console.log(`label upload                 ${fmt(upload, 2).padStart(8)} s  (${fmt(indices.length / upload)} labels/s, updates of existing records)`);
      console.log(`collection recount it queued ${fmt(recount, 2).padStart(8)} s  (worker; waited for before the refresh)`);
      console.log(`incremental refresh          ${runLine(run)}`);
      console.log(
        `ratio incremental/full       ${pct(run.seconds / full.seconds).padStart(8)} of the time, ${pct(run.recordsRead / full.recordsRead)} of the records read` +
          (round === 1 ? "  (target <= 5 %)" : ""),
      );
      return { upload, recount, run };
    };
    const recent = Array.from({ length: k }, (_, i) => records - k + i);
    const a = await incremental("the most recent by event time, as labels usually arrive", recent, 1);
    const pick = rng(7);
    const chosen = new Set<number>();
    while (chosen.size < k) chosen.add(Math.floor(pick() * records));
    const spread = [...chosen].sort((x, y) => x - y);
    const b = await incremental("chosen uniformly at random over the 30 days (adversarial)", spread, 2);
    console.log(
      "  Expected: exact metrics recompute every hour a label touched and every day holding one (a day's AUC or KS cannot\n" +
        "  be updated from its hours), so labels spread over every day cost about a full recompute.",
    );
    summary.push(
      `incremental, recent 1 %   ${fmt(a.run.seconds, 2)} s = ${pct(a.run.seconds / full.seconds)} of full (${pct(a.run.recordsRead / full.recordsRead)} of records read; ` +
        `${a.run.hours} hours, ${a.run.days} days); label upload ${fmt(a.upload, 2)} s, recount ${fmt(a.recount, 2)} s`,
    );
    summary.push(
      `incremental, random 1 %   ${fmt(b.run.seconds, 2)} s = ${pct(b.run.seconds / full.seconds)} of full (${pct(b.run.recordsRead / full.recordsRead)} of records read; ` +
        `${b.run.hours} hours, ${b.run.days} days) — adversarial: every day is dirty; label upload ${fmt(b.upload, 2)} s`,
    );
    summary.push(`peak RSS                  server ${fmt(server.peakRssMiB())} MiB, worker ${fmt(peakRssMiB(worker))} MiB`);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await stopChild(worker);
    await stopChild(server.child);
    await store?.db.dropDatabase().catch(() => undefined);
    await store?.close();
    await monitoringQueue.obliterate({ force: true }).catch(() => undefined);
    await statsQueue.obliterate({ force: true }).catch(() => undefined);
    await monitoringQueue.close();
    await statsQueue.close();
    redis.disconnect();
    await services.stop();
  }
  return summary;
}

// ─── Main ───────────────────────────────────────────────────────────────────────────────────────────────────────

const summary: string[] = [];
if (!args["skip-metrics"]) {
  const figures = await metricsAgainstPython();
  for (const f of figures) {
    summary.push(`${`${f.group} metrics`.padEnd(26)}TS ${fmt(f.tsMs, 1)} ms, Python ${fmt(f.pyMs, 1)} ms, TS/Python ${fmt(f.tsMs / f.pyMs, 2)}, max rel. diff ${f.maxRelative.toExponential(1)}`);
  }
}
if (!args["skip-server"]) summary.push(...(await serviceBenchmark()));
console.log(`\n# Summary\n${summary.join("\n")}`);

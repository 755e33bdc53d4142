import { Worker } from "bullmq";
import { loadConfigOrExit } from "./config.js";
import { collectionStatsProcessor } from "./jobs/collection-stats.js";
import { computeChunkProcessor } from "./jobs/compute-chunk.js";
import { computePlanProcessor } from "./jobs/compute-plan.js";
import { monitoringProcessor } from "./jobs/monitoring.js";
import { reconcileMonitoringSchedulers, reconcilePeriodMs } from "./jobs/monitoring-schedulers.js";
import { allCollectionsSchedulerId, collectionStatsQueueName, computeChunkQueueName, computeQueueName, createQueues, monitoringQueueName } from "./jobs/queues.js";
import { connectRedis } from "./jobs/redis.js";
import { createLogger } from "./log.js";
import { onTermination } from "./shutdown.js";
import { openStore } from "./store/db.js";
import { jobMetrics } from "./telemetry/jobs.js";
import { commandObserver, startMetricsPort } from "./telemetry/process.js";
import { createRegistry } from "./telemetry/registry.js";

const config = loadConfigOrExit("worker");
const log = createLogger(config.logLevel, { service: "sightline-worker", pid: process.pid });
// Workers serve their own metrics (SIGHTLINE_WORKER_METRICS_PORT): job timings exist only in the process that ran them.
const registry = createRegistry();
const store = await openStore(config.mongodbUrl, config.mongodbDatabase, commandObserver(config.metrics, registry), log);
const connection = connectRedis(config.redisUrl, "worker");
connection.on("error", (err: Error) => log.debug("redis connection error", { error: err }));

// Every worker upserts the same schedulers: the calls are idempotent, so N workers still give one schedule each.
const queues = createQueues(connection, config.queuePrefix, config.monitoring.intervalMs, log);
await queues.collectionStats.upsertJobScheduler(
  allCollectionsSchedulerId,
  { every: config.statsIntervalMs },
  { name: "sweep", data: { project: "", collection: "" }, opts: { removeOnComplete: 10, removeOnFail: 100 } },
);

const workers = [
  new Worker(collectionStatsQueueName, collectionStatsProcessor(store, log), { connection, prefix: config.queuePrefix, concurrency: 2 }),
  new Worker(monitoringQueueName, monitoringProcessor(
      store,
      connection,
      { queuePrefix: config.queuePrefix, leaseMs: config.monitoring.lockMs, writeChunkRows: config.ingest.writeChunkRows },
      log,
    ), {
    connection,
    prefix: config.queuePrefix,
    concurrency: config.monitoring.concurrency,
    lockDuration: config.monitoring.lockMs,
    stalledInterval: config.monitoring.lockMs,
  }),
  // Planners only list IDs and wait, so a few run at once; chunks are the CPU-bound part and scale by processes.
  new Worker(computeQueueName, computePlanProcessor(store, queues.computeChunks, config.compute.chunkRecords), { connection, prefix: config.queuePrefix, concurrency: 4 }),
  new Worker(computeChunkQueueName, computeChunkProcessor(store, { ingest: config.ingest, compute: config.compute }, log), {
    connection,
    prefix: config.queuePrefix,
    concurrency: config.compute.concurrency,
    lockDuration: config.monitoring.lockMs,
    stalledInterval: config.monitoring.lockMs,
  }),
];
const observeJobs = jobMetrics(registry);
for (const worker of workers) {
  observeJobs(worker);
  worker.on("failed", (job, err) => log.warn("job failed", { queue: worker.name, job: job?.id, error: err }));
  worker.on("error", (err) => log.debug("worker error", { queue: worker.name, error: err }));
}

let reconciling: Promise<void> | undefined;
const reconcile = () =>
  (reconciling ??= reconcileMonitoringSchedulers(store, queues)
    .catch((err: unknown) => log.warn("could not reconcile monitoring schedulers", { error: err }))
    .finally(() => (reconciling = undefined)));
await reconcile();
const reconcileTimer = setInterval(reconcile, reconcilePeriodMs(config.monitoring.intervalMs));
const metricsListener = await startMetricsPort(config.metrics, config.host, registry, log);
log.info("worker started", { queues: workers.map((w) => w.name) });

onTermination(log, async () => {
  clearInterval(reconcileTimer);
  await Promise.all(workers.map((w) => w.close()));
  await queues.close();
  connection.disconnect();
  await store.close();
  await metricsListener?.close();
});

import { Worker } from "bullmq";
import { loadConfigOrExit } from "./config.js";
import { collectionStatsProcessor } from "./jobs/collection-stats.js";
import { allCollectionsSchedulerId, collectionStatsQueueName, createQueues } from "./jobs/queues.js";
import { connectRedis } from "./jobs/redis.js";
import { createLogger } from "./log.js";
import { onTermination } from "./shutdown.js";
import { openStore } from "./store/db.js";

const config = loadConfigOrExit("worker");
const log = createLogger(config.logLevel, { service: "sightline-worker", pid: process.pid });
const store = await openStore(config.mongodbUrl, config.mongodbDatabase);
const connection = connectRedis(config.redisUrl, "worker");
connection.on("error", (err: Error) => log.debug("redis connection error", { error: err }));

// Every worker upserts the same scheduler: the call is idempotent, so N workers still give one schedule.
const queues = createQueues(connection, config.queuePrefix, log);
await queues.collectionStats.upsertJobScheduler(
  allCollectionsSchedulerId,
  { every: config.statsIntervalMs },
  { name: "sweep", data: { project: "", collection: "" }, opts: { removeOnComplete: 10, removeOnFail: 100 } },
);

const worker = new Worker(collectionStatsQueueName, collectionStatsProcessor(store, log), {
  connection,
  prefix: config.queuePrefix,
  concurrency: 2,
});
worker.on("failed", (job, err) => log.warn("job failed", { queue: collectionStatsQueueName, job: job?.id, error: err }));
worker.on("error", (err) => log.debug("worker error", { error: err }));
log.info("worker started", { queues: [collectionStatsQueueName] });

onTermination(log, async () => {
  await worker.close();
  await queues.close();
  connection.disconnect();
  await store.client.close();
});

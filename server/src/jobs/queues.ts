// Queue names and the producer side of every job. The prefix carries a Redis Cluster hash tag, so all of a queue's
// keys share one slot.
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "../log.js";
import type { ComputeChunkData, ComputeChunkResult, ComputeJobData, ComputeRunResult } from "./compute-spec.js";
import type { MonitoringJobData, MonitoringRunResult } from "./monitoring-run.js";

export const collectionStatsQueueName = "collection-stats";
export const allCollectionsSchedulerId = "all-collections";
export const monitoringQueueName = "monitoring";
/** ComputePredictions and ComputeInfluences requests: one planner job each, whose children are its chunks. */
export const computeQueueName = "compute";
export const computeChunkQueueName = "compute-chunk";
/** Scheduler IDs of the monitoring queue: one per model, named by its document ID. */
export const modelSchedulerPrefix = "model:";

/** Every job a request or a scheduler queues: retried with backoff, kept a day when done and a week when failed. */
export const jobOptions = {
  attempts: 5,
  backoff: { type: "exponential", delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

export interface CollectionStatsJob {
  /** Empty for the scheduled sweep over every collection. */
  project: string;
  collection: string;
}

export interface Queues {
  collectionStats: Queue<CollectionStatsJob>;
  monitoring: Queue<MonitoringJobData, MonitoringRunResult>;
  compute: Queue<ComputeJobData, ComputeRunResult>;
  computeChunks: Queue<ComputeChunkData, ComputeChunkResult>;
  /** Queues a ComputePredictions or ComputeInfluences request; returns the planner's BullMQ job ID. */
  requestCompute(data: ComputeJobData): Promise<string>;
  /** Queues one chunk on its own, with no planner: influences for records as they are ingested. */
  requestComputeChunk(data: ComputeChunkData): Promise<string>;
  /** Queues a run of one model's monitoring now; returns the BullMQ job ID. */
  requestMonitoring(data: MonitoringJobData): Promise<string>;
  /** Creates or updates the model's periodic run; only workers call it, since the period is theirs to configure. */
  scheduleMonitoring(project: string, collection: string, model: string): Promise<void>;
  /** Best effort: the scheduled sweep recounts everything anyway, so a Redis outage must not fail the caller. */
  requestCollectionStats(project: string, collection: string): Promise<void>;
  close(): Promise<void>;
}

export function createQueues(connection: Redis, prefix: string, monitoringIntervalMs: number, log: Logger): Queues {
  const collectionStats = new Queue<CollectionStatsJob>(collectionStatsQueueName, { connection, prefix });
  const monitoring = new Queue<MonitoringJobData, MonitoringRunResult>(monitoringQueueName, { connection, prefix });
  const compute = new Queue<ComputeJobData, ComputeRunResult>(computeQueueName, { connection, prefix });
  const computeChunks = new Queue<ComputeChunkData, ComputeChunkResult>(computeChunkQueueName, { connection, prefix });
  return {
    collectionStats,
    monitoring,
    compute,
    computeChunks,
    async requestCompute(data) {
      const job = await compute.add(data.kind, data, jobOptions);
      return job.id!;
    },
    async requestComputeChunk(data) {
      const job = await computeChunks.add(data.kind, data, jobOptions);
      return job.id!;
    },
    async requestMonitoring(data) {
      const job = await monitoring.add("refresh", data, jobOptions);
      return job.id!;
    },
    async scheduleMonitoring(project, collection, model) {
      await monitoring.upsertJobScheduler(
        `${modelSchedulerPrefix}${project}/${collection}/${model}`,
        { every: monitoringIntervalMs },
        { name: "scheduled", data: { project, collection, model, full: false }, opts: jobOptions },
      );
    },
    async requestCollectionStats(project, collection) {
      try {
        await collectionStats.add(
          "collection",
          { project, collection },
          {
            // A change made while a count runs must not be lost: keep one more count queued behind the active one.
            deduplication: { id: `${project}/${collection}`, keepLastIfActive: true },
            removeOnComplete: 100,
            removeOnFail: 1000,
            attempts: 3,
            backoff: { type: "exponential", delay: 500 },
          },
        );
      } catch (err) {
        log.warn("could not enqueue collection statistics", { project, collection, error: err });
      }
    },
    async close() {
      await collectionStats.close();
      await monitoring.close();
      await compute.close();
      await computeChunks.close();
    },
  };
}

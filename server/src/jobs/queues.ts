// Queue names and the producer side of every job. The prefix carries a Redis Cluster hash tag, so all of a queue's
// keys share one slot.
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "../log.js";
import type { MonitoringJobData, MonitoringRunResult } from "./monitoring-run.js";

export const collectionStatsQueueName = "collection-stats";
export const allCollectionsSchedulerId = "all-collections";
export const monitoringQueueName = "monitoring";
/** Scheduler IDs of the monitoring queue: one per model, named by its document ID. */
export const modelSchedulerPrefix = "model:";

const monitoringJobOptions = {
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
  return {
    collectionStats,
    monitoring,
    async requestMonitoring(data) {
      const job = await monitoring.add("refresh", data, monitoringJobOptions);
      return job.id!;
    },
    async scheduleMonitoring(project, collection, model) {
      await monitoring.upsertJobScheduler(
        `${modelSchedulerPrefix}${project}/${collection}/${model}`,
        { every: monitoringIntervalMs },
        { name: "scheduled", data: { project, collection, model, full: false }, opts: monitoringJobOptions },
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
    },
  };
}

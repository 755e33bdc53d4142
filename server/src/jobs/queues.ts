// Queue names and the producer side of every job. The prefix carries a Redis Cluster hash tag, so all of a queue's
// keys share one slot.
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "../log.js";

export const collectionStatsQueueName = "collection-stats";
export const allCollectionsSchedulerId = "all-collections";

export interface CollectionStatsJob {
  /** Empty for the scheduled sweep over every collection. */
  project: string;
  collection: string;
}

export interface Queues {
  collectionStats: Queue<CollectionStatsJob>;
  /** Best effort: the scheduled sweep recounts everything anyway, so a Redis outage must not fail the caller. */
  requestCollectionStats(project: string, collection: string): Promise<void>;
  close(): Promise<void>;
}

export function createQueues(connection: Redis, prefix: string, log: Logger): Queues {
  const collectionStats = new Queue<CollectionStatsJob>(collectionStatsQueueName, { connection, prefix });
  return {
    collectionStats,
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
    },
  };
}

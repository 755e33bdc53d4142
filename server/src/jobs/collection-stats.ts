import type { Job } from "bullmq";
import type { Logger } from "../log.js";
import { computeCollectionStats } from "../store/collection-stats.js";
import type { Store } from "../store/db.js";
import type { CollectionStatsJob } from "./queues.js";

export interface CollectionStatsResult {
  collections: number;
}

/** Recounts one collection, or every collection for the scheduled sweep, reporting progress as it goes. */
export function collectionStatsProcessor(store: Store, log: Logger) {
  return async (job: Job<CollectionStatsJob>): Promise<CollectionStatsResult> => {
    if (job.data.project !== "") {
      await computeCollectionStats(store, job.data.project, job.data.collection);
      return { collections: 1 };
    }
    const total = await store.collections.countDocuments({});
    let done = 0;
    for await (const c of store.collections.find({}, { projection: { project: 1, name: 1 } })) {
      await computeCollectionStats(store, c.project, c.name);
      done += 1;
      await job.updateProgress(total === 0 ? 100 : Math.min(100, Math.round((100 * done) / total)));
    }
    log.debug("collection statistics sweep done", { collections: done });
    return { collections: done };
  };
}

// The monitoring job handler: take the model's lease, run, report progress. A job whose model is busy is put back
// as delayed (without spending an attempt) and runs after the current run; delivery is at least once, and a run is
// idempotent, so a retried or duplicated job only recomputes what is still dirty.
import { DelayedError, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "../log.js";
import type { Store } from "../store/db.js";
import { acquireLease } from "./model-lock.js";
import { runMonitoring, type MonitoringJobData, type MonitoringRunResult } from "./monitoring-run.js";

const busyRetryMs = 1000;

export interface JobProgress {
  percent: number;
  message: string;
}

export interface MonitoringWorkerOptions {
  queuePrefix: string;
  /** How long a model's lease lives unrenewed. */
  leaseMs: number;
  writeChunkRows: number;
}

export function monitoringProcessor(store: Store, redis: Redis, options: MonitoringWorkerOptions, log: Logger) {
  const { queuePrefix: prefix, leaseMs, writeChunkRows } = options;
  return async (job: Job<MonitoringJobData>, token?: string): Promise<MonitoringRunResult> => {
    const { project, collection, model } = job.data;
    const lease = await acquireLease(redis, `${prefix}:lease:monitoring:${project}/${collection}/${model}`, leaseMs);
    if (lease === undefined) {
      await job.updateProgress({ percent: 0, message: "waiting for the model's current run" } satisfies JobProgress);
      await job.moveToDelayed(Date.now() + busyRetryMs, token);
      throw new DelayedError();
    }
    try {
      const started = performance.now();
      const startedAt = Date.now();
      const result = await runMonitoring(store, job.data, async (percent, message) => {
        if (!lease.held()) throw new Error("lost the model's lease; the run will be retried");
        await job.updateProgress({ percent, message } satisfies JobProgress);
      }, writeChunkRows);
      log.debug("monitoring run done", { project, collection, model, job: job.id, ...result, startedAt, finishedAt: Date.now(), ms: Math.round(performance.now() - started) });
      return result;
    } finally {
      await lease.release();
    }
  };
}

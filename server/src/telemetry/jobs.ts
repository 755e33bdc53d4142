// Job durations and failures, measured where jobs run: in each worker process, which serves its own /metrics.
import { Counter, Histogram, type Registry } from "prom-client";

/** From a statistics recount (sub-second) to a full monitoring run or influence chunk (many minutes). */
const durationBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800, 3600];

/** BullMQ's timestamps of one attempt at a job, in epoch milliseconds. */
interface AttemptTimes {
  processedOn?: number | undefined;
  finishedOn?: number | undefined;
}

/** The events read of a BullMQ Worker; any Worker has them, whatever its job's data. */
export interface ObservableWorker {
  readonly name: string;
  on(event: "completed", listener: (job: AttemptTimes) => void): unknown;
  on(event: "failed", listener: (job: AttemptTimes | undefined) => void): unknown;
}

export type JobObserver = (worker: ObservableWorker) => void;

/**
 * Returns what to call on each Worker. A failure counts every failed attempt; `final` says whether BullMQ gave up
 * on the job (no attempts left, or an unrecoverable error) or will retry it. Durations use BullMQ's own timestamps
 * of the attempt, so they include the time to move the job between states in Redis.
 */
export function jobMetrics(registry: Registry): JobObserver {
  const registers = [registry];
  const duration = new Histogram({
    name: "sightline_job_duration_seconds",
    help: "Time one attempt at a job ran, from when a worker took it until it completed or failed.",
    labelNames: ["queue", "outcome"],
    buckets: durationBuckets,
    registers,
  });
  const failures = new Counter({
    name: "sightline_job_failures_total",
    help: "Failed job attempts; final=\"true\" when the job will not be retried.",
    labelNames: ["queue", "final"],
    registers,
  });
  const observe = (queue: string, outcome: "completed" | "failed", job: AttemptTimes) => {
    if (!job.processedOn) return;
    // finishedOn is set only when a job leaves for good; a failed attempt that will be retried has none.
    const end = job.finishedOn ?? Date.now();
    duration.observe({ queue, outcome }, Math.max(0, end - job.processedOn) / 1000);
  };
  return (worker) => {
    for (const outcome of ["completed", "failed"] as const) duration.zero({ queue: worker.name, outcome });
    for (const final of ["true", "false"]) failures.inc({ queue: worker.name, final }, 0);
    worker.on("completed", (job) => observe(worker.name, "completed", job));
    worker.on("failed", (job) => {
      // Without a job, BullMQ is reporting one that exceeded the stalled limit: that failure is final.
      failures.inc({ queue: worker.name, final: job === undefined || (job.finishedOn ?? 0) > 0 ? "true" : "false" });
      if (job !== undefined) observe(worker.name, "failed", job);
    });
  };
}

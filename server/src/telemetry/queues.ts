// BullMQ queue depths, read from Redis when Prometheus scrapes, never from a cache that could be stale.
import type { JobType } from "bullmq";
import { Gauge, type Registry } from "prom-client";

/** The one thing read of a BullMQ Queue; any Queue has it. */
export interface CountableQueue {
  readonly name: string;
  getJobCounts(...types: JobType[]): Promise<Record<string, number>>;
}

export const queueStates = ["waiting", "active", "delayed", "prioritized", "waiting-children", "failed"] as const satisfies readonly JobType[];

/** Well inside Prometheus's default 10 s scrape timeout, so a hung Redis costs the depths, not the whole scrape. */
export const queueReadTimeoutMs = 2000;

type Depths = Map<string, Record<string, number>>;

/**
 * Reads every queue's counts at most once per scrape, and never more than one read at a time: while Redis hangs,
 * scrapes keep timing out on the same read instead of piling commands onto the connection.
 */
class DepthReader {
  private inFlight: Promise<Depths> | undefined;
  private scrape: Promise<Depths | undefined> | undefined;

  constructor(
    private readonly queues: readonly CountableQueue[],
    private readonly timeoutMs: number,
  ) {}

  /** The counts, or undefined when Redis failed or did not answer within the timeout. */
  read(): Promise<Depths | undefined> {
    // Both gauges collect in the same scrape; sharing one result keeps them consistent with each other.
    this.scrape ??= this.readWithTimeout().finally(() => (this.scrape = undefined));
    return this.scrape;
  }

  private async readWithTimeout(): Promise<Depths | undefined> {
    this.inFlight ??= this.readAll().finally(() => (this.inFlight = undefined));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), this.timeoutMs);
    });
    try {
      return await Promise.race([this.inFlight, expired]);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private async readAll(): Promise<Depths> {
    const counts = await Promise.all(this.queues.map((q) => q.getJobCounts(...queueStates)));
    return new Map(this.queues.map((q, i) => [q.name, counts[i]!]));
  }
}

/**
 * `sightline_queue_jobs{queue,state}` and `sightline_queue_up`. When Redis does not answer within `timeoutMs` the
 * depths are left out of that scrape (an absent series, not a stale number) and `sightline_queue_up` is 0.
 */
export function registerQueueDepths(registry: Registry, queues: readonly CountableQueue[], timeoutMs: number): void {
  const reader = new DepthReader(queues, timeoutMs);
  const jobs: Gauge<"queue" | "state"> = new Gauge({
    name: "sightline_queue_jobs",
    help: "Jobs in each BullMQ queue by state, read from Redis at scrape time. Every server replica reports the same queues: aggregate with max, not sum.",
    labelNames: ["queue", "state"],
    registers: [registry],
    async collect() {
      const depths = await reader.read();
      jobs.reset();
      if (depths === undefined) return;
      for (const [queue, counts] of depths) for (const state of queueStates) jobs.set({ queue, state }, counts[state] ?? 0);
    },
  });
  const up: Gauge = new Gauge({
    name: "sightline_queue_up",
    help: `1 when this scrape read the queue depths from Redis, 0 when Redis failed or took over ${timeoutMs} ms.`,
    registers: [registry],
    async collect() {
      up.set((await reader.read()) === undefined ? 0 : 1);
    },
  });
}

/**
 * Periodically probes the service's dependencies (database, cache, ...) and
 * keeps a single "can we serve?" verdict that the gRPC health service and
 * shutdown logic read. Deliberately free of gRPC imports so it can be reused
 * by HTTP readiness endpoints and tested in isolation.
 */

/**
 * A dependency check. Resolves when the dependency is usable, rejects (or
 * throws) when it is not. The signal fires when the probe has timed out, so
 * probes that support cancellation can stop early; ignoring it is fine.
 */
export type Probe = (signal: AbortSignal) => Promise<void>;

export interface HealthStatus {
  /** True only if every probe passed in the last completed round and we are not shutting down. */
  readonly serving: boolean;
  /** Names of probes that failed (or timed out) in the last completed round, sorted. */
  readonly failing: readonly string[];
  readonly shuttingDown: boolean;
}

export type HealthListener = (status: HealthStatus) => void;

export interface HealthMonitorOptions {
  probes: Record<string, Probe>;
  /** Pause between the end of one round and the start of the next. */
  intervalMs: number;
  /** Upper bound for a single probe call. Defaults to min(intervalMs, 5000). */
  probeTimeoutMs?: number;
  /** Called for each failing probe, e.g. to log why we went NOT_SERVING. */
  onProbeFailure?: (name: string, error: unknown) => void;
}

class ProbeTimeoutError extends Error {
  constructor(name: string, timeoutMs: number) {
    super(`health probe "${name}" timed out after ${timeoutMs}ms`);
    this.name = "ProbeTimeoutError";
  }
}

export class HealthMonitor {
  private readonly probes: ReadonlyArray<readonly [string, Probe]>;
  private readonly intervalMs: number;
  private readonly probeTimeoutMs: number;
  private readonly onProbeFailure: ((name: string, error: unknown) => void) | undefined;
  private readonly listeners = new Set<HealthListener>();

  // Until the first round completes we do not know anything, so we must not
  // claim to be serving: load balancers would route traffic too early.
  private status: HealthStatus = { serving: false, failing: [], shuttingDown: false };
  private running = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: Promise<HealthStatus> | undefined;

  constructor(options: HealthMonitorOptions) {
    if (!(options.intervalMs > 0)) {
      throw new RangeError("intervalMs must be a positive number");
    }
    this.probes = Object.entries(options.probes);
    this.intervalMs = options.intervalMs;
    this.probeTimeoutMs = options.probeTimeoutMs ?? Math.min(options.intervalMs, 5000);
    if (!(this.probeTimeoutMs > 0)) {
      throw new RangeError("probeTimeoutMs must be a positive number");
    }
    this.onProbeFailure = options.onProbeFailure;
  }

  /** Starts probing; the first round runs immediately. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  /** Stops scheduling rounds. A round already in flight still completes and publishes. */
  stop(): void {
    this.running = false;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  isServing(): boolean {
    return this.status.serving;
  }

  current(): HealthStatus {
    return this.status;
  }

  /**
   * Runs a probe round now, or joins the one in flight, so rounds never
   * overlap. Useful to wait for a first verdict before accepting traffic.
   */
  checkNow(): Promise<HealthStatus> {
    this.inFlight ??= this.runRound().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * Subscribes to status changes (serving flag or set of failing probes).
   * Returns the unsubscribe function; callers must call it to avoid leaks.
   */
  onChange(listener: HealthListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Irreversibly reports NOT_SERVING, so that load balancers drain us during
   * graceful shutdown even though our dependencies are still healthy.
   */
  setShuttingDown(): void {
    if (this.status.shuttingDown) return;
    this.publish({ serving: false, failing: this.status.failing, shuttingDown: true });
  }

  private async loop(): Promise<void> {
    if (!this.running) return;
    await this.checkNow();
    // Scheduling after completion (not setInterval) is what keeps a slow
    // round from overlapping the next one.
    if (!this.running || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.loop();
    }, this.intervalMs);
    // A health timer alone must not keep the process alive during shutdown.
    unrefTimer(this.timer);
  }

  private async runRound(): Promise<HealthStatus> {
    const results = await Promise.all(
      this.probes.map(async ([name, probe]) => {
        try {
          await this.runProbe(name, probe);
          return undefined;
        } catch (error) {
          this.reportFailure(name, error);
          return name;
        }
      }),
    );
    const failing = results.filter((n): n is string => n !== undefined).sort();
    const shuttingDown = this.status.shuttingDown;
    this.publish({ serving: failing.length === 0 && !shuttingDown, failing, shuttingDown });
    return this.status;
  }

  private async runProbe(name: string, probe: Probe): Promise<void> {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new ProbeTimeoutError(name, this.probeTimeoutMs);
        controller.abort(error);
        reject(error);
      }, this.probeTimeoutMs);
    });
    try {
      // Promise.resolve().then() turns a synchronous throw into a rejection.
      await Promise.race([Promise.resolve().then(() => probe(controller.signal)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private reportFailure(name: string, error: unknown): void {
    try {
      this.onProbeFailure?.(name, error);
    } catch {
      // A broken logger must not turn into a broken health verdict.
    }
  }

  private publish(next: HealthStatus): void {
    const prev = this.status;
    this.status = next;
    const changed =
      prev.serving !== next.serving ||
      prev.shuttingDown !== next.shuttingDown ||
      prev.failing.length !== next.failing.length ||
      prev.failing.some((name, i) => name !== next.failing[i]);
    if (!changed) return;
    // Snapshot so listeners may unsubscribe while being notified.
    for (const listener of [...this.listeners]) {
      try {
        listener(next);
      } catch {
        // One faulty subscriber must not prevent others from hearing about it.
      }
    }
  }
}

// Typed structurally so this module does not depend on Node's timer typings.
function unrefTimer(timer: unknown): void {
  if (typeof timer === "object" && timer !== null && "unref" in timer && typeof timer.unref === "function") {
    timer.unref();
  }
}

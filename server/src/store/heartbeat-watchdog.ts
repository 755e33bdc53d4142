// Notices a MongoDB server monitor whose check never ends, so openStore can replace the client (docs/reliability.md).
//
// The driver (mongodb 7.9) checks each server from one monitor loop, and starts the next check only when the current
// one has ended. A check can fail to end: when it sends its `hello` on the monitor's idle connection in the moment
// after the server closed that connection (Node has destroyed the socket but not yet emitted its 'close'), the write
// goes nowhere and Connection.writeCommand waits for a 'drain' that never comes; the socket timeout and the
// connection's error path are already spent. The monitor then never checks again, the server stays Unknown, the pool
// stays paused, and every operation fails server selection for as long as the process lives. The driver's only way
// out, Monitor.reset(), needs a topologyVersion, which FerretDB never sends (it is also why the driver polls FerretDB
// with a hello on an idle connection instead of streaming). The heartbeat events are public: a check that outlives
// every timeout the driver applies to it is such a check.
import type {
  MongoClient,
  ServerClosedEvent,
  ServerHeartbeatFailedEvent,
  ServerHeartbeatStartedEvent,
  ServerHeartbeatSucceededEvent,
} from "mongodb";

export interface HeartbeatBounds {
  /** The client's connectTimeoutMS: bounds the TCP connect of a check, and its reply (the driver uses it as socket timeout). */
  connectTimeoutMS: number;
  /** The client's heartbeatFrequencyMS: how long an awaited (streaming) hello may be held by the server. */
  heartbeatFrequencyMS: number;
  /** Margin for a busy event loop. */
  slackMs: number;
}

/**
 * The longest a check that still works can take. A polling check connects (connectTimeoutMS) and then waits for its
 * reply (connectTimeoutMS again); an awaited one is held by the server up to heartbeatFrequencyMS on top.
 */
export function heartbeatLimitMs(bounds: HeartbeatBounds, awaited: boolean): number {
  return (awaited ? bounds.connectTimeoutMS + bounds.heartbeatFrequencyMS : 2 * bounds.connectTimeoutMS) + bounds.slackMs;
}

export interface StuckHeartbeat {
  address: string;
  awaited: boolean;
  outstandingMs: number;
  limitMs: number;
}

/** The subset of MongoClient the tracker listens on, so tests can drive it with a plain EventEmitter. */
export type HeartbeatSource = Pick<MongoClient, "on" | "off">;

const now = () => performance.now();

/** The checks in progress on one client, by server address. Attach it before connecting so it sees every check. */
export class HeartbeatTracker {
  private readonly pending = new Map<string, { since: number; awaited: boolean }>();
  private readonly detachers: (() => void)[] = [];
  private closed = false;

  constructor(
    client: HeartbeatSource,
    private readonly clock: () => number = now,
  ) {
    const on = <E extends Parameters<HeartbeatSource["on"]>[0]>(event: E, listener: (e: never) => void) => {
      (client.on as (e: E, l: (e: never) => void) => void)(event, listener);
      this.detachers.push(() => (client.off as (e: E, l: (e: never) => void) => void)(event, listener));
    };
    on("serverHeartbeatStarted", (e: ServerHeartbeatStartedEvent) => {
      if (!this.closed) this.pending.set(e.connectionId, { since: this.clock(), awaited: e.awaited });
    });
    on("serverHeartbeatSucceeded", (e: ServerHeartbeatSucceededEvent) => this.pending.delete(e.connectionId));
    on("serverHeartbeatFailed", (e: ServerHeartbeatFailedEvent) => this.pending.delete(e.connectionId));
    on("serverClosed", (e: ServerClosedEvent) => this.pending.delete(e.address));
    // A client closed by its owner has nothing to recover.
    on("topologyClosed", () => {
      this.closed = true;
      this.pending.clear();
    });
  }

  /** The check that has been running longest past its bound, if any. */
  stuck(bounds: HeartbeatBounds): StuckHeartbeat | undefined {
    let worst: StuckHeartbeat | undefined;
    const at = this.clock();
    for (const [address, { since, awaited }] of this.pending) {
      const outstandingMs = at - since;
      const limitMs = heartbeatLimitMs(bounds, awaited);
      if (outstandingMs > limitMs && (worst === undefined || outstandingMs > worst.outstandingMs)) {
        worst = { address, awaited, outstandingMs, limitMs };
      }
    }
    return worst;
  }

  detach(): void {
    for (const detach of this.detachers.splice(0)) detach();
    this.pending.clear();
  }
}

export interface HeartbeatWatchdogOptions {
  intervalMs?: number;
  clock?: () => number;
}

/**
 * Looks at the tracker of the client in use every `intervalMs`, and reports its first stuck check once. A round that
 * runs late by more than the slack is skipped: after the event loop was blocked, checks that have answered meanwhile
 * are handled only after the timers, and would look stuck.
 */
export class HeartbeatWatchdog {
  private tracker: HeartbeatTracker | undefined;
  private reported = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastRound: number;
  private readonly intervalMs: number;
  private readonly clock: () => number;

  constructor(
    private readonly bounds: HeartbeatBounds,
    private readonly onStuck: (stuck: StuckHeartbeat) => void,
    options: HeartbeatWatchdogOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.clock = options.clock ?? now;
    this.lastRound = this.clock();
  }

  /** Watches `tracker` from now on, and may report again. */
  watch(tracker: HeartbeatTracker): void {
    this.tracker = tracker;
    this.reported = false;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.lastRound = this.clock();
    this.timer = setInterval(() => this.round(), this.intervalMs);
    // The watchdog alone must not keep a process alive.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look; what start() runs every intervalMs. Returns what it reported. */
  round(): StuckHeartbeat | undefined {
    const at = this.clock();
    const late = at - this.lastRound - this.intervalMs;
    this.lastRound = at;
    if (late > this.bounds.slackMs || this.reported || this.tracker === undefined) return undefined;
    const stuck = this.tracker.stuck(this.bounds);
    if (stuck === undefined) return undefined;
    this.reported = true;
    this.onStuck(stuck);
    return stuck;
  }
}

import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { HeartbeatTracker, HeartbeatWatchdog, heartbeatLimitMs, type HeartbeatBounds, type HeartbeatSource, type StuckHeartbeat } from "../../server/src/store/heartbeat-watchdog.js";

const bounds: HeartbeatBounds = { connectTimeoutMS: 5000, heartbeatFrequencyMS: 10_000, slackMs: 2000 };
const address = "127.0.0.1:27017";

/** A client stand-in that emits the driver's heartbeat events, and a clock the test moves. */
function setup() {
  const client = new EventEmitter();
  let t = 0;
  const clock = () => t;
  const tracker = new HeartbeatTracker(client as unknown as HeartbeatSource, clock);
  const reports: StuckHeartbeat[] = [];
  const watchdog = new HeartbeatWatchdog(bounds, (s) => reports.push(s), { intervalMs: 1000, clock });
  watchdog.watch(tracker);
  /** Moves the clock in 1 s steps, running a watchdog round at each, as its interval would. */
  const advance = (ms: number) => {
    for (let done = 0; done < ms; done += 1000) {
      t += 1000;
      watchdog.round();
    }
  };
  return { client, tracker, watchdog, reports, advance, setTime: (ms: number) => (t = ms) };
}

describe("heartbeat watchdog", () => {
  it("bounds a check by the driver's own timeouts", () => {
    expect(heartbeatLimitMs(bounds, false)).toBe(12_000);
    expect(heartbeatLimitMs(bounds, true)).toBe(17_000);
  });

  it("says nothing about checks that end, however many", () => {
    const { client, reports, advance } = setup();
    for (let i = 0; i < 50; i++) {
      client.emit("serverHeartbeatStarted", { connectionId: address, awaited: false });
      advance(4000);
      client.emit(i % 2 === 0 ? "serverHeartbeatSucceeded" : "serverHeartbeatFailed", { connectionId: address });
      advance(6000);
    }
    expect(reports).toEqual([]);
  });

  it("reports a polling check that outlives connect and reply timeouts, once", () => {
    const { client, reports, advance } = setup();
    client.emit("serverHeartbeatStarted", { connectionId: address, awaited: false });
    advance(12_000);
    expect(reports).toEqual([]);
    advance(1000);
    expect(reports).toEqual([{ address, awaited: false, outstandingMs: 13_000, limitMs: 12_000 }]);
    advance(60_000);
    expect(reports).toHaveLength(1);
  });

  it("gives an awaited (streaming) check the time the server may hold it", () => {
    const { client, reports, advance } = setup();
    client.emit("serverHeartbeatStarted", { connectionId: address, awaited: true });
    advance(17_000);
    expect(reports).toEqual([]);
    advance(1000);
    expect(reports.map((r) => r.awaited)).toEqual([true]);
  });

  it("skips a round that runs late: after a blocked event loop, answered checks are handled after the timers", () => {
    const { client, watchdog, reports, setTime } = setup();
    client.emit("serverHeartbeatStarted", { connectionId: address, awaited: false });
    setTime(30_000); // the loop was blocked for 30 s
    expect(watchdog.round()).toBeUndefined();
    client.emit("serverHeartbeatSucceeded", { connectionId: address });
    setTime(31_000);
    expect(watchdog.round()).toBeUndefined();
    expect(reports).toEqual([]);
  });

  it("forgets servers that were removed, and clients that were closed", () => {
    const { client, reports, advance } = setup();
    client.emit("serverHeartbeatStarted", { connectionId: address, awaited: false });
    client.emit("serverClosed", { address });
    client.emit("serverHeartbeatStarted", { connectionId: "127.0.0.1:27018", awaited: false });
    client.emit("topologyClosed", {});
    client.emit("serverHeartbeatStarted", { connectionId: "127.0.0.1:27019", awaited: false });
    advance(60_000);
    expect(reports).toEqual([]);
  });

  it("watches the replacement client and may report again; a detached tracker hears nothing", () => {
    const { client, tracker, watchdog, reports, advance } = setup();
    client.emit("serverHeartbeatStarted", { connectionId: address, awaited: false });
    advance(13_000);
    expect(reports).toHaveLength(1);
    tracker.detach();
    expect(client.listenerCount("serverHeartbeatStarted")).toBe(0);

    const next = new EventEmitter();
    let t = 0;
    const nextTracker = new HeartbeatTracker(next as unknown as HeartbeatSource, () => t);
    watchdog.watch(nextTracker);
    next.emit("serverHeartbeatStarted", { connectionId: address, awaited: false });
    t = 20_000;
    expect(nextTracker.stuck(bounds)).toEqual({ address, awaited: false, outstandingMs: 20_000, limitMs: 12_000 });
    advance(1000);
    expect(reports).toHaveLength(2);
  });
});

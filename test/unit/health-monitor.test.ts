import { describe, it, expect } from "vitest";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { HealthMonitor } from "../../server/src/health/monitor.js";
import type { HealthStatus, Probe } from "../../server/src/health/monitor.js";
import { registerHealth } from "../../server/src/rpc/health.js";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../server/src/gen/grpc/health/v1/health_pb.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(5);
  }
}

/** A probe whose health the test flips at will. */
function switchable(up = true): { probe: Probe; set(v: boolean): void; calls(): number } {
  let healthy = up;
  let calls = 0;
  return {
    probe: async () => {
      calls++;
      if (!healthy) throw new Error("down");
    },
    set: (v) => {
      healthy = v;
    },
    calls: () => calls,
  };
}

describe("HealthMonitor", () => {
  it("is not serving before the first round", () => {
    const monitor = new HealthMonitor({ probes: {}, intervalMs: 1000 });
    expect(monitor.isServing()).toBe(false);
    expect(monitor.current()).toMatchObject({ serving: false, failing: [] });
  });

  it("follows probes that flip and notifies only on changes", async () => {
    const mongo = switchable();
    const redis = switchable();
    const monitor = new HealthMonitor({
      probes: { mongodb: mongo.probe, redis: redis.probe },
      intervalMs: 1000,
    });
    const seen: HealthStatus[] = [];
    monitor.onChange((s) => seen.push(s));

    await monitor.checkNow();
    expect(monitor.isServing()).toBe(true);

    redis.set(false);
    await monitor.checkNow();
    expect(monitor.current()).toMatchObject({ serving: false, failing: ["redis"] });

    mongo.set(false);
    await monitor.checkNow();
    expect(monitor.current().failing).toEqual(["mongodb", "redis"]);

    await monitor.checkNow(); // unchanged: no notification
    mongo.set(true);
    redis.set(true);
    await monitor.checkNow();
    expect(monitor.isServing()).toBe(true);

    expect(seen.map((s) => [s.serving, s.failing])).toEqual([
      [true, []],
      [false, ["redis"]],
      [false, ["mongodb", "redis"]],
      [true, []],
    ]);
  });

  it("stops notifying after unsubscribe and survives throwing listeners", async () => {
    const dep = switchable();
    const monitor = new HealthMonitor({ probes: { dep: dep.probe }, intervalMs: 1000 });
    let calls = 0;
    monitor.onChange(() => {
      throw new Error("listener bug");
    });
    const unsubscribe = monitor.onChange(() => calls++);
    await monitor.checkNow();
    unsubscribe();
    dep.set(false);
    await monitor.checkNow();
    expect(calls).toBe(1);
    expect(monitor.isServing()).toBe(false);
  });

  it("bounds each probe by the timeout and aborts its signal", async () => {
    let probeSignal: AbortSignal | undefined;
    const failures: string[] = [];
    const monitor = new HealthMonitor({
      probes: {
        hangs: (signal) => {
          probeSignal = signal;
          return new Promise<void>(() => {});
        },
        ok: async () => {},
      },
      intervalMs: 1000,
      probeTimeoutMs: 20,
      onProbeFailure: (name) => failures.push(name),
    });
    const started = Date.now();
    const status = await monitor.checkNow();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(status).toMatchObject({ serving: false, failing: ["hangs"] });
    expect(probeSignal?.aborted).toBe(true);
    expect(failures).toEqual(["hangs"]);
  });

  it("treats a synchronously throwing probe as failing", async () => {
    const monitor = new HealthMonitor({
      probes: {
        sync: () => {
          throw new Error("boom");
        },
      },
      intervalMs: 1000,
    });
    expect((await monitor.checkNow()).failing).toEqual(["sync"]);
  });

  it("never overlaps rounds, even when probes are slower than the interval", async () => {
    let active = 0;
    let maxActive = 0;
    let rounds = 0;
    const monitor = new HealthMonitor({
      probes: {
        slow: async () => {
          active++;
          maxActive = Math.max(maxActive, active);
          await sleep(30);
          active--;
          rounds++;
        },
      },
      intervalMs: 1,
      probeTimeoutMs: 1000,
    });
    monitor.start();
    monitor.start(); // idempotent
    const joined = [monitor.checkNow(), monitor.checkNow()];
    await until(() => rounds >= 3);
    monitor.stop();
    await Promise.all(joined);
    expect(maxActive).toBe(1);
  });

  it("keeps probing on its own and stops when told", async () => {
    const dep = switchable();
    const monitor = new HealthMonitor({ probes: { dep: dep.probe }, intervalMs: 5 });
    monitor.start();
    await until(() => dep.calls() >= 3);
    expect(monitor.isServing()).toBe(true);
    dep.set(false);
    await until(() => !monitor.isServing());
    monitor.stop();
    await sleep(20); // let a round that was already in flight finish
    const calls = dep.calls();
    await sleep(50);
    expect(dep.calls()).toBe(calls);
  });

  it("reports NOT_SERVING forever once shutting down", async () => {
    const monitor = new HealthMonitor({ probes: {}, intervalMs: 1000 });
    const seen: boolean[] = [];
    monitor.onChange((s) => seen.push(s.serving));
    await monitor.checkNow();
    monitor.setShuttingDown();
    await monitor.checkNow();
    expect(monitor.current()).toMatchObject({ serving: false, shuttingDown: true });
    expect(seen).toEqual([true, false]);
  });
});

describe("grpc.health.v1.Health", () => {
  const services = ["sightline.v1.CatalogService"];

  function setup(monitor: HealthMonitor) {
    const transport = createRouterTransport((router) => registerHealth(router, monitor, services));
    return createClient(Health, transport);
  }

  it("checks the overall and per-service status and rejects unknown services", async () => {
    const dep = switchable();
    const monitor = new HealthMonitor({ probes: { dep: dep.probe }, intervalMs: 1000 });
    const client = setup(monitor);
    expect((await client.check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
    await monitor.checkNow();
    expect((await client.check({ service: "" })).status).toBe(ServingStatus.SERVING);
    expect((await client.check({ service: services[0] })).status).toBe(ServingStatus.SERVING);
    const err = await client.check({ service: "nope.Service" }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(err?.code).toBe(Code.NotFound);
  });

  it("streams the current status, then changes, and unsubscribes on cancel", async () => {
    const dep = switchable();
    const monitor = new HealthMonitor({ probes: { dep: dep.probe }, intervalMs: 1000 });
    let subscribed = 0;
    const onChange = monitor.onChange.bind(monitor);
    monitor.onChange = (listener) => {
      subscribed++;
      const unsubscribe = onChange(listener);
      return () => {
        subscribed--;
        unsubscribe();
      };
    };
    await monitor.checkNow();
    const client = setup(monitor);
    const abort = new AbortController();
    const statuses: ServingStatus[] = [];
    const done = (async () => {
      try {
        for await (const res of client.watch({ service: "" }, { signal: abort.signal })) {
          statuses.push(res.status);
        }
      } catch (e) {
        if (ConnectError.from(e).code !== Code.Canceled) throw e;
      }
    })();

    await until(() => statuses.length === 1);
    dep.set(false);
    await monitor.checkNow();
    await until(() => statuses.length === 2);
    await monitor.checkNow(); // no change, nothing sent
    dep.set(true);
    await monitor.checkNow();
    await until(() => statuses.length === 3);
    expect(statuses).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING, ServingStatus.SERVING]);
    expect(subscribed).toBe(1);

    abort.abort();
    await done;
    await until(() => subscribed === 0);
  });

  it("watch sends SERVICE_UNKNOWN for unknown services", async () => {
    const monitor = new HealthMonitor({ probes: {}, intervalMs: 1000 });
    const client = setup(monitor);
    const abort = new AbortController();
    const stream = client.watch({ service: "nope.Service" }, { signal: abort.signal });
    const first = await stream[Symbol.asyncIterator]().next();
    expect(first.done).toBe(false);
    expect(first.value?.status).toBe(ServingStatus.SERVICE_UNKNOWN);
    abort.abort();
  });
});

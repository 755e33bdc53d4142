// Monitoring under faults: a worker SIGKILLed in the middle of a run, and Redis stopped (losing every queue, job and
// scheduler, since the private Redis keeps nothing on disk) while runs are going and labels keep arriving. Each test
// ends by comparing what the service serves with a full recompute on the undisturbed system: equal, bucket for bucket.
import { afterEach, describe, expect, it } from "vitest";
import { createSightlineClient, JobState, type BatchInput } from "../../clients/ts/src/index.js";
import { isolation, startServerProcess, startWorkerProcess, type ChildHandle, type Isolation } from "../harness/processes.js";
import { startPrivateRedis, type PrivateRedis } from "../harness/redis.js";
import { C, createMonitoredModel, fullRecompute, M, P, rows, snapshot, twoRunsAfter, uploadProduction } from "../harness/monitoring.js";
import { settledAfterWriteMs } from "../../server/src/jobs/monitoring-run.js";

const children: ChildHandle[] = [];
let redis: PrivateRedis | undefined;
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop("SIGKILL")));
  await redis?.stop();
  redis = undefined;
});

async function setUp(iso: Isolation, workerEnv: Record<string, string>, serverEnv: Record<string, string> = {}) {
  const server = await startServerProcess(iso, serverEnv);
  children.push(server);
  const client = createSightlineClient({ url: server.url, apiKey: iso.adminKey });
  await createMonitoredModel(client);
  const worker = await startWorker(iso, workerEnv, serverEnv);
  return { client, worker };
}

async function startWorker(iso: Isolation, env: Record<string, string>, serverEnv: Record<string, string>): Promise<ChildHandle> {
  const worker = await startWorkerProcess(iso, { ...serverEnv, ...env });
  children.push(worker);
  return worker;
}

describe("monitoring faults", () => {
  it("a worker SIGKILLed mid-run: the job is recovered as stalled, completes, and its results equal an undisturbed run", async () => {
    const iso = isolation("monkill");
    // A long interval keeps the scheduler out of the way; a short lock makes the dead worker's job stall quickly.
    const workerEnv = { SIGHTLINE_MONITORING_INTERVAL_MS: "3600000", SIGHTLINE_JOB_LOCK_MS: "2000", SIGHTLINE_LOG_LEVEL: "debug" };
    const { client, worker } = await setUp(iso, workerEnv);
    await uploadProduction(client, rows("p", 12_000, 40, 11, true));

    const { jobId } = await client.monitoring.refreshMonitoring({ project: P, collection: C, model: M, full: true });
    let killedAt: number | undefined;
    for await (const status of client.monitoring.watchJob({ jobId })) {
      if (status.state === JobState.ACTIVE && status.progress > 0 && status.progress < 50) {
        worker.process.kill("SIGKILL");
        killedAt = status.progress;
        break;
      }
    }
    expect(killedAt, "the run was caught part-way").toBeDefined();
    await worker.exited;
    await startWorker(iso, workerEnv, {});
    const done = await client.waitForJob(jobId);
    expect(done.state, done.message).toBe(JobState.COMPLETED);
    const recovered = await snapshot(client);

    await fullRecompute(client);
    expect(recovered).toEqual(await snapshot(client));
    const hours = await client.monitoring.getMonitoring({ project: P, collection: C, model: M });
    expect(hours.buckets.length).toBe(40 * 24);
  }, 240_000);

  it("two workers and a burst of refreshes: runs of a model never overlap, every job completes, results equal one run", async () => {
    const iso = isolation("montwo");
    const workerEnv = { SIGHTLINE_MONITORING_INTERVAL_MS: "1000", SIGHTLINE_LOG_LEVEL: "debug", SIGHTLINE_MONITORING_CONCURRENCY: "4" };
    const { client, worker } = await setUp(iso, workerEnv);
    const second = await startWorker(iso, workerEnv, {});
    await uploadProduction(client, rows("p", 3000, 10, 5, true));
    // Scheduled runs every second on both workers, plus eight on-demand ones at once, half of them full.
    const ids = await Promise.all(
      Array.from({ length: 8 }, (_, i) => client.monitoring.refreshMonitoring({ project: P, collection: C, model: M, full: i % 2 === 0 }).then((r) => r.jobId)),
    );
    for (const id of ids) expect((await client.waitForJob(id)).state).toBe(JobState.COMPLETED);

    const runs = [worker, second]
      .flatMap((w) => w.lines)
      .filter((l) => l.includes('"msg":"monitoring run done"'))
      .map((l) => JSON.parse(l) as { startedAt: number; finishedAt: number; job: string })
      .sort((a, b) => a.startedAt - b.startedAt);
    expect(runs.length).toBeGreaterThanOrEqual(8);
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.startedAt, `run ${runs[i]!.job} starts after ${runs[i - 1]!.job} ends`).toBeGreaterThanOrEqual(runs[i - 1]!.finishedAt);
    expect(new Set(runs.map((r) => r.job)).size, "each job ran once").toBe(runs.length);
    const both = [worker, second].map((w) => w.lines.filter((l) => l.includes('"msg":"monitoring run done"')).length);
    expect(both.every((n) => n > 0), `both workers ran some: ${both}`).toBe(true);

    const concurrent = await snapshot(client);
    await fullRecompute(client);
    expect(concurrent).toEqual(await snapshot(client));
  }, 240_000);

  it("Redis stopped during scheduled runs, with labels arriving meanwhile: runs resume and no bucket is lost or doubled", async () => {
    redis = await startPrivateRedis();
    const iso = isolation("monredis");
    const env = { REDIS_URL: redis.url };
    const { client } = await setUp(iso, { SIGHTLINE_MONITORING_INTERVAL_MS: "1000", SIGHTLINE_JOB_LOCK_MS: "2000" }, env);
    const first = rows("p", 6000, 20, 13, true);
    await uploadProduction(client, first);
    await twoRunsAfter(client, Date.now(), 120_000);

    // Stop Redis while the scheduler runs every second, then change labels it has not seen: the writes only need MongoDB.
    await redis.stop();
    const late = rows("p", 6000, 20, 99, true);
    const relabelled: BatchInput = { recordIds: late.recordIds.filter((_, i) => i % 7 === 0), columns: { y: late.columns!.y!.filter((_, i) => i % 7 === 0) } };
    const summary = await client.upload({ project: P, collection: C, destination: { case: "production", value: true } }, [relabelled]);
    expect(summary.rowErrors).toEqual([]);
    await new Promise((r) => setTimeout(r, 2000));
    await redis.start();
    const restarted = Date.now();

    // The queue, its schedulers and its jobs are gone with Redis; the workers put the schedulers back.
    await twoRunsAfter(client, restarted + settledAfterWriteMs, 120_000);
    const scheduled = await snapshot(client);
    await fullRecompute(client);
    expect(scheduled).toEqual(await snapshot(client));
    const hours = await client.monitoring.getMonitoring({ project: P, collection: C, model: M });
    expect(hours.buckets.length).toBe(20 * 24);
  }, 300_000);
});

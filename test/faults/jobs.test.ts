// Faults 2 and 3: the background jobs. Redis restarted (SIGKILL, then started again on the same port and data) while
// scheduled monitoring runs and a ComputeInfluences job are going; and a worker SIGKILLed in the middle of a
// ComputeInfluences job. Both jobs must resume and complete, and what they leave behind must equal an undisturbed run
// of the same data in another database: monitoring bucket for bucket, influences value for value (TreeSHAP on the
// reference forest is exact, so "equal" means bit-identical).
//
// Everything runs on a private PostgreSQL + FerretDB + Redis set (test/harness/private-services.ts): the shared dev
// services are never stopped. Its Redis keeps an fsynced append-only file, as a production Redis with persistence
// does, so a restart keeps queues, jobs and schedulers (monitoring-faults.test.ts covers a Redis that loses them).
//
// Sizes: 300 rows to explain in chunks of 20 (15 chunk jobs), 3,000 production records over 10 days for monitoring.
import { QueueEvents } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSightlineClient, JobState, type BatchInput, type SightlineClient } from "../../clients/ts/src/index.js";
import { computeChunkQueueName } from "../../server/src/jobs/queues.js";
import { settledAfterWriteMs } from "../../server/src/jobs/monitoring-run.js";
import { recordFaultSummary, sleep, watchUntilDone } from "../harness/faults.js";
import { createInfluenceModel, influenceTally, readInfluences, requestInfluences, type StoredInfluences } from "../harness/influence.js";
import { bucketTally, C, createMonitoredModel, fullRecompute, P, rows, snapshot, twoRunsAfter, uploadProduction } from "../harness/monitoring.js";
import { startPrivateServices, type PrivateServices } from "../harness/private-services.js";
import { isolation, startServerProcess, startWorkerProcess, type ChildHandle, type Isolation } from "../harness/processes.js";

const explainCount = 300;
const chunkRecords = 20;
const chunks = Math.ceil(explainCount / chunkRecords);

const first = rows("p", 3000, 10, 13, true);
const late = rows("p", 3000, 10, 99, true);
/** Every 7th record relabelled: a write the scheduled runs must pick up across the fault. */
const relabelled: BatchInput = { recordIds: late.recordIds.filter((_, i) => i % 7 === 0), columns: { y: late.columns!.y!.filter((_, i) => i % 7 === 0) } };

let services: PrivateServices;
const children: ChildHandle[] = [];
let reference: { influences: StoredInfluences; monitoring: unknown };

async function stack(iso: Isolation, workerEnv: Record<string, string>) {
  const server = await startServerProcess(iso, services.env);
  children.push(server);
  const worker = await startWorkerProcess(iso, { ...services.env, SIGHTLINE_COMPUTE_CHUNK_RECORDS: String(chunkRecords), ...workerEnv });
  children.push(worker);
  return { server, worker, client: createSightlineClient({ url: server.url, apiKey: iso.adminKey }) };
}

async function relabel(client: SightlineClient): Promise<void> {
  const summary = await client.upload({ project: P, collection: C, destination: { case: "production", value: true } }, [relabelled]);
  expect(summary.rowErrors).toEqual([]);
}

/** The job's chunk progress, from WatchJob's "<done> of <total> chunks done". */
function chunkProgress(message: string): { done: number; total: number } | undefined {
  const m = /^(\d+) of (\d+) chunks done$/.exec(message);
  return m === null ? undefined : { done: Number(m[1]), total: Number(m[2]) };
}

beforeAll(async () => {
  services = await startPrivateServices("jobs", { redisAppendOnly: true });
  // The undisturbed run, in its own database: the same data, each job run once with nothing going wrong.
  const iso = isolation("jobsref");
  const { client, server, worker } = await stack(iso, { SIGHTLINE_MONITORING_INTERVAL_MS: "3600000" });
  await createMonitoredModel(client);
  await uploadProduction(client, first);
  await relabel(client);
  await createInfluenceModel(client, P, explainCount);
  const done = await client.waitForJob(await requestInfluences(client, P));
  expect(done.state, done.message).toBe(JobState.COMPLETED);
  expect(done.computeResult?.written).toBe(BigInt(explainCount));
  await fullRecompute(client);
  reference = { influences: await readInfluences(client, P), monitoring: await snapshot(client) };
  expect(reference.influences.byId.size).toBe(explainCount);
  await Promise.all([server.stop(), worker.stop()]);
}, 300_000);

afterAll(async () => {
  await Promise.all(children.map((c) => c.stop("SIGKILL")));
  await services?.close();
});

describe("background jobs under faults", () => {
  it("Redis restarted during scheduled monitoring runs and an influence job: both resume and complete, results equal an undisturbed run", async () => {
    const started = Date.now();
    const iso = isolation("jobsredis");
    const { client, worker } = await stack(iso, { SIGHTLINE_MONITORING_INTERVAL_MS: "1000", SIGHTLINE_JOB_LOCK_MS: "2000", SIGHTLINE_LOG_LEVEL: "debug" });
    await createMonitoredModel(client);
    await uploadProduction(client, first);
    await createInfluenceModel(client, P, explainCount);
    // Scheduled runs are going before anything else happens.
    await twoRunsAfter(client, Date.now(), 60_000);

    const jobId = await requestInfluences(client, P);
    let caught: { done: number; total: number } | undefined;
    for await (const status of client.monitoring.watchJob({ jobId })) {
      const progress = chunkProgress(status.message);
      if (progress !== undefined && progress.done >= 2 && progress.done < progress.total) {
        caught = progress;
        break;
      }
      expect(status.state, "the job is caught before it ends").not.toBe(JobState.COMPLETED);
    }
    expect(caught, "the influence job was caught part-way").toBeDefined();
    // New labels, so the runs around the fault have work to do; then Redis goes away with the job mid-way.
    await relabel(client);
    const runsBefore = worker.lines.filter((l) => l.includes('"msg":"monitoring run done"')).length;
    await services.kill("redis");
    const killedAt = Date.now();
    await sleep(1500);
    await services.start("redis");
    const restartedAt = Date.now();

    const done = await watchUntilDone(client, jobId, { timeoutMs: 180_000 });
    expect(done.state, done.message).toBe(JobState.COMPLETED);
    expect(done.computeResult?.chunks).toBe(BigInt(chunks));
    await twoRunsAfter(client, restartedAt + settledAfterWriteMs, 120_000);
    const monitoring = await snapshot(client);
    const influences = await readInfluences(client, P);

    const inf = influenceTally(reference.influences, influences, Number(done.computeResult?.written ?? 0n));
    const mon = bucketTally(reference.monitoring, monitoring);
    await recordFaultSummary({
      fault: "redis-restart-jobs",
      injected: `Redis SIGKILLed mid-ComputeInfluences (${caught!.done} of ${caught!.total} chunks done) with monitoring scheduled every second, started again ${restartedAt - killedAt} ms later`,
      durationMs: Date.now() - started,
      sent: inf.sent,
      acked: inf.acked,
      stored: inf.stored,
      lost: inf.lost + mon.lost,
      duplicated: inf.duplicated + mon.duplicated,
      details: {
        influences: inf,
        monitoringBuckets: mon,
        jobAttempts: done.attempts,
        watchesCut: done.rewatches,
        monitoringRunsBeforeKill: runsBefore,
        monitoringRunsAfterRestart: worker.lines.filter((l) => l.includes('"msg":"monitoring run done"')).length - runsBefore,
      },
    });
    expect(done.computeResult?.written).toBe(BigInt(explainCount));
    expect(monitoring).toEqual(reference.monitoring);
    expect(influences.byId).toEqual(reference.influences.byId);
    expect({ lost: inf.lost + mon.lost, duplicated: inf.duplicated + mon.duplicated, unexpected: inf.unexpected + mon.unexpected }).toEqual({ lost: 0, duplicated: 0, unexpected: 0 });
  }, 300_000);

  it("a worker SIGKILLed mid influence job: its chunk is recovered as stalled, WatchJob ends COMPLETED, influences equal an undisturbed run", async () => {
    const started = Date.now();
    const iso = isolation("jobskill");
    // A short lock, so the dead worker's chunk is found stalled within seconds; the scheduler stays out of the way.
    const workerEnv = { SIGHTLINE_MONITORING_INTERVAL_MS: "3600000", SIGHTLINE_JOB_LOCK_MS: "2000" };
    const { client, worker } = await stack(iso, workerEnv);
    await client.admin.createProject({ project: { name: P } });
    await createInfluenceModel(client, P, explainCount);
    const redisAt = new URL(services.redisUrl);
    const events = new QueueEvents(computeChunkQueueName, { connection: { host: redisAt.hostname, port: Number(redisAt.port) }, prefix: iso.queuePrefix });
    const stalled: string[] = [];
    events.on("stalled", ({ jobId }) => stalled.push(jobId));
    try {
      await events.waitUntilReady();
      const jobId = await requestInfluences(client, P);
      const statuses: { state: JobState; message: string }[] = [];
      let killedAt: { done: number; total: number } | undefined;
      let replacement: ChildHandle | undefined;
      // One watch from the request to the end: it must see the job through the kill and end COMPLETED.
      for await (const status of client.monitoring.watchJob({ jobId })) {
        statuses.push({ state: status.state, message: status.message });
        const progress = chunkProgress(status.message);
        if (killedAt === undefined && progress !== undefined && progress.done >= 2 && progress.done < progress.total) {
          worker.process.kill("SIGKILL");
          await worker.exited;
          killedAt = progress;
          replacement = await startWorkerProcess(iso, { ...services.env, SIGHTLINE_COMPUTE_CHUNK_RECORDS: String(chunkRecords), ...workerEnv });
          children.push(replacement);
        }
      }
      const last = statuses[statuses.length - 1]!;
      expect(killedAt, "the worker was killed part-way through the job").toBeDefined();
      const done = await client.waitForJob(jobId);
      const influences = await readInfluences(client, P);
      const inf = influenceTally(reference.influences, influences, Number(done.computeResult?.written ?? 0n));
      await recordFaultSummary({
        fault: "worker-sigkill-influences",
        injected: `worker SIGKILLed mid-ComputeInfluences (${killedAt!.done} of ${killedAt!.total} chunks done), a new worker started`,
        durationMs: Date.now() - started,
        sent: inf.sent,
        acked: inf.acked,
        stored: inf.stored,
        lost: inf.lost,
        duplicated: inf.duplicated,
        details: { influences: inf, stalledChunkJobs: stalled, lastWatchState: JobState[last.state] },
      });
      expect(JobState[last.state], "WatchJob ends COMPLETED").toBe("COMPLETED");
      expect(stalled.length, "the dead worker's chunk was recovered as stalled").toBeGreaterThan(0);
      expect(done.computeResult?.written).toBe(BigInt(explainCount));
      expect(done.computeResult?.chunks).toBe(BigInt(chunks));
      expect(influences.byId).toEqual(reference.influences.byId);
      expect({ lost: inf.lost, duplicated: inf.duplicated, unexpected: inf.unexpected }).toEqual({ lost: 0, duplicated: 0, unexpected: 0 });
    } finally {
      await events.close();
    }
  }, 300_000);
});

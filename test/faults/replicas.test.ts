// Faults 4 and 5: several server replicas. A replica SIGTERMed while streams are open on it, its clients moving to a
// second replica on the same database and Redis; and two replicas with two workers taking overlapping uploads
// concurrently while both workers run monitoring, compared with a single replica doing the same.
//
// These signal only server and worker processes this file started. They run on a private PostgreSQL + FerretDB + Redis
// set (test/harness/private-services.ts) rather than the shared dev services, so that a benchmark loading those
// cannot stall them; each test has its own database and queue prefix.
//
// Sizes: 3 StreamWriters x 120 batches x 50 rows for the SIGTERM; 4,000 production records over 10 days uploaded
// as two overlapping halves of 2,400 (800 shared IDs) for the replicas.
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createSightlineClient,
  IngestService,
  JobState,
  StreamWriter,
  type RowObject,
  type StreamResponse,
  type TargetInit,
} from "../../clients/ts/src/index.js";
import { settledAfterWriteMs } from "../../server/src/jobs/monitoring-run.js";
import { failoverTransport, recordFaultSummary, sleep, tally, type Failover } from "../harness/faults.js";
import { bucketTally, C, createMonitoredModel, fullRecompute, M, P, rowRange, rows, slices, snapshot, twoRunsAfter } from "../harness/monitoring.js";
import { startPrivateServices, type PrivateServices } from "../harness/private-services.js";
import { isolation, startServerProcess as startServer, startWorkerProcess as startWorker, type ChildHandle, type Isolation } from "../harness/processes.js";
import { batchFor, createTaggedCollection, expectedRecord, readTarget, splitTargetOf } from "../harness/records.js";

let services: PrivateServices;
beforeAll(async () => {
  services = await startPrivateServices("replicas");
}, 120_000);
afterAll(async () => {
  await services?.close();
});

const children: ChildHandle[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop("SIGKILL")));
});
const startServerProcess = (iso: Isolation, extra: Record<string, string> = {}) => startServer(iso, { ...services.env, ...extra });
const startWorkerProcess = (iso: Isolation, extra: Record<string, string> = {}) => startWorker(iso, { ...services.env, ...extra });
function keep<T extends ChildHandle>(child: T): T {
  children.push(child);
  return child;
}

describe("server replicas", () => {
  it("a replica SIGTERMed with streams open: in-flight batches finish, every ack is in the database, clients finish on a second replica", async () => {
    const started = Date.now();
    const iso = isolation("sigterm");
    const graceMs = 1500;
    const first = keep(await startServerProcess(iso, { SIGHTLINE_SHUTDOWN_GRACE_MS: String(graceMs) }));
    const second = keep(await startServerProcess(iso));
    const admin = createSightlineClient({ url: second.url, apiKey: iso.adminKey });
    await createTaggedCollection(admin, "faults", "c", ["s"]);
    const target: TargetInit = splitTargetOf("faults", "c", "s");

    const writers = 3;
    const batches = 120;
    const rowsPerBatch = 50;
    let terminatedAt = 0;
    /** Acks each replica sent, and those the first one sent after its SIGTERM. */
    const acksFrom = [0, 0];
    let acksFromFirstAfterTerm = 0;
    const acked = new Set<string>();
    const expected = new Map<string, RowObject>();
    const reconnects: number[][] = [];
    const failovers: Failover[] = [];
    const runs: Promise<StreamResponse[]>[] = [];
    for (let w = 0; w < writers; w++) {
      const prefix = `w${w}b`;
      const balancer = failoverTransport([first.url, second.url], iso.adminKey, (replica) => {
        acksFrom[replica]! += 1;
        if (replica === 0 && terminatedAt > 0) acksFromFirstAfterTerm += 1;
      });
      failovers.push(balancer);
      const resent: number[] = [];
      reconnects.push(resent);
      const writer = new StreamWriter(createClient(IngestService, balancer.transport), target, { maxInFlight: 8, onReconnect: (n) => resent.push(n) });
      runs.push(
        (async () => {
          const acks: Promise<StreamResponse>[] = [];
          for (let b = 0; b < batches; b++) {
            for (let i = 0; i < rowsPerBatch; i++) expected.set(`${prefix}${b}-${i}`, expectedRecord(b, i, prefix));
            const ack = writer.write(batchFor(b, rowsPerBatch, prefix));
            ack.then(
              () => {
                for (let i = 0; i < rowsPerBatch; i++) acked.add(`${prefix}${b}-${i}`);
              },
              () => undefined,
            );
            acks.push(ack);
            await sleep(30);
          }
          await writer.close();
          return Promise.all(acks);
        })(),
      );
    }

    // SIGTERM the first replica once every writer is well into its stream there.
    const deadline = Date.now() + 60_000;
    while (acksFrom[0]! < writers * 20) {
      expect(Date.now(), `acks from the first replica: ${acksFrom[0]}`).toBeLessThan(deadline);
      await sleep(20);
    }
    terminatedAt = Date.now();
    first.process.kill("SIGTERM");
    expect(await first.exited, "the replica stops cleanly").toBe(0);
    // Every ack any client holds at this point is durable: the records are all in the database, exactly as sent.
    const ackedAtExit = new Set(acked);
    const atExit = await readTarget(admin, target);
    const missingAtExit = [...ackedAtExit].filter((id) => atExit.records.get(id) === undefined).length;

    const results = await Promise.all(runs);
    const read = await readTarget(admin, target);
    const sends = batches * rowsPerBatch * writers + reconnects.flat().reduce((a, n) => a + n * rowsPerBatch, 0);
    const counts = tally(expected, acked, read, sends);
    await recordFaultSummary({
      fault: "server-sigterm-streams",
      injected: `server replica SIGTERMed (grace ${graceMs} ms) with ${writers} streams open; clients fail over to a second replica`,
      durationMs: Date.now() - started,
      ...counts,
      details: {
        acksFromFirst: acksFrom[0],
        acksFromFirstAfterSigterm: acksFromFirstAfterTerm,
        acksFromSecond: acksFrom[1],
        ackedAtFirstExit: ackedAtExit.size,
        ackedAtFirstExitMissing: missingAtExit,
        reconnects: reconnects.map((r) => r.length),
        batchesResent: reconnects.flat().reduce((a, b) => a + b, 0),
        failuresFromFirst: [...new Set(failovers.flatMap((f) => f.failures.filter((x) => x.replica === 0).map((x) => Code[x.code])))],
        failuresFromSecond: failovers.flatMap((f) => f.failures.filter((x) => x.replica === 1)).length,
      },
    });

    expect(first.lines.some((l) => l.includes("grace period over")), "the streams were still open when the grace period ended").toBe(true);
    expect(acksFromFirstAfterTerm, "batches in flight at the SIGTERM were written and acked during the grace period").toBeGreaterThan(0);
    expect(missingAtExit, "records acked before the first replica exited, missing from the database").toBe(0);
    expect(reconnects.every((r) => r.length >= 1), "every client reconnected").toBe(true);
    // The cut streams end as docs/api.md says a shutting-down server's calls do: UNAVAILABLE, retry elsewhere.
    const cut = failovers.flatMap((f) => f.failures.filter((x) => x.replica === 0));
    expect(cut.length).toBeGreaterThan(0);
    expect([...new Set(cut.map((x) => `${Code[x.code]}: ${x.message}`))]).toEqual([...new Set(cut.map((x) => `Unavailable: ${x.message}`))]);
    expect(failovers.flatMap((f) => f.failures.filter((x) => x.replica === 1)), "nothing failed on the second replica").toEqual([]);
    expect(acksFrom[1], "the second replica took over").toBeGreaterThan(0);
    for (const acks of results) expect(acks.map((a) => [a.error, a.summary?.rowsAccepted])).toEqual(acks.map(() => [undefined, BigInt(rowsPerBatch)]));
    expect(counts.stored).toBe(writers * batches * rowsPerBatch);
    expect({ lost: counts.lost, duplicated: counts.duplicated, wrong: counts.wrong, unexpected: counts.unexpected }).toEqual({ lost: 0, duplicated: 0, wrong: 0, unexpected: 0 });
  }, 240_000);

  it("two replicas and two workers: overlapping concurrent uploads and monitoring on both workers equal a single replica's results", async () => {
    const started = Date.now();
    const data = rows("p", 4000, 10, 17, true);
    const halves = [rowRange(data, 0, 2400), rowRange(data, 1600, 4000)];
    const production = { project: P, collection: C, destination: { case: "production" as const, value: true }, model: M };
    const target: TargetInit = production;

    // A single replica and worker, the same two uploads one after the other, then one full run.
    const refIso = isolation("replref");
    const refServer = keep(await startServerProcess(refIso));
    keep(await startWorkerProcess(refIso, { SIGHTLINE_MONITORING_INTERVAL_MS: "3600000" }));
    const ref = createSightlineClient({ url: refServer.url, apiKey: refIso.adminKey });
    await createMonitoredModel(ref);
    for (const half of halves) expect((await ref.upload(production, slices(half, 200))).rowErrors).toEqual([]);
    await fullRecompute(ref);
    const refMonitoring = await snapshot(ref);
    const refRecords = await readTarget(ref, target);

    // Two replicas and two workers on one database and one Redis; monitoring scheduled every second on both.
    const iso = isolation("replicas");
    // One run at a time per worker, so a burst of runs spreads over both.
    const workerEnv = { SIGHTLINE_MONITORING_INTERVAL_MS: "1000", SIGHTLINE_MONITORING_CONCURRENCY: "1", SIGHTLINE_LOG_LEVEL: "debug" };
    const servers = [keep(await startServerProcess(iso)), keep(await startServerProcess(iso))];
    const workers = [keep(await startWorkerProcess(iso, workerEnv)), keep(await startWorkerProcess(iso, workerEnv))];
    const clients = servers.map((s) => createSightlineClient({ url: s.url, apiKey: iso.adminKey }));
    await createMonitoredModel(clients[0]!);
    // The halves go in at once, one through each replica; the second in reverse, so the shared IDs meet head-on.
    // Meanwhile, besides the scheduled runs, four on-demand refreshes (one of them full) through both replicas.
    const uploads = Promise.all([
      clients[0]!.upload(production, slices(halves[0]!, 200)),
      clients[1]!.upload(production, slices(halves[1]!, 200).reverse()),
    ]);
    const refreshes: string[] = [];
    for (let i = 0; i < 4; i++) {
      refreshes.push((await clients[i % 2]!.monitoring.refreshMonitoring({ project: P, collection: C, model: M, full: i === 0 })).jobId);
      await sleep(300);
    }
    const summaries = await uploads;
    const uploaded = Date.now();
    for (const id of refreshes) expect((await clients[0]!.waitForJob(id)).state).toBe(JobState.COMPLETED);
    await twoRunsAfter(clients[1]!, uploaded + settledAfterWriteMs, 120_000);
    const monitoring = await snapshot(clients[0]!);
    const read = await readTarget(clients[1]!, target);

    const acked = new Set<string>();
    summaries.forEach((s, i) => {
      if (s.rowsAccepted === BigInt(halves[i]!.recordIds.length)) for (const id of halves[i]!.recordIds) acked.add(id);
    });
    const counts = tally(refRecords.records, acked, read, halves[0]!.recordIds.length + halves[1]!.recordIds.length);
    const buckets = bucketTally(refMonitoring, monitoring);
    const runsPerWorker = workers.map((w) => w.lines.filter((l) => l.includes('"msg":"monitoring run done"')).length);
    await recordFaultSummary({
      fault: "two-replicas-two-workers",
      injected: "two server replicas and two workers on one database and Redis; overlapping uploads (800 shared IDs) through both at once; monitoring every second on both workers",
      durationMs: Date.now() - started,
      ...counts,
      lost: counts.lost + buckets.lost,
      duplicated: counts.duplicated + buckets.duplicated,
      details: { monitoringBuckets: buckets, runsPerWorker, onDemandRefreshes: refreshes.length, overlap: 800 },
    });

    expect(summaries.map((s) => [s.rowsAccepted, s.rowErrors.length])).toEqual([
      [2400n, 0],
      [2400n, 0],
    ]);
    expect(runsPerWorker.every((n) => n > 0), `both workers ran monitoring: ${runsPerWorker}`).toBe(true);
    expect(read.records).toEqual(refRecords.records);
    expect(monitoring).toEqual(refMonitoring);
    expect(counts.stored).toBe(4000);
    expect({ lost: counts.lost + buckets.lost, duplicated: counts.duplicated + buckets.duplicated, unexpected: counts.unexpected + buckets.unexpected }).toEqual({ lost: 0, duplicated: 0, unexpected: 0 });
  }, 300_000);
});

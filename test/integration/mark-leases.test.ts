// Mark leases against a real server, worker, FerretDB and Redis: a real-time stream into two production hours while
// monitoring runs every half second. Its writes rely on leased marks written ahead of them (the marks promise past the
// last ack), and once the hours settle, the scheduled results count every streamed record and equal a full recompute.
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { MongoClient } from "mongodb";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createSightlineClient, Granularity, toRecordBatch } from "../../clients/ts/src/index.js";
import { settledAfterWriteMs } from "../../server/src/jobs/monitoring-run.js";
import { markId } from "../../server/src/store/bucket-marks.js";
import { productionTarget, targetKey } from "../../server/src/ingest/layout.js";
import { C, createMonitoredModel, fullRecompute, M, P, snapshot, start, twoRunsAfter } from "../harness/monitoring.js";
import { isolation, startServerProcess, startWorkerProcess, type ChildHandle } from "../harness/processes.js";

const children: ChildHandle[] = [];
afterAll(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop("SIGKILL")));
});

describe("mark leases", () => {
  it("a stream's writes rely on marks written ahead of them, and monitoring still counts every record", async () => {
    const iso = isolation("leases");
    const server = await startServerProcess(iso);
    children.push(server);
    const client = createSightlineClient({ url: server.url, apiKey: iso.adminKey });
    await createMonitoredModel(client);
    children.push(await startWorkerProcess(iso, { SIGHTLINE_MONITORING_INTERVAL_MS: "500" }));

    const hours = [start + 5 * 3_600_000, start + 6 * 3_600_000];
    const perHour = new Map<number, number>(hours.map((h) => [h, 0]));
    const writer = client.streamWriter({ project: P, collection: C, destination: { case: "production", value: true }, model: M });
    const streamFor = Date.now() + 3000;
    let lastAck = 0;
    for (let i = 0; Date.now() < streamFor; i++) {
      const hour = hours[i % 2]!;
      const rows = 1 + (i % 3);
      const ids = Array.from({ length: rows }, (_, r) => `s-${i}-${r}`);
      const ack = await writer.write(
        toRecordBatch({
          recordIds: ids,
          eventTimes: ids.map((_, r) => hour + ((i * 7 + r) % 3_600_000)),
          columns: { x: ids.map((_, r) => (i + r) % 10), seg: ids.map((_, r) => ["a", "b", "c"][(i + r) % 3]!), y: ids.map((_, r) => (i + r) % 2 === 0) },
          predictions: { score: ids.map((_, r) => ((i + r) % 100) / 100) },
        }),
      );
      expect(ack.summary?.rowErrors ?? []).toEqual([]);
      perHour.set(hour, perHour.get(hour)! + rows);
      lastAck = Date.now();
    }
    await writer.close();

    // Writes marked after themselves leave a mark's promise behind their acks; leased ones leave it ahead.
    const mongo = new MongoClient(inject("mongodbUrl"));
    try {
      const ct = targetKey(P, C, productionTarget);
      const marks = await mongo.db(iso.database).collection<{ _id: string; w: Date }>("bucket_marks").find({ _id: { $in: hours.map((h) => markId(ct, h)) } }).toArray();
      expect(marks).toHaveLength(2);
      for (const m of marks) expect(m.w.getTime(), m._id).toBeGreaterThan(lastAck);
    } finally {
      await mongo.close();
    }

    await twoRunsAfter(client, lastAck + settledAfterWriteMs, 120_000);
    const res = await client.monitoring.getMonitoring({ project: P, collection: C, model: M, granularity: Granularity.HOUR });
    const counted = new Map(res.buckets.map((b) => [timestampMs(b.startTime!), Number(b.counts!.records)]));
    for (const h of hours) expect(counted.get(h), new Date(h).toISOString()).toBe(perHour.get(h));
    const scheduled = await snapshot(client);
    await fullRecompute(client);
    expect(scheduled).toEqual(await snapshot(client));
  }, 180_000);
});

// Faults while streaming: a client that cancels mid-stream, a server killed (SIGKILL) or stopped (SIGTERM) mid-stream
// and replaced on the same port, and the StreamWriter's own bookkeeping around them.
//
// Sizes: every upsert is a sequential scan in FerretDB 1.x (the dev and CI database), so ingest cost grows with the
// number of records already stored; thousands of records, each test in its own database, keep the file to seconds.
// None of the properties checked depends on the count.
import { readFileSync } from "node:fs";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import {
  createSightlineClient,
  IngestService,
  StreamWriter,
  type RowObject,
  type SightlineClient,
  type StreamRequest,
  type StreamResponse,
  type TargetInit,
} from "../../clients/ts/src/index.js";
import { isolation, startServerProcess, type Isolation, type ServerHandle } from "../harness/processes.js";
import * as records from "../harness/records.js";
import { batchFor, countByBatch, expectedRecord } from "../harness/records.js";

const P = "faults";
const target: TargetInit = records.splitTargetOf(P, "c", "s");

/** Servers started by the running test, stopped after it whatever happened. */
const started: ServerHandle[] = [];
async function serve(iso: Isolation, extra: Record<string, string> = {}): Promise<ServerHandle> {
  const server = await startServerProcess(iso, extra);
  started.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop("SIGKILL")));
});

async function setUp(client: SightlineClient): Promise<void> {
  await records.createTaggedCollection(client, P, "c", ["s"]);
}

const readAll = (client: SightlineClient) => records.readAll(client, target);
const settled = (client: SightlineClient) => records.settled(client, target);
const streamMessages = (batches: Parameters<typeof records.streamMessages>[1]) => records.streamMessages(target, batches);

function expectContent(stored: Map<string, RowObject>, batchIndices: number[], rows: number): void {
  for (const b of batchIndices) for (let i = 0; i < rows; i++) expect(stored.get(`b${b}-${i}`)).toEqual(expectedRecord(b, i));
}

describe("a cancelled stream", () => {
  // The figure: a 100k-record stream, cancelled early so that the re-send (the slow path on the dev
  // FerretDB: rewriting existing records) stays within minutes.
  const batches = 100;
  const rows = 1000;
  const cancelAfter = 10;

  const window = 4;

  it("keeps every acked batch, at most a window of unacked ones, never part of a batch; a re-send completes it exactly", async () => {
    const iso = isolation("cancel");
    const server = await serve(iso, { SIGHTLINE_STREAM_WINDOW: String(window) });
    const client = createSightlineClient({ url: server.url, apiKey: iso.adminKey });
    await setUp(client);
    const all = Array.from({ length: batches }, (_, b) => batchFor(b, rows));

    // Every batch is sent up front (they fit the HTTP/2 window); the client cancels as soon as it holds `cancelAfter` acks.
    const controller = new AbortController();
    const acked: bigint[] = [];
    for await (const ack of client.ingest.stream(streamMessages(all), { signal: controller.signal })) {
      expect(ack.error).toBeUndefined();
      expect(ack.summary?.rowsAccepted).toBe(BigInt(rows));
      acked.push(ack.sequence);
      if (acked.length === cancelAfter) {
        controller.abort();
        break;
      }
    }
    expect(acked).toEqual(Array.from({ length: cancelAfter }, (_, i) => BigInt(i + 1)));

    // What the server guarantees (server/src/rpc/ingest.ts, stream-window.ts, ingest-batch.ts): it writes up to a
    // window of batches concurrently and acks them in order; a batch is checked against the call's signal before its
    // write starts and is then written whole. So after a cancel the visible batches are the acked ones plus, possibly,
    // some of the at most `window` batches whose writes had started: their writes complete although their acks can no
    // longer be delivered; acks the server sent after the client's last read count as unacked too. Strictly "only
    // acked batches are visible" cannot hold for any server that acks after the write: the cancel can always arrive
    // between a write and its ack.
    const visible = await settled(client);
    const counts = countByBatch(visible, batches);
    for (const [b, count] of counts.entries()) expect([0, rows], `batch ${b} holds ${count} of ${rows} records`).toContain(count);
    const written = counts.flatMap((count, b) => (count === rows ? [b] : []));
    for (let b = 0; b < cancelAfter; b++) expect(written, `acked batch ${b} is visible`).toContain(b);
    // The cancel took effect: the server stopped taking batches long before all the batches the client had sent.
    expect(written.length).toBeLessThan(batches);
    expectContent(visible, written, rows);

    // The server is still healthy, and re-sending everything leaves exactly one record per ID.
    const acks: StreamResponse[] = [];
    for await (const ack of client.ingest.stream(streamMessages(all))) acks.push(ack);
    expect(acks.map((a) => [a.sequence, a.error, a.summary?.rowsAccepted])).toEqual(all.map((_, i) => [BigInt(i + 1), undefined, BigInt(rows)]));
    const complete = await readAll(client);
    expect(complete.size).toBe(batches * rows);
    expectContent(complete, all.map((_, b) => b), rows);
  }, 1_200_000);
});

describe("a StreamWriter across server restarts on the same port", () => {
  const batches = 16;
  const rows = 200;

  it("re-sends what was not acked after a SIGKILL and after a SIGTERM, ending with every record exactly once", async () => {
    const iso = isolation("restart");
    // A short grace period, so a SIGTERM cuts the writer's open stream quickly.
    const env = { SIGHTLINE_SHUTDOWN_GRACE_MS: "300" };
    const first = await serve(iso, env);
    const port = String(first.port);
    const client = createSightlineClient({ url: first.url, apiKey: iso.adminKey });
    await setUp(client);

    const reconnects: number[] = [];
    const writer = client.streamWriter(target, { maxInFlight: 4, onReconnect: (resent) => reconnects.push(resent) });
    const all = Array.from({ length: batches }, (_, b) => batchFor(b, rows));
    const acks = all.map((batch) => writer.write(batch));
    acks.forEach((ack) => ack.catch(() => undefined)); // awaited below; a failure must not go unhandled meanwhile

    // Kill the server outright once 4 batches are acked, and start another on the same port.
    await acks[3];
    first.process.kill("SIGKILL");
    await first.exited;
    const second = await serve(iso, { ...env, SIGHTLINE_PORT: port });
    expect(second.port).toBe(first.port);

    // Stop the second one gracefully once 9 are acked: its open stream is cut when the grace period ends.
    await acks[8];
    second.process.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    const third = await serve(iso, { SIGHTLINE_PORT: port });

    await writer.close();
    const results = await Promise.all(acks);
    expect(results.map((a) => [a.sequence, a.error, a.summary?.rowsAccepted])).toEqual(all.map((_, i) => [BigInt(i + 1), undefined, BigInt(rows)]));
    expect(reconnects.length).toBeGreaterThanOrEqual(2);
    expect(reconnects.every((n) => n <= 4)).toBe(true);

    const reader = createSightlineClient({ url: third.url, apiKey: iso.adminKey });
    const records = await readAll(reader);
    expect(records.size).toBe(batches * rows);
    expect(countByBatch(records, batches)).toEqual(new Array(batches).fill(rows));
    expectContent(records, all.map((_, b) => b), rows);
  });
});

describe("StreamWriter bookkeeping", () => {
  /** A StreamWriter whose outgoing batches are recorded by sequence, and whose opened streams are counted. */
  function countingWriter(server: ServerHandle, iso: Isolation, writeTarget: TargetInit, maxInFlight?: number) {
    const sent: bigint[] = [];
    let streams = 0;
    const counter: Interceptor = (next) => async (req) => {
      if (!req.stream) return next(req);
      streams += 1;
      const source = req.message as AsyncIterable<StreamRequest>;
      const message = (async function* () {
        for await (const m of source) {
          if (m.message.case === "batch") sent.push(m.message.value.sequence);
          yield m;
        }
      })();
      return next({ ...req, message } as typeof req);
    };
    const auth: Interceptor = (next) => (req) => {
      req.header.set("authorization", `Bearer ${iso.adminKey}`);
      return next(req);
    };
    const transport = createGrpcTransport({ baseUrl: server.url, interceptors: [auth, counter] });
    return { writer: new StreamWriter(createClient(IngestService, transport), writeTarget, { maxInFlight }), sent, opened: () => streams };
  }

  it("sends each batch once on a healthy stream", async () => {
    const iso = isolation("writer");
    const server = await serve(iso);
    await setUp(createSightlineClient({ url: server.url, apiKey: iso.adminKey }));
    const { writer, sent } = countingWriter(server, iso, target);
    const acks = await Promise.all([0, 1, 2].map((b) => writer.write(batchFor(b, 3))));
    await writer.close();
    expect(acks.map((a) => a.sequence)).toEqual([1n, 2n, 3n]);
    expect(sent).toEqual([1n, 2n, 3n]);
  });

  it("lets a stream the server ends for idleness stay closed until the next write, which lands on a new one", async () => {
    const iso = isolation("writeridle");
    const server = await serve(iso, { SIGHTLINE_STREAM_IDLE_TIMEOUT_MS: "1000" });
    await setUp(createSightlineClient({ url: server.url, apiKey: iso.adminKey }));
    const { writer, sent, opened } = countingWriter(server, iso, target);
    expect((await writer.write(batchFor(0, 2))).error).toBeUndefined();
    // Four idle periods: a writer that reopened its stream each time would have opened four more by now.
    await new Promise((r) => setTimeout(r, 4_500));
    expect(opened()).toBe(1);
    const ack = await writer.write(batchFor(1, 2));
    expect(ack.error).toBeUndefined();
    expect(ack.sequence).toBe(2n);
    expect(opened()).toBe(2);
    await writer.close();
    expect(sent).toEqual([1n, 2n]);
    expect((await readAll(createSightlineClient({ url: server.url, apiKey: iso.adminKey }))).size).toBe(4);
  }, 30_000);

  it("fails every pending and waiting write when the stream fails for good", async () => {
    const iso = isolation("writerfail");
    const server = await serve(iso);
    await setUp(createSightlineClient({ url: server.url, apiKey: iso.adminKey }));
    // NOT_FOUND is not retryable; with one write in flight the second waits for room when the failure comes.
    const { writer } = countingWriter(server, iso, { ...target, collection: "ghost" }, 1);
    const outcomes = await Promise.allSettled([writer.write(batchFor(0, 1)), writer.write(batchFor(1, 1))]);
    expect(outcomes.map((o) => (o.status === "rejected" ? ConnectError.from(o.reason).code : "fulfilled"))).toEqual([Code.NotFound, Code.NotFound]);
    await expect(writer.write(batchFor(2, 1))).rejects.toThrow(/not found/);
    await expect(writer.close()).rejects.toThrow(/not found/);
  });
});

describe("a long stream", () => {
  /** Resident memory of a process, from /proc: what the operator sees, garbage included. */
  function rssMiB(pid: number): number {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) / 1024;
  }

  it("keeps the server's memory flat however many messages it carries", async () => {
    const iso = isolation("longstream");
    const server = await serve(iso);
    const client = createSightlineClient({ url: server.url, apiKey: iso.adminKey });
    await setUp(client);
    const messages = 16_000;
    const warmUp = 2_000;
    const samples: number[] = [];
    let acked = 0;
    let ackArrived: (() => void) | undefined;
    // One single-row batch per message, each sent when the previous one is acked, as a quiet inference service
    // would: the stream spends its time idle between messages, the case in which a leak per wait once showed.
    const requests = (async function* () {
      yield { message: { case: "header" as const, value: target } } as unknown as StreamRequest;
      for (let b = 0; b < messages; b++) {
        const arrived = new Promise<void>((r) => (ackArrived = r));
        yield { message: { case: "batch" as const, value: { sequence: BigInt(b + 1), batch: batchFor(b, 1) } } } as unknown as StreamRequest;
        await arrived;
      }
    })();
    for await (const ack of client.ingest.stream(requests) as AsyncIterable<StreamResponse>) {
      expect(ack.error).toBeUndefined();
      acked += 1;
      if (acked >= warmUp && acked % 1_000 === 0) samples.push(rssMiB(server.process.pid!));
      ackArrived?.();
    }
    expect(acked).toBe(messages);
    // The collector's sawtooth swings RSS by tens of MiB, so compare the low points of each half: retaining even
    // 4 KB per message would lift the second half's by about 30 MiB.
    const half = Math.floor(samples.length / 2);
    expect(Math.min(...samples.slice(half)) - Math.min(...samples.slice(0, half))).toBeLessThan(30);
    expect((await readAll(client)).size).toBe(messages);
  }, 300_000);
});

// Fault 6: a client that never drains its acks. It opens a Stream, keeps offering batches as fast as the transport
// takes them, reads one ack and then no more. What docs/operations.md ("Clients that take no responses") promises:
// memory stays bounded (the client is held back by HTTP/2 flow control: the Stream stops reading at its window, and
// the client can push at most the server's per-stream receive window of unread requests), and once response data has
// waited SIGHTLINE_STREAM_SEND_TIMEOUT_MS with none of it taken, the stream is reset with ENHANCE_YOUR_CALM, which the
// client sees as RESOURCE_EXHAUSTED, and the server logs `reset a stream whose client took no response data`. The test
// ends, as every fault does, by counting what is stored against what the client was acked.
//
// It runs on a private PostgreSQL + FerretDB + Redis set, so that load on the shared dev services cannot stall it.
//
// Sizes: one-row batches carrying a 3,000-byte string, so every message is ~3 KB; left unchecked the client would
// push 60,000 of them (~180 MB).
import { readFileSync } from "node:fs";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, describe, expect, it } from "vitest";
import {
  createSightlineClient,
  toRecordBatch,
  type RowObject,
  type StreamRequest,
  type StreamResponse,
} from "../../clients/ts/src/index.js";
import { recordFaultSummary, sleep, tally } from "../harness/faults.js";
import { startPrivateServices, type PrivateServices } from "../harness/private-services.js";
import { isolation, startServerProcess, type ServerHandle } from "../harness/processes.js";
import { createTaggedCollection, readTarget, splitTargetOf } from "../harness/records.js";

let services: PrivateServices | undefined;
let server: ServerHandle | undefined;
afterAll(async () => {
  await server?.stop("SIGKILL");
  await services?.close();
});

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) / 1024;
}

const padding = 3000;
const offered = 60_000;
const sendTimeoutMs = 3000;

function slowRow(b: number): RowObject {
  return { recordId: `slow${b}`, eventTime: null, columns: { "x.value": b / 7, $n: BigInt(b), batch: `${b}:`.padEnd(padding, "x") }, predictions: {}, influences: {} };
}

describe("a slow client", () => {
  it("that never drains its acks: the server's memory stays bounded, the stream is reset as documented, every ack is stored", async () => {
    const started = Date.now();
    const iso = isolation("slowclient");
    services = await startPrivateServices("slowclient");
    server = await startServerProcess(iso, { ...services.env, SIGHTLINE_STREAM_SEND_TIMEOUT_MS: String(sendTimeoutMs) });
    const pid = server.process.pid!;
    const client = createSightlineClient({ url: server.url, apiKey: iso.adminKey });
    await createTaggedCollection(client, "faults", "c", ["s"]);
    const target = splitTargetOf("faults", "c", "s");
    // A few calls' worth of warm-up, so the baseline is a server that has already served.
    await client.upload(target, [toRecordBatch({ recordIds: ["warm"], columns: { "x.value": [0], $n: [0n], batch: ["warm"] } })]);
    const baseline = rssMiB(pid);

    let pulled = 0;
    const requests = (async function* () {
      yield { message: { case: "header" as const, value: target } } as unknown as StreamRequest;
      for (let b = 0; b < offered; b++) {
        pulled += 1;
        const row = slowRow(b);
        const batch = toRecordBatch({ recordIds: [row.recordId], columns: { "x.value": [row.columns["x.value"] as number], $n: [row.columns.$n as bigint], batch: [row.columns.batch as string] } });
        yield { message: { case: "batch" as const, value: { sequence: BigInt(b + 1), batch } } } as unknown as StreamRequest;
      }
    })();
    const responses = client.ingest.stream(requests)[Symbol.asyncIterator]();
    const acks: StreamResponse[] = [];
    const first = await responses.next();
    if (first.done !== true) acks.push(first.value);

    // Now the client takes nothing more. Watch the server's memory until it resets the stream.
    const samples: number[] = [];
    const sampling = setInterval(() => samples.push(rssMiB(pid)), 200);
    let resetLine: string;
    try {
      resetLine = await server.waitForLine(/reset a stream whose client took no response data/, 120_000);
    } finally {
      clearInterval(sampling);
    }
    const pulledAtReset = pulled;

    // The client reads again: what was already on its side of the connection, then how the call ended.
    let ended: ConnectError | undefined;
    try {
      for (let next = await responses.next(); next.done !== true; next = await responses.next()) acks.push(next.value);
    } catch (err) {
      ended = ConnectError.from(err);
    }
    await sleep(500);

    const acked = new Set<string>();
    for (const ack of acks) {
      expect(ack.error).toBeUndefined();
      acked.add(`slow${Number(ack.sequence) - 1}`);
    }
    const read = await readTarget(client, target);
    read.records.delete("warm");
    read.rowsRead -= 1;
    const expected = new Map<string, RowObject>();
    for (let b = 0; b < pulledAtReset; b++) expected.set(`slow${b}`, slowRow(b));
    const counts = tally(expected, acked, read, pulledAtReset);
    const peak = Math.max(...samples);
    await recordFaultSummary({
      fault: "slow-client",
      injected: `a Stream client that reads one ack and then none, while offering ${offered} batches of ~${padding} bytes (SIGHTLINE_STREAM_SEND_TIMEOUT_MS=${sendTimeoutMs})`,
      durationMs: Date.now() - started,
      ...counts,
      details: {
        endedWith: ended === undefined ? "no error" : Code[ended.code],
        endedMessage: ended?.rawMessage,
        batchesTheClientGotOut: pulledAtReset,
        rssBaselineMiB: Math.round(baseline),
        rssPeakMiB: Math.round(peak),
        serverLog: JSON.parse(resetLine) as unknown,
      },
    });

    // Held back: the client got out a bounded number of batches, far fewer than it offered.
    expect(pulledAtReset * padding, "bytes the client got out before the reset").toBeLessThan(40 * 1024 * 1024);
    // Bounded memory: unchecked, the offered batches alone would add ~180 MB.
    expect(peak - baseline, `server RSS grew from ${baseline.toFixed(0)} to ${peak.toFixed(0)} MiB`).toBeLessThan(100);
    // The documented end: ENHANCE_YOUR_CALM, which gRPC clients report as RESOURCE_EXHAUSTED, and a warn log with the path.
    expect(ended?.code === undefined ? "no error" : Code[ended.code]).toBe("ResourceExhausted");
    expect(resetLine).toMatch(/"level":"warn".*IngestService\/Stream/);
    // The count: every ack the client got is stored, with the content sent; nothing twice.
    expect(acks.length).toBeGreaterThan(0);
    expect({ lost: counts.lost, duplicated: counts.duplicated, wrong: counts.wrong, unexpected: counts.unexpected }).toEqual({ lost: 0, duplicated: 0, wrong: 0, unexpected: 0 });
    // The server is still serving.
    expect((await readTarget(client, target)).records.size).toBe(read.records.size + 1);
  }, 240_000);
});

// What the fault injection suite (test/faults/) shares: clients that retry the way the docs tell clients to, the
// count of what is stored against what was acked, and the machine-readable summary each fault leaves behind.
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { Code, ConnectError, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  JobState,
  toRecordBatch,
  type BatchInput,
  type RecordBatch,
  type RowObject,
  type SightlineClient,
  type TargetInit,
  type WatchJobResponse,
  type WriteSummary,
} from "../../clients/ts/src/index.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
export const summaryFile = join(root, ".dev", "faults-summary.json");

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Records per Upload in the database faults: SIGHTLINE_FAULT_RECORDS, or the test's own default. */
export function faultRecords(fallback: number): number {
  const raw = process.env.SIGHTLINE_FAULT_RECORDS;
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1000) throw new Error(`SIGHTLINE_FAULT_RECORDS must be a whole number >= 1000, got "${raw}"`);
  return n;
}

// ------------------------------------------------------------------------------------------------------------------
// Counting

export interface Tally {
  /** Distinct record IDs the clients sent. */
  sent: number;
  /** Records the clients offered, re-sends included (a failed Upload may have taken more of them than it read). */
  sends: number;
  /** Distinct record IDs a client holds an ack for (a Stream ack, or the summary of an Upload that completed). */
  acked: number;
  /** Records stored in the targets, as read back. */
  stored: number;
  /** Acked records missing from the store, or stored with content other than what was sent. */
  lost: number;
  /** Stored records beyond one per ID (an ID read back twice). */
  duplicated: number;
  /** Stored records whose content is not what was sent for their ID (acked or not). */
  wrong: number;
  /** Stored records with IDs nobody sent. */
  unexpected: number;
}

export interface ReadBack {
  records: Map<string, RowObject>;
  rowsRead: number;
}

/** Counts what is stored against what was sent (`expected`, by ID) and acked. */
export function tally(expected: Map<string, RowObject>, acked: Set<string>, read: ReadBack, sends: number): Tally {
  let lost = 0;
  for (const id of acked) {
    const stored = read.records.get(id);
    if (stored === undefined || !isDeepStrictEqual(stored, expected.get(id))) lost += 1;
  }
  let wrong = 0;
  let unexpected = 0;
  for (const [id, stored] of read.records) {
    const want = expected.get(id);
    if (want === undefined) unexpected += 1;
    else if (!isDeepStrictEqual(stored, want)) wrong += 1;
  }
  return { sent: expected.size, sends, acked: acked.size, stored: read.records.size, lost, duplicated: read.rowsRead - read.records.size, wrong, unexpected };
}

// ------------------------------------------------------------------------------------------------------------------
// The summary: .dev/faults-summary.json, one entry per fault, written by whichever test file finishes it

export interface FaultSummary extends Partial<Tally> {
  /** Stable key, such as "database-ferretdb-restart". */
  fault: string;
  /** What was done to the system, in words. */
  injected: string;
  durationMs: number;
  /** Anything else worth keeping: retries, reconnects, sizes. */
  details?: Record<string, unknown>;
}

function withFileLock<T>(file: string, fn: () => T): Promise<T> {
  const lock = `${file}.lock`;
  return (async () => {
    for (let i = 0; ; i++) {
      try {
        closeSync(openSync(lock, "wx"));
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        // A writer holds it for milliseconds; one that died left it behind.
        try {
          if (Date.now() - statSync(lock).mtimeMs > 10_000) rmSync(lock, { force: true });
        } catch {
          // gone meanwhile
        }
        if (i > 500) throw new Error(`could not lock ${file}`);
        await sleep(20);
      }
    }
    try {
      return fn();
    } finally {
      rmSync(lock, { force: true });
    }
  })();
}

/** Adds (or replaces) this fault's entry in .dev/faults-summary.json and prints it as one line. */
export async function recordFaultSummary(summary: FaultSummary): Promise<void> {
  const entry = { ...summary, at: new Date().toISOString() };
  process.stdout.write(`FAULT-SUMMARY ${JSON.stringify(entry)}\n`);
  mkdirSync(join(root, ".dev"), { recursive: true });
  await withFileLock(summaryFile, () => {
    let doc: { faults: Record<string, unknown> } = { faults: {} };
    try {
      doc = JSON.parse(readFileSync(summaryFile, "utf8")) as typeof doc;
    } catch {
      // first entry, or an unreadable file: start again
    }
    doc.faults[summary.fault] = entry;
    const tmp = `${summaryFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(doc, null, 2)}\n`);
    renameSync(tmp, summaryFile);
  });
}

// ------------------------------------------------------------------------------------------------------------------
// Clients that retry

export interface RetriedUpload {
  summary: WriteSummary;
  attempts: number;
  /** The code of every failed attempt, in order. */
  failures: Code[];
}

/**
 * An Upload confirms nothing until it ends, so a client whose Upload fails re-sends all of it: the writes are upserts
 * by record ID, so records that made it the first time are rewritten with the same content. Only the codes in
 * `retryOn` are retried (UNAVAILABLE, as the API docs ask); anything else fails the call.
 */
export async function uploadWithRetry(
  client: SightlineClient,
  target: TargetInit,
  batches: (attempt: number) => Iterable<BatchInput | RecordBatch> | AsyncIterable<BatchInput | RecordBatch>,
  options: { retryOn?: Code[]; maxAttempts?: number; backoffMs?: number } = {},
): Promise<RetriedUpload> {
  const retryOn = options.retryOn ?? [Code.Unavailable];
  const failures: Code[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      return { summary: await client.upload(target, batches(attempt)), attempts: attempt, failures };
    } catch (err) {
      const code = ConnectError.from(err).code;
      failures.push(code);
      if (!retryOn.includes(code) || attempt >= (options.maxAttempts ?? 60)) {
        throw new Error(`upload attempt ${attempt} failed with ${Code[code]} (failures so far: ${failures.map((c) => Code[c]).join(", ")}): ${String(err)}`);
      }
      await sleep(Math.min((options.backoffMs ?? 250) * 2 ** Math.min(attempt - 1, 3), 2000));
    }
  }
}

/** The record IDs of batches, as a set. */
export function idsOf(batches: Iterable<BatchInput | RecordBatch>): Set<string> {
  const ids = new Set<string>();
  for (const b of batches) for (const id of toRecordBatch(b).recordIds) ids.add(id);
  return ids;
}

/**
 * Follows a job to its end, watching again when the watch is cut (UNAVAILABLE: Redis away, or the server it was
 * talking to going down), as docs/api.md tells clients to.
 */
export async function watchUntilDone(
  client: SightlineClient,
  jobId: string,
  options: { onStatus?: (s: WatchJobResponse) => void; timeoutMs?: number } = {},
): Promise<WatchJobResponse & { rewatches: number }> {
  const deadline = Date.now() + (options.timeoutMs ?? 180_000);
  let rewatches = 0;
  for (;;) {
    try {
      for await (const status of client.monitoring.watchJob({ jobId }, { timeoutMs: Math.max(1000, deadline - Date.now()) })) {
        options.onStatus?.(status);
        if (status.state === JobState.COMPLETED || status.state === JobState.FAILED) return Object.assign(status, { rewatches });
      }
    } catch (err) {
      const code = ConnectError.from(err).code;
      if (code !== Code.Unavailable || Date.now() > deadline) throw err;
    }
    rewatches += 1;
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not end in time`);
    await sleep(300);
  }
}

// ------------------------------------------------------------------------------------------------------------------
// Several replicas behind one client

export interface Failover {
  transport: Transport;
  /** Response messages received from each replica, by index. */
  received: number[];
  /** Replicas the client has stopped using. */
  down: Set<number>;
  /** Calls started on each replica. */
  calls: number[];
  /** The code of every failed call, in order, with its replica. */
  failures: { replica: number; code: Code; message: string }[];
}

function bearer(apiKey: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${apiKey}`);
    return next(req);
  };
}

/**
 * A client-side pick-first balancer over server replicas: every call goes to the first replica not marked down, and
 * (with more than one replica) a replica is marked down when a call on it fails with UNAVAILABLE or is cut (CANCELED,
 * UNKNOWN: a reset stream), as a gRPC client with several addresses does when one backend goes away. It records every
 * failure, and `onMessage` sees every response message with the replica that sent it.
 */
export function failoverTransport(urls: string[], apiKey: string, onMessage?: (replica: number) => void): Failover {
  const transports = urls.map((url) => createGrpcTransport({ baseUrl: url, interceptors: [bearer(apiKey)] }));
  const received = urls.map(() => 0);
  const calls = urls.map(() => 0);
  const down = new Set<number>();
  const failures: Failover["failures"] = [];
  const cutCodes = new Set([Code.Unavailable, Code.Canceled, Code.Unknown]);
  const pick = () => {
    const i = transports.findIndex((_, j) => !down.has(j));
    if (i < 0) throw new ConnectError("every replica is down", Code.Unavailable);
    calls[i]! += 1;
    return i;
  };
  const failed = (i: number, err: unknown) => {
    const e = ConnectError.from(err);
    failures.push({ replica: i, code: e.code, message: e.rawMessage });
    if (urls.length > 1 && cutCodes.has(e.code)) down.add(i);
  };
  const transport: Transport = {
    async unary(...args) {
      const i = pick();
      try {
        const res = await transports[i]!.unary(...args);
        received[i]! += 1;
        onMessage?.(i);
        return res;
      } catch (err) {
        failed(i, err);
        throw err;
      }
    },
    async stream(...args) {
      const i = pick();
      try {
        const res = await transports[i]!.stream(...args);
        const messages = res.message;
        return {
          ...res,
          message: (async function* () {
            try {
              for await (const m of messages) {
                received[i]! += 1;
                onMessage?.(i);
                yield m;
              }
            } catch (err) {
              failed(i, err);
              throw err;
            }
          })(),
        } as typeof res;
      } catch (err) {
        failed(i, err);
        throw err;
      }
    },
  };
  return { transport, received, down, calls, failures };
}

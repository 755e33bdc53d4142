// A real-time writer over the bidirectional Stream: each write resolves with its ack, sent by the server after the
// batch is durable. Batches without an ack are re-sent on a new stream after a disconnect; upserts by record ID
// make the re-send harmless.
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { IngestService, StreamRequest, StreamRequestSchema, StreamResponse } from "./gen/sightline/v1/ingest_service_pb.js";
import type { RecordBatch, TargetSchema } from "./gen/sightline/v1/records_pb.js";

export interface StreamWriterOptions {
  /** Writes awaiting an ack before `write` waits; default 64. */
  maxInFlight?: number;
  /** Reconnect attempts after a retryable failure before pending writes fail; default 20. */
  maxReconnects?: number;
  /** Called after each reconnect, with the number of batches re-sent. */
  onReconnect?: (resent: number) => void;
}

interface Pending {
  sequence: bigint;
  batch: RecordBatch;
  acked: Promise<StreamResponse>;
  resolve: (ack: StreamResponse) => void;
  reject: (err: unknown) => void;
}

// The writer never cancels its own streams, so CANCELED comes from the other side: a server that cuts its open calls
// when its shutdown grace period ends resets them with CANCEL.
const retryable = new Set([Code.Unavailable, Code.Internal, Code.Unknown, Code.DeadlineExceeded, Code.Aborted, Code.ResourceExhausted, Code.Canceled]);

/** A queue of outgoing messages that a stream consumes; ending it ends the request side. */
class Outbox {
  private queue: MessageInitShape<typeof StreamRequestSchema>[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  push(message: MessageInitShape<typeof StreamRequestSchema>) {
    this.queue.push(message);
    this.wake?.();
  }
  end() {
    this.ended = true;
    this.wake?.();
  }
  async *messages(): AsyncIterable<MessageInitShape<typeof StreamRequestSchema>> {
    for (;;) {
      const next = this.queue.shift();
      if (next !== undefined) yield next;
      else if (this.ended) return;
      else await new Promise<void>((r) => (this.wake = r));
    }
  }
}

export class StreamWriter {
  private sequence = 0n;
  private readonly pending = new Map<bigint, Pending>();
  private outbox: Outbox | undefined;
  private running: Promise<void> | undefined;
  private closing = false;
  private failure: unknown;
  private capacityWaiters: (() => void)[] = [];
  /** Writes waiting for room; flush() waits for them too. */
  private waiting = 0;
  private readonly maxInFlight: number;

  constructor(
    private readonly client: Client<typeof IngestService>,
    private readonly target: MessageInitShape<typeof TargetSchema>,
    private readonly options: StreamWriterOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 64;
  }

  /** Sends a batch; resolves with its ack once the server has made it durable. */
  async write(batch: RecordBatch): Promise<StreamResponse> {
    if (this.failure !== undefined) throw this.failure;
    if (this.closing) throw new Error("the writer is closed");
    this.waiting += 1;
    try {
      while (this.pending.size >= this.maxInFlight) await new Promise<void>((r) => this.capacityWaiters.push(r));
    } finally {
      this.waiting -= 1;
    }
    // The writer may have failed (or been closed) while this write waited for room.
    if (this.failure !== undefined) throw this.failure;
    if (this.closing) throw new Error("the writer is closed");
    const sequence = ++this.sequence;
    let resolve!: (ack: StreamResponse) => void;
    let reject!: (err: unknown) => void;
    const acked = new Promise<StreamResponse>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.pending.set(sequence, { sequence, batch, acked, resolve, reject });
    // A new stream sends every pending batch itself, this one included; an open one gets just this batch.
    if (this.running === undefined) this.running = this.run();
    else this.outbox?.push({ message: { case: "batch", value: { sequence, batch } } });
    return acked;
  }

  /** Waits until every write so far has its ack, including writes still waiting for room when it was called. */
  async flush(): Promise<void> {
    while (this.failure === undefined && (this.pending.size > 0 || this.waiting > 0)) {
      await Promise.allSettled([...this.pending.values()].map((p) => p.acked));
    }
    if (this.failure !== undefined) throw this.failure;
  }

  /** Flushes, then ends the stream. */
  async close(): Promise<void> {
    await this.flush();
    this.closing = true;
    this.outbox?.end();
    await this.running;
    if (this.failure !== undefined) throw this.failure;
  }

  private settle(ack: StreamResponse): void {
    const entry = this.pending.get(ack.sequence);
    if (entry === undefined) return;
    this.pending.delete(ack.sequence);
    entry.resolve(ack);
    this.capacityWaiters.shift()?.();
  }

  private failAll(err: unknown): void {
    this.failure = err;
    for (const entry of this.pending.values()) entry.reject(err);
    this.pending.clear();
    for (const wake of this.capacityWaiters.splice(0)) wake();
  }

  /** Ends this run with nothing pending; the next write opens a new stream. */
  private goIdle(): void {
    this.outbox = undefined;
    this.running = undefined;
  }

  private async run(): Promise<void> {
    let reconnects = 0;
    for (;;) {
      const outbox = new Outbox();
      this.outbox = outbox;
      outbox.push({ message: { case: "header", value: this.target } });
      const resent = [...this.pending.values()].sort((a, b) => (a.sequence < b.sequence ? -1 : 1));
      for (const p of resent) outbox.push({ message: { case: "batch", value: { sequence: p.sequence, batch: p.batch } } });
      if (reconnects > 0) this.options.onReconnect?.(resent.length);
      if (this.closing && this.pending.size === 0) outbox.end();
      try {
        for await (const ack of this.client.stream(outbox.messages() as AsyncIterable<StreamRequest>)) {
          reconnects = 0;
          this.settle(ack);
        }
        if (this.closing && this.pending.size === 0) return;
        if (this.pending.size === 0) return this.goIdle();
      } catch (err) {
        const code = ConnectError.from(err).code;
        if (!retryable.has(code) || ++reconnects > (this.options.maxReconnects ?? 20)) {
          this.failAll(err);
          return;
        }
        // Nothing to re-send: typically the server ended a stream that sat idle past its timeout. Reopening it now
        // would only be timed out again, and each time would count against maxReconnects.
        if (this.pending.size === 0) return this.goIdle();
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** reconnects, 2000)));
      }
    }
  }
}

import { create } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { authorizeProject } from "../auth/principal.js";
import type { IngestConfig } from "../config.js";
import { invalidArgument, throwIfInvalid, type Violation } from "../errors.js";
import {
  BatchErrorSchema,
  IngestService,
  PutResponseSchema,
  ReadRecordsResponseSchema,
  StreamResponseSchema,
  UploadResponseSchema,
  type ReadRecordsRequest,
  type StreamRequest,
  type StreamResponse,
  type UploadRequest,
} from "../gen/sightline/v1/ingest_service_pb.js";
import { DataKind, type RecordBatch, type Target } from "../gen/sightline/v1/records_pb.js";
import { batchBytes } from "../ingest/batch-bytes.js";
import { encodeBatch, readColumns } from "../ingest/encode.js";
import type { RecordDoc } from "../ingest/layout.js";
import { SummaryBuilder } from "../ingest/summary.js";
import type { Store } from "../store/db.js";
import { findRecords, resolveTarget, writeRecords, type BatchWrite, type ResolvedTarget } from "../store/records.js";
import type { RpcDeps } from "./deps.js";
import { BatchRefused, ingestBatch, prepareBatch, throwIfAborted, type PreparedBatch } from "./ingest-batch.js";
import { IdleTimeout, IdleWatch } from "./stream-idle.js";
import { StreamWindow } from "./stream-window.js";
import { WriteCoalescer } from "../store/write-coalescer.js";

const allKinds = [DataKind.FEATURES, DataKind.LABELS, DataKind.EXTRA, DataKind.PREDICTIONS, DataKind.INFLUENCES];
const defaultReadBatch = 1000;
/** Bulk writes one Stream keeps out at once: enough to write each message as it comes while the database keeps up. */
const streamBulkWrites = 4;
const maxReadBatch = 10_000;
/**
 * Record IDs one read may select: each is a point read. (When they were one `$in`, a few hundred thousand outgrew
 * the 16 MiB a MongoDB command may hold, and the call ended INTERNAL.)
 */
const maxReadRecordIds = 10_000;

function prefixed(prefix: string, violations: Violation[]): Violation[] {
  return violations.map((v) => ({ field: v.field.replace(/^batch/, prefix), description: v.description }));
}

/** The header of a client stream: the first message, and only the first, names the target. */
async function readHeader<M extends UploadRequest | StreamRequest>(
  iterator: AsyncIterator<M>,
  store: Store,
  ctx: HandlerContext,
  idle: IdleWatch,
): Promise<{ target: ResolvedTarget; header: Target }> {
  try {
    const first = await idle.next(iterator);
    if (first.done === true || first.value.message.case !== "header") {
      throw invalidArgument([{ field: "header", description: "the first message must be the header naming the target" }]);
    }
    const header = first.value.message.value;
    authorizeProject(ctx, header.project);
    return { target: await resolveTarget(store, header, "write"), header };
  } catch (err) {
    idle.close();
    throw err;
  }
}

function uploadOutcome(batches: number): string {
  if (batches === 0) return "nothing was written";
  return batches === 1 ? "the batch received is written" : `the ${batches} batches received are written`;
}

function readRequestChecks(req: ReadRecordsRequest): Violation[] {
  const violations: Violation[] = [];
  if (req.batchSize < 0 || req.batchSize > maxReadBatch) violations.push({ field: "batch_size", description: `must be between 0 and ${maxReadBatch}` });
  if (req.recordIds.length > maxReadRecordIds) {
    violations.push({ field: "record_ids", description: `holds ${req.recordIds.length} IDs; a read selects at most ${maxReadRecordIds}` });
  }
  req.kinds.forEach((kind, i) => {
    if (!allKinds.includes(kind)) violations.push({ field: `kinds[${i}]`, description: "is not a data kind" });
  });
  return violations;
}

export function registerIngest(router: ConnectRouter, { store, queues, config, log, influencesOnIngest: influences, ingestMetrics }: RpcDeps): void {
  const limits: IngestConfig = config.ingest;
  const recount = (target: ResolvedTarget) => queues.requestCollectionStats(target.project, target.collection.name);
  /**
   * Every write of the three ways in: the records, then (once they are durable) their count in the metrics, then
   * influence jobs for models that compute them on ingest.
   */
  const writeThen = (target: ResolvedTarget, write: (batch: BatchWrite) => Promise<void>) => async (batch: PreparedBatch) => {
    await write(batch);
    ingestMetrics.written(batch);
    await influences.afterWrite(target, batch);
  };

  router.service(IngestService, {
    async upload(requests, ctx) {
      const iterator = requests[Symbol.asyncIterator]();
      let index = 0;
      // Measured only while the server waits for the next message: not while a full window holds the client back.
      const idle = new IdleWatch(limits.streamIdleTimeoutMs, () => uploadOutcome(index));
      const { target } = await readHeader(iterator, store, ctx, idle);
      const summary = new SummaryBuilder(limits.maxRowErrors);
      // Batches are validated in order as they arrive and written up to a window at once, so validation, the
      // network and the database overlap; a batch sharing a record ID with one in flight waits for it.
      const window = new StreamWindow<void>(limits.uploadWindow);
      const write = writeThen(target, (batch) => writeRecords(store, target, batch, limits.writeChunkRows));
      const settleWindow = async () => {
        for (let entry = window.shift(); entry !== undefined; entry = window.shift()) await entry.done;
      };
      try {
        for (let next = await idle.next(iterator); next.done !== true; next = await idle.next(iterator)) {
          if (next.value.message.case !== "batch") {
            throw invalidArgument([{ field: `messages[${index + 1}]`, description: "only the first message may be a header" }]);
          }
          const batch = next.value.message.value;
          let prepared: PreparedBatch;
          try {
            prepared = prepareBatch(target, batch, limits);
          } catch (err) {
            if (!(err instanceof BatchRefused)) throw err;
            await settleWindow();
            throw invalidArgument(
              prefixed(`batches[${index}]`, err.violations),
              `batch ${index} refused, nothing of it written (the ${index} batches before it are): ${err.message}`,
            );
          }
          throwIfAborted(ctx.signal);
          if (window.full) await window.shift()!.done;
          window.add(new Set(batch.recordIds), () => write(prepared));
          summary.add(BigInt(index), prepared.rows, prepared.kinds, prepared.errors);
          index += 1;
        }
        await settleWindow();
      } catch (err) {
        // The batches taken before the client went quiet are written before the call ends, as its message says.
        if (err instanceof IdleTimeout) await settleWindow();
        throw err;
      } finally {
        idle.close();
        if (index > 0) await recount(target);
      }
      return create(UploadResponseSchema, { summary: summary.build() });
    },

    async *stream(requests, ctx) {
      const iterator = requests[Symbol.asyncIterator]();
      let headerRead = false;
      const idle = new IdleWatch(limits.streamIdleTimeoutMs, () => (headerRead ? "every batch received before is acked" : "nothing was written"));
      const { target } = await readHeader(iterator, store, ctx, idle);
      headerRead = true;
      const window = new StreamWindow<StreamResponse>(limits.streamWindow, limits.streamWindowBytes);
      const coalescer = new WriteCoalescer(store, target, limits.writeChunkRows, streamBulkWrites);
      const write = writeThen(target, (batch) => coalescer.write(batch));
      let lastRecount = Date.now();
      const writeOne = async (sequence: bigint, batch: RecordBatch | undefined): Promise<StreamResponse> => {
        const summary = new SummaryBuilder(limits.maxRowErrors);
        try {
          if (batch === undefined) throw new BatchRefused([{ field: "batch", description: "is required" }]);
          const result = await ingestBatch(store, target, batch, limits, ctx.signal, write);
          summary.add(sequence, result.rows, result.kinds, result.errors);
          return create(StreamResponseSchema, { sequence, summary: summary.build() });
        } catch (err) {
          if (!(err instanceof BatchRefused)) throw err;
          const error = create(BatchErrorSchema, { code: Code.InvalidArgument, message: err.message, violations: err.violations });
          return create(StreamResponseSchema, { sequence, summary: summary.build(), error });
        }
      };
      // A reader takes requests while the window has room and starts each batch's write; this generator sends the
      // acks in order as the oldest batch becomes durable. They run apart, so sending an ack (connect-node writing a
      // response) never holds up reading the next message or starting its write. Reading stops while the window is
      // full, so HTTP/2 flow control holds the client back and a stream never holds more than its window of batches.
      let readerDone = false;
      let readerError: unknown;
      let wakeSender: (() => void) | undefined;
      let wakeReader: (() => void) | undefined;
      const nudgeSender = () => {
        const wake = wakeSender;
        wakeSender = undefined;
        wake?.();
      };
      void (async () => {
        for (;;) {
          while (window.full) await new Promise<void>((r) => (wakeReader = r));
          // The client is idle only when it has nothing in flight: with batches unacked it may be waiting for acks.
          const next = await idle.next(iterator, window.size === 0);
          if (next.done === true) return;
          const message = next.value.message;
          if (message.case !== "batch") throw invalidArgument([{ field: "message", description: "only the first message may be a header" }]);
          const { sequence, batch } = message.value;
          window.add(new Set(batch?.recordIds ?? []), () => writeOne(sequence, batch), batchBytes(batch));
          nudgeSender();
        }
      })().then(
        () => {
          idle.close();
          readerDone = true;
          nudgeSender();
        },
        (err: unknown) => {
          idle.close();
          readerError = err;
          readerDone = true;
          nudgeSender();
        },
      );
      for (;;) {
        const head = window.head();
        if (head === undefined) {
          if (readerError !== undefined) throw readerError;
          if (readerDone) break;
          await new Promise<void>((r) => (wakeSender = r));
          continue;
        }
        const ack = await head.done;
        window.shift();
        if (window.size === 0) idle.timeWait();
        const wake = wakeReader;
        wakeReader = undefined;
        wake?.();
        yield ack;
        if (Date.now() - lastRecount > 5000) {
          lastRecount = Date.now();
          // Not awaited: a queue round trip must not delay the acks behind this one.
          void recount(target).catch((err: unknown) => log.warn("stream: could not queue a statistics count", { error: String(err) }));
        }
      }
      await recount(target);
    },

    async put(req, ctx) {
      if (req.target === undefined) throw invalidArgument([{ field: "target", description: "is required" }]);
      authorizeProject(ctx, req.target.project);
      const target = await resolveTarget(store, req.target, "write");
      if (req.batch === undefined) throw invalidArgument([{ field: "batch", description: "is required" }]);
      if (req.batch.recordIds.length > limits.maxPutRows) {
        throw invalidArgument([{ field: "batch.record_ids", description: `holds ${req.batch.recordIds.length} rows; Put takes at most ${limits.maxPutRows}, use Upload for more` }]);
      }
      const summary = new SummaryBuilder(limits.maxRowErrors);
      try {
        const result = await ingestBatch(store, target, req.batch, limits, ctx.signal, writeThen(target, (batch) => writeRecords(store, target, batch, limits.writeChunkRows)));
        summary.add(0n, result.rows, result.kinds, result.errors);
      } catch (err) {
        if (err instanceof BatchRefused) throw invalidArgument(err.violations);
        throw err;
      }
      await recount(target);
      return create(PutResponseSchema, { summary: summary.build() });
    },

    async *readRecords(req, ctx) {
      if (req.target === undefined) throw invalidArgument([{ field: "target", description: "is required" }]);
      authorizeProject(ctx, req.target.project);
      throwIfInvalid(readRequestChecks(req));
      const target = await resolveTarget(store, req.target, "read");
      const kinds = new Set(req.kinds.length > 0 ? req.kinds : allKinds);
      const only = req.fields.length > 0 ? new Set(req.fields) : undefined;
      const columns = readColumns(target.collection.fields, target.model, kinds, only);
      const projection: Record<string, 1> = { ct: 1, ts: 1 };
      for (const c of columns) projection[c.projection] = 1;
      const batchSize = req.batchSize === 0 ? defaultReadBatch : req.batchSize;
      const records = findRecords(store, {
        target,
        startMs: req.startTime === undefined ? undefined : timestampMs(req.startTime),
        endMs: req.endTime === undefined ? undefined : timestampMs(req.endTime),
        recordIds: req.recordIds,
        projection,
        batchSize,
        signal: ctx.signal,
      });
      let docs: RecordDoc[] = [];
      for await (const doc of records) {
        docs.push(doc);
        if (docs.length === batchSize) {
          yield create(ReadRecordsResponseSchema, { batch: encodeBatch(docs, columns) });
          docs = [];
        }
      }
      if (docs.length > 0) yield create(ReadRecordsResponseSchema, { batch: encodeBatch(docs, columns) });
    },
  });
}

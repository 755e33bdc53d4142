// The one path every way in shares: plan the batch, validate its rows, upsert the accepted ones.
import { Code, ConnectError } from "@connectrpc/connect";
import type { IngestConfig } from "../config.js";
import type { Violation } from "../errors.js";
import { RowErrorReason, type DataKind, type RecordBatch } from "../gen/sightline/v1/records_pb.js";
import { planBatch } from "../ingest/plan.js";
import { eventTimeAt, validateRows, validTime, type RowErrorInit } from "../ingest/rows.js";
import { hourStart } from "../monitoring/buckets.js";
import type { Store } from "../store/db.js";
import { writeRecords, type BatchWrite, type RejectedRow, type ResolvedTarget } from "../store/records.js";

export interface BatchResult {
  rows: number;
  kinds: DataKind[];
  errors: RowErrorInit[];
}

/** A validated batch: its accepted rows, ready to write, the buckets of its rejected rows, and its summary. */
export interface PreparedBatch extends BatchResult, BatchWrite {}

/** A batch refused whole: none of its rows was written. */
export class BatchRefused extends Error {
  constructor(readonly violations: Violation[]) {
    super(violations.map((v) => `${v.field}: ${v.description}`).join("; "));
  }
}

/** Plans and validates a batch without writing; throws BatchRefused when the batch is refused whole. */
export function prepareBatch(target: ResolvedTarget, batch: RecordBatch, limits: IngestConfig): PreparedBatch {
  const { plan, violations } = planBatch({ fields: target.collection.fields, production: target.production, model: target.model }, batch, limits);
  if (plan === undefined) throw new BatchRefused(violations);
  const now = new Date();
  const outcome = validateRows(plan, batch.recordIds, { targetKey: target.key, production: target.production, model: target.model?.name, now }, limits);
  // A rejected row counts in the hour of its event time when it has a usable one, else in the hour it arrived.
  const rejected: RejectedRow[] = outcome.errors.map((e) => {
    const eventMs = eventTimeAt(plan, Number(e.row));
    const hour = target.production ? hourStart(eventMs !== undefined && validTime(eventMs) ? eventMs : now.getTime()) : undefined;
    return { hour, reason: RowErrorReason[e.reason] ?? String(e.reason) };
  });
  return { rows: plan.rows, kinds: outcome.kinds, errors: outcome.errors, writes: outcome.writes, rejected };
}

/**
 * A call that is already cancelled or past its deadline writes nothing more. It ends with the code of what ended it:
 * CANCELED for a client that went away, DEADLINE_EXCEEDED, or UNAVAILABLE when the server's shutdown cut it, which
 * tells the client to retry elsewhere (docs/api.md).
 */
export function throwIfAborted(signal: AbortSignal): void {
  if (!signal.aborted) return;
  const reason: unknown = signal.reason;
  if (!(reason instanceof ConnectError) || reason.code === Code.Canceled) {
    throw new ConnectError("the call was cancelled before the batch was written", Code.Canceled);
  }
  throw new ConnectError(`${reason.rawMessage}; the batch was not written`, reason.code);
}

export async function ingestBatch(
  store: Store,
  target: ResolvedTarget,
  batch: RecordBatch,
  limits: IngestConfig,
  signal: AbortSignal,
  write: (batch: PreparedBatch) => Promise<void> = (batch) => writeRecords(store, target, batch, limits.writeChunkRows),
): Promise<BatchResult> {
  const prepared = prepareBatch(target, batch, limits);
  throwIfAborted(signal);
  // Once started, a batch is written whole: no cancellation check between its chunks.
  await write(prepared);
  return { rows: prepared.rows, kinds: prepared.kinds, errors: prepared.errors };
}

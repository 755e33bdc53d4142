// The one path every way in shares: plan the batch, validate its rows, upsert the accepted ones.
import { Code, ConnectError } from "@connectrpc/connect";
import type { IngestConfig } from "../config.js";
import type { Violation } from "../errors.js";
import type { DataKind, RecordBatch } from "../gen/sightline/v1/records_pb.js";
import { planBatch } from "../ingest/plan.js";
import { validateRows, type RowErrorInit, type RowWrite } from "../ingest/rows.js";
import type { Store } from "../store/db.js";
import { writeRecords, type ResolvedTarget } from "../store/records.js";

export interface BatchResult {
  rows: number;
  kinds: DataKind[];
  errors: RowErrorInit[];
}

/** A batch refused whole: none of its rows was written. */
export class BatchRefused extends Error {
  constructor(readonly violations: Violation[]) {
    super(violations.map((v) => `${v.field}: ${v.description}`).join("; "));
  }
}

export async function ingestBatch(
  store: Store,
  target: ResolvedTarget,
  batch: RecordBatch,
  limits: IngestConfig,
  signal: AbortSignal,
  write: (writes: RowWrite[]) => Promise<void> = (writes) => writeRecords(store, target, writes, limits.writeChunkRows),
): Promise<BatchResult> {
  const { plan, violations } = planBatch({ fields: target.collection.fields, production: target.production, model: target.model }, batch, limits);
  if (plan === undefined) throw new BatchRefused(violations);
  const outcome = validateRows(plan, batch.recordIds, { targetKey: target.key, production: target.production, model: target.model?.name, now: new Date() }, limits);
  // A call that is already cancelled or past its deadline writes nothing more.
  if (signal.aborted) throw new ConnectError("the call was cancelled before the batch was written", Code.Canceled);
  // Once started, a batch is written whole: no cancellation check between its chunks.
  await write(outcome.writes);
  return { rows: plan.rows, kinds: outcome.kinds, errors: outcome.errors };
}

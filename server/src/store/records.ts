// Record documents: resolving where rows go, upserting them, and reading them back.
import { MongoBulkWriteError, type AnyBulkWriteOperation, type Filter } from "mongodb";
import { checkResourceNames } from "../catalog/names.js";
import { failedPrecondition, invalidArgument, isDuplicateKey, notFound, throwIfInvalid, unavailable } from "../errors.js";
import { ErrorReason } from "../gen/sightline/v1/errors_pb.js";
import type { Target } from "../gen/sightline/v1/records_pb.js";
import {
  newRecordDoc,
  productionTarget,
  recordDocId,
  splitTarget,
  targetKey,
  type RecordDoc,
} from "../ingest/layout.js";
import type { RowWrite } from "../ingest/rows.js";
import { findCollection } from "./collections.js";
import { docId, type CollectionDoc, type ModelDoc, type Store } from "./db.js";

export interface ResolvedTarget {
  project: string;
  collection: CollectionDoc;
  split: string | undefined;
  production: boolean;
  model: ModelDoc | undefined;
  /** The `ct` value shared by every record of this target. */
  key: string;
}

export async function resolveTarget(store: Store, target: Target | undefined, purpose: "write" | "read"): Promise<ResolvedTarget> {
  if (target === undefined) throw invalidArgument([{ field: "target", description: "is required" }]);
  const names: Record<string, string> = { "target.project": target.project, "target.collection": target.collection };
  if (target.destination.case === "split") names["target.split"] = target.destination.value;
  if (target.model !== "") names["target.model"] = target.model;
  const violations = checkResourceNames(names);
  if (target.destination.case === undefined || (target.destination.case === "production" && !target.destination.value)) {
    violations.push({ field: "target.destination", description: "must name a split or set production" });
  }
  throwIfInvalid(violations);
  const collection = await findCollection(store, target.project, target.collection);
  let split: string | undefined;
  if (target.destination.case === "split") {
    split = target.destination.value;
    const doc = await store.splits.findOne({ _id: docId(target.project, target.collection, split) });
    if (doc === null) throw notFound("split", split);
    if (purpose === "write" && doc.sealed) {
      throw failedPrecondition(ErrorReason.SPLIT_SEALED, [{ type: "SPLIT_SEALED", subject: `split "${split}"`, description: "is sealed and read-only" }]);
    }
  }
  let model: ModelDoc | undefined;
  if (target.model !== "") {
    model = (await store.models.findOne({ _id: docId(target.project, target.collection, target.model) })) ?? undefined;
    if (model === undefined) throw notFound("model", target.model);
  }
  const production = split === undefined;
  return {
    project: target.project,
    collection,
    split,
    production,
    model,
    key: targetKey(target.project, target.collection, production ? productionTarget : splitTarget(split!)),
  };
}

/**
 * Writes accepted rows: first as inserts of whole new records, then, for the records that already exist, as upserts
 * of just the carried kinds in unordered bulk writes of at most `chunkRows` rows. An insert lands only where the
 * record is missing, which is exactly when the upsert would have created it, and the unique `_id` decides races;
 * inserts matter because a store such as FerretDB inserts many times faster than it upserts. Every write is
 * idempotent, so a failed bulk is retried whole. Small upsert chunks exist for FerretDB 1.x, which holds one
 * PostgreSQL connection per update that matches an existing record until the whole command ends, and waits forever
 * once its pool is used up; MongoDB takes whole batches.
 */
export async function writeRecords(store: Store, target: ResolvedTarget, writes: RowWrite[], chunkRows: number): Promise<void> {
  const existing = await insertNewRecords(store, target.key, writes);
  for (let start = 0; start < existing.length; start += chunkRows) {
    const ops: AnyBulkWriteOperation<RecordDoc>[] = existing.slice(start, start + chunkRows).map((w) => ({
      updateOne: {
        filter: { _id: recordDocId(target.key, w.recordId) },
        update: { $set: w.set, $setOnInsert: { ct: target.key } },
        upsert: true,
      },
    }));
    await bulkWriteWithRetry(store, ops);
  }
}

/** Inserts the rows whose records are new; returns the rows whose records already existed, in their order. */
async function insertNewRecords(store: Store, key: string, writes: RowWrite[]): Promise<RowWrite[]> {
  if (writes.length === 0) return [];
  const docs = writes.map((w) => newRecordDoc(key, w.recordId, w.set));
  try {
    if (docs.length === 1) await store.records.insertOne(docs[0]!);
    else await store.records.insertMany(docs, { ordered: false });
    return [];
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    if (!(err instanceof MongoBulkWriteError)) return writes;
    const failed = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
    return failed.map((e) => e.index).sort((a, b) => a - b).map((i) => writes[i]!);
  }
}

async function bulkWriteWithRetry(store: Store, ops: AnyBulkWriteOperation<RecordDoc>[]): Promise<void> {
  // Two writers upserting the same new record can race to insert it; the loser's retry then updates.
  for (let attempt = 1; ; attempt++) {
    try {
      // A real-time batch is often one row, and a plain update skips the bulk machinery's overhead.
      const only = ops.length === 1 && "updateOne" in ops[0]! ? ops[0].updateOne : undefined;
      if (only !== undefined) await store.records.updateOne(only.filter, only.update, { upsert: true });
      else await store.records.bulkWrite(ops, { ordered: false });
      return;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      if (attempt >= 3) throw unavailable("MongoDB");
    }
  }
}

export interface RecordQuery {
  target: ResolvedTarget;
  startMs: number | undefined;
  endMs: number | undefined;
  recordIds: string[];
  projection: Record<string, 1>;
  batchSize: number;
  signal: AbortSignal;
}

export function findRecords(store: Store, q: RecordQuery) {
  const filter: Filter<RecordDoc> = { ct: q.target.key };
  if (q.recordIds.length > 0) filter._id = { $in: q.recordIds.map((id) => recordDocId(q.target.key, id)) };
  if (q.startMs !== undefined || q.endMs !== undefined) {
    filter.ts = {
      ...(q.startMs === undefined ? {} : { $gte: new Date(q.startMs) }),
      ...(q.endMs === undefined ? {} : { $lt: new Date(q.endMs) }),
    };
  }
  return store.records.find(filter, { projection: q.projection, sort: { _id: 1 }, batchSize: q.batchSize, signal: q.signal });
}

// Record documents: resolving where rows go, upserting them, and reading them back.
import { MongoBulkWriteError, type AnyBulkWriteOperation, type Filter } from "mongodb";
import { checkResourceNames } from "../catalog/names.js";
import { failedPrecondition, invalidArgument, isDuplicateKey, notFound, throwIfInvalid } from "../errors.js";
import { upsertWithRetry } from "./bulk.js";
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
import { hourStart } from "../monitoring/buckets.js";
import { BucketDeltas, markBuckets, markLeases } from "./bucket-marks.js";
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

/** A row the batch refused, and the bucket it counts in (an hour of production, or the split). */
export interface RejectedRow {
  hour: number | undefined;
  reason: string;
}

/** What one call writes: its accepted rows and the rows it refused. */
export interface BatchWrite {
  writes: RowWrite[];
  rejected: RejectedRow[];
}

/** Point reads of records run this many at a time: `_id` equality is the one lookup every store serves well. */
const pointReadConcurrency = 16;

/**
 * Writes accepted rows: first as inserts of whole new records, then, for the records that already exist, as upserts
 * of just the carried kinds in unordered bulk writes of at most `chunkRows` rows. An insert lands only where the
 * record is missing, which is exactly when the upsert would have created it, and the unique `_id` decides races;
 * inserts matter because a store such as FerretDB inserts many times faster than it upserts. Every write is
 * idempotent, so a failed bulk is retried whole. Small upsert chunks exist for FerretDB 1.x, which holds one
 * PostgreSQL connection per update that matches an existing record until the whole command ends, and waits forever
 * once its pool is used up; MongoDB takes whole batches.
 *
 * Existing records are read first, for the hour they were in (a late label carries no time of its own, and a
 * record whose event time changes leaves its old hour) and for the kinds they already hold (overwrites are
 * counted). The buckets touched are marked last, once every record is durable (see bucket-marks.ts), except the
 * production hours this process holds a lease on (mark-leases.ts): those are marked first. A caller that
 * has just read the records it writes (a compute job) passes them as `known`, read with `priorProjection`: those
 * are neither inserted first nor read again.
 */
export async function writeRecords(store: Store, target: ResolvedTarget, batch: BatchWrite, chunkRows: number, known?: ReadonlyMap<string, PriorRecord>): Promise<void> {
  const deltas = new BucketDeltas();
  for (const r of batch.rejected) deltas.reject(r.hour, r.reason);
  const leased = await markLeases(store).lease(target.key, target.collection.createTime.getTime(), hoursOfWrites(target, batch.writes));
  const knownWrites = known === undefined ? [] : batch.writes.filter((w) => known.has(w.recordId));
  const unknownWrites = known === undefined ? batch.writes : batch.writes.filter((w) => !known.has(w.recordId));
  const existing = [...knownWrites, ...(await insertNewRecords(store, target.key, unknownWrites))];
  const existingIds = new Set(existing.map((w) => w.recordId));
  for (const w of batch.writes) {
    if (existingIds.has(w.recordId)) continue;
    const hour = bucketOfWrite(target, w, undefined);
    // A new production record without an event time (a label ahead of its record) is in no hour yet.
    if (hour !== undefined || !target.production) deltas.touch(hour);
  }
  if (existing.length > 0) {
    const prior = new Map<string, PriorRecord>(known);
    const unread = existing.filter((w) => !prior.has(w.recordId)).map((w) => w.recordId);
    for (const [recordId, doc] of await readRecordsById(store, target.key, unread, priorProjection)) prior.set(recordId, doc);
    for (const w of existing) {
      const before = prior.get(w.recordId);
      const hour = bucketOfWrite(target, w, before);
      const priorHour = target.production && before?.ts !== undefined ? hourStart(before.ts.getTime()) : undefined;
      if (priorHour !== undefined && priorHour !== hour) deltas.touch(priorHour);
      if (hour !== undefined || !target.production) {
        deltas.touch(hour);
        if (before !== undefined && overwritesKind(w, before)) deltas.overwrite(hour);
      }
    }
    const ops: AnyBulkWriteOperation<RecordDoc>[] = existing.map((w) => ({
      updateOne: {
        filter: { _id: recordDocId(target.key, w.recordId) },
        update: { $set: w.set, $setOnInsert: { ct: target.key } },
        upsert: true,
      },
    }));
    await upsertWithRetry(store.records, ops, chunkRows);
  }
  await markBuckets(store, target.key, deltas, chunkRows, leased);
}

/** The production hours a batch's writes carry event times for; a write that carries none is in its record's hour. */
function hoursOfWrites(target: ResolvedTarget, writes: readonly RowWrite[]): number[] {
  const hours = new Set<number>();
  for (const w of writes) {
    const hour = bucketOfWrite(target, w, undefined);
    if (hour !== undefined) hours.add(hour);
  }
  return [...hours];
}

export type PriorRecord = Pick<RecordDoc, "ts" | "wf" | "wl" | "wx" | "wp" | "wi">;

/** The bucket a write lands in: its own event time, else the record's; a split is one bucket. */
function bucketOfWrite(target: ResolvedTarget, w: RowWrite, before: PriorRecord | undefined): number | undefined {
  if (!target.production) return undefined;
  const ts = w.set.ts instanceof Date ? w.set.ts : before?.ts;
  return ts === undefined ? undefined : hourStart(ts.getTime());
}

/** Whether the write sets a kind the record already held: its written-time key (`wl`, `wp.<model>`…) exists. */
function overwritesKind(w: RowWrite, before: PriorRecord): boolean {
  for (const path of Object.keys(w.set)) {
    if (!path.startsWith("w")) continue;
    const dot = path.indexOf(".");
    const held = dot < 0 ? before[path as "wf"] : (before[path.slice(0, dot) as "wp"] as Record<string, unknown> | undefined)?.[path.slice(dot + 1)];
    if (held !== undefined) return true;
  }
  return false;
}

/** What `writeRecords` needs to know of a record that exists: its event time and which kinds it holds. */
export const priorProjection = { ts: 1, wf: 1, wl: 1, wx: 1, wp: 1, wi: 1 } as const;

/**
 * Reads records by ID as concurrent point reads. FerretDB runs `_id: {$in: [...]}` as a scan of the whole records
 * table, so its cost grows with the database rather than with the list; a `findOne` by `_id` is an index lookup.
 */
export async function readRecordsById(store: Store, key: string, recordIds: string[], projection: Record<string, 1>): Promise<Map<string, RecordDoc>> {
  const found = new Map<string, RecordDoc>();
  for await (const { at, doc } of pointReads(store, recordIds.map((id) => recordDocId(key, id)), {}, projection)) found.set(recordIds[at]!, doc);
  return found;
}

/**
 * The records of `docIds` that exist and match `filter`, each with its index in `docIds`, in that order, read by `_id`
 * a few at a time. A read left in flight when the caller stops, or after one failed, is awaited by no one: its
 * failure is dropped.
 */
async function* pointReads(
  store: Store,
  docIds: string[],
  filter: Filter<RecordDoc>,
  projection: Record<string, 1>,
  signal?: AbortSignal,
): AsyncGenerator<{ at: number; doc: RecordDoc }> {
  const inFlight: Promise<RecordDoc | null>[] = [];
  let next = 0;
  const fill = () => {
    while (next < docIds.length && inFlight.length < pointReadConcurrency) {
      const _id = docIds[next++]!;
      // No stored text holds a NUL (validation refuses it), and FerretDB fails a query that holds one.
      const read = _id.includes("\u0000") ? Promise.resolve(null) : store.records.findOne({ ...filter, _id }, { projection });
      read.catch(() => undefined);
      inFlight.push(read);
    }
  };
  fill();
  for (let at = 0; inFlight.length > 0; at++) {
    signal?.throwIfAborted();
    const doc = await inFlight.shift()!;
    fill();
    if (doc !== null) yield { at, doc };
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

export interface RecordQuery {
  target: ResolvedTarget;
  startMs: number | undefined;
  endMs: number | undefined;
  recordIds: string[];
  projection: Record<string, 1>;
  batchSize: number;
  signal: AbortSignal;
}

/**
 * The records a read selects, in `_id` order (so in record-ID order within a target). Named records are read by
 * concurrent point reads, in order, since FerretDB runs `_id: {$in}` as a scan of the whole records table: a lookup
 * of one record by ID would cost what the collection holds. A range is one cursor. Ending the iteration early closes
 * what is open.
 */
export async function* findRecords(store: Store, q: RecordQuery): AsyncGenerator<RecordDoc> {
  const filter: Filter<RecordDoc> = { ct: q.target.key };
  if (q.startMs !== undefined || q.endMs !== undefined) {
    filter.ts = {
      ...(q.startMs === undefined ? {} : { $gte: new Date(q.startMs) }),
      ...(q.endMs === undefined ? {} : { $lt: new Date(q.endMs) }),
    };
  }
  if (q.recordIds.length > 0) {
    const ids = [...new Set(q.recordIds.map((id) => recordDocId(q.target.key, id)))].sort(byUtf8Bytes);
    for await (const { doc } of pointReads(store, ids, filter, q.projection, q.signal)) yield doc;
    return;
  }
  const cursor = store.records.find(filter, { projection: q.projection, sort: { _id: 1 }, batchSize: q.batchSize, signal: q.signal });
  try {
    yield* cursor;
  } finally {
    await cursor.close();
  }
}

/** MongoDB's order of strings: by their UTF-8 bytes (JavaScript's own sort compares UTF-16 code units). */
function byUtf8Bytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

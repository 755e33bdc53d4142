// The one way to run idempotent upserts: unordered bulk writes of at most `chunkRows` operations, each retried when
// concurrent upserts of the same new document race to insert it (the loser's retry then updates). The chunk bound
// matters on FerretDB 1.x, which holds one PostgreSQL connection per update matching an existing document until the
// whole command ends, and hangs for good once its pool is used up (see docs/operations.md).
import type { AnyBulkWriteOperation, Collection, Document, Filter, UpdateFilter } from "mongodb";
import { isDuplicateKey, unavailable } from "../errors.js";

export async function upsertWithRetry<D extends Document>(coll: Collection<D>, ops: AnyBulkWriteOperation<D>[], chunkRows: number): Promise<void> {
  for (let start = 0; start < ops.length; start += chunkRows) await upsertChunk(coll, ops.slice(start, start + chunkRows));
}

/** Thrown when a store acknowledges a bulk write that did not touch a document per operation; the chunk is retried. */
class ShortWrite extends Error {}

async function upsertChunk<D extends Document>(coll: Collection<D>, ops: AnyBulkWriteOperation<D>[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      // A real-time batch is often one row, and a plain update skips the bulk machinery's overhead.
      const only = ops.length === 1 && "updateOne" in ops[0]! ? ops[0].updateOne : undefined;
      const touched = only !== undefined ? await updateOne(coll, only) : await bulk(coll, ops);
      // Every operation is an upsert: it matches its document or creates it. Anything less was lost on the way.
      if (touched < ops.length) throw new ShortWrite(`${touched} of ${ops.length} upserts applied`);
      return;
    } catch (err) {
      if (!isDuplicateKey(err) && !(err instanceof ShortWrite)) throw err;
      if (attempt >= 3) throw unavailable("MongoDB");
    }
  }
}

async function updateOne<D extends Document>(coll: Collection<D>, op: { filter: Filter<D>; update: UpdateFilter<D> | Document[] }): Promise<number> {
  const r = await coll.updateOne(op.filter, op.update, { upsert: true });
  return r.matchedCount + r.upsertedCount;
}

async function bulk<D extends Document>(coll: Collection<D>, ops: AnyBulkWriteOperation<D>[]): Promise<number> {
  const r = await coll.bulkWrite(ops, { ordered: false });
  return r.matchedCount + r.upsertedCount;
}

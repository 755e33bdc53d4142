// The one way to run idempotent upserts: unordered bulk writes retried when concurrent upserts of the same new
// document race to insert it (the loser's retry then updates).
import type { AnyBulkWriteOperation, Collection, Document } from "mongodb";
import { isDuplicateKey, unavailable } from "../errors.js";

export async function upsertWithRetry<D extends Document>(coll: Collection<D>, ops: AnyBulkWriteOperation<D>[]): Promise<void> {
  if (ops.length === 0) return;
  for (let attempt = 1; ; attempt++) {
    try {
      // A real-time batch is often one row, and a plain update skips the bulk machinery's overhead.
      const only = ops.length === 1 && "updateOne" in ops[0]! ? ops[0].updateOne : undefined;
      if (only !== undefined) await coll.updateOne(only.filter, only.update, { upsert: true });
      else await coll.bulkWrite(ops, { ordered: false });
      return;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      if (attempt >= 3) throw unavailable("MongoDB");
    }
  }
}

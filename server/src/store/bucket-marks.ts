// Bucket marks: one small document per production hour, and one per split, that every write touches after its
// records are durable. A mark holds a fresh random token, so a monitoring run that read the token before reading the
// bucket's records knows the bucket is current exactly while the token is unchanged; it also counts what ingestion
// saw there: rows rejected by reason, and records whose kinds were overwritten. Writing the mark after the records,
// and reading it before them, is what makes a concurrent write impossible to miss. A production write may instead
// rely on a mark written before it under a lease (mark-leases.ts).
import { randomUUID } from "node:crypto";
import type { AnyBulkWriteOperation } from "mongodb";
import { upsertWithRetry } from "./bulk.js";
import type { Store } from "./db.js";
import { MarkLeases, type LeasedHours } from "./mark-leases.js";

export interface BucketMarkDoc {
  _id: string;
  /** The target key (`ct`) of the records the mark covers. */
  ct: string;
  /** Hour start for production marks; null for a split's one mark. */
  h: Date | null;
  tok: string;
  /**
   * Until when writes may rely on this token: the time of the last write marked after itself, or a lease's end, which
   * is ahead. It never goes back, so a token written later never promises less than one it replaced.
   */
  w: Date;
  /** Rejected rows by RowErrorReason name, since the bucket's first write. */
  r?: Record<string, number>;
  /** Writes that replaced a kind the record already held. */
  o?: number;
}

/** What one write adds to one bucket's mark. */
export interface BucketDelta {
  hour: number | undefined;
  rejected: Map<string, number>;
  overwritten: number;
}

export function markId(ct: string, hour: number | undefined): string {
  return hour === undefined ? `${ct}|s` : `${ct}|h${hour}`;
}

/** Gathers deltas per bucket, so each mark is written once per call. */
export class BucketDeltas {
  private readonly byBucket = new Map<number | undefined, BucketDelta>();

  private of(hour: number | undefined): BucketDelta {
    let delta = this.byBucket.get(hour);
    if (delta === undefined) this.byBucket.set(hour, (delta = { hour, rejected: new Map(), overwritten: 0 }));
    return delta;
  }

  touch(hour: number | undefined): void {
    this.of(hour);
  }

  reject(hour: number | undefined, reason: string): void {
    const rejected = this.of(hour).rejected;
    rejected.set(reason, (rejected.get(reason) ?? 0) + 1);
  }

  overwrite(hour: number | undefined): void {
    this.of(hour).overwritten += 1;
  }

  get size(): number {
    return this.byBucket.size;
  }

  values(): IterableIterator<BucketDelta> {
    return this.byBucket.values();
  }
}

/**
 * Re-tokens every touched bucket of a target and adds its counts; run only after the records are durable. A bucket
 * leased before the write is skipped when the write ended within its lease and has no counts to add.
 */
export async function markBuckets(store: Store, ct: string, deltas: BucketDeltas, chunkRows: number, leased: LeasedHours = new Map()): Promise<void> {
  if (deltas.size === 0) return;
  const now = new Date();
  const ops: AnyBulkWriteOperation<BucketMarkDoc>[] = [];
  for (const d of deltas.values()) {
    const leaseEnd = d.hour === undefined ? undefined : leased.get(d.hour);
    if (leaseEnd !== undefined && now.getTime() <= leaseEnd && d.rejected.size === 0 && d.overwritten === 0) continue;
    const inc: Record<string, number> = {};
    for (const [reason, count] of d.rejected) inc[`r.${reason}`] = count;
    if (d.overwritten > 0) inc.o = d.overwritten;
    ops.push({
      updateOne: {
        filter: { _id: markId(ct, d.hour) },
        update: {
          ...retoken(ct, d.hour, now),
          ...(Object.keys(inc).length > 0 ? { $inc: inc } : {}),
        },
        upsert: true,
      },
    });
  }
  if (ops.length > 0) await upsertWithRetry(store.bucketMarks, ops, chunkRows);
}

/** A new token for the mark of `hour` (undefined: the split's), promising writes until at least `until`. */
function retoken(ct: string, hour: number | undefined, until: Date) {
  return { $set: { ct, h: hour === undefined ? null : new Date(hour), tok: randomUUID() }, $max: { w: until } };
}

const leasesByStore = new WeakMap<Store, MarkLeases>();

/** The process's leases on production hour marks in `store`. */
export function markLeases(store: Store): MarkLeases {
  let leases = leasesByStore.get(store);
  if (leases === undefined) {
    leases = new MarkLeases((ct, hours, until) =>
      upsertWithRetry(
        store.bucketMarks,
        hours.map((hour) => ({ updateOne: { filter: { _id: markId(ct, hour) }, update: retoken(ct, hour, until), upsert: true } })),
        hours.length,
      ),
    );
    leasesByStore.set(store, leases);
  }
  return leases;
}

/**
 * Marks are small and read whole, so one reply carries them all. Cursors kept open across getMore calls also leak
 * connections in FerretDB 1.24 when several run while the collection is written (docs/operations.md).
 */
export const wholeReadBatch = 100_000;

/** Every mark of a target: one per hour that ever held a record (production) or the split's one. */
export function findMarks(store: Store, ct: string): Promise<BucketMarkDoc[]> {
  return store.bucketMarks.find({ ct }, { batchSize: wholeReadBatch }).toArray();
}

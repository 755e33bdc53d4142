// Mark leases: how a production write usually does without its own bucket-mark upsert. Marking after every write
// cost a real-time stream one extra upsert of the same hot document per message, and on FerretDB that upsert (a read
// and a write under a row lock) was most of its ack latency (docs/performance.md).
//
// Instead a process writes an hour's mark before its records, with a fresh token and `w` set ahead, to the lease's
// end, and for that long its writes to the hour need no mark of their own, provided each is durable before the lease
// ends. A monitoring run that reads the leased token sees `w` ahead of it and stores its result as unsettled, to be
// recomputed, until `w` is `settleMs` past; by then every write that relied on the lease is durable and visible. A run
// that read the token from before the lease stores that older token, which the lease's token has replaced. A write
// that ends after its lease, or that must add counts to the mark, still marks after itself.
//
// Leases are renewed in the background while in use, so a steady stream seldom waits for one.

/** Writes marks for `hours` of the target `ct` with new tokens, promising writes until `until`. */
export type WriteLeaseMarks = (ct: string, hours: number[], until: Date) => Promise<void>;

export interface MarkLeaseOptions {
  /** How far ahead a lease's mark promises writes. Monitoring results of a leased hour settle this much later. */
  leaseMs: number;
  /** A lease with less left than this is not relied on: a write might not be durable before it ends. */
  minRemainingMs: number;
  /** A lease in use with less left than this is renewed in the background. */
  renewBelowMs: number;
  /** Leases held at most: past this, the ones ending soonest are dropped, so memory stays bounded. */
  maxLeases: number;
  /** A write touching more hours than this (a backfill, say) marks after itself instead. */
  maxHoursPerWrite: number;
}

export const markLeaseMs = 1000;

export const defaultMarkLeaseOptions: MarkLeaseOptions = {
  leaseMs: markLeaseMs,
  minRemainingMs: 250,
  renewBelowMs: 600,
  maxLeases: 10_000,
  maxHoursPerWrite: 16,
};

/** The hours a write may leave unmarked, each with the time by which the write must be durable to do so. */
export type LeasedHours = ReadonlyMap<number, number>;

export class MarkLeases {
  /** Lease end (epoch ms) by lease key. */
  private readonly ends = new Map<string, number>();
  /** Mark writes in flight by lease key, resolving to the new lease's end. */
  private readonly pending = new Map<string, Promise<number>>();

  constructor(
    private readonly writeMarks: WriteLeaseMarks,
    private readonly options: MarkLeaseOptions = defaultMarkLeaseOptions,
  ) {}

  /**
   * Leases for the `hours` of target `ct`, taking new ones where this process holds none with enough time left.
   * `generation` tells apart incarnations of a target (a collection deleted and created again under the same name),
   * since deleting one deletes its marks, and a lease on a deleted mark would leave its hour unmarked.
   */
  async lease(ct: string, generation: number, hours: readonly number[]): Promise<LeasedHours> {
    const leased = new Map<number, number>();
    if (hours.length === 0 || hours.length > this.options.maxHoursPerWrite) return leased;
    const now = Date.now();
    const waits: Promise<void>[] = [];
    const take: number[] = [];
    const renew: number[] = [];
    for (const hour of hours) {
      const key = leaseKey(ct, generation, hour);
      const end = this.ends.get(key);
      const left = end === undefined ? 0 : end - now;
      if (left >= this.options.minRemainingMs) {
        leased.set(hour, end!);
        if (left < this.options.renewBelowMs && !this.pending.has(key)) renew.push(hour);
        continue;
      }
      const inFlight = this.pending.get(key);
      if (inFlight !== undefined) waits.push(inFlight.then((e) => void leased.set(hour, e), () => undefined));
      else take.push(hour);
    }
    if (take.length > 0) waits.push(this.write(ct, generation, take).then((end) => take.forEach((h) => leased.set(h, end))));
    // A renewal that fails leaves the old lease to run out; the write after that takes a new one itself.
    if (renew.length > 0) this.write(ct, generation, renew).catch(() => undefined);
    await Promise.all(waits);
    return leased;
  }

  /** Leases held now (for tests and bounds). */
  get size(): number {
    return this.ends.size;
  }

  private write(ct: string, generation: number, hours: number[]): Promise<number> {
    const end = Date.now() + this.options.leaseMs;
    const keys = hours.map((h) => leaseKey(ct, generation, h));
    const written = this.writeMarks(ct, hours, new Date(end)).then(() => {
      for (const key of keys) this.ends.set(key, Math.max(end, this.ends.get(key) ?? 0));
      this.bound();
      return end;
    });
    const settled = written.finally(() => {
      for (const key of keys) if (this.pending.get(key) === settled) this.pending.delete(key);
    });
    for (const key of keys) this.pending.set(key, settled);
    // Callers that do not wait (renewals) must not leave a rejection unhandled.
    settled.catch(() => undefined);
    return settled;
  }

  private bound(): void {
    if (this.ends.size <= this.options.maxLeases) return;
    const now = Date.now();
    for (const [key, end] of this.ends) if (end <= now) this.ends.delete(key);
    if (this.ends.size <= this.options.maxLeases) return;
    const soonest = [...this.ends].sort((a, b) => a[1] - b[1]).slice(0, this.ends.size - this.options.maxLeases);
    for (const [key] of soonest) this.ends.delete(key);
  }
}

function leaseKey(ct: string, generation: number, hour: number): string {
  return `${generation}|${ct}|${hour}`;
}

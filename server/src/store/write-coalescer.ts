// One Stream's writes, coalesced: up to `maxWrites` bulk writes run at once, and the batches that arrive while all
// of them are out wait together and go out as the next one. A real-time client sending a record per message then
// costs a round trip per message while the database keeps up (no added wait), and one per bulk once it falls
// behind. Batches that share a record ID never wait together (the stream window orders them), so unordered bulks
// are safe.
import type { Store } from "./db.js";
import { writeRecords, type BatchWrite, type ResolvedTarget } from "./records.js";

interface Waiting {
  batch: BatchWrite;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class WriteCoalescer {
  private waiting: Waiting[] = [];
  private writing = 0;

  constructor(
    private readonly store: Store,
    private readonly target: ResolvedTarget,
    private readonly chunkRows: number,
    private readonly maxWrites: number,
  ) {}

  /** Resolves once these rows are durable. */
  write(batch: BatchWrite): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ batch, resolve, reject });
      this.startNext();
    });
  }

  private startNext(): void {
    if (this.writing >= this.maxWrites || this.waiting.length === 0) return;
    const group = this.waiting.splice(0);
    this.writing += 1;
    const merged: BatchWrite = { writes: group.flatMap((g) => g.batch.writes), rejected: group.flatMap((g) => g.batch.rejected) };
    writeRecords(this.store, this.target, merged, this.chunkRows).then(
      () => {
        for (const g of group) g.resolve();
      },
      (err: unknown) => {
        for (const g of group) g.reject(err);
      },
    ).finally(() => {
      this.writing -= 1;
      this.startNext();
    });
  }
}

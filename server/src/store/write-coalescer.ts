// One Stream's writes, coalesced: while one bulk write is out, the batches that arrive wait together and go out as
// the next one. A real-time client sending a record per message then costs one round trip per bulk, not per message.
// Batches that share a record ID never wait together (the stream window orders them), so unordered bulks are safe.
import type { RowWrite } from "../ingest/rows.js";
import type { Store } from "./db.js";
import { writeRecords, type ResolvedTarget } from "./records.js";

interface Waiting {
  writes: RowWrite[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class WriteCoalescer {
  private waiting: Waiting[] = [];
  private draining = false;

  constructor(
    private readonly store: Store,
    private readonly target: ResolvedTarget,
    private readonly chunkRows: number,
  ) {}

  /** Resolves once these rows are durable. */
  write(writes: RowWrite[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ writes, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.waiting.length > 0) {
      const group = this.waiting.splice(0);
      try {
        await writeRecords(this.store, this.target, group.flatMap((g) => g.writes), this.chunkRows);
        for (const g of group) g.resolve();
      } catch (err) {
        for (const g of group) g.reject(err);
      }
    }
    this.draining = false;
  }
}

// The window of one Stream or Upload: batches are written concurrently up to a bound and settle in order. A batch
// that shares a record ID with one still in flight waits for it, so the last write of a kind still wins in call order.
// The bound is a number of batches and, optionally, a number of bytes (batch-bytes.ts): a real-time stream of small
// messages can keep many in flight, so a database that stalls for a moment does not stop the server reading it, while
// large batches stay few.

export interface WindowEntry<T> {
  ids: Set<string>;
  done: Promise<T>;
  bytes: number;
}

export class StreamWindow<T> {
  private readonly entries: WindowEntry<T>[] = [];
  private heldBytes = 0;

  constructor(
    readonly capacity: number,
    readonly byteCapacity = Infinity,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  /** What the batches in flight hold, as counted by their callers. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Full at `capacity` batches, or at `byteCapacity` bytes: one batch is always taken, however large. */
  get full(): boolean {
    return this.entries.length >= this.capacity || (this.entries.length > 0 && this.heldBytes >= this.byteCapacity);
  }

  /** The oldest batch in flight, whose ack goes out next. */
  head(): WindowEntry<T> | undefined {
    return this.entries[0];
  }

  shift(): WindowEntry<T> | undefined {
    const entry = this.entries.shift();
    if (entry !== undefined) this.heldBytes -= entry.bytes;
    return entry;
  }

  /** Starts `work` once every in-flight batch sharing a record ID with `ids` has settled. */
  add(ids: Set<string>, work: () => Promise<T>, bytes = 0): void {
    const before: Promise<unknown>[] = [];
    for (const e of this.entries) {
      for (const id of ids) {
        if (e.ids.has(id)) {
          before.push(e.done.catch(() => undefined));
          break;
        }
      }
    }
    const done = Promise.all(before).then(work);
    // Failures surface when the entry reaches the head; until then they must not count as unhandled.
    done.catch(() => undefined);
    this.entries.push({ ids, done, bytes });
    this.heldBytes += bytes;
  }
}

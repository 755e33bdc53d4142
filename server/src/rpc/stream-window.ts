// The window of one Stream or Upload: batches are written concurrently up to a bound and settle in order. A batch
// that shares a record ID with one still in flight waits for it, so the last write of a kind still wins in call order.

export interface WindowEntry<T> {
  ids: Set<string>;
  done: Promise<T>;
}

export class StreamWindow<T> {
  private readonly entries: WindowEntry<T>[] = [];

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.length;
  }

  get full(): boolean {
    return this.entries.length >= this.capacity;
  }

  /** The oldest batch in flight, whose ack goes out next. */
  head(): WindowEntry<T> | undefined {
    return this.entries[0];
  }

  shift(): WindowEntry<T> | undefined {
    return this.entries.shift();
  }

  /** Starts `work` once every in-flight batch sharing a record ID with `ids` has settled. */
  add(ids: Set<string>, work: () => Promise<T>): void {
    const before = this.entries.filter((e) => [...ids].some((id) => e.ids.has(id))).map((e) => e.done.catch(() => undefined));
    const done = Promise.all(before).then(work);
    // Failures surface when the entry reaches the head; until then they must not count as unhandled.
    done.catch(() => undefined);
    this.entries.push({ ids, done });
  }
}

// The background sample influences are measured against: k rows of the baseline split, chosen by a seeded hash of
// their record IDs (the k smallest). The choice depends only on the seed and the split's records, never on the order
// a cursor returns them in, so every worker draws the same sample, in memory bounded by k.

/** FNV-1a over the seed's bytes, then the ID's UTF-16 code units, finished with a murmur-style avalanche. */
export function sampleKey(seed: number, recordId: string): number {
  let h = 0x811c9dc5;
  let s = seed;
  for (let i = 0; i < 8; i++) {
    h = Math.imul(h ^ (s & 0xff), 0x01000193);
    s = Math.floor(s / 256);
  }
  for (let i = 0; i < recordId.length; i++) h = Math.imul(h ^ recordId.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

interface Candidate {
  key: number;
  id: string;
  row: Float64Array;
}

export class BackgroundSampler {
  private candidates: Candidate[] = [];

  constructor(
    private readonly size: number,
    private readonly seed: number,
    private readonly width: number,
  ) {}

  offer(recordId: string, row: Float64Array): void {
    this.candidates.push({ key: sampleKey(this.seed, recordId), id: recordId, row });
    if (this.candidates.length >= 2 * this.size + 1024) this.trim();
  }

  private trim(): void {
    // Ties on the hash fall back to the ID, so the order is total and the sample deterministic.
    this.candidates.sort((a, b) => a.key - b.key || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.candidates.length = Math.min(this.candidates.length, this.size);
  }

  /** The sample, rows x width, in sample-key order. */
  rows(): { values: Float64Array; rows: number; recordIds: string[] } {
    this.trim();
    const values = new Float64Array(this.candidates.length * this.width);
    this.candidates.forEach((c, r) => values.set(c.row, r * this.width));
    return { values, rows: this.candidates.length, recordIds: this.candidates.map((c) => c.id) };
  }
}

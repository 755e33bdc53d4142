// The columns one bucket's report is computed from: a model's score, the label it is judged by and every monitored
// field, one entry per record. Pure: the monitoring job fills it from stored records; days concatenate their hours.

/** What one record contributes, already read out of its stored shape. */
export interface SampleRow {
  /** The model's score (or predicted class), null when the record has no prediction of the model. */
  score: unknown;
  /** The label the model is judged by, null when absent. */
  label: unknown;
  /** Whether the record carries the kind holding the monitored fields (features). */
  hasFields: boolean;
  /** Monitored field values in `SampleSpec.fields` order, null when missing. */
  fields: unknown[];
}

/** One column per role; index i of every column is the same record. */
export class BucketSample {
  readonly scores: unknown[] = [];
  readonly labels: unknown[] = [];
  readonly hasFields: boolean[] = [];
  readonly fields: unknown[][];

  constructor(readonly fieldCount: number) {
    this.fields = Array.from({ length: fieldCount }, () => []);
  }

  get size(): number {
    return this.scores.length;
  }

  add(row: SampleRow): void {
    this.scores.push(row.score ?? null);
    this.labels.push(row.label ?? null);
    this.hasFields.push(row.hasFields);
    for (let f = 0; f < this.fieldCount; f++) this.fields[f]!.push(row.fields[f] ?? null);
  }

  /** Appends another sample's records, as a day gathers its hours. */
  append(other: BucketSample): void {
    pushAll(this.scores, other.scores);
    pushAll(this.labels, other.labels);
    pushAll(this.hasFields, other.hasFields);
    for (let f = 0; f < this.fieldCount; f++) pushAll(this.fields[f]!, other.fields[f]!);
  }
}

// Spread arguments overflow the call stack for long arrays.
function pushAll<T>(into: T[], from: readonly T[]): void {
  for (const v of from) into.push(v);
}

// What a decoded batch holds in memory, roughly: what a Stream's window counts so that its bound is in bytes as well
// as batches. Numbers count 8 bytes, 64-bit integers 16 (they decode to bigints), strings their length plus a
// pointer; headers and object overhead are left out, which a per-batch allowance covers.
import type { Column, RecordBatch } from "../gen/sightline/v1/records_pb.js";

const perBatch = 256;
const perString = 8;

function stringsBytes(values: readonly string[]): number {
  let bytes = values.length * perString;
  for (const v of values) bytes += v.length;
  return bytes;
}

function columnBytes(column: Column): number {
  const v = column.values;
  const cells =
    v.case === "doubles" ? v.value.values.length * 8
    : v.case === "int64s" ? v.value.values.length * 16
    : v.case === "strings" ? stringsBytes(v.value.values)
    : v.case === "bools" ? v.value.values.length
    : 0;
  return cells + column.nullMask.length + column.name.length;
}

export function batchBytes(batch: RecordBatch | undefined): number {
  if (batch === undefined) return perBatch;
  let bytes = perBatch + stringsBytes(batch.recordIds);
  if (batch.eventTimes !== undefined) bytes += batch.eventTimes.unixMillis.length * 16 + batch.eventTimes.nullMask.length;
  for (const group of [batch.columns, batch.predictions, batch.influences]) for (const c of group) bytes += columnBytes(c);
  return bytes;
}

// Builds columnar batches from plain JavaScript columns. A column's type follows its first non-null value:
// number -> doubles, bigint -> int64s, Date -> int64s of Unix milliseconds, string -> strings, boolean -> bools.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ColumnSchema, RecordBatchSchema, TimestampColumnSchema, type Column, type RecordBatch } from "./gen/sightline/v1/records_pb.js";

export type Cell = number | bigint | string | boolean | Date | null | undefined;

export interface BatchInput {
  recordIds: string[];
  /** Event times, for production; Dates or Unix milliseconds. */
  eventTimes?: readonly (Date | number | null | undefined)[];
  /** Schema fields (features, labels, extra data), by field name. */
  columns?: Record<string, readonly Cell[]>;
  /** The model's prediction fields, by name. */
  predictions?: Record<string, readonly Cell[]>;
  /** The model's influences, one column per feature. */
  influences?: Record<string, readonly Cell[]>;
}

function nullMask(cells: readonly Cell[]): Uint8Array {
  let mask: Uint8Array | undefined;
  cells.forEach((cell, row) => {
    if (cell !== null && cell !== undefined) return;
    mask ??= new Uint8Array(Math.ceil(cells.length / 8));
    mask[row >> 3]! |= 1 << (row & 7);
  });
  return mask ?? new Uint8Array(0);
}

function toMillis(cell: Cell): bigint {
  if (cell instanceof Date) return BigInt(cell.getTime());
  if (typeof cell === "bigint") return cell;
  if (typeof cell === "number") return BigInt(Math.trunc(cell));
  return 0n;
}

export function toColumn(name: string, cells: readonly Cell[]): Column {
  const sample = cells.find((c) => c !== null && c !== undefined);
  const fill = <T>(fallback: T, convert: (c: NonNullable<Cell>) => T): T[] =>
    cells.map((c) => (c === null || c === undefined ? fallback : convert(c)));
  let values: MessageInitShape<typeof ColumnSchema>["values"];
  if (typeof sample === "string") values = { case: "strings", value: { values: fill("", String) } };
  else if (typeof sample === "boolean") values = { case: "bools", value: { values: fill(false, Boolean) } };
  else if (typeof sample === "bigint" || sample instanceof Date) values = { case: "int64s", value: { values: fill(0n, toMillis) } };
  else values = { case: "doubles", value: { values: fill(0, Number) } };
  return create(ColumnSchema, { name, values, nullMask: nullMask(cells) });
}

function toColumns(group: Record<string, readonly Cell[]> | undefined): Column[] {
  return Object.entries(group ?? {}).map(([name, cells]) => toColumn(name, cells));
}

export function toRecordBatch(input: BatchInput | RecordBatch): RecordBatch {
  if ("$typeName" in input) return input;
  const times = input.eventTimes;
  return create(RecordBatchSchema, {
    recordIds: input.recordIds,
    eventTimes: times === undefined ? undefined : create(TimestampColumnSchema, { unixMillis: times.map((t) => toMillis(t ?? null)), nullMask: nullMask(times) }),
    columns: toColumns(input.columns),
    predictions: toColumns(input.predictions),
    influences: toColumns(input.influences),
  });
}

export interface RowObject {
  recordId: string;
  eventTime: Date | null;
  columns: Record<string, Cell>;
  predictions: Record<string, Cell>;
  influences: Record<string, Cell>;
}

function cellAt(column: Column, row: number): Cell {
  if (column.nullMask.length > 0 && ((column.nullMask[row >> 3] ?? 0) & (1 << (row & 7))) !== 0) return null;
  return column.values.case === undefined ? null : column.values.value.values[row] ?? null;
}

/** The rows of a batch as objects, nulls included: the inverse of toRecordBatch, for reading back. */
export function batchRows(batch: RecordBatch): RowObject[] {
  const group = (columns: Column[], row: number) => Object.fromEntries(columns.map((c) => [c.name, cellAt(c, row)]));
  return batch.recordIds.map((recordId, row) => {
    const times = batch.eventTimes;
    const timeNull = times === undefined || times.unixMillis.length === 0 || (times.nullMask.length > 0 && ((times.nullMask[row >> 3] ?? 0) & (1 << (row & 7))) !== 0);
    return {
      recordId,
      eventTime: timeNull ? null : new Date(Number(times!.unixMillis[row])),
      columns: group(batch.columns, row),
      predictions: group(batch.predictions, row),
      influences: group(batch.influences, row),
    };
  });
}

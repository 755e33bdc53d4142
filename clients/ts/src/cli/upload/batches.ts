// Rows to the client's columnar batches. A batch closes at a row count or at a byte estimate, whichever comes first,
// so wide rows cannot build a message past the server's limit; only one batch is ever being filled.
import type { BatchInput, Cell } from "../../index.js";
import type { RawValue } from "../source/source.js";
import { invalid, whyInvalid } from "./cells.js";
import type { UploadPlan } from "./plan.js";
import type { RowProblem } from "./row-problems.js";

export interface BatchLimits {
  rows: number;
  bytes: number;
}

export interface PreparedBatch {
  input: BatchInput;
  rows: number;
  /** 1-based file row of the batch's first row (sent or not). */
  firstRow: number;
  /** File rows in the batch's span that were rejected here and not sent. */
  skipped: number[];
}

function cellBytes(cell: Cell): number {
  return typeof cell === "string" ? cell.length + 2 : 9;
}

class BatchBuilder {
  recordIds: string[] = [];
  eventTimes: Cell[] = [];
  cells: Cell[][];
  bytes = 0;
  firstRow = 0;
  skipped: number[] = [];

  constructor(private readonly plan: UploadPlan) {
    this.cells = plan.columns.map(() => []);
  }

  take(): PreparedBatch {
    const input: BatchInput = { recordIds: this.recordIds, columns: {}, predictions: {}, influences: {} };
    if (this.plan.time !== undefined) input.eventTimes = this.eventTimes as (Date | null)[];
    this.plan.columns.forEach((column, i) => {
      input[column.group]![column.name] = this.cells[i]!;
    });
    const batch = { input, rows: this.recordIds.length, firstRow: this.firstRow, skipped: this.skipped };
    this.recordIds = [];
    this.eventTimes = [];
    this.cells = this.plan.columns.map(() => []);
    this.bytes = 0;
    this.skipped = [];
    return batch;
  }
}

function idOf(raw: RawValue | undefined): string {
  if (raw === null || raw === undefined) return "";
  return raw instanceof Date ? raw.toISOString() : String(raw);
}

/**
 * Converts and batches rows. A row with a value its field cannot take is reported through `onProblem` and left out
 * (the server would refuse the whole column's type, not the row); everything else, including values only the server
 * can judge (nulls, ranges, categories), is sent.
 */
export async function* prepareBatches(
  rows: AsyncIterable<readonly RawValue[]>,
  plan: UploadPlan,
  width: number,
  limits: BatchLimits,
  onProblem: (problem: RowProblem) => void,
  counter: { rowsRead: number } = { rowsRead: 0 },
): AsyncGenerator<PreparedBatch> {
  const builder = new BatchBuilder(plan);
  // One slot per planned column, then the event time.
  const converted: Cell[] = new Array<Cell>(plan.columns.length + 1);
  const timeSlot = plan.columns.length;
  let fileRow = 0;
  for await (const row of rows) {
    fileRow += 1;
    counter.rowsRead = fileRow;
    if (builder.recordIds.length === 0 && builder.skipped.length === 0) builder.firstRow = fileRow;
    const recordId = idOf(row[plan.idIndex]);
    const problem = checkRow(row, width, plan, converted);
    if (problem !== undefined) {
      onProblem({ row: fileRow, recordId, ...problem });
      builder.skipped.push(fileRow);
      continue;
    }
    builder.recordIds.push(recordId);
    builder.bytes += recordId.length + 2;
    if (plan.time !== undefined) builder.eventTimes.push(converted[timeSlot]);
    for (let i = 0; i < timeSlot; i++) {
      const cell = converted[i];
      builder.cells[i]!.push(cell);
      builder.bytes += cellBytes(cell);
    }
    if (builder.recordIds.length >= limits.rows || builder.bytes >= limits.bytes) yield builder.take();
  }
  if (builder.recordIds.length > 0) yield builder.take();
}

function checkRow(row: readonly RawValue[], width: number, plan: UploadPlan, converted: Cell[]): Omit<RowProblem, "row" | "recordId"> | undefined {
  if (row.length !== width) {
    return { field: "", reason: "MALFORMED_ROW", description: `has ${row.length} values; the header has ${width} columns` };
  }
  if (plan.time !== undefined) {
    const raw = row[plan.time.index] ?? null;
    const time = plan.time.convert(raw);
    if (time === invalid) return { field: plan.time.source, reason: "WRONG_TYPE", description: whyInvalid(plan.time.type, raw) };
    converted[plan.columns.length] = time;
  }
  for (let i = 0; i < plan.columns.length; i++) {
    const column = plan.columns[i]!;
    const raw = row[column.index] ?? null;
    const cell = column.convert(raw);
    if (cell === invalid) return { field: column.source, reason: "WRONG_TYPE", description: whyInvalid(column.type, raw) };
    converted[i] = cell;
  }
  return undefined;
}

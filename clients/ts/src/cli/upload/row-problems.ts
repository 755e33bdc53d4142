// Row errors of an upload in file terms: the 1-based data row (the header is not a row), whichever side found it.
import { RowErrorReason, type RowError } from "../../index.js";

export interface RowProblem {
  /** 1-based data row of the file; in a CSV without quoted line breaks it sits on line row + 1. */
  row: number;
  recordId: string;
  field: string;
  /** A RowErrorReason name such as NULL_NOT_ALLOWED, or MALFORMED_ROW for a CSV row of the wrong width. */
  reason: string;
  description: string;
}

interface SentBatch {
  firstRow: number;
  /** Rows of the file between this batch's first and last that were not sent, ascending. */
  skipped: number[];
}

/**
 * Remembers where each sent batch came from, so the server's (batch, row) pairs map back to file rows. It holds two
 * numbers per batch plus one per row rejected before sending, never one per row sent.
 */
export class BatchLedger {
  private readonly batches: SentBatch[] = [];

  add(firstRow: number, skipped: number[]): void {
    this.batches.push({ firstRow, skipped });
  }

  fileRow(batch: number, row: number): number | undefined {
    const sent = this.batches[batch];
    if (sent === undefined) return undefined;
    let fileRow = sent.firstRow + row;
    for (const s of sent.skipped) {
      if (s > fileRow) break;
      fileRow += 1;
    }
    return fileRow;
  }

  fromServer(error: RowError): RowProblem {
    return {
      row: this.fileRow(Number(error.batch), Number(error.row)) ?? -1,
      recordId: error.recordId,
      field: error.field,
      reason: RowErrorReason[error.reason] ?? String(error.reason),
      description: error.description,
    };
  }
}

/** Keeps the first `limit` problems and counts the rest. */
export class ProblemLog {
  readonly kept: RowProblem[] = [];
  count = 0;

  constructor(private readonly limit: number) {}

  add(problem: RowProblem): void {
    this.count += 1;
    if (this.kept.length < this.limit) this.kept.push(problem);
  }
}

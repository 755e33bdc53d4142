// The end of an upload: what landed, what did not and why, for people (a summary and a table) or scripts (JSON).
import { DataKind, type WriteSummary } from "../../index.js";
import { nameOf } from "../names.js";
import { formatCount, out, printJson, printTable } from "../output.js";
import { rowsPerSecond } from "./progress.js";
import type { BatchLedger, ProblemLog, RowProblem } from "./row-problems.js";

export interface UploadOutcome {
  file: string;
  target: string;
  rowsRead: number;
  rowsSent: number;
  accepted: number;
  rejected: number;
  rejectedBeforeSending: number;
  rejectedByServer: number;
  elapsedMs: number;
  kinds: { kind: string; accepted: number; rejected: number }[];
  /** The first row errors from both sides, by row. */
  errors: RowProblem[];
}

export function outcomeOf(
  base: { file: string; target: string; rowsRead: number; elapsedMs: number },
  summary: WriteSummary,
  local: ProblemLog,
  ledger: BatchLedger,
  maxErrors: number,
): UploadOutcome {
  const rejectedByServer = Number(summary.rowsRejected);
  const errors = [...local.kept, ...summary.rowErrors.map((e) => ledger.fromServer(e))].sort((a, b) => a.row - b.row).slice(0, maxErrors);
  return {
    ...base,
    rowsSent: Number(summary.rowsReceived),
    accepted: Number(summary.rowsAccepted),
    rejected: local.count + rejectedByServer,
    rejectedBeforeSending: local.count,
    rejectedByServer,
    kinds: summary.kinds.map((k) => ({ kind: nameOf(DataKind, k.kind), accepted: Number(k.accepted), rejected: Number(k.rejected) })),
    errors,
  };
}

export function printOutcome(o: UploadOutcome, json: boolean): void {
  if (json) {
    printJson(o);
    return;
  }
  const s = out.style;
  const seconds = o.elapsedMs / 1000;
  out.line(`${s.bold("Uploaded")} ${o.file} to ${o.target}`);
  out.line(`  rows read   ${formatCount(o.rowsRead)}`);
  out.line(`  accepted    ${s.green(formatCount(o.accepted))}`);
  const rejectedText = formatCount(o.rejected);
  out.line(`  rejected    ${o.rejected > 0 ? s.red(rejectedText) : rejectedText}${o.rejected > 0 ? `  (${formatCount(o.rejectedBeforeSending)} before sending, ${formatCount(o.rejectedByServer)} by the server)` : ""}`);
  out.line(`  time        ${seconds.toFixed(1)} s, ${formatCount(Math.round(rowsPerSecond(o.rowsRead, o.elapsedMs)))} rows/s`);
  if (o.kinds.length > 0) out.line(`  kinds       ${o.kinds.map((k) => `${k.kind} ${formatCount(k.accepted)}`).join(", ")}`);
  if (o.errors.length === 0) return;
  out.line();
  out.line(s.bold(`Row errors (the first ${o.errors.length} of ${formatCount(o.rejected)})`));
  printTable(
    ["row", "record id", "field", "reason", "description"],
    o.errors.map((e) => [e.row < 0 ? "?" : String(e.row), e.recordId, e.field, s.red(e.reason), e.description]),
    new Set([0]),
  );
}

// Row-level validation: each row is accepted whole or rejected whole, with its index, record ID, field and reason.
// Accepted rows become the $set of their upsert: only the kinds the batch carries are touched.
import { DataKind, RowErrorReason, type RowError } from "../gen/sightline/v1/records_pb.js";
import { cellReader, rejected, type CellReader } from "./cells.js";
import { hourBucketKey, kindKey, modelKindKey, type ModelAgnosticKind } from "./layout.js";
import { isNull } from "./null-mask.js";
import type { BatchPlan, IngestLimits } from "./plan.js";

export const maxRecordIdBytes = 512;

export interface RowWrite {
  row: number;
  recordId: string;
  set: Record<string, unknown>;
}

export interface RowOutcome {
  writes: RowWrite[];
  errors: RowErrorInit[];
  /** Accepted and rejected rows per kind the batch carries. */
  kinds: DataKind[];
}

export type RowErrorInit = Pick<RowError, "row" | "recordId" | "field" | "reason" | "description">;

interface PlannedReader {
  kind: DataKind;
  key: string;
  name: string;
  reader: CellReader;
}

// Kinds that place a production record in time, so their rows need an event time.
const timedKinds = new Set([DataKind.FEATURES, DataKind.PREDICTIONS, DataKind.EXTRA]);

function checkRecordId(id: string): string | undefined {
  if (id.length === 0) return "is empty";
  if (id.length * 3 > maxRecordIdBytes && Buffer.byteLength(id, "utf8") > maxRecordIdBytes) return `is longer than ${maxRecordIdBytes} bytes`;
  if (id.includes("\u0000")) return "contains a NUL character";
  return undefined;
}

export interface RowContext {
  targetKey: string;
  production: boolean;
  model: string | undefined;
  now: Date;
}

/** A row's event time as sent, if it has one; it may still be out of Date's range. */
export function eventTimeAt(plan: BatchPlan, row: number): number | undefined {
  if (plan.eventTimes === undefined || isNull(plan.eventTimes.nullMask, row)) return undefined;
  return Number(plan.eventTimes.values[row]!);
}

export function validTime(ms: number): boolean {
  return !Number.isNaN(new Date(ms).getTime());
}

export function validateRows(plan: BatchPlan, recordIds: string[], ctx: RowContext, limits: IngestLimits): RowOutcome {
  const readers: PlannedReader[] = plan.columns.map((c) => ({
    kind: c.kind,
    key: c.key,
    name: c.name,
    reader: cellReader(c.rule, c.column, c.nullMask, limits.maxStringBytes),
  }));
  const kinds = [...plan.kinds];
  const needsTime = ctx.production && kinds.some((k) => timedKinds.has(k));
  const writes: RowWrite[] = [];
  const errors: RowErrorInit[] = [];
  const firstRowOf = new Map<string, number>();

  for (let row = 0; row < plan.rows; row++) {
    const recordId = recordIds[row]!;
    const fail = (reason: RowErrorReason, field: string, description: string) =>
      errors.push({ row: BigInt(row), recordId, field, reason, description });
    const idProblem = checkRecordId(recordId);
    if (idProblem !== undefined) {
      fail(RowErrorReason.INVALID_RECORD_ID, "", `record ID ${idProblem}`);
      continue;
    }
    const first = firstRowOf.get(recordId);
    if (first !== undefined) {
      fail(RowErrorReason.DUPLICATE_RECORD_ID, "", `record ID also at row ${first} of this batch`);
      continue;
    }
    firstRowOf.set(recordId, row);

    const eventMs = eventTimeAt(plan, row);
    if (eventMs !== undefined && !validTime(eventMs)) {
      fail(RowErrorReason.OUT_OF_RANGE, "event_times", `${eventMs} is not a valid time`);
      continue;
    }
    if (needsTime && eventMs === undefined) {
      fail(RowErrorReason.MISSING_TIMESTAMP, "event_times", "production rows with features, predictions or extra data need an event time");
      continue;
    }

    const values = new Map<DataKind, Record<string, unknown>>();
    let problem = false;
    for (const { kind, key, name, reader } of readers) {
      const value = reader.read(row);
      if (value === rejected) {
        fail(reader.problem.reason, name, reader.problem.description);
        problem = true;
        break;
      }
      let object = values.get(kind);
      if (object === undefined) values.set(kind, (object = {}));
      object[key] = value;
    }
    if (problem) continue;

    const set: Record<string, unknown> = {};
    for (const [kind, object] of values) {
      if (kind === DataKind.PREDICTIONS || kind === DataKind.INFLUENCES) {
        const keys = modelKindKey[kind];
        set[`${keys.values}.${ctx.model}`] = object;
        set[`${keys.written}.${ctx.model}`] = ctx.now;
      } else {
        const keys = kindKey[kind as ModelAgnosticKind];
        set[keys.values] = object;
        set[keys.written] = ctx.now;
      }
    }
    if (eventMs !== undefined) {
      set.ts = new Date(eventMs);
      set.hb = hourBucketKey(ctx.targetKey, eventMs);
    }
    writes.push({ row, recordId, set });
  }
  return { writes, errors, kinds };
}

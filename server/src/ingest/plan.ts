// Batch-level checks: everything that refuses a whole batch before any row is looked at. A batch that passes
// becomes a plan: each column resolved to its kind, its storage key and the rules its values must meet.
import type { Violation } from "../errors.js";
import { FieldKind, FieldType, ScoreType } from "../gen/sightline/v1/resources_pb.js";
import { DataKind, type Column, type RecordBatch } from "../gen/sightline/v1/records_pb.js";
import type { ModelDoc, StoredField } from "../store/db.js";
import { valueKey } from "./layout.js";
import { maskBytes } from "./null-mask.js";

export interface IngestLimits {
  maxRowsPerBatch: number;
  maxStringBytes: number;
}

export interface IngestTarget {
  fields: StoredField[];
  production: boolean;
  model: ModelDoc | undefined;
}

export interface ValueRule {
  type: FieldType;
  nullable: boolean;
  categories: Set<string> | undefined;
  min: number | undefined;
  max: number | undefined;
  /** Schema fields read NaN as null (pandas' missing float); predictions and influences refuse it as not finite. */
  nanIsNull: boolean;
}

export interface ColumnPlan {
  kind: DataKind;
  /** Key of the value inside its kind's object. */
  key: string;
  name: string;
  rule: ValueRule;
  column: Column;
  nullMask: Uint8Array;
}

export interface BatchPlan {
  rows: number;
  kinds: Set<DataKind>;
  columns: ColumnPlan[];
  eventTimes: { values: bigint[]; nullMask: Uint8Array } | undefined;
}

const fieldKindToDataKind: Record<number, DataKind> = {
  [FieldKind.FEATURE]: DataKind.FEATURES,
  [FieldKind.LABEL]: DataKind.LABELS,
  [FieldKind.EXTRA]: DataKind.EXTRA,
};

function ruleOf(field: StoredField): ValueRule {
  return {
    type: field.type,
    nullable: field.nullable,
    categories: field.type === FieldType.CATEGORICAL ? new Set(field.categories) : undefined,
    min: field.rangeMin ?? undefined,
    max: field.rangeMax ?? undefined,
    nanIsNull: true,
  };
}

function columnLength(column: Column): number | undefined {
  return column.values.case === undefined ? undefined : column.values.value.values.length;
}

interface Candidate {
  kind: DataKind;
  key: string;
  rule: ValueRule;
}

/** The columns one group may carry, and those each kind it carries must bring. */
interface GroupLookup {
  candidates: Map<string, Candidate>;
  required: Map<DataKind, string[]>;
}

function groupLookup(entries: Iterable<{ name: string; candidate: Candidate; required: boolean }>): GroupLookup {
  const lookup: GroupLookup = { candidates: new Map(), required: new Map() };
  for (const { name, candidate, required } of entries) {
    lookup.candidates.set(name, candidate);
    if (!required) continue;
    const names = lookup.required.get(candidate.kind);
    if (names === undefined) lookup.required.set(candidate.kind, [name]);
    else names.push(name);
  }
  return lookup;
}

// The lookups depend only on the schema and the model, which a stream or upload resolves once: they are built once
// per resolved schema and model rather than for every batch (a real-time stream sends a batch per record).
const schemaLookups = new WeakMap<StoredField[], { columns: GroupLookup; influences: GroupLookup }>();
const predictionLookups = new WeakMap<ModelDoc, GroupLookup>();

function lookupsOfSchema(fields: StoredField[]): { columns: GroupLookup; influences: GroupLookup } {
  let found = schemaLookups.get(fields);
  if (found !== undefined) return found;
  const influenceRule: ValueRule = { type: FieldType.DOUBLE, nullable: false, categories: undefined, min: undefined, max: undefined, nanIsNull: false };
  found = {
    columns: groupLookup(
      fields.flatMap((field) => {
        const kind = fieldKindToDataKind[field.kind];
        return kind === undefined ? [] : [{ name: field.name, candidate: { kind, key: valueKey(field.id), rule: ruleOf(field) }, required: !field.nullable }];
      }),
    ),
    influences: groupLookup(
      fields
        .filter((field) => field.kind === FieldKind.FEATURE)
        .map((field) => ({ name: field.name, candidate: { kind: DataKind.INFLUENCES, key: valueKey(field.id), rule: influenceRule }, required: true })),
    ),
  };
  schemaLookups.set(fields, found);
  return found;
}

function lookupOfPredictions(model: ModelDoc): GroupLookup {
  let found = predictionLookups.get(model);
  if (found !== undefined) return found;
  found = groupLookup(
    model.predictionFields.map((field, i) => {
      const probability = i === 0 && model.scoreType === ScoreType.PROBITS;
      const rule: ValueRule = { type: field.type, nullable: false, categories: undefined, min: probability ? 0 : undefined, max: probability ? 1 : undefined, nanIsNull: false };
      return { name: field.name, candidate: { kind: DataKind.PREDICTIONS, key: valueKey(i), rule }, required: true };
    }),
  );
  predictionLookups.set(model, found);
  return found;
}

/** The column's violations of its batch's shape, or undefined when it has none. */
function checkColumnShape(group: string, index: number, column: Column, rows: number): Violation[] | undefined {
  const length = columnLength(column);
  if (length === rows && (column.nullMask.length === 0 || column.nullMask.length === maskBytes(rows))) return undefined;
  const path = `${group}[${index}]`;
  if (length === undefined) return [{ field: `${path}.values`, description: `column "${column.name}" has no values` }];
  const violations: Violation[] = [];
  if (length !== rows) {
    violations.push({ field: `${path}.values`, description: `column "${column.name}" has ${length} values for ${rows} record IDs` });
  }
  if (column.nullMask.length !== 0 && column.nullMask.length !== maskBytes(rows)) {
    violations.push({ field: `${path}.null_mask`, description: `must be empty or ${maskBytes(rows)} bytes for ${rows} rows, got ${column.nullMask.length}` });
  }
  return violations;
}

/**
 * Resolves one group of columns (schema fields, predictions or influences) against the names it may use, adding to
 * `plans` and `violations` in place: a batch can carry hundreds of thousands of bad columns, too many to spread as
 * arguments of one push.
 */
function planGroup(group: string, columns: Column[], lookup: GroupLookup, rows: number, plans: ColumnPlan[], violations: Violation[]): void {
  const seen = new Set<string>();
  columns.forEach((column, i) => {
    const candidate = lookup.candidates.get(column.name);
    if (candidate === undefined) {
      violations.push({ field: `batch.${group}[${i}].name`, description: `"${column.name}" is not a known ${group === "columns" ? "field" : group.replace(/s$/, "")} column` });
      return;
    }
    if (seen.has(column.name)) {
      violations.push({ field: `batch.${group}[${i}].name`, description: `column "${column.name}" appears twice` });
      return;
    }
    seen.add(column.name);
    const shape = checkColumnShape(`batch.${group}`, i, column, rows);
    if (shape === undefined) plans.push({ kind: candidate.kind, key: candidate.key, rule: candidate.rule, name: column.name, column, nullMask: column.nullMask });
    else for (const v of shape) violations.push(v);
  });
}

/** Every kind a batch carries must bring all of that kind's required columns. */
function missingRequired(plans: ColumnPlan[], groups: { group: string; lookup: GroupLookup }[]): Violation[] {
  const present = new Set(plans.map((p) => `${p.kind}:${p.name}`));
  const kinds = new Set(plans.map((p) => p.kind));
  const violations: Violation[] = [];
  for (const kind of kinds) {
    for (const { group, lookup } of groups) {
      for (const name of lookup.required.get(kind) ?? []) {
        if (!present.has(`${kind}:${name}`)) violations.push({ field: `batch.${group}`, description: `${DataKind[kind]} needs a column for "${name}"` });
      }
    }
  }
  return violations;
}

export function planBatch(target: IngestTarget, batch: RecordBatch, limits: IngestLimits): { plan: BatchPlan | undefined; violations: Violation[] } {
  const rows = batch.recordIds.length;
  const violations: Violation[] = [];
  if (rows > limits.maxRowsPerBatch) {
    violations.push({ field: "batch.record_ids", description: `holds ${rows} rows; the limit is ${limits.maxRowsPerBatch} per batch` });
    return { plan: undefined, violations };
  }
  const schema = lookupsOfSchema(target.fields);
  const groups = [{ group: "columns", lookup: schema.columns }];
  const plans: ColumnPlan[] = [];
  planGroup("columns", batch.columns, schema.columns, rows, plans, violations);

  const model = target.model;
  if (model === undefined) {
    if (batch.predictions.length > 0) violations.push({ field: "batch.predictions", description: "predictions need a model in the header" });
    if (batch.influences.length > 0) violations.push({ field: "batch.influences", description: "influences need a model in the header" });
  } else {
    const predictions = lookupOfPredictions(model);
    planGroup("predictions", batch.predictions, predictions, rows, plans, violations);
    planGroup("influences", batch.influences, schema.influences, rows, plans, violations);
    groups.push({ group: "predictions", lookup: predictions }, { group: "influences", lookup: schema.influences });
  }
  for (const v of missingRequired(plans, groups)) violations.push(v);
  if (rows > 0 && plans.length === 0) {
    violations.push({ field: "batch", description: "carries no columns: there is nothing to write" });
  }

  let eventTimes: BatchPlan["eventTimes"];
  if (batch.eventTimes !== undefined && (batch.eventTimes.unixMillis.length > 0 || batch.eventTimes.nullMask.length > 0)) {
    const times = batch.eventTimes;
    if (times.unixMillis.length !== rows) {
      violations.push({ field: "batch.event_times.unix_millis", description: `has ${times.unixMillis.length} values for ${rows} record IDs` });
    } else if (times.nullMask.length !== 0 && times.nullMask.length !== maskBytes(rows)) {
      violations.push({ field: "batch.event_times.null_mask", description: `must be empty or ${maskBytes(rows)} bytes` });
    } else {
      eventTimes = { values: times.unixMillis, nullMask: times.nullMask };
    }
  }
  if (violations.length > 0) return { plan: undefined, violations };
  return { plan: { rows, kinds: new Set(plans.map((p) => p.kind)), columns: plans, eventTimes }, violations };
}

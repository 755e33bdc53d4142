// Records in, feature rows out; computed values in, a RecordBatch out. The batch is the wire's own shape, so computed
// predictions and influences go through the same validation and writes as uploaded ones.
import { create } from "@bufbuild/protobuf";
import { ColumnSchema, DoubleValuesSchema, Int64ValuesSchema, RecordBatchSchema, StringValuesSchema, BoolValuesSchema, TimestampColumnSchema, type Column, type RecordBatch } from "../gen/sightline/v1/records_pb.js";
import { FieldType } from "../gen/sightline/v1/resources_pb.js";
import { buildMask } from "../ingest/null-mask.js";
import { recordIdOf, valueKey, type RecordDoc } from "../ingest/layout.js";
import type { StoredField } from "../store/db.js";
import type { PredictionColumn } from "./model-runner.js";

export interface FeatureRows {
  recordIds: string[];
  /** Event times of production records (Unix ms); undefined for a split. */
  eventTimes: number[] | undefined;
  /** rows x features, schema order; NaN where a feature is null. */
  values: Float64Array;
  rows: number;
}

function numberOf(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "bigint") return Number(value);
  if (value !== null && typeof value === "object" && "toNumber" in value && typeof value.toNumber === "function") return Number(value.toNumber());
  return Number.NaN;
}

/** The projection `featureRows` needs. */
export function featureProjection(features: StoredField[]): Record<string, 1> {
  const projection: Record<string, 1> = { ct: 1, ts: 1 };
  for (const f of features) projection[`f.${valueKey(f.id)}`] = 1;
  return projection;
}

/** Rows for the records that hold features; the others have nothing to compute from and are left out. */
export function featureRows(docs: RecordDoc[], features: StoredField[], production: boolean): FeatureRows {
  const withFeatures = docs.filter((d) => d.f !== undefined);
  const m = features.length;
  const values = new Float64Array(withFeatures.length * m);
  const keys = features.map((f) => valueKey(f.id));
  withFeatures.forEach((doc, r) => {
    for (let j = 0; j < m; j++) values[r * m + j] = numberOf(doc.f![keys[j]!]);
  });
  return {
    recordIds: withFeatures.map(recordIdOf),
    eventTimes: production ? withFeatures.map((d) => d.ts?.getTime() ?? Number.NaN) : undefined,
    values,
    rows: withFeatures.length,
  };
}

function eventTimeColumn(rows: FeatureRows) {
  if (rows.eventTimes === undefined) return undefined;
  const times = rows.eventTimes;
  return create(TimestampColumnSchema, { unixMillis: times.map((t) => BigInt(Number.isFinite(t) ? t : 0)), nullMask: buildMask(times.map((t) => !Number.isFinite(t))) });
}

function doubleColumn(name: string, values: ArrayLike<number>): Column {
  return create(ColumnSchema, { name, values: { case: "doubles", value: create(DoubleValuesSchema, { values: Array.from(values) }) } });
}

function predictionColumn(name: string, fieldType: number, column: PredictionColumn, classLabels: string[]): Column {
  if (column.kind === "strings") return create(ColumnSchema, { name, values: { case: "strings", value: create(StringValuesSchema, { values: column.values }) } });
  const v = Array.from(column.values);
  switch (fieldType) {
    case FieldType.INT64:
      return create(ColumnSchema, { name, values: { case: "int64s", value: create(Int64ValuesSchema, { values: v.map((x) => BigInt(Math.trunc(x))) }) } });
    case FieldType.BOOL:
      return create(ColumnSchema, { name, values: { case: "bools", value: create(BoolValuesSchema, { values: v.map((x) => x !== 0) }) } });
    case FieldType.STRING:
    case FieldType.CATEGORICAL:
      // An integer class index names one of the model's class labels when it declares them.
      return create(ColumnSchema, { name, values: { case: "strings", value: create(StringValuesSchema, { values: v.map((x) => classLabels[x] ?? String(x)) }) } });
    default:
      return doubleColumn(name, v);
  }
}

export function predictionBatch(rows: FeatureRows, columns: Map<string, PredictionColumn>, fieldTypes: Map<string, number>, classLabels: string[]): RecordBatch {
  return create(RecordBatchSchema, {
    recordIds: rows.recordIds,
    eventTimes: eventTimeColumn(rows),
    predictions: [...columns].map(([name, column]) => predictionColumn(name, fieldTypes.get(name) ?? FieldType.DOUBLE, column, classLabels)),
  });
}

/** One DOUBLE column per feature, named after it: the INFLUENCES layout. */
export function influenceBatch(rows: FeatureRows, features: StoredField[], values: Float64Array): RecordBatch {
  const m = features.length;
  return create(RecordBatchSchema, {
    recordIds: rows.recordIds,
    eventTimes: eventTimeColumn(rows),
    influences: features.map((f, j) => doubleColumn(f.name, Array.from({ length: rows.rows }, (_, r) => values[r * m + j]!))),
  });
}

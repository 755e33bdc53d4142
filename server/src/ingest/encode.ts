// The read side of the batch codec: stored record documents back into columnar batches, typed by the schema.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Long } from "mongodb";
import { FieldKind, FieldType } from "../gen/sightline/v1/resources_pb.js";
import { ColumnSchema, DataKind, RecordBatchSchema, TimestampColumnSchema, type Column, type RecordBatch } from "../gen/sightline/v1/records_pb.js";
import type { ModelDoc, StoredField } from "../store/db.js";
import { kindKey, modelKindKey, recordIdOf, valueKey, type ModelAgnosticKind, type RecordDoc } from "./layout.js";
import { buildMask } from "./null-mask.js";

export interface ReadColumn {
  group: "columns" | "predictions" | "influences";
  name: string;
  type: FieldType;
  /** Top-level key to project, so the read fetches only what it returns. */
  projection: string;
  pick: (doc: RecordDoc) => unknown;
}

const agnosticKindOf: Record<number, ModelAgnosticKind> = {
  [FieldKind.FEATURE]: DataKind.FEATURES,
  [FieldKind.LABEL]: DataKind.LABELS,
  [FieldKind.EXTRA]: DataKind.EXTRA,
};

/** The columns a read returns: schema fields of the chosen kinds, then the model's predictions and influences. */
export function readColumns(fields: StoredField[], model: ModelDoc | undefined, kinds: Set<DataKind>, only: Set<string> | undefined): ReadColumn[] {
  const wanted = (name: string) => only === undefined || only.has(name);
  const columns: ReadColumn[] = [];
  for (const field of fields) {
    const kind = agnosticKindOf[field.kind];
    if (kind === undefined || !kinds.has(kind) || !wanted(field.name)) continue;
    const object = kindKey[kind].values as "f" | "l" | "x";
    const key = valueKey(field.id);
    columns.push({ group: "columns", name: field.name, type: field.type, projection: object, pick: (doc) => doc[object]?.[key] });
  }
  if (model === undefined) return columns;
  if (kinds.has(DataKind.PREDICTIONS)) {
    const path = `${modelKindKey[DataKind.PREDICTIONS].values}.${model.name}`;
    model.predictionFields.forEach((field, i) => {
      if (!wanted(field.name)) return;
      const key = valueKey(i);
      columns.push({ group: "predictions", name: field.name, type: field.type, projection: path, pick: (doc) => doc.p?.[model.name]?.[key] });
    });
  }
  if (kinds.has(DataKind.INFLUENCES)) {
    const path = `${modelKindKey[DataKind.INFLUENCES].values}.${model.name}`;
    for (const field of fields) {
      if (field.kind !== FieldKind.FEATURE || !wanted(field.name)) continue;
      const key = valueKey(field.id);
      columns.push({ group: "influences", name: field.name, type: FieldType.DOUBLE, projection: path, pick: (doc) => doc.i?.[model.name]?.[key] });
    }
  }
  return columns;
}

function toBigInt(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (value instanceof Long) return value.toBigInt();
  if (value instanceof Date) return BigInt(value.getTime());
  return BigInt(value as number);
}

function encodeColumn(column: ReadColumn, docs: RecordDoc[]): Column {
  const raw = docs.map(column.pick);
  const nulls = raw.map((v) => v === null || v === undefined);
  const nullMask = buildMask(nulls);
  const present = (fallback: unknown) => raw.map((v, i) => (nulls[i] ? fallback : v));
  let values: MessageInitShape<typeof ColumnSchema>["values"];
  switch (column.type) {
    case FieldType.DOUBLE:
      values = { case: "doubles", value: { values: present(0).map(Number) } };
      break;
    case FieldType.INT64:
    case FieldType.TIMESTAMP:
      values = { case: "int64s", value: { values: present(0n).map(toBigInt) } };
      break;
    case FieldType.BOOL:
      values = { case: "bools", value: { values: present(false) as boolean[] } };
      break;
    default:
      values = { case: "strings", value: { values: present("") as string[] } };
  }
  return create(ColumnSchema, { name: column.name, values, nullMask });
}

export function encodeBatch(docs: RecordDoc[], columns: ReadColumn[]): RecordBatch {
  const times = docs.map((d) => d.ts);
  const hasTimes = times.some((t) => t !== undefined);
  const encoded = columns.map((c) => ({ group: c.group, column: encodeColumn(c, docs) }));
  return create(RecordBatchSchema, {
    recordIds: docs.map(recordIdOf),
    eventTimes: hasTimes
      ? create(TimestampColumnSchema, {
          unixMillis: times.map((t) => BigInt(t?.getTime() ?? 0)),
          nullMask: buildMask(times.map((t) => t === undefined)),
        })
      : undefined,
    columns: encoded.filter((c) => c.group === "columns").map((c) => c.column),
    predictions: encoded.filter((c) => c.group === "predictions").map((c) => c.column),
    influences: encoded.filter((c) => c.group === "influences").map((c) => c.column),
  });
}

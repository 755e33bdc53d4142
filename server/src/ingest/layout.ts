// How records are laid out in MongoDB. One document per (collection, split or production, record ID), with a
// deterministic _id, so every write is an idempotent upsert. User field names never become keys: values are keyed
// by the field's numeric id ("c<id>"), and model names are restricted to [a-z0-9_-].
import { DataKind } from "../gen/sightline/v1/records_pb.js";
import { hourStart } from "../monitoring/buckets.js";

export type ModelAgnosticKind = DataKind.FEATURES | DataKind.LABELS | DataKind.EXTRA;

/** Top-level key of each model-agnostic kind's values, and of its last-write time. */
export const kindKey: Record<ModelAgnosticKind, { values: string; written: string }> = {
  [DataKind.FEATURES]: { values: "f", written: "wf" },
  [DataKind.LABELS]: { values: "l", written: "wl" },
  [DataKind.EXTRA]: { values: "x", written: "wx" },
};

/** Model-specific kinds live under `<values>.<model>`, written times under `<written>.<model>`. */
export const modelKindKey = {
  [DataKind.PREDICTIONS]: { values: "p", written: "wp" },
  [DataKind.INFLUENCES]: { values: "i", written: "wi" },
} as const;

export function valueKey(fieldId: number): string {
  return `c${fieldId}`;
}

export const productionTarget = "p";

export function splitTarget(split: string): string {
  return `s:${split}`;
}

export function collectionKey(project: string, collection: string): string {
  return `${project}/${collection}`;
}

/** Collection plus target: the equality every record query starts with, so it is one top-level indexed field. */
export function targetKey(project: string, collection: string, target: string): string {
  return `${collectionKey(project, collection)}|${target}`;
}

export function recordDocId(targetKeyValue: string, recordId: string): string {
  return `${targetKeyValue}|${recordId}`;
}

/** The record ID inside a record's `_id`, which is the target key, a `|` and the ID. */
export function recordIdOf(doc: Pick<RecordDoc, "_id" | "ct">): string {
  return doc._id.slice(doc.ct.length + 1);
}

/** Matches every string starting with `prefix`, taken literally. */
export function prefixPattern(prefix: string): RegExp {
  return new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\\-]/g, "\\$&")}`);
}

/** Matches every target key of a collection, for deleting its records: `<project>/<collection>|…`. */
export function collectionTargetsPattern(project: string, collection: string): RegExp {
  return prefixPattern(`${collectionKey(project, collection)}|`);
}

/** The hour bucket (UTC) of an event time, as a top-level equality key for the monitoring jobs; days are unions of hours. */
export function hourBucketKey(targetKeyValue: string, eventMs: number): string {
  return `${targetKeyValue}|h${hourStart(eventMs)}`;
}

/** The stored shape of a record, as far as code outside the writer reads it. */
export interface RecordDoc {
  _id: string;
  ct: string;
  ts?: Date;
  hb?: string;
  f?: Record<string, unknown>;
  l?: Record<string, unknown>;
  x?: Record<string, unknown>;
  p?: Record<string, Record<string, unknown>>;
  i?: Record<string, Record<string, unknown>>;
  wf?: Date;
  wl?: Date;
  wx?: Date;
  wp?: Record<string, Date>;
  wi?: Record<string, Date>;
}

/**
 * The whole document a first write of a record creates: the same result as its upsert on a missing record. `$set`
 * paths hold at most one dot (`p.<model>`; model names have none), so they nest one level.
 */
export function newRecordDoc(targetKeyValue: string, recordId: string, set: Record<string, unknown>): RecordDoc {
  const doc: Record<string, unknown> = { _id: recordDocId(targetKeyValue, recordId), ct: targetKeyValue };
  for (const [path, value] of Object.entries(set)) {
    const dot = path.indexOf(".");
    if (dot < 0) {
      doc[path] = value;
      continue;
    }
    const parent = path.slice(0, dot);
    const nested = (doc[parent] ??= {}) as Record<string, unknown>;
    nested[path.slice(dot + 1)] = value;
  }
  return doc as unknown as RecordDoc;
}

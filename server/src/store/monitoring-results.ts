// Monitoring results: one document per (model, hour or day, bucket start) and per (model, split), rewritten whole
// when its bucket is recomputed, plus one state document per model saying what the last run was computed against.
import type { AnyBulkWriteOperation, Filter } from "mongodb";
import { prefixPattern } from "../ingest/layout.js";
import type { BucketReport } from "../monitoring/report.js";
import { wholeReadBatch } from "./bucket-marks.js";
import { upsertWithRetry } from "./bulk.js";
import { docId, type Store } from "./db.js";

export type ResultGranularity = "h" | "d" | "s";

export interface MonitoringResultDoc {
  _id: string;
  /** The model's document ID: `<project>/<collection>/<model>`. */
  m: string;
  g: ResultGranularity;
  /** Bucket start; null for a split. */
  t: Date | null;
  /** Split name; null for production buckets. */
  s: string | null;
  /** The bucket mark's token the result was computed from (hours and splits); days follow their hours. */
  tok: string | null;
  report: BucketReport;
  at: Date;
}

export interface MonitoringStateDoc {
  _id: string;
  /** Digest of what every result depends on besides its bucket's records: model, schema, baseline. */
  sig: string;
  lastRun: Date;
}

export function resultId(modelKey: string, g: ResultGranularity, bucket: number | string): string {
  return `${modelKey}|${g}${bucket}`;
}

export interface ResultWrite {
  g: ResultGranularity;
  start: number | undefined;
  split: string | undefined;
  tok: string | null;
  report: BucketReport;
}

export async function writeResults(store: Store, modelKey: string, results: ResultWrite[], chunkRows: number): Promise<void> {
  const at = new Date();
  const ops: AnyBulkWriteOperation<MonitoringResultDoc>[] = results.map((r) => ({
    replaceOne: {
      filter: { _id: resultId(modelKey, r.g, r.split ?? r.start!) },
      replacement: {
        m: modelKey,
        g: r.g,
        t: r.start === undefined ? null : new Date(r.start),
        s: r.split ?? null,
        tok: r.tok,
        report: r.report,
        at,
      },
      upsert: true,
    },
  }));
  await upsertWithRetry(store.monitoringResults, ops, chunkRows);
}

/** The token each of a model's buckets was computed from, by hour start or split name. */
export async function resultTokens(store: Store, modelKey: string, g: "h" | "s"): Promise<Map<number | string, string | null>> {
  const tokens = new Map<number | string, string | null>();
  const cursor = store.monitoringResults.find({ m: modelKey, g }, { projection: { t: 1, s: 1, tok: 1 }, batchSize: wholeReadBatch });
  for await (const doc of cursor) tokens.set(g === "h" ? doc.t!.getTime() : doc.s!, doc.tok);
  return tokens;
}

export function findResults(store: Store, modelKey: string, g: ResultGranularity, startMs: number | undefined, endMs: number | undefined) {
  const filter: Filter<MonitoringResultDoc> = { m: modelKey, g };
  if (g !== "s" && (startMs !== undefined || endMs !== undefined)) {
    filter.t = { ...(startMs === undefined ? {} : { $gte: new Date(startMs) }), ...(endMs === undefined ? {} : { $lt: new Date(endMs) }) };
  }
  return store.monitoringResults.find(filter, { sort: { t: 1, s: 1 }, batchSize: wholeReadBatch });
}

export function readState(store: Store, modelKey: string): Promise<MonitoringStateDoc | null> {
  return store.monitoringState.findOne({ _id: modelKey });
}

export async function writeState(store: Store, modelKey: string, sig: string): Promise<void> {
  await store.monitoringState.replaceOne({ _id: modelKey }, { sig, lastRun: new Date() }, { upsert: true });
}

/** Drops the results and state of one model, of every model of a collection, or of a whole project. */
export async function deleteMonitoring(store: Store, project: string, collection?: string, model?: string): Promise<void> {
  if (model !== undefined && collection !== undefined) {
    const key = docId(project, collection, model);
    await store.monitoringResults.deleteMany({ m: key });
    await store.monitoringState.deleteOne({ _id: key });
    return;
  }
  const prefix = prefixPattern(collection === undefined ? `${project}/` : `${docId(project, collection)}/`);
  await store.monitoringResults.deleteMany({ m: prefix });
  await store.monitoringState.deleteMany({ _id: prefix });
}

/** Drops one split's results for every model of its collection. */
export async function deleteSplitResults(store: Store, project: string, collection: string, split: string): Promise<void> {
  await store.monitoringResults.deleteMany({ m: prefixPattern(`${docId(project, collection)}/`), g: "s", s: split });
}

// One monitoring run for one model: find the buckets whose marks changed since their results were computed, recompute
// exactly those (and the days holding them) from their records, and store the results. Every mark is read before any
// record, so a write that lands during the run leaves its mark's token different from the one stored with the
// result, and the next run recomputes that bucket again: nothing is missed, and a run costs what changed.
import { productionTarget, splitTarget, targetKey, hourBucketKey } from "../ingest/layout.js";
import { dayStart } from "../monitoring/buckets.js";
import { baselineOf, bucketReport, type Baseline } from "../monitoring/report.js";
import { BucketSample } from "../monitoring/sample.js";
import { findMarks, type BucketMarkDoc } from "../store/bucket-marks.js";
import { markLeaseMs } from "../store/mark-leases.js";
import { docId, type Store } from "../store/db.js";
import { readState, resultTokens, writeResults, writeState, type ResultWrite } from "../store/monitoring-results.js";
import { monitoringPlan, monitoringSignature, type MonitoringPlan } from "./monitoring-spec.js";

export interface MonitoringJobData {
  project: string;
  collection: string;
  model: string;
  /** Recompute every bucket, changed or not. */
  full: boolean;
}

export interface MonitoringRunResult {
  hours: number;
  days: number;
  splits: number;
  recordsRead: number;
  full: boolean;
  /** Set when there was nothing to run: the model or its collection no longer exists. */
  skipped?: string;
}

export type ProgressReporter = (percent: number, message: string) => Promise<void>;

/**
 * A bucket marked this recently is recomputed again by the next run as well: its result is stored under a token no
 * mark holds. The order "records durable, then mark" is what makes a run safe, and this margin keeps it safe where a
 * store makes a write visible to other connections a little after acknowledging it (seen on FerretDB 1.24 under
 * concurrent bulk updates), and across clocks a little apart.
 */
export const settleMs = 2000;

/** How long after a bucket's last write its result is settled: a mark's lease runs ahead of the write (mark-leases.ts). */
export const settledAfterWriteMs = markLeaseMs + settleMs;

function tokenToStore(mark: BucketMarkDoc, settledBefore: number): string {
  return mark.w.getTime() > settledBefore ? `unsettled:${mark.tok}` : mark.tok;
}

/** Baselines are re-read only when their split's mark changes; a worker keeps the last few it built. */
const baselineCache = new Map<string, Baseline | undefined>();
const baselineCacheSize = 8;

/** Large enough that an hour's records usually come in one reply (see `wholeReadBatch`). */
const readBatchSize = 20_000;

async function readSample(store: Store, plan: MonitoringPlan, filter: Record<string, string>, counter: { records: number }): Promise<BucketSample> {
  const sample = new BucketSample(plan.spec.fields.length);
  const cursor = store.records.find(filter, { projection: plan.projection, batchSize: readBatchSize });
  try {
    for await (const doc of cursor) {
      sample.add(plan.readRow(doc));
      counter.records++;
    }
  } finally {
    await cursor.close();
  }
  return sample;
}

async function baselineFor(store: Store, plan: MonitoringPlan, ct: string | undefined, cacheKey: string, counter: { records: number }): Promise<Baseline | undefined> {
  if (baselineCache.has(cacheKey)) return baselineCache.get(cacheKey);
  const baseline = ct === undefined ? undefined : baselineOf(plan.spec, await readSample(store, plan, { ct }, counter));
  baselineCache.set(cacheKey, baseline);
  while (baselineCache.size > baselineCacheSize) baselineCache.delete(baselineCache.keys().next().value!);
  return baseline;
}

/** `writeChunkRows` bounds each bulk write of results, as it bounds the ingest path's. */
export async function runMonitoring(store: Store, job: MonitoringJobData, progress: ProgressReporter, writeChunkRows: number): Promise<MonitoringRunResult> {
  const result: MonitoringRunResult = { hours: 0, days: 0, splits: 0, recordsRead: 0, full: false };
  const modelKey = docId(job.project, job.collection, job.model);
  const [collection, model] = await Promise.all([
    store.collections.findOne({ _id: docId(job.project, job.collection) }),
    store.models.findOne({ _id: modelKey }),
  ]);
  if (collection === null || model === null) return { ...result, skipped: "the model no longer exists" };
  const plan = monitoringPlan(collection, model);

  // Marks before records, always.
  const settledBefore = Date.now() - settleMs;
  const productionKey = targetKey(job.project, job.collection, productionTarget);
  const hourMarks = (await findMarks(store, productionKey)).filter((m) => m.h !== null);
  const splits = await store.splits.find({ project: job.project, collection: job.collection }, { projection: { name: 1 } }).toArray();
  const splitMarks = new Map<string, BucketMarkDoc | undefined>();
  for (const s of splits) splitMarks.set(s.name, (await findMarks(store, targetKey(job.project, job.collection, splitTarget(s.name))))[0]);

  const baselineSplit = collection.baselineSplit === "" ? undefined : collection.baselineSplit;
  const baselineToken = baselineSplit === undefined ? null : (splitMarks.get(baselineSplit)?.tok ?? null);
  const signature = monitoringSignature(collection, model, baselineToken);
  const state = await readState(store, modelKey);
  result.full = job.full || state?.sig !== signature;

  const hourTokens = result.full ? new Map() : await resultTokens(store, modelKey, "h");
  const splitTokens = result.full ? new Map() : await resultTokens(store, modelKey, "s");
  const dirtyHours = new Set(hourMarks.filter((m) => result.full || hourTokens.get(m.h!.getTime()) !== m.tok).map((m) => m.h!.getTime()));
  const dirtySplits = splits
    .map((s) => s.name)
    .filter((name) => result.full || !splitTokens.has(name) || splitTokens.get(name) !== (splitMarks.get(name)?.tok ?? null));

  const hoursByDay = new Map<number, BucketMarkDoc[]>();
  for (const m of hourMarks) {
    const day = dayStart(m.h!.getTime());
    const list = hoursByDay.get(day) ?? [];
    list.push(m);
    hoursByDay.set(day, list);
  }
  const dirtyDays = [...new Set([...dirtyHours].map(dayStart))].sort((a, b) => a - b);
  const steps = dirtyDays.length + dirtySplits.length;
  if (steps === 0) {
    await writeState(store, modelKey, signature);
    return result;
  }

  const counter = { records: 0 };
  const baselineCt = baselineSplit === undefined ? undefined : targetKey(job.project, job.collection, splitTarget(baselineSplit));
  const baseline = await baselineFor(store, plan, baselineCt, `${modelKey}|${signature}`, counter);
  let done = 0;

  for (const day of dirtyDays) {
    const writes: ResultWrite[] = [];
    const daySample = new BucketSample(plan.spec.fields.length);
    const marks = (hoursByDay.get(day) ?? []).sort((a, b) => a.h!.getTime() - b.h!.getTime());
    for (const mark of marks) {
      const hour = mark.h!.getTime();
      const sample = await readSample(store, plan, { hb: hourBucketKey(productionKey, hour) }, counter);
      if (dirtyHours.has(hour)) {
        writes.push({ g: "h", start: hour, split: undefined, tok: tokenToStore(mark, settledBefore), report: bucketReport(plan.spec, sample, baseline) });
        result.hours++;
      }
      daySample.append(sample);
    }
    writes.push({ g: "d", start: day, split: undefined, tok: null, report: bucketReport(plan.spec, daySample, baseline) });
    result.days++;
    await writeResults(store, modelKey, writes, writeChunkRows);
    done++;
    await progress((100 * done) / steps, `day ${new Date(day).toISOString().slice(0, 10)} (${done} of ${steps} steps)`);
  }

  for (const name of dirtySplits) {
    const ct = targetKey(job.project, job.collection, splitTarget(name));
    const sample = await readSample(store, plan, { ct }, counter);
    const mark = splitMarks.get(name);
    const tok = mark === undefined ? null : tokenToStore(mark, settledBefore);
    await writeResults(store, modelKey, [{ g: "s", start: undefined, split: name, tok, report: bucketReport(plan.spec, sample, baseline) }], writeChunkRows);
    result.splits++;
    done++;
    await progress((100 * done) / steps, `split ${name} (${done} of ${steps} steps)`);
  }

  result.recordsRead = counter.records;
  await writeState(store, modelKey, signature);
  return result;
}

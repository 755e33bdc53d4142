// A monitored production model with seeded records, and what GetMonitoring serves for it, for the tests that compare
// monitoring results across faults (test/integration/monitoring-faults.test.ts, test/faults/).
import { toJson } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { expect } from "vitest";
import {
  FieldKind,
  FieldType,
  GetMonitoringResponseSchema,
  Granularity,
  JobState,
  ModelMode,
  ScoreType,
  SplitType,
  type BatchInput,
  type SightlineClient,
} from "../../clients/ts/src/index.js";

export const P = "faults";
export const C = "c";
export const M = "m";
export const dayMs = 86_400_000;
export const start = Date.UTC(2026, 0, 1);

/** A seeded generator, so every run loads the same records. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** `count` records `<prefix>-<i>`, spread over `days` from `start` when production; the same arguments, the same rows. */
export function rows(prefix: string, count: number, days: number, seed: number, production: boolean): BatchInput {
  const next = random(seed);
  const ids: string[] = [];
  const times: number[] = [];
  const x: number[] = [];
  const seg: string[] = [];
  const y: (boolean | null)[] = [];
  const score: number[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(`${prefix}-${i}`);
    times.push(start + Math.floor((i / count) * days * dayMs));
    const p = next();
    score.push(Math.round(p * 1000) / 1000);
    y.push(next() < 0.15 ? null : next() < p);
    x.push(Math.round((next() * 10 + (production ? 1 : 0)) * 100) / 100);
    seg.push(["a", "b", "c"][Math.floor(next() * 3)]!);
  }
  return { recordIds: ids, ...(production ? { eventTimes: times } : {}), columns: { x, seg, y }, predictions: { score } };
}

/** Rows [from, to) of a BatchInput. */
export function rowRange(input: BatchInput, from: number, to: number): BatchInput {
  const cut = <T>(a: readonly T[] | undefined) => a?.slice(from, to);
  return {
    recordIds: input.recordIds.slice(from, to),
    ...(input.eventTimes === undefined ? {} : { eventTimes: cut(input.eventTimes) }),
    columns: Object.fromEntries(Object.entries(input.columns ?? {}).map(([k, v]) => [k, cut(v)!])),
    predictions: Object.fromEntries(Object.entries(input.predictions ?? {}).map(([k, v]) => [k, cut(v)!])),
  };
}

export function slices(input: BatchInput, size: number): BatchInput[] {
  const out: BatchInput[] = [];
  for (let i = 0; i < input.recordIds.length; i += size) out.push(rowRange(input, i, i + size));
  return out;
}

/** The project, a collection with a baseline split of 300 seeded rows, and a DATA_ONLY model M scoring it. */
export async function createMonitoredModel(client: SightlineClient): Promise<void> {
  await client.admin.createProject({ project: { name: P } });
  await client.catalog.createDataCollection({
    collection: {
      project: P,
      name: C,
      schema: {
        recordIdColumn: "id",
        fields: [
          { name: "x", kind: FieldKind.FEATURE, type: FieldType.DOUBLE },
          { name: "seg", kind: FieldKind.FEATURE, type: FieldType.CATEGORICAL, categories: ["a", "b", "c"] },
          { name: "y", kind: FieldKind.LABEL, type: FieldType.BOOL, nullable: true },
        ],
      },
    },
  });
  await client.catalog.createSplit({ split: { project: P, collection: C, name: "base", type: SplitType.TRAIN } });
  await client.catalog.setBaselineSplit({ project: P, collection: C, name: "base" });
  await client.catalog.createModel({
    model: { project: P, collection: C, name: M, scoreType: ScoreType.PROBITS, mode: ModelMode.DATA_ONLY, predictionFields: [{ name: "score", type: FieldType.DOUBLE }], labelField: "y" },
  });
  const base = await client.upload({ project: P, collection: C, destination: { case: "split", value: "base" }, model: M }, slices(rows("b", 300, 1, 7, false), 300));
  expect(base.rowErrors).toEqual([]);
}

export async function uploadProduction(client: SightlineClient, input: BatchInput, batchRows = 2000): Promise<void> {
  const summary = await client.upload({ project: P, collection: C, destination: { case: "production", value: true }, model: M }, slices(input, batchRows));
  expect(summary.rowErrors).toEqual([]);
}

/** Everything GetMonitoring serves for the model, without the times that say when it was computed. */
export async function snapshot(client: SightlineClient): Promise<unknown> {
  const out = [];
  for (const granularity of [Granularity.HOUR, Granularity.DAY]) {
    const res = await client.monitoring.getMonitoring({ project: P, collection: C, model: M, granularity, splits: ["*"] });
    res.lastRunTime = undefined;
    for (const b of [...res.buckets, ...res.splits.map((s) => s.result!)]) b.computeTime = undefined;
    out.push(toJson(GetMonitoringResponseSchema, res));
  }
  return out;
}

export async function fullRecompute(client: SightlineClient): Promise<void> {
  const { jobId } = await client.monitoring.refreshMonitoring({ project: P, collection: C, model: M, full: true });
  const done = await client.waitForJob(jobId);
  expect(done.state, done.message).toBe(JobState.COMPLETED);
}

export async function lastRunMs(client: SightlineClient): Promise<number> {
  const res = await client.monitoring.getMonitoring({ project: P, collection: C, model: M, endTime: { seconds: 0n, nanos: 0 } });
  return res.lastRunTime === undefined ? 0 : timestampMs(res.lastRunTime);
}

/** Waits for two runs that finish after `after`: the second started after the first ended, so after `after` too. */
export async function twoRunsAfter(client: SightlineClient, after: number, timeoutMs: number): Promise<void> {
  const seen = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  while (seen.size < 2) {
    expect(Date.now(), "scheduled runs resume").toBeLessThan(deadline);
    const last = await lastRunMs(client).catch(() => 0);
    if (last > after) seen.add(last);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface SnapshotJson {
  buckets?: { startTime?: string; granularity?: string }[];
  splits?: { split: string; result?: unknown }[];
}

function bucketsOf(snap: unknown): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  // One response per granularity, each with the splits too: a bucket is named by its response and its place in time.
  (snap as SnapshotJson[]).forEach((res, r) => {
    for (const b of res.buckets ?? []) out.push({ key: `${r}|${b.granularity}|${b.startTime}`, value: JSON.stringify(b) });
    for (const s of res.splits ?? []) out.push({ key: `${r}|split|${s.split}`, value: JSON.stringify(s.result) });
  });
  return out;
}

/** Monitoring results counted bucket by bucket against a reference snapshot: hour, day and split buckets. */
export function bucketTally(reference: unknown, got: unknown): { expected: number; stored: number; lost: number; duplicated: number; unexpected: number } {
  const want = new Map(bucketsOf(reference).map((b) => [b.key, b.value]));
  const have = bucketsOf(got);
  const seen = new Map<string, string>();
  let duplicated = 0;
  for (const b of have) {
    if (seen.has(b.key)) duplicated += 1;
    else seen.set(b.key, b.value);
  }
  let lost = 0;
  for (const [key, value] of want) if (seen.get(key) !== value) lost += 1;
  const unexpected = [...seen.keys()].filter((k) => !want.has(k)).length;
  return { expected: want.size, stored: seen.size, lost, duplicated, unexpected };
}

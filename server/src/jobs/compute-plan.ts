// The planner of a ComputePredictions or ComputeInfluences request: it lists the selected records' IDs with one
// cursor, cuts them into chunk jobs (its children, with IDs derived from its own, so a retried planner re-adds the
// same chunks rather than new ones), waits for them, and sums their results. Chunks run on any worker, in parallel.
import { WaitingChildrenError, type Job, type Queue } from "bullmq";
import { productionTarget, recordIdOf, splitTarget, targetKey } from "../ingest/layout.js";
import type { Store } from "../store/db.js";
import { InfluenceAlgorithm } from "../gen/sightline/v1/resources_pb.js";
import { jobOptions } from "./queues.js";
import { sumChunkResults, type ComputeChunkData, type ComputeChunkResult, type ComputeJobData, type ComputeRunResult } from "./compute-spec.js";

/** Chunk jobs added per Redis round trip while planning. */
const addBatch = 100;
const idReadBatch = 10_000;

/** A chunk that fails for good fails its request, rather than leaving the planner waiting forever. */
const chunkJobOptions = { ...jobOptions, failParentOnFailure: true } as const;

function recordFilter(d: ComputeJobData): Record<string, unknown> {
  const ct = targetKey(d.project, d.collection, d.split === undefined ? productionTarget : splitTarget(d.split));
  const filter: Record<string, unknown> = { ct };
  if (d.split === undefined && (d.startMs !== undefined || d.endMs !== undefined)) {
    filter.ts = { ...(d.startMs === undefined ? {} : { $gte: new Date(d.startMs) }), ...(d.endMs === undefined ? {} : { $lt: new Date(d.endMs) }) };
  }
  return filter;
}

async function planChunks(store: Store, job: Job<ComputeJobData>, chunkQueue: Queue<ComputeChunkData, ComputeChunkResult>, chunkRecords: number): Promise<number> {
  const d = job.data;
  const base: Omit<ComputeChunkData, "recordIds"> = { kind: d.kind, project: d.project, collection: d.collection, model: d.model, split: d.split, artifactVersion: d.artifactVersion, options: d.options };
  let chunks = 0;
  let ids: string[] = [];
  let pending: ComputeChunkData[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const first = chunks - pending.length;
    await chunkQueue.addBulk(pending.map((data, i) => ({
      name: d.kind,
      data,
      opts: { ...chunkJobOptions, jobId: `${job.id}-${first + i}`, parent: { id: job.id!, queue: job.queueQualifiedName } },
    })));
    pending = [];
  };
  const cut = async () => {
    pending.push({ ...base, recordIds: ids });
    ids = [];
    chunks++;
    if (pending.length >= addBatch) await flush();
  };
  const cursor = store.records.find(recordFilter(d), { projection: { _id: 1, ct: 1 }, batchSize: idReadBatch });
  try {
    for await (const doc of cursor) {
      ids.push(recordIdOf(doc));
      if (ids.length >= chunkRecords) await cut();
    }
  } finally {
    await cursor.close();
  }
  if (ids.length > 0) await cut();
  await flush();
  return chunks;
}

export function computePlanProcessor(store: Store, chunkQueue: Queue<ComputeChunkData, ComputeChunkResult>, chunkRecords: number) {
  return async (job: Job<ComputeJobData, ComputeRunResult>, token?: string): Promise<ComputeRunResult> => {
    let chunks = job.data.chunks;
    if (chunks === undefined) {
      await job.updateProgress({ percent: 0, message: "listing records" });
      chunks = await planChunks(store, job, chunkQueue, chunkRecords);
      await job.updateData({ ...job.data, chunks });
    }
    if (chunks > 0 && (await job.moveToWaitingChildren(token!))) {
      await job.updateProgress({ percent: 0, message: `${chunks} chunks queued` });
      throw new WaitingChildrenError();
    }
    const values = Object.values(await job.getChildrenValues<ComputeChunkResult>());
    const algorithm = job.data.kind === "influences" ? (values[0]?.algorithm ?? job.data.options?.algorithm ?? InfluenceAlgorithm.UNSPECIFIED) : InfluenceAlgorithm.UNSPECIFIED;
    return sumChunkResults(values, chunks, job.data.artifactVersion, algorithm);
  };
}

// One chunk of a ComputePredictions or ComputeInfluences job: read its records' features, run the model (or explain
// it), and write the results through the ingest path, as an upload of them would. Rewriting a chunk writes the same
// values again, so a retried chunk changes nothing it already wrote.
import { create } from "@bufbuild/protobuf";
import { UnrecoverableError, type Job } from "bullmq";
import type { ComputeConfig, IngestConfig } from "../config.js";
import { TargetSchema } from "../gen/sightline/v1/records_pb.js";
import { InfluenceAlgorithm } from "../gen/sightline/v1/resources_pb.js";
import { productionTarget, splitTarget, targetKey, type RecordDoc } from "../ingest/layout.js";
import { kernelShap } from "../influence/kernel-shap.js";
import type { LoadedArtifact } from "../influence/load-artifact.js";
import { featureProjection, featureRows, influenceBatch, predictionBatch, type FeatureRows } from "../influence/record-rows.js";
import { coalitionEvaluatorFor } from "../influence/tree-coalitions.js";
import { treeShap } from "../influence/tree-shap.js";
import type { Logger } from "../log.js";
import { prepareBatch } from "../rpc/ingest-batch.js";
import { docId, type CollectionDoc, type Store, type StoredField } from "../store/db.js";
import { priorProjection, readRecordsById, resolveTarget, writeRecords } from "../store/records.js";
import { artifactFor, backgroundFor } from "./artifact-cache.js";
import type { ComputeChunkData, ComputeChunkResult, ResolvedInfluenceOptions } from "./compute-spec.js";

export interface ComputeJobConfig {
  ingest: IngestConfig;
  compute: ComputeConfig;
}

interface Computed {
  batch: ReturnType<typeof predictionBatch>;
  algorithm: InfluenceAlgorithm;
  exact: boolean;
  base: number | undefined;
}

async function explain(store: Store, collection: CollectionDoc, loaded: LoadedArtifact, rows: FeatureRows, options: ResolvedInfluenceOptions, config: ComputeConfig): Promise<Computed> {
  const features = loaded.binding.features;
  const background = await backgroundFor(store, collection, features, options.backgroundRows, options.seed);
  // The request was checked against the baseline; it can still have been emptied since, and retrying cannot help.
  if (background === undefined) throw new UnrecoverableError("the collection's baseline split is not set or holds no records with features");
  if (options.algorithm === InfluenceAlgorithm.TREE_SHAP) {
    if (loaded.ensemble === undefined) throw new UnrecoverableError("TREE_SHAP needs a tree ensemble whose raw output is the model's score");
    const { values, base } = treeShap(loaded.ensemble, background.values, background.rows, rows.values, rows.rows);
    return { batch: influenceBatch(rows, features, values), algorithm: InfluenceAlgorithm.TREE_SHAP, exact: true, base };
  }
  // A tree ensemble's coalition values come from its paths, exactly and without building mixed rows.
  const game = coalitionEvaluatorFor(loaded, background.values, background.rows) ?? ((x: Float64Array, n: number) => loaded.score(x, n));
  const result = await kernelShap(game, background.values, background.rows, features.length, rows.values, rows.rows, {
    samples: options.kernelSamples,
    exactUpTo: Math.max(options.kernelSamples, 0),
    seed: options.seed,
    maxBatchRows: config.kernelBatchRows,
  });
  return { batch: influenceBatch(rows, features, result.values), algorithm: InfluenceAlgorithm.KERNEL_SHAP, exact: result.exact, base: result.base };
}

/**
 * A chunk's records and their feature rows. The records come back too, read with what `writeRecords` needs to know of
 * them, so that writing the results neither inserts nor reads them again.
 */
export async function readChunkRecords(store: Store, ct: string, recordIds: string[], features: StoredField[], production: boolean): Promise<{ found: Map<string, RecordDoc>; rows: FeatureRows }> {
  const found = await readRecordsById(store, ct, recordIds, { ...featureProjection(features), ...priorProjection });
  return { found, rows: featureRows([...found.values()], features, production) };
}

export function computeChunkProcessor(store: Store, config: ComputeJobConfig, log: Logger) {
  return async (job: Job<ComputeChunkData, ComputeChunkResult>): Promise<ComputeChunkResult> => {
    const d = job.data;
    const [collection, model] = await Promise.all([
      store.collections.findOne({ _id: docId(d.project, d.collection) }),
      store.models.findOne({ _id: docId(d.project, d.collection, d.model) }),
    ]);
    if (collection === null || model === null) throw new UnrecoverableError("the model or its collection no longer exists");
    const loaded = await artifactFor(store, collection, model, d.artifactVersion, config.compute);
    const production = d.split === undefined;
    const ct = targetKey(d.project, d.collection, production ? productionTarget : splitTarget(d.split!));
    const { found, rows } = await readChunkRecords(store, ct, d.recordIds, loaded.binding.features, production);
    const empty: ComputeChunkResult = { records: d.recordIds.length, written: 0, rejected: 0, algorithm: d.options?.algorithm ?? InfluenceAlgorithm.UNSPECIFIED, exact: true, base: undefined };
    if (rows.rows === 0) return empty;

    let computed: Computed;
    if (d.kind === "predictions") {
      const columns = await loaded.predict(rows.values, rows.rows);
      const types = new Map(model.predictionFields.map((f) => [f.name, f.type]));
      computed = { batch: predictionBatch(rows, columns, types, model.classLabels), algorithm: InfluenceAlgorithm.UNSPECIFIED, exact: true, base: undefined };
    } else {
      computed = await explain(store, collection, loaded, rows, d.options!, config.compute);
    }

    const destination = d.split === undefined ? { case: "production" as const, value: true } : { case: "split" as const, value: d.split };
    const target = await resolveTarget(store, create(TargetSchema, { project: d.project, collection: d.collection, model: d.model, destination }), "write");
    const prepared = prepareBatch(target, computed.batch, config.ingest);
    await writeRecords(store, target, prepared, config.ingest.writeChunkRows, found);
    if (prepared.errors.length > 0) {
      log.warn("computed values refused by the ingest rules", { job: job.id, model: d.model, kind: d.kind, rejected: prepared.errors.length, first: prepared.errors[0]?.description });
    }
    return { records: d.recordIds.length, written: prepared.writes.length, rejected: prepared.errors.length, algorithm: computed.algorithm, exact: computed.exact, base: computed.base };
  };
}

// A worker loads each artifact version once: its bytes from GridFS into an onnxruntime session, kept for the next
// chunks, and the background sample of the baseline split, kept until the baseline's mark changes.
import type { ComputeConfig } from "../config.js";
import { splitTarget, targetKey, recordIdOf } from "../ingest/layout.js";
import { BackgroundSampler } from "../influence/background.js";
import { loadArtifact, type LoadedArtifact } from "../influence/load-artifact.js";
import { featureProjection, featureRows } from "../influence/record-rows.js";
import { findArtifact, readArtifactBytes } from "../store/artifacts.js";
import { findMarks } from "../store/bucket-marks.js";
import { docId, type CollectionDoc, type ModelDoc, type StoredField, type Store } from "../store/db.js";

const maxArtifacts = 4;
const maxBackgrounds = 8;
const artifacts = new Map<string, Promise<LoadedArtifact>>();
const backgrounds = new Map<string, Background>();

export interface Background {
  values: Float64Array;
  rows: number;
}

function remember<V>(cache: Map<string, V>, key: string, value: V, max: number, evict?: (v: V) => void): void {
  cache.set(key, value);
  while (cache.size > max) {
    const [oldKey, oldValue] = cache.entries().next().value!;
    cache.delete(oldKey);
    evict?.(oldValue);
  }
}

/** The loaded artifact of one model version; the schema and the model are part of the key, since the binding uses them. */
export async function artifactFor(store: Store, collection: CollectionDoc, model: ModelDoc, version: number, config: ComputeConfig): Promise<LoadedArtifact> {
  const key = `${model._id}|v${version}|${collection.schemaVersion}|${model.createTime.getTime()}`;
  const cached = artifacts.get(key);
  if (cached !== undefined) return cached;
  const loading = (async () => {
    const doc = await findArtifact(store, model._id, version);
    if (doc === null) throw new Error(`model ${model.name} has no artifact version ${version}`);
    return loadArtifact(await readArtifactBytes(store, doc), collection.fields, model, { intraOpThreads: config.intraOpThreads });
  })();
  remember(artifacts, key, loading, maxArtifacts, (old) => void old.then((a) => a.runner.release()).catch(() => undefined));
  loading.catch(() => artifacts.delete(key));
  return loading;
}

const backgroundReadBatch = 10_000;

/** The baseline split's background sample; undefined when the collection has no baseline or it holds no features. */
export async function backgroundFor(store: Store, collection: CollectionDoc, features: StoredField[], size: number, seed: number): Promise<Background | undefined> {
  if (collection.baselineSplit === "") return undefined;
  const ct = targetKey(collection.project, collection.name, splitTarget(collection.baselineSplit));
  const mark = (await findMarks(store, ct))[0];
  const key = `${docId(collection.project, collection.name)}|${ct}|${mark?.tok ?? "none"}|${features.map((f) => f.id).join(",")}|${size}|${seed}`;
  const cached = backgrounds.get(key);
  if (cached !== undefined) return cached;
  const sampler = new BackgroundSampler(size, seed, features.length);
  const cursor = store.records.find({ ct }, { projection: featureProjection(features), batchSize: backgroundReadBatch });
  try {
    for await (const doc of cursor) {
      const rows = featureRows([doc], features, false);
      if (rows.rows === 1) sampler.offer(recordIdOf(doc), rows.values);
    }
  } finally {
    await cursor.close();
  }
  const sample = sampler.rows();
  const background = sample.rows === 0 ? undefined : { values: sample.values, rows: sample.rows };
  if (background !== undefined) remember(backgrounds, key, background, maxBackgrounds);
  return background;
}

import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { PageRequest } from "../catalog/paging.js";
import { alreadyExists, isDuplicateKey, notFound } from "../errors.js";
import { InfluenceOptionsSchema, ModelSchema, PredictionFieldSchema, type InfluenceOptions, type Model } from "../gen/sightline/v1/resources_pb.js";
import { DataKind } from "../gen/sightline/v1/records_pb.js";
import { collectionTargetsPattern, modelKindKey } from "../ingest/layout.js";
import { docId, listPage, type InfluenceOptionsDoc, type ModelDoc, type Page, type Store } from "./db.js";
import { deleteArtifacts } from "./artifacts.js";
import { deleteMonitoring } from "./monitoring-results.js";

function toModel(doc: ModelDoc): Model {
  return create(ModelSchema, {
    project: doc.project,
    collection: doc.collection,
    name: doc.name,
    scoreType: doc.scoreType,
    predictionFields: doc.predictionFields.map((f) => create(PredictionFieldSchema, f)),
    labelField: doc.labelField,
    decisionThreshold: doc.decisionThreshold ?? undefined,
    classLabels: doc.classLabels,
    mode: doc.mode,
    createTime: timestampFromDate(doc.createTime),
    influenceOptions: doc.influenceOptions === undefined ? undefined : create(InfluenceOptionsSchema, { ...doc.influenceOptions, seed: BigInt(doc.influenceOptions.seed) }),
  });
}

function influenceOptionsDoc(options: InfluenceOptions): InfluenceOptionsDoc {
  return {
    algorithm: options.algorithm,
    backgroundRows: options.backgroundRows,
    kernelSamples: options.kernelSamples,
    seed: Number(options.seed),
    onIngest: options.onIngest,
  };
}

export async function createModel(store: Store, model: Model): Promise<Model> {
  const doc: ModelDoc = {
    _id: docId(model.project, model.collection, model.name),
    project: model.project,
    collection: model.collection,
    name: model.name,
    scoreType: model.scoreType,
    predictionFields: model.predictionFields.map((f) => ({ name: f.name, type: f.type })),
    labelField: model.labelField,
    decisionThreshold: model.decisionThreshold ?? null,
    classLabels: model.classLabels,
    mode: model.mode,
    ...(model.influenceOptions === undefined ? {} : { influenceOptions: influenceOptionsDoc(model.influenceOptions) }),
    createTime: new Date(),
  };
  try {
    await store.models.insertOne(doc);
  } catch (err) {
    if (isDuplicateKey(err)) throw alreadyExists("model", model.name);
    throw err;
  }
  return toModel(doc);
}

export async function getModel(store: Store, project: string, collection: string, name: string): Promise<Model> {
  const doc = await store.models.findOne({ _id: docId(project, collection, name) });
  if (doc === null) throw notFound("model", name);
  return toModel(doc);
}

export async function listModels(store: Store, project: string, collection: string, page: PageRequest): Promise<Page<Model>> {
  return listPage(store.models, { project, collection }, page, toModel);
}

export async function deleteModel(store: Store, project: string, collection: string, name: string): Promise<void> {
  const result = await store.models.deleteOne({ _id: docId(project, collection, name) });
  if (result.deletedCount === 0) throw notFound("model", name);
  // Records hold each model's predictions and influences under the model's name. Left in place, a model created later
  // under the same name inherited them, typed by the old model's prediction fields (ReadRecords then failed INTERNAL).
  const kinds = [modelKindKey[DataKind.PREDICTIONS], modelKindKey[DataKind.INFLUENCES]];
  await store.records.updateMany(
    { ct: collectionTargetsPattern(project, collection), $or: kinds.map((k) => ({ [`${k.written}.${name}`]: { $exists: true } })) },
    { $unset: Object.fromEntries(kinds.flatMap((k) => [[`${k.values}.${name}`, ""], [`${k.written}.${name}`, ""]])) },
  );
  await deleteMonitoring(store, project, collection, name);
  await deleteArtifacts(store, project, collection, name);
}

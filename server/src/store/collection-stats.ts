import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { CollectionStatsSchema, SplitStatsSchema, type CollectionStats } from "../gen/sightline/v1/resources_pb.js";
import { docId, type CollectionStatsDoc, type Store } from "./db.js";

export async function getCollectionStats(store: Store, project: string, collection: string): Promise<CollectionStats | undefined> {
  const doc = await store.collectionStats.findOne({ _id: docId(project, collection) });
  if (doc === null) return undefined;
  return create(CollectionStatsSchema, {
    project: doc.project,
    collection: doc.collection,
    splitCount: BigInt(doc.splitCount),
    modelCount: BigInt(doc.modelCount),
    fieldCount: BigInt(doc.fieldCount),
    splits: doc.splits.map((s) => create(SplitStatsSchema, { split: s.split, records: BigInt(s.records) })),
    productionRecords: BigInt(doc.productionRecords),
    computeTime: timestampFromDate(doc.computeTime),
  });
}

/** Recounts one collection from what is stored. Counting is idempotent, so a job retried after a crash is harmless. */
export async function computeCollectionStats(store: Store, project: string, collection: string): Promise<CollectionStatsDoc | null> {
  const id = docId(project, collection);
  const parent = await store.collections.findOne({ _id: id });
  if (parent === null) return null;
  const splitDocs = await store.splits.find({ project, collection }, { projection: { name: 1 } }).toArray();
  const splits: CollectionStatsDoc["splits"] = [];
  for (const split of splitDocs) {
    splits.push({ split: split.name, records: await store.records.countDocuments({ project, collection, split: split.name }) });
  }
  const doc: CollectionStatsDoc = {
    _id: id,
    project,
    collection,
    splitCount: splitDocs.length,
    modelCount: await store.models.countDocuments({ project, collection }),
    fieldCount: parent.fields.length,
    splits,
    productionRecords: await store.records.countDocuments({ project, collection, split: "" }),
    computeTime: new Date(),
  };
  await store.collectionStats.replaceOne({ _id: id }, doc, { upsert: true });
  return doc;
}

import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { PageRequest } from "../catalog/paging.js";
import { alreadyExists, isDuplicateKey, notFound } from "../errors.js";
import { SplitSchema, type Split, type SplitType } from "../gen/sightline/v1/resources_pb.js";
import { splitTarget, targetKey } from "../ingest/layout.js";
import { findCollection, setBaseline } from "./collections.js";
import { docId, listPage, type Page, type SplitDoc, type Store } from "./db.js";
import { deleteSplitResults } from "./monitoring-results.js";

function toSplit(doc: SplitDoc, baselineSplit: string): Split {
  return create(SplitSchema, {
    project: doc.project,
    collection: doc.collection,
    name: doc.name,
    type: doc.type,
    baseline: doc.name === baselineSplit,
    sealed: doc.sealed,
    createTime: timestampFromDate(doc.createTime),
    sealTime: doc.sealTime === null ? undefined : timestampFromDate(doc.sealTime),
  });
}

export async function createSplit(
  store: Store,
  project: string,
  collection: string,
  name: string,
  type: SplitType,
  baseline: boolean,
): Promise<Split> {
  const parent = await findCollection(store, project, collection);
  const doc: SplitDoc = {
    _id: docId(project, collection, name),
    project,
    collection,
    name,
    type,
    sealed: false,
    sealTime: null,
    createTime: new Date(),
  };
  try {
    await store.splits.insertOne(doc);
  } catch (err) {
    if (isDuplicateKey(err)) throw alreadyExists("split", name);
    throw err;
  }
  // The baseline lives on the collection document, so moving it is one atomic single-document update.
  if (baseline) await setBaseline(store, project, collection, name);
  return toSplit(doc, baseline ? name : parent.baselineSplit);
}

async function findSplit(store: Store, project: string, collection: string, name: string): Promise<SplitDoc> {
  const doc = await store.splits.findOne({ _id: docId(project, collection, name) });
  if (doc === null) throw notFound("split", name);
  return doc;
}

export async function getSplit(store: Store, project: string, collection: string, name: string): Promise<Split> {
  const parent = await findCollection(store, project, collection);
  return toSplit(await findSplit(store, project, collection, name), parent.baselineSplit);
}

export async function listSplits(store: Store, project: string, collection: string, page: PageRequest): Promise<Page<Split>> {
  const parent = await findCollection(store, project, collection);
  return listPage(store.splits, { project, collection }, page, (d) => toSplit(d, parent.baselineSplit));
}

export async function deleteSplit(store: Store, project: string, collection: string, name: string): Promise<void> {
  const parent = await findCollection(store, project, collection);
  await findSplit(store, project, collection, name);
  await store.records.deleteMany({ ct: targetKey(project, collection, splitTarget(name)) });
  await store.bucketMarks.deleteMany({ ct: targetKey(project, collection, splitTarget(name)) });
  await deleteSplitResults(store, project, collection, name);
  await store.splits.deleteOne({ _id: docId(project, collection, name) });
  if (parent.baselineSplit === name) {
    await store.collections.updateOne({ _id: parent._id, baselineSplit: name }, { $set: { baselineSplit: "" } });
  }
}

export async function sealSplit(store: Store, project: string, collection: string, name: string): Promise<Split> {
  const parent = await findCollection(store, project, collection);
  // The filter on `sealed: false` keeps the first seal time when the call is repeated.
  await store.splits.updateOne({ _id: docId(project, collection, name), sealed: false }, { $set: { sealed: true, sealTime: new Date() } });
  return toSplit(await findSplit(store, project, collection, name), parent.baselineSplit);
}

export async function setBaselineSplit(store: Store, project: string, collection: string, name: string): Promise<Split> {
  const split = await findSplit(store, project, collection, name);
  await setBaseline(store, project, collection, name);
  return toSplit(split, name);
}

import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { PageRequest } from "../catalog/paging.js";
import { nonAdditiveChanges } from "../catalog/schema.js";
import { aborted, alreadyExists, failedPrecondition, isDuplicateKey, notFound } from "../errors.js";
import { ErrorReason } from "../gen/sightline/v1/errors_pb.js";
import {
  DataCollectionSchema,
  FieldSchema,
  NumericRangeSchema,
  SchemaSchema,
  type DataCollection,
  type Field,
  type Schema,
} from "../gen/sightline/v1/resources_pb.js";
import { collectionTargetsPattern } from "../ingest/layout.js";
import { docId, listPage, type CollectionDoc, type Page, type Store, type StoredField } from "./db.js";
import { deleteArtifacts } from "./artifacts.js";
import { deleteMonitoring } from "./monitoring-results.js";

function toStoredField(field: Field, id: number): StoredField {
  return {
    id,
    name: field.name,
    kind: field.kind,
    type: field.type,
    nullable: field.nullable,
    categories: field.categories,
    rangeMin: field.range?.min ?? null,
    rangeMax: field.range?.max ?? null,
  };
}

function toField(stored: StoredField): Field {
  const hasRange = stored.rangeMin !== null || stored.rangeMax !== null;
  return create(FieldSchema, {
    name: stored.name,
    kind: stored.kind,
    type: stored.type,
    nullable: stored.nullable,
    categories: stored.categories,
    range: hasRange
      ? create(NumericRangeSchema, { min: stored.rangeMin ?? undefined, max: stored.rangeMax ?? undefined })
      : undefined,
  });
}

export function schemaOf(doc: CollectionDoc): Schema {
  return create(SchemaSchema, {
    recordIdColumn: doc.recordIdColumn,
    timestampColumn: doc.timestampColumn,
    fields: doc.fields.map(toField),
  });
}

function toCollection(doc: CollectionDoc): DataCollection {
  return create(DataCollectionSchema, {
    project: doc.project,
    name: doc.name,
    displayName: doc.displayName,
    schema: schemaOf(doc),
    schemaVersion: BigInt(doc.schemaVersion),
    baselineSplit: doc.baselineSplit,
    createTime: timestampFromDate(doc.createTime),
  });
}

export async function createCollection(store: Store, collection: DataCollection, schema: Schema): Promise<DataCollection> {
  const doc: CollectionDoc = {
    _id: docId(collection.project, collection.name),
    project: collection.project,
    name: collection.name,
    displayName: collection.displayName,
    recordIdColumn: schema.recordIdColumn,
    timestampColumn: schema.timestampColumn,
    fields: schema.fields.map((f, i) => toStoredField(f, i)),
    nextFieldId: schema.fields.length,
    schemaVersion: 1,
    baselineSplit: "",
    createTime: new Date(),
  };
  try {
    await store.collections.insertOne(doc);
  } catch (err) {
    if (isDuplicateKey(err)) throw alreadyExists("data collection", collection.name);
    throw err;
  }
  return toCollection(doc);
}

export async function findCollection(store: Store, project: string, name: string): Promise<CollectionDoc> {
  const doc = await store.collections.findOne({ _id: docId(project, name) });
  if (doc === null) throw notFound("data collection", name);
  return doc;
}

export async function getCollection(store: Store, project: string, name: string): Promise<DataCollection> {
  return toCollection(await findCollection(store, project, name));
}

export async function listCollections(store: Store, project: string, page: PageRequest): Promise<Page<DataCollection>> {
  return listPage(store.collections, { project }, page, toCollection);
}

export async function deleteCollection(store: Store, project: string, name: string): Promise<void> {
  const id = docId(project, name);
  if ((await store.collections.countDocuments({ _id: id }, { limit: 1 })) === 0) throw notFound("data collection", name);
  await store.records.deleteMany({ ct: collectionTargetsPattern(project, name) });
  await store.bucketMarks.deleteMany({ ct: collectionTargetsPattern(project, name) });
  await deleteMonitoring(store, project, name);
  await deleteArtifacts(store, project, name);
  await store.collectionStats.deleteOne({ _id: id });
  await store.models.deleteMany({ project, collection: name });
  await store.splits.deleteMany({ project, collection: name });
  await store.collections.deleteOne({ _id: id });
}

/**
 * Replaces the schema with an additive change of it. The update is conditional on the schema version read, so two
 * concurrent changes cannot both apply; the loser gets ABORTED and may retry.
 */
export async function updateSchema(
  store: Store,
  project: string,
  name: string,
  next: Schema,
  expectedVersion: bigint | undefined,
): Promise<DataCollection> {
  const doc = await findCollection(store, project, name);
  if (expectedVersion !== undefined && BigInt(doc.schemaVersion) !== expectedVersion) {
    throw aborted(`schema is at version ${doc.schemaVersion}, not ${expectedVersion}`);
  }
  const problems = nonAdditiveChanges(schemaOf(doc), next);
  if (problems.length > 0) throw failedPrecondition(ErrorReason.SCHEMA_CHANGE_NOT_ADDITIVE, problems);
  const known = new Set(doc.fields.map((f) => f.name));
  const added = next.fields.filter((f) => !known.has(f.name));
  if (added.length === 0) return toCollection(doc);
  const fields = [...doc.fields, ...added.map((f, i) => toStoredField(f, doc.nextFieldId + i))];
  const updated = await store.collections.findOneAndUpdate(
    { _id: doc._id, schemaVersion: doc.schemaVersion },
    { $set: { fields, nextFieldId: doc.nextFieldId + added.length, schemaVersion: doc.schemaVersion + 1 } },
    { returnDocument: "after" },
  );
  if (updated === null) throw aborted("the schema changed concurrently; read it again and retry");
  return toCollection(updated);
}

export async function setBaseline(store: Store, project: string, collection: string, split: string): Promise<void> {
  const result = await store.collections.updateOne({ _id: docId(project, collection) }, { $set: { baselineSplit: split } });
  if (result.matchedCount === 0) throw notFound("data collection", collection);
}

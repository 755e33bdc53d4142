// Connection to MongoDB and the collections the service stores, with their indexes.
// Index creation is idempotent, so every replica and worker may run it at start.
import { MongoClient, type Collection, type Db, type Filter } from "mongodb";
import type { RecordDoc } from "../ingest/layout.js";
import type { ArtifactDoc } from "./artifacts.js";
import type { BucketMarkDoc } from "./bucket-marks.js";
import type { MonitoringResultDoc, MonitoringStateDoc } from "./monitoring-results.js";
import { encodePageToken, type PageRequest } from "../catalog/paging.js";

export interface ProjectDoc {
  _id: string;
  displayName: string;
  createTime: Date;
}

export interface ApiKeyDoc {
  _id: string;
  project: string;
  displayName: string;
  secretHash: string;
  createTime: Date;
  revokeTime: Date | null;
}

export interface StoredField {
  // Stable identity of the field: record documents key values by it, never by the user's name.
  id: number;
  name: string;
  kind: number;
  type: number;
  nullable: boolean;
  categories: string[];
  rangeMin: number | null;
  rangeMax: number | null;
}

export interface CollectionDoc {
  _id: string;
  project: string;
  name: string;
  displayName: string;
  recordIdColumn: string;
  timestampColumn: string;
  fields: StoredField[];
  nextFieldId: number;
  schemaVersion: number;
  baselineSplit: string;
  createTime: Date;
}

export interface SplitDoc {
  _id: string;
  project: string;
  collection: string;
  name: string;
  type: number;
  sealed: boolean;
  sealTime: Date | null;
  createTime: Date;
}

export interface PredictionFieldDoc {
  name: string;
  type: number;
}

export interface ModelDoc {
  _id: string;
  project: string;
  collection: string;
  name: string;
  scoreType: number;
  predictionFields: PredictionFieldDoc[];
  labelField: string;
  decisionThreshold: number | null;
  classLabels: string[];
  mode: number;
  createTime: Date;
  /** Absent on models stored before influences existed: every field then takes its default. */
  influenceOptions?: InfluenceOptionsDoc;
}

export interface InfluenceOptionsDoc {
  algorithm: number;
  backgroundRows: number;
  kernelSamples: number;
  seed: number;
  onIngest: boolean;
}

export interface CollectionStatsDoc {
  _id: string;
  project: string;
  collection: string;
  splitCount: number;
  modelCount: number;
  fieldCount: number;
  targets: TargetStatsDoc[];
  computeTime: Date;
}

export interface KindStatsDoc {
  kind: number;
  records: number;
  lastWrite: Date | null;
}

export interface TargetStatsDoc {
  split: string;
  production: boolean;
  records: number;
  kinds: KindStatsDoc[];
  models: { model: string; kinds: KindStatsDoc[]; featuresWithoutPredictions: number }[];
}

export interface Store {
  client: MongoClient;
  db: Db;
  projects: Collection<ProjectDoc>;
  apiKeys: Collection<ApiKeyDoc>;
  collections: Collection<CollectionDoc>;
  splits: Collection<SplitDoc>;
  models: Collection<ModelDoc>;
  collectionStats: Collection<CollectionStatsDoc>;
  records: Collection<RecordDoc>;
  bucketMarks: Collection<BucketMarkDoc>;
  monitoringResults: Collection<MonitoringResultDoc>;
  monitoringState: Collection<MonitoringStateDoc>;
  artifacts: Collection<ArtifactDoc>;
}

/** `observeCommands`, when given, is attached before connecting, so it sees every command including the index builds. */
export async function openStore(url: string, database: string, observeCommands?: (client: MongoClient) => void): Promise<Store> {
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: 5000,
    connectTimeoutMS: 5000,
    appName: "sightline",
    // Off unless observed: command events make the driver decode every reply a second time.
    monitorCommands: observeCommands !== undefined,
  });
  observeCommands?.(client);
  await client.connect();
  const db = client.db(database);
  const store: Store = {
    client,
    db,
    projects: db.collection<ProjectDoc>("projects"),
    apiKeys: db.collection<ApiKeyDoc>("api_keys"),
    collections: db.collection<CollectionDoc>("data_collections"),
    splits: db.collection<SplitDoc>("splits"),
    models: db.collection<ModelDoc>("models"),
    collectionStats: db.collection<CollectionStatsDoc>("collection_stats"),
    records: db.collection<RecordDoc>("records"),
    bucketMarks: db.collection<BucketMarkDoc>("bucket_marks"),
    monitoringResults: db.collection<MonitoringResultDoc>("monitoring_results"),
    monitoringState: db.collection<MonitoringStateDoc>("monitoring_state"),
    artifacts: db.collection<ArtifactDoc>("model_artifacts"),
  };
  await ensureIndexes(store);
  return store;
}

async function ensureIndexes(store: Store): Promise<void> {
  await store.apiKeys.createIndex({ project: 1 }, { name: "project" });
  await store.collections.createIndex({ project: 1 }, { name: "project" });
  await store.splits.createIndex({ project: 1, collection: 1 }, { name: "project_collection" });
  await store.models.createIndex({ project: 1, collection: 1 }, { name: "project_collection" });
  await store.collectionStats.createIndex({ project: 1 }, { name: "project" });
  // Records are always queried by target first; FerretDB pushes top-level equality down to PostgreSQL.
  await store.records.createIndex({ ct: 1, ts: 1 }, { name: "target_time" });
  // The hour key holds the target key, so it leads its own index: FerretDB's twins index only an index's first key.
  await store.records.createIndex({ hb: 1 }, { name: "hour_bucket" });
  await store.bucketMarks.createIndex({ ct: 1 }, { name: "target" });
  await store.monitoringResults.createIndex({ m: 1, g: 1 }, { name: "model_granularity" });
  await store.artifacts.createIndex({ m: 1, version: 1 }, { name: "model_version" });
}

/** Document IDs join resource names with '/', which no resource name may contain. */
export function docId(...names: string[]): string {
  return names.join("/");
}

export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/** One page of `filter`, in `_id` order, resuming after the page token's key. */
export async function listPage<D extends { _id: string }, T>(
  coll: Collection<D>,
  filter: Filter<D>,
  page: PageRequest,
  toMessage: (doc: D) => T,
): Promise<Page<T>> {
  const query = (page.after === undefined ? filter : { $and: [filter, { _id: { $gt: page.after } }] }) as Filter<D>;
  // One extra document tells whether another page exists without a second query.
  const docs = (await coll.find(query).sort({ _id: 1 }).limit(page.pageSize + 1).toArray()) as D[];
  const more = docs.length > page.pageSize;
  const items = docs.slice(0, page.pageSize);
  const last = items[items.length - 1];
  return {
    items: items.map(toMessage),
    nextPageToken: more && last !== undefined ? encodePageToken(page.scope, last._id) : "",
  };
}

// Connection to MongoDB and the collections the service stores, with their indexes.
// Index creation is idempotent, so every replica and worker may run it at start.
import { MongoClient, type Collection, type Db, type Filter } from "mongodb";
import type { RecordDoc } from "../ingest/layout.js";
import type { ArtifactDoc } from "./artifacts.js";
import type { BucketMarkDoc } from "./bucket-marks.js";
import type { MonitoringResultDoc, MonitoringStateDoc } from "./monitoring-results.js";
import { encodePageToken, type PageRequest } from "../catalog/paging.js";
import type { Logger } from "../log.js";
import { HeartbeatTracker, HeartbeatWatchdog, type HeartbeatBounds } from "./heartbeat-watchdog.js";

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
  /** The client in use. openStore may replace it (see below): take it from here for each use, never keep it. */
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
  /** Closes the client in use, any replacement being connected, and the watchdog. */
  close(): Promise<void>;
}

/** Bounds a TCP connect, and the reply to a monitoring check (the driver uses it as that check's socket timeout). */
const connectTimeoutMS = 5000;
/** The driver's default, set here because the heartbeat watchdog derives its bound from it. */
const heartbeatFrequencyMS = 10_000;
const heartbeatBounds: HeartbeatBounds = { connectTimeoutMS, heartbeatFrequencyMS, slackMs: 2000 };
/** Pause between attempts to connect a replacement client while the database is still away. */
const replaceRetryMs = 500;

function handlesOf(client: MongoClient, database: string): Omit<Store, "close"> {
  const db = client.db(database);
  return {
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
}

/**
 * Connects to `url` and returns the collections of `database`. `observeCommands`, when given, is attached to every
 * client before it connects, so it sees every command including the index builds.
 *
 * The driver can stop monitoring a server for good when the server closes its connections (a FerretDB restart does):
 * see heartbeat-watchdog.ts. A watchdog notices a monitoring check that outlives every timeout the driver gives it;
 * openStore then connects a new client, retrying while the database is away, swaps it into the Store, and closes the
 * old one, whose calls could only fail (they now fail at once, as UNAVAILABLE).
 */
export async function openStore(url: string, database: string, observeCommands?: (client: MongoClient) => void, log?: Logger): Promise<Store> {
  const newClient = () => {
    const client = new MongoClient(url, {
      serverSelectionTimeoutMS: 5000,
      connectTimeoutMS,
      heartbeatFrequencyMS,
      appName: "sightline",
      // Off unless observed: command events make the driver decode every reply a second time.
      monitorCommands: observeCommands !== undefined,
    });
    observeCommands?.(client);
    return { client, heartbeats: new HeartbeatTracker(client) };
  };
  let current = newClient();
  await current.client.connect();

  let closed = false;
  let candidate: MongoClient | undefined;
  let replacing: Promise<void> | undefined;
  const replace = async (): Promise<void> => {
    for (let attempt = 1; !closed; attempt++) {
      const next = newClient();
      candidate = next.client;
      try {
        await next.client.connect();
      } catch (error) {
        next.heartbeats.detach();
        await next.client.close().catch(() => undefined);
        if (closed) return;
        log?.debug("replacement mongodb client could not connect yet", { attempt, error });
        await new Promise((resolve) => setTimeout(resolve, replaceRetryMs));
        continue;
      } finally {
        candidate = undefined;
      }
      if (closed) {
        next.heartbeats.detach();
        await next.client.close().catch(() => undefined);
        return;
      }
      const old = current;
      current = next;
      Object.assign(store, handlesOf(next.client, database));
      watchdog.watch(next.heartbeats);
      old.heartbeats.detach();
      void old.client.close().catch(() => undefined);
      log?.info("mongodb client replaced", { attempt });
      return;
    }
  };
  const watchdog = new HeartbeatWatchdog(heartbeatBounds, (stuck) => {
    log?.warn("mongodb server monitoring is stuck; replacing the client", {
      address: stuck.address,
      outstandingMs: Math.round(stuck.outstandingMs),
      limitMs: stuck.limitMs,
    });
    replacing ??= replace()
      .catch((error: unknown) => log?.error("could not replace the mongodb client", { error }))
      .finally(() => (replacing = undefined));
  });
  watchdog.watch(current.heartbeats);

  const store: Store = {
    ...handlesOf(current.client, database),
    async close() {
      closed = true;
      watchdog.stop();
      await Promise.all([current.client.close(), candidate?.close()]);
    },
  };
  try {
    await ensureIndexes(store);
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  watchdog.start();
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

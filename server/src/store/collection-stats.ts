import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { DataKind } from "../gen/sightline/v1/records_pb.js";
import {
  CollectionStatsSchema,
  KindStatsSchema,
  ModelStatsSchema,
  SplitStatsSchema,
  TargetStatsSchema,
  type CollectionStats,
} from "../gen/sightline/v1/resources_pb.js";
import { productionTarget, splitTarget, targetKey, type RecordDoc } from "../ingest/layout.js";
import { docId, type CollectionStatsDoc, type Store, type TargetStatsDoc } from "./db.js";

function kindStats(kinds: TargetStatsDoc["kinds"]) {
  return kinds.map((k) => create(KindStatsSchema, { kind: k.kind, records: BigInt(k.records), lastWriteTime: k.lastWrite ? timestampFromDate(k.lastWrite) : undefined }));
}

export async function getCollectionStats(store: Store, project: string, collection: string): Promise<CollectionStats | undefined> {
  const doc = await store.collectionStats.findOne({ _id: docId(project, collection) });
  if (doc === null) return undefined;
  const production = doc.targets.find((t) => t.production);
  return create(CollectionStatsSchema, {
    project: doc.project,
    collection: doc.collection,
    splitCount: BigInt(doc.splitCount),
    modelCount: BigInt(doc.modelCount),
    fieldCount: BigInt(doc.fieldCount),
    splits: doc.targets.filter((t) => !t.production).map((t) => create(SplitStatsSchema, { split: t.split, records: BigInt(t.records) })),
    productionRecords: BigInt(production?.records ?? 0),
    computeTime: timestampFromDate(doc.computeTime),
    targets: doc.targets.map((t) =>
      create(TargetStatsSchema, {
        split: t.split,
        production: t.production,
        records: BigInt(t.records),
        kinds: kindStats(t.kinds),
        models: t.models.map((m) =>
          create(ModelStatsSchema, { model: m.model, kinds: kindStats(m.kinds), recordsWithFeaturesWithoutPredictions: BigInt(m.featuresWithoutPredictions) }),
        ),
      }),
    ),
    productionLabelledFraction: production !== undefined && production.records > 0 ? (production.kinds.find((k) => k.kind === DataKind.LABELS)?.records ?? 0) / production.records : 0,
  });
}

class KindCounter {
  records = 0;
  lastWrite: Date | null = null;
  see(written: Date | undefined): void {
    if (written === undefined) return;
    this.records += 1;
    if (this.lastWrite === null || written > this.lastWrite) this.lastWrite = written;
  }
}

/** One pass over a target's records, reading only the write times, which say which kinds each record holds. */
async function countTarget(store: Store, key: string, split: string, models: string[]): Promise<TargetStatsDoc> {
  const base = { f: new KindCounter(), l: new KindCounter(), x: new KindCounter() };
  const perModel = new Map(models.map((m) => [m, { p: new KindCounter(), i: new KindCounter(), missing: 0 }]));
  let records = 0;
  const cursor = store.records.find({ ct: key }, { projection: { wf: 1, wl: 1, wx: 1, wp: 1, wi: 1 }, batchSize: 5000 });
  for await (const doc of cursor as AsyncIterable<RecordDoc>) {
    records += 1;
    base.f.see(doc.wf);
    base.l.see(doc.wl);
    base.x.see(doc.wx);
    for (const [model, counters] of perModel) {
      const predicted = doc.wp?.[model];
      counters.p.see(predicted);
      counters.i.see(doc.wi?.[model]);
      if (doc.wf !== undefined && predicted === undefined) counters.missing += 1;
    }
  }
  const kinds = (pairs: [DataKind, KindCounter][]) => pairs.map(([kind, c]) => ({ kind, records: c.records, lastWrite: c.lastWrite }));
  return {
    split,
    production: split === "",
    records,
    kinds: kinds([[DataKind.FEATURES, base.f], [DataKind.LABELS, base.l], [DataKind.EXTRA, base.x]]),
    models: [...perModel].map(([model, c]) => ({
      model,
      kinds: kinds([[DataKind.PREDICTIONS, c.p], [DataKind.INFLUENCES, c.i]]),
      featuresWithoutPredictions: c.missing,
    })),
  };
}

/** Recounts one collection from what is stored. Counting is idempotent, so a job retried after a crash is harmless. */
export async function computeCollectionStats(store: Store, project: string, collection: string): Promise<CollectionStatsDoc | null> {
  const id = docId(project, collection);
  // Stamped at the start: every write before this moment is counted, so a reader can tell which writes it covers.
  const computeTime = new Date();
  const parent = await store.collections.findOne({ _id: id });
  if (parent === null) return null;
  const splitDocs = await store.splits.find({ project, collection }, { projection: { name: 1 } }).sort({ _id: 1 }).toArray();
  const models = (await store.models.find({ project, collection }, { projection: { name: 1 } }).sort({ _id: 1 }).toArray()).map((m) => m.name);
  const targets: TargetStatsDoc[] = [];
  for (const split of splitDocs) targets.push(await countTarget(store, targetKey(project, collection, splitTarget(split.name)), split.name, models));
  targets.push(await countTarget(store, targetKey(project, collection, productionTarget), "", models));
  const doc: CollectionStatsDoc = {
    _id: id,
    project,
    collection,
    splitCount: splitDocs.length,
    modelCount: models.length,
    fieldCount: parent.fields.length,
    targets,
    computeTime,
  };
  await store.collectionStats.replaceOne({ _id: id }, doc, { upsert: true });
  return doc;
}

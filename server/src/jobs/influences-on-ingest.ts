// Influences as records arrive: after a production write that carries features, every DATA_AND_MODEL model of the
// collection that asks for it (InfluenceOptions.on_ingest) and has an artifact gets a chunk job for those records.
// Which models ask is looked up at most every few seconds per collection, so a write to a collection without such
// models costs nothing more than a map lookup. An artifact upload makes its own server look again at once; other
// replicas see it within the lookup's lifetime.
import { FieldKind, ModelMode } from "../gen/sightline/v1/resources_pb.js";
import { kindKey } from "../ingest/layout.js";
import { DataKind } from "../gen/sightline/v1/records_pb.js";
import type { Logger } from "../log.js";
import { findArtifact } from "../store/artifacts.js";
import type { Store } from "../store/db.js";
import type { BatchWrite, ResolvedTarget } from "../store/records.js";
import { resolveInfluenceOptions, type ComputeChunkData } from "./compute-spec.js";
import type { Queues } from "./queues.js";

const lookupTtlMs = 5000;

type Template = Omit<ComputeChunkData, "recordIds">;

export class InfluencesOnIngest {
  private readonly lookups = new Map<string, { at: number; templates: Promise<Template[]> }>();

  constructor(
    private readonly store: Store,
    private readonly queues: Queues,
    private readonly log: Logger,
  ) {}

  private templates(target: ResolvedTarget): Promise<Template[]> {
    const key = target.collection._id;
    const cached = this.lookups.get(key);
    if (cached !== undefined && Date.now() - cached.at < lookupTtlMs) return cached.templates;
    const templates = this.lookup(target);
    this.lookups.set(key, { at: Date.now(), templates });
    templates.catch(() => this.lookups.delete(key));
    return templates;
  }

  private async lookup(target: ResolvedTarget): Promise<Template[]> {
    const models = await this.store.models
      .find({ project: target.project, collection: target.collection.name, mode: ModelMode.DATA_AND_MODEL, "influenceOptions.onIngest": true })
      .toArray();
    const features = target.collection.fields.filter((f) => f.kind === FieldKind.FEATURE).length;
    const templates: Template[] = [];
    for (const model of models) {
      const artifact = await findArtifact(this.store, model._id, 0);
      if (artifact === null) continue;
      templates.push({
        kind: "influences",
        project: target.project,
        collection: target.collection.name,
        model: model.name,
        split: undefined,
        artifactVersion: artifact.version,
        options: resolveInfluenceOptions(undefined, model.influenceOptions, artifact.influenceAlgorithm, features),
      });
    }
    return templates;
  }

  /** Drops what is known of a collection's models, so the next write looks them up again. */
  forget(collectionId: string): void {
    this.lookups.delete(collectionId);
  }

  /** Queues influence chunks for the batch's records that received features; production writes only. */
  async afterWrite(target: ResolvedTarget, batch: BatchWrite): Promise<void> {
    if (!target.production) return;
    const written = kindKey[DataKind.FEATURES].written;
    const recordIds = batch.writes.filter((w) => written in w.set).map((w) => w.recordId);
    if (recordIds.length === 0) return;
    try {
      for (const template of await this.templates(target)) await this.queues.requestComputeChunk({ ...template, recordIds });
    } catch (err) {
      // The records are stored; their influences can be computed again with ComputeInfluences over their time range.
      this.log.warn("could not queue influences for ingested records", { collection: target.collection._id, records: recordIds.length, error: err });
    }
  }
}

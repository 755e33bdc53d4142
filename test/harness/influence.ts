// A DATA_AND_MODEL model whose influences the worker computes, for the fault tests of the compute jobs: the
// reference background and tree ensemble of test/reference/influence/ (TreeSHAP, exact and deterministic), and a
// split of seeded rows to explain.
import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import {
  batchRows,
  DataKind,
  FieldKind,
  FieldType,
  ModelMode,
  ScoreType,
  SplitType,
  type SightlineClient,
  type TargetInit,
} from "../../clients/ts/src/index.js";
import { random } from "./monitoring.js";

const referenceDir = new URL("../reference/influence/", import.meta.url);
const reference = JSON.parse(readFileSync(new URL("influence-cases.json", referenceDir), "utf8")) as { features: string[]; background: number[][] };

export const influenceCollection = "inf";
export const influenceModel = "forest";
export const features = reference.features;

export const explainTarget = (project: string): TargetInit => ({
  project,
  collection: influenceCollection,
  destination: { case: "split", value: "explain" },
  model: influenceModel,
});

/** `count` rows spread over the background's range of each feature; the same seed, the same rows. */
export function explainRows(count: number, seed = 21): number[][] {
  const next = random(seed);
  const lo = features.map((_, j) => Math.min(...reference.background.map((r) => r[j]!)));
  const hi = features.map((_, j) => Math.max(...reference.background.map((r) => r[j]!)));
  return Array.from({ length: count }, () => features.map((_, j) => Math.round((lo[j]! + next() * (hi[j]! - lo[j]!)) * 1e6) / 1e6));
}

export const explainId = (i: number) => `e${String(i).padStart(4, "0")}`;

async function uploadFeatures(client: SightlineClient, project: string, split: string, rows: number[][], idOf: (i: number) => string): Promise<void> {
  const summary = await client.upload({ project, collection: influenceCollection, destination: { case: "split", value: split } }, [
    { recordIds: rows.map((_, i) => idOf(i)), columns: Object.fromEntries(features.map((f, j) => [f, rows.map((r) => r[j]!)])) },
  ]);
  expect(summary.rowErrors).toEqual([]);
}

/** In an existing project: the collection, its baseline (the reference background), the explained split, the model and its artifact. */
export async function createInfluenceModel(client: SightlineClient, project: string, rows: number): Promise<void> {
  await client.catalog.createDataCollection({
    collection: {
      project,
      name: influenceCollection,
      schema: { recordIdColumn: "id", fields: features.map((f) => ({ name: f, kind: FieldKind.FEATURE, type: FieldType.DOUBLE, nullable: true })) },
    },
  });
  await client.catalog.createSplit({ split: { project, collection: influenceCollection, name: "background", type: SplitType.TRAIN } });
  await client.catalog.setBaselineSplit({ project, collection: influenceCollection, name: "background" });
  await client.catalog.createSplit({ split: { project, collection: influenceCollection, name: "explain", type: SplitType.TEST } });
  await uploadFeatures(client, project, "background", reference.background, (i) => `b${String(i).padStart(3, "0")}`);
  await uploadFeatures(client, project, "explain", explainRows(rows), explainId);
  await client.catalog.createModel({
    model: { project, collection: influenceCollection, name: influenceModel, scoreType: ScoreType.PROBITS, mode: ModelMode.DATA_AND_MODEL, predictionFields: [{ name: "score", type: FieldType.DOUBLE }] },
  });
  await client.uploadModelArtifact({ project, collection: influenceCollection, model: influenceModel }, fileURLToPath(new URL("forest.onnx", referenceDir)));
}

/** Queues ComputeInfluences for the explained split; returns the job ID. */
export async function requestInfluences(client: SightlineClient, project: string): Promise<string> {
  const { jobId } = await client.models.computeInfluences({ project, collection: influenceCollection, model: influenceModel, scope: { case: "split", value: "explain" } });
  return jobId;
}

export interface StoredInfluences {
  /** Influences by record ID; records without any are left out. */
  byId: Map<string, Record<string, unknown>>;
  /** Rows ReadRecords returned, and how many distinct IDs they had: more rows than IDs is a duplicate. */
  rowsRead: number;
  distinctIds: number;
}

export async function readInfluences(client: SightlineClient, project: string): Promise<StoredInfluences> {
  const byId = new Map<string, Record<string, unknown>>();
  const ids = new Set<string>();
  let rowsRead = 0;
  for await (const batch of client.readRecords({ target: explainTarget(project), kinds: [DataKind.INFLUENCES], batchSize: 5000 })) {
    for (const row of batchRows(batch)) {
      rowsRead += 1;
      ids.add(row.recordId);
      if (Object.values(row.influences).some((v) => v !== null && v !== undefined)) byId.set(row.recordId, row.influences);
    }
  }
  return { byId, rowsRead, distinctIds: ids.size };
}

/** Influences counted against an undisturbed run's: every record the job wrote must hold exactly the reference's. */
export function influenceTally(reference: StoredInfluences, got: StoredInfluences, written: number) {
  let lost = 0;
  for (const [id, values] of reference.byId) if (!isDeepStrictEqual(got.byId.get(id), values)) lost += 1;
  const unexpected = [...got.byId.keys()].filter((id) => !reference.byId.has(id)).length;
  return { sent: reference.byId.size, acked: written, stored: got.byId.size, lost, duplicated: got.rowsRead - got.distinctIds, unexpected };
}

// What ComputePredictions and ComputeInfluences jobs carry. A request becomes one planner job, which cuts the selected
// records into chunk jobs (its BullMQ children) and sums their results once they are all done.
import { InfluenceAlgorithm, type InfluenceOptions } from "../gen/sightline/v1/resources_pb.js";
import type { InfluenceOptionsDoc } from "../store/db.js";

export type ComputeKind = "predictions" | "influences";

export interface ResolvedInfluenceOptions {
  algorithm: InfluenceAlgorithm;
  backgroundRows: number;
  kernelSamples: number;
  seed: number;
}

interface ComputeTarget {
  kind: ComputeKind;
  project: string;
  collection: string;
  model: string;
  /** The split; undefined for production. */
  split: string | undefined;
  artifactVersion: number;
  /** Influences only. */
  options: ResolvedInfluenceOptions | undefined;
}

export interface ComputeJobData extends ComputeTarget {
  /** Production only: event time range, [startMs, endMs). */
  startMs: number | undefined;
  endMs: number | undefined;
  /** Set once every chunk job was added, so a retried planner goes straight to waiting. */
  chunks: number | undefined;
}

export interface ComputeChunkData extends ComputeTarget {
  recordIds: string[];
}

export interface ComputeChunkResult {
  records: number;
  written: number;
  rejected: number;
  algorithm: InfluenceAlgorithm;
  exact: boolean;
  /** The background's mean score: base value + the sum of a record's influences = its score. */
  base: number | undefined;
}

export interface ComputeRunResult extends ComputeChunkResult {
  chunks: number;
  artifactVersion: number;
}

export const defaultBackgroundRows = 100;

/** shap's own default budget: 2048 coalitions plus two per feature. */
export function defaultKernelSamples(features: number): number {
  return 2048 + 2 * features;
}

/** Request options over the model's own, over the defaults; a zero field is unset. */
export function resolveInfluenceOptions(request: InfluenceOptions | undefined, model: InfluenceOptionsDoc | undefined, artifactAlgorithm: InfluenceAlgorithm, features: number): ResolvedInfluenceOptions {
  const pick = (a: number | undefined, b: number | undefined, fallback: number) => (a !== undefined && a !== 0 ? a : b !== undefined && b !== 0 ? b : fallback);
  return {
    algorithm: pick(request?.algorithm, model?.algorithm, artifactAlgorithm),
    backgroundRows: pick(request?.backgroundRows, model?.backgroundRows, defaultBackgroundRows),
    kernelSamples: pick(request?.kernelSamples, model?.kernelSamples, defaultKernelSamples(features)),
    seed: pick(request === undefined ? undefined : Number(request.seed), model?.seed, 0),
  };
}

export function sumChunkResults(results: ComputeChunkResult[], chunks: number, artifactVersion: number, algorithm: InfluenceAlgorithm): ComputeRunResult {
  return {
    records: results.reduce((s, r) => s + r.records, 0),
    written: results.reduce((s, r) => s + r.written, 0),
    rejected: results.reduce((s, r) => s + r.rejected, 0),
    algorithm,
    exact: results.length > 0 && results.every((r) => r.exact),
    base: results.find((r) => r.base !== undefined)?.base,
    chunks,
    artifactVersion,
  };
}

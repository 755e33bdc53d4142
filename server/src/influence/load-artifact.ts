// From artifact bytes to something that computes: parse the ONNX file, bind it to the schema and the model, open it in
// onnxruntime and run it once, and find the tree ensemble TreeSHAP can walk. The upload check and the workers both go
// through here, so a worker never meets an artifact the upload would have refused.
import type { PreconditionViolation } from "../errors.js";
import { InfluenceAlgorithm, ScoreType } from "../gen/sightline/v1/resources_pb.js";
import type { ModelDoc, StoredField } from "../store/db.js";
import { bindArtifact, type ArtifactBinding } from "./artifact-binding.js";
import { openRunner, type ModelRunner, type PredictionColumn, type RunnerOptions } from "./model-runner.js";
import { OnnxFormatError, parseOnnxModel, type OnnxModel } from "./onnx-model.js";
import { explainedEnsemble, scoreIsProbability } from "./score-reading.js";
import { predictRaw, type TreeEnsemble } from "./tree-ensemble.js";

export class ArtifactError extends Error {
  constructor(
    /** `invalid`: not a usable ONNX model at all; `mismatch`: a valid model that does not fit the schema or model. */
    readonly kind: "invalid" | "mismatch",
    message: string,
    readonly problems: PreconditionViolation[] = [],
  ) {
    super(message);
  }
}

export interface LoadedArtifact {
  onnx: OnnxModel;
  binding: ArtifactBinding;
  runner: ModelRunner;
  /** Set when TreeSHAP can explain the score exactly: a tree ensemble whose raw output is the declared score. */
  ensemble: TreeEnsemble | undefined;
  /** What the artifact gets when a request does not choose. */
  defaultAlgorithm: InfluenceAlgorithm;
  /** Every prediction field for `rows` rows of features (rows x features, NaN for null). */
  predict(features: Float64Array, rows: number): Promise<Map<string, PredictionColumn>>;
  /** The declared score alone: what is stored as the first prediction field, and what influences explain. */
  score(features: Float64Array, rows: number): Promise<Float64Array>;
}

function treeScores(ensemble: TreeEnsemble, features: Float64Array, rows: number, width: number): Float64Array {
  const scores = new Float64Array(rows);
  for (let r = 0; r < rows; r++) scores[r] = predictRaw(ensemble, features.subarray(r * width, (r + 1) * width));
  return scores;
}

function logits(p: Float64Array): Float64Array {
  return p.map((v) => Math.log(v) - Math.log1p(-v));
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function loadArtifact(bytes: Uint8Array, fields: StoredField[], model: ModelDoc, options: RunnerOptions): Promise<LoadedArtifact> {
  let onnx: OnnxModel;
  try {
    onnx = parseOnnxModel(bytes);
  } catch (err) {
    if (err instanceof OnnxFormatError) throw new ArtifactError("invalid", `not a valid ONNX model: ${err.message}`);
    throw err;
  }
  const { binding, problems } = bindArtifact(onnx, fields, model);
  if (binding === undefined) throw new ArtifactError("mismatch", problems.map((p) => `${p.subject}: ${p.description}`).join("; "), problems);
  let runner: ModelRunner;
  try {
    runner = await openRunner(bytes, binding, model.scoreType, options);
  } catch (err) {
    throw new ArtifactError("invalid", `onnxruntime cannot load the model: ${errorText(err)}`);
  }
  try {
    // Two rows, so a graph that drops the batch axis or mixes rows up shows it here rather than in a job.
    await runner.predict(new Float64Array(2 * binding.features.length), 2);
  } catch (err) {
    await runner.release();
    throw new ArtifactError("mismatch", `the model does not run on two rows of the collection's features: ${errorText(err)}`, [
      { type: "ARTIFACT_MISMATCH", subject: "outputs", description: errorText(err) },
    ]);
  }
  const ensemble = model.scoreType === ScoreType.CLASSIFICATION ? undefined : explainedEnsemble(onnx, binding, model.scoreType);
  const throughLogit = ensemble === undefined && model.scoreType === ScoreType.LOGITS && scoreIsProbability(onnx, binding);
  const width = binding.features.length;
  const score = async (features: Float64Array, rows: number): Promise<Float64Array> => {
    if (ensemble !== undefined) return treeScores(ensemble, features, rows, width);
    const values = await runner.score(features, rows);
    return throughLogit ? logits(values) : values;
  };
  const scoreField = model.scoreType === ScoreType.CLASSIFICATION ? undefined : binding.outputs[0]?.field;
  return {
    onnx,
    binding,
    runner,
    ensemble,
    defaultAlgorithm: ensemble !== undefined ? InfluenceAlgorithm.TREE_SHAP : InfluenceAlgorithm.KERNEL_SHAP,
    score,
    async predict(features, rows) {
      const columns = await runner.predict(features, rows);
      if (scoreField !== undefined && (ensemble !== undefined || throughLogit)) columns.set(scoreField, { kind: "numbers", values: await score(features, rows) });
      return columns;
    },
  };
}

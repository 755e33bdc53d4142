// Runs an accepted artifact in onnxruntime: feature rows in (float64, NaN for null, schema order), the bound outputs
// out, one column per prediction field. The one place that knows onnxruntime's tensor types.
import * as ort from "onnxruntime-node";
import { ScoreType } from "../gen/sightline/v1/resources_pb.js";
import type { ArtifactBinding, OutputBinding } from "./artifact-binding.js";
import { OnnxElemType } from "./onnx-model.js";

export type PredictionColumn = { kind: "numbers"; values: Float64Array } | { kind: "strings"; values: string[] };

export interface ModelRunner {
  readonly binding: ArtifactBinding;
  /** Every bound output for `nRows` rows of features. */
  predict(features: Float64Array, nRows: number): Promise<Map<string, PredictionColumn>>;
  /** The score (the first prediction field) alone: what influences explain. */
  score(features: Float64Array, nRows: number): Promise<Float64Array>;
  release(): Promise<void>;
}

export interface RunnerOptions {
  /** Threads onnxruntime may use within one call; workers scale by processes, so 1 by default. */
  intraOpThreads: number;
}

/** onnxruntime cannot hold NaN in an integer tensor, so a null feature bound to one becomes this. */
function toInt64(v: number): bigint {
  return Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
}

function inputTensor(elemType: number, data: Float64Array, dims: number[]): ort.Tensor {
  if (elemType === OnnxElemType.DOUBLE) return new ort.Tensor("float64", data, dims);
  if (elemType === OnnxElemType.INT64) return new ort.Tensor("int64", BigInt64Array.from(data, toInt64), dims);
  return new ort.Tensor("float32", Float32Array.from(data), dims);
}

function feeds(binding: ArtifactBinding, features: Float64Array, nRows: number): Record<string, ort.Tensor> {
  const input = binding.input;
  if (input.kind === "matrix") return { [input.name]: inputTensor(input.elemType, features, [nRows, input.width]) };
  const m = input.names.length;
  const result: Record<string, ort.Tensor> = {};
  input.names.forEach((name, j) => {
    const column = new Float64Array(nRows);
    for (let r = 0; r < nRows; r++) column[r] = features[r * m + j]!;
    result[name] = inputTensor(input.elemTypes[j]!, column, [nRows, 1]);
  });
  return result;
}

function readColumn(tensor: ort.Tensor, out: OutputBinding, nRows: number): PredictionColumn {
  const width = tensor.dims.length >= 2 ? tensor.dims[tensor.dims.length - 1]! : 1;
  if (tensor.dims[0] !== nRows || out.column >= width) {
    throw new Error(`output ${out.output} has shape [${tensor.dims.join(", ")}]; ${nRows} rows with column ${out.column} were expected`);
  }
  const data = tensor.data;
  if (Array.isArray(data)) return { kind: "strings", values: Array.from({ length: nRows }, (_, r) => String(data[r * width + out.column])) };
  const values = new Float64Array(nRows);
  for (let r = 0; r < nRows; r++) values[r] = Number(data[r * width + out.column]);
  return { kind: "numbers", values };
}

export async function openRunner(bytes: Uint8Array, binding: ArtifactBinding, scoreType: number, options: RunnerOptions): Promise<ModelRunner> {
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: options.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    // onnxruntime prints its own errors to stderr, unformatted, before it throws them; the service reports each one
    // itself (a refused upload, a failed job), so only a fatal one may print.
    logSeverityLevel: 4,
  });
  const outputNames = [...new Set(binding.outputs.map((o) => o.output))];
  const run = async (features: Float64Array, nRows: number, outs: OutputBinding[]): Promise<Map<string, PredictionColumn>> => {
    const result = await session.run(feeds(binding, features, nRows), [...new Set(outs.map((o) => o.output))]);
    const columns = new Map<string, PredictionColumn>();
    for (const out of outs) columns.set(out.field, readColumn(result[out.output]!, out, nRows));
    return columns;
  };
  const scoreBinding = scoreType === ScoreType.CLASSIFICATION ? undefined : binding.outputs[0];
  return {
    binding,
    predict: (features, nRows) => run(features, nRows, binding.outputs.filter((o) => outputNames.includes(o.output))),
    async score(features, nRows) {
      if (scoreBinding === undefined) throw new Error("a CLASSIFICATION model has no score to explain");
      const column = (await run(features, nRows, [scoreBinding])).get(scoreBinding.field)!;
      if (column.kind !== "numbers") throw new Error(`output ${scoreBinding.output} does not hold numbers`);
      return column.values;
    },
    release: () => session.release(),
  };
}

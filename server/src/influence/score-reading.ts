// How the declared score is read off an accepted artifact. A tree ensemble whose raw sum already is the declared score
// (a forest's probability, a boosted model's log-odds, a regressor's value) is evaluated from its own trees, in float64,
// so TreeSHAP explains exactly the number that is stored; anything else is read from onnxruntime, through the logit
// when a LOGITS model's graph ends in probabilities.
import { ScoreType } from "../gen/sightline/v1/resources_pb.js";
import type { ArtifactBinding } from "./artifact-binding.js";
import type { OnnxGraph, OnnxModel } from "./onnx-model.js";
import { treeEnsembleOf, type TreeEnsemble } from "./tree-ensemble.js";

/** The node that writes `output`, looking through Identity nodes. */
function producerOf(graph: OnnxGraph, output: string) {
  let name = output;
  for (let hops = 0; hops < graph.nodes.length; hops++) {
    const node = graph.nodes.find((n) => n.outputs.includes(name));
    if (node === undefined || node.opType !== "Identity") return node;
    name = node.inputs[0] ?? "";
  }
  return undefined;
}

const probabilityTransforms = new Set(["LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO"]);
const probabilityOps = new Set(["Sigmoid", "Softmax"]);
const probabilityOutputNames = new Set(["probabilities", "output_probability"]);

/** Whether the score output holds probabilities: what a converter names them, or a final probability transform. */
export function scoreIsProbability(model: OnnxModel, binding: ArtifactBinding): boolean {
  const output = binding.outputs[0]?.output;
  if (output === undefined) return false;
  if (probabilityOutputNames.has(output)) return true;
  const producer = producerOf(model.graph, output);
  if (producer === undefined) return false;
  if (probabilityOps.has(producer.opType)) return true;
  const transform = producer.attributes.get("post_transform")?.s;
  return transform !== undefined && probabilityTransforms.has(transform);
}

/** The ensemble whose raw output is the declared score, or undefined when TreeSHAP cannot explain the score exactly. */
export function explainedEnsemble(model: OnnxModel, binding: ArtifactBinding, scoreType: number): TreeEnsemble | undefined {
  const score = binding.outputs[0];
  if (binding.input.kind !== "matrix" || score === undefined) return undefined;
  const ensemble =
    scoreType === ScoreType.REGRESSION
      ? treeEnsembleOf(model, { kind: "target", target: score.column })
      : scoreType === ScoreType.PROBITS || scoreType === ScoreType.LOGITS
        ? treeEnsembleOf(model, { kind: "positive-class" })
        : undefined;
  if (ensemble === undefined || ensemble.explains.output !== score.output || ensemble.explains.column !== score.column) return undefined;
  if (ensemble.nFeatures > binding.features.length) return undefined;
  // PROBITS: the raw sum must be the probability itself. LOGITS: the raw sum is the log-odds, behind a logistic or
  // bare. REGRESSION: the raw sum is the value.
  if (scoreType === ScoreType.PROBITS && ensemble.postTransform !== "NONE") return undefined;
  if (scoreType === ScoreType.REGRESSION && ensemble.postTransform !== "NONE") return undefined;
  return ensemble;
}

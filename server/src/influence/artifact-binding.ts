// How an ONNX graph's inputs and outputs line up with a collection's features and a model's prediction fields. An
// artifact is accepted only when every feature feeds the graph and every prediction field can be read off it; the
// problems name the input or output at fault, so a refusal says what to change in the export.
import type { PreconditionViolation } from "../errors.js";
import { FieldKind, FieldType, ScoreType } from "../gen/sightline/v1/resources_pb.js";
import type { ModelDoc, StoredField } from "../store/db.js";
import { OnnxElemType, type OnnxModel, type OnnxValueInfo } from "./onnx-model.js";

/** All features in one 2-D tensor, in schema order, or one [N, 1] (or [N]) tensor per feature, named after it. */
export type InputBinding =
  | { kind: "matrix"; name: string; elemType: number; width: number }
  | { kind: "columns"; names: string[]; elemTypes: number[] };

export interface OutputBinding {
  /** The prediction field this output fills. */
  field: string;
  fieldType: number;
  output: string;
  elemType: number;
  /** Column of a 2-D output; 0 for a 1-D one. */
  column: number;
}

export interface ArtifactBinding {
  input: InputBinding;
  features: StoredField[];
  outputs: OutputBinding[];
}

const numericFeatureTypes = new Set<number>([FieldType.DOUBLE, FieldType.INT64, FieldType.BOOL]);
const floatElems = new Set<number>([OnnxElemType.FLOAT, OnnxElemType.DOUBLE]);
const numericInputElems = new Set<number>([OnnxElemType.FLOAT, OnnxElemType.DOUBLE, OnnxElemType.INT64]);

function elemName(elemType: number | undefined): string {
  const name = Object.entries(OnnxElemType).find(([, v]) => v === elemType)?.[0];
  return name === undefined ? `element type ${elemType ?? "unknown"}` : name.toLowerCase();
}

function problem(subject: string, description: string): PreconditionViolation {
  return { type: "ARTIFACT_MISMATCH", subject, description };
}

/** The fixed width of a tensor's last axis, when the graph declares one. */
function lastDim(info: OnnxValueInfo): number | undefined {
  const shape = info.shape;
  if (shape === undefined || shape.length < 2) return undefined;
  const d = shape[shape.length - 1];
  return typeof d === "number" ? d : undefined;
}

function realInputs(model: OnnxModel): OnnxValueInfo[] {
  const initializers = new Set(model.graph.initializers);
  return model.graph.inputs.filter((i) => !initializers.has(i.name));
}

function bindInputs(model: OnnxModel, features: StoredField[], problems: PreconditionViolation[]): InputBinding | undefined {
  for (const f of features) {
    if (!numericFeatureTypes.has(f.type)) {
      problems.push(problem(`feature ${f.name}`, `is ${FieldType[f.type]}; models take numeric features only (DOUBLE, INT64, BOOL)`));
    }
  }
  const inputs = realInputs(model);
  if (inputs.length === 1 && (features.length > 1 || (inputs[0]!.shape?.length ?? 0) >= 2)) {
    const input = inputs[0]!;
    if (input.kind !== "tensor" || !numericInputElems.has(input.elemType ?? -1)) {
      problems.push(problem(`input ${input.name}`, `is ${input.kind === "tensor" ? `a ${elemName(input.elemType)} tensor` : `a ${input.kind}`}; a float, double or int64 tensor of the ${features.length} features was expected`));
      return undefined;
    }
    if ((input.shape?.length ?? 2) !== 2) {
      problems.push(problem(`input ${input.name}`, `has ${input.shape?.length} axes; [N, ${features.length}] was expected`));
      return undefined;
    }
    const width = lastDim(input);
    if (width !== undefined && width !== features.length) {
      problems.push(problem(`input ${input.name}`, `takes ${width} features per row; the collection has ${features.length} (${features.map((f) => f.name).join(", ")})`));
      return undefined;
    }
    return { kind: "matrix", name: input.name, elemType: input.elemType!, width: features.length };
  }
  if (inputs.length !== features.length) {
    problems.push(problem("inputs", `the graph has ${inputs.length} inputs (${inputs.map((i) => i.name).join(", ")}); the collection has ${features.length} features (${features.map((f) => f.name).join(", ")}): give one [N, ${features.length}] input, or one input per feature in schema order`));
    return undefined;
  }
  const names: string[] = [];
  const elemTypes: number[] = [];
  inputs.forEach((input, i) => {
    const feature = features[i]!;
    if (input.name !== feature.name) problems.push(problem(`input ${input.name}`, `is input ${i}; feature ${i} is "${feature.name}" (inputs must follow the features, in order and by name)`));
    if (input.kind !== "tensor" || !numericInputElems.has(input.elemType ?? -1)) {
      problems.push(problem(`input ${input.name}`, `is ${input.kind === "tensor" ? `a ${elemName(input.elemType)} tensor` : `a ${input.kind}`}; feature "${feature.name}" is ${FieldType[feature.type]} (a float, double or int64 tensor was expected)`));
    }
    const width = lastDim(input);
    if (width !== undefined && width !== 1) problems.push(problem(`input ${input.name}`, `is ${width} wide; one column per feature was expected`));
    names.push(input.name);
    elemTypes.push(input.elemType ?? OnnxElemType.FLOAT);
  });
  return { kind: "columns", names, elemTypes };
}

const scoreOutputPreference = ["probabilities", "variable", "output_probability", "scores", "score", "predictions"];

/** The output holding a binary or regression score: by the field's name, else the usual converter names, else the first float tensor. */
function scoreOutput(outputs: OnnxValueInfo[], fieldName: string): OnnxValueInfo | undefined {
  const floats = outputs.filter((o) => o.kind === "tensor" && floatElems.has(o.elemType ?? -1));
  return floats.find((o) => o.name === fieldName) ?? scoreOutputPreference.map((n) => floats.find((o) => o.name === n)).find((o) => o !== undefined) ?? floats[0];
}

function scoreColumn(output: OnnxValueInfo, scoreType: number, subject: string, problems: PreconditionViolation[]): number {
  const width = lastDim(output);
  if ((output.shape?.length ?? 1) > 2) {
    problems.push(problem(subject, `has ${output.shape!.length} axes; [N], [N, 1] or (binary) [N, 2] was expected`));
    return 0;
  }
  if (width === undefined || width === 1) return 0;
  if (width === 2 && (scoreType === ScoreType.PROBITS || scoreType === ScoreType.LOGITS)) return 1;
  problems.push(problem(subject, `is ${width} wide; a ${ScoreType[scoreType]} score needs [N], [N, 1] or, for the positive class of a binary model, [N, 2]`));
  return 0;
}

const labelElemsByField: Record<number, Set<number>> = {
  [FieldType.DOUBLE]: new Set([OnnxElemType.FLOAT, OnnxElemType.DOUBLE, OnnxElemType.INT64]),
  [FieldType.INT64]: new Set([OnnxElemType.INT64]),
  [FieldType.BOOL]: new Set([OnnxElemType.BOOL, OnnxElemType.INT64]),
  [FieldType.STRING]: new Set([OnnxElemType.STRING, OnnxElemType.INT64]),
  [FieldType.CATEGORICAL]: new Set([OnnxElemType.STRING, OnnxElemType.INT64]),
};

function bindOutputs(model: OnnxModel, modelDoc: ModelDoc, problems: PreconditionViolation[]): OutputBinding[] {
  const outputs = model.graph.outputs;
  const bound: OutputBinding[] = [];
  modelDoc.predictionFields.forEach((field, i) => {
    const isScore = i === 0 && modelDoc.scoreType !== ScoreType.CLASSIFICATION;
    let output = outputs.find((o) => o.name === field.name);
    if (output === undefined && isScore) output = scoreOutput(outputs, field.name);
    if (output === undefined && !isScore) output = outputs.find((o) => o.name === "label");
    const subject = `prediction field ${field.name}`;
    if (output === undefined) {
      problems.push(problem(subject, `no output of the graph fills it (outputs: ${outputs.map((o) => o.name).join(", ")}); name an output after the field`));
      return;
    }
    if (output.kind !== "tensor") {
      problems.push(problem(`output ${output.name}`, `is a ${output.kind}; only tensor outputs are read (for skl2onnx classifiers, convert with zipmap disabled)`));
      return;
    }
    const allowed = isScore ? floatElems : labelElemsByField[field.type];
    if (allowed === undefined || !allowed.has(output.elemType ?? -1)) {
      problems.push(problem(`output ${output.name}`, `is a ${elemName(output.elemType)} tensor; ${subject} is ${FieldType[field.type]}`));
      return;
    }
    const column = isScore ? scoreColumn(output, modelDoc.scoreType, `output ${output.name}`, problems) : 0;
    bound.push({ field: field.name, fieldType: field.type, output: output.name, elemType: output.elemType!, column });
  });
  return bound;
}

export function bindArtifact(model: OnnxModel, fields: StoredField[], modelDoc: ModelDoc): { binding: ArtifactBinding | undefined; problems: PreconditionViolation[] } {
  const problems: PreconditionViolation[] = [];
  const features = fields.filter((f) => f.kind === FieldKind.FEATURE);
  if (features.length === 0) problems.push(problem("features", "the collection has no FEATURE fields for the model to take"));
  const input = bindInputs(model, features, problems);
  const outputs = bindOutputs(model, modelDoc, problems);
  if (problems.length > 0 || input === undefined) return { binding: undefined, problems };
  return { binding: { input, features, outputs }, problems };
}

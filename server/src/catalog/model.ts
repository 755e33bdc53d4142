// Rules for a model's declaration against its collection's schema.
import type { Violation } from "../errors.js";
import { FieldKind, FieldType, InfluenceAlgorithm, ModelMode, ScoreType, type InfluenceOptions, type Model, type Schema } from "../gen/sightline/v1/resources_pb.js";
import { checkFieldName, checkStoredText } from "./names.js";

const predictionTypes = new Set([FieldType.DOUBLE, FieldType.INT64, FieldType.STRING, FieldType.BOOL, FieldType.CATEGORICAL]);

export function checkModel(path: string, model: Model, schema: Schema): Violation[] {
  const violations: Violation[] = [];
  if (model.scoreType === ScoreType.UNSPECIFIED || ScoreType[model.scoreType] === undefined) {
    violations.push({ field: `${path}.score_type`, description: "must be PROBITS, LOGITS, REGRESSION or CLASSIFICATION" });
  }
  if (model.mode === ModelMode.UNSPECIFIED || ModelMode[model.mode] === undefined) {
    violations.push({ field: `${path}.mode`, description: "must be DATA_ONLY or DATA_AND_MODEL" });
  }
  if (model.predictionFields.length === 0) {
    violations.push({ field: `${path}.prediction_fields`, description: "must list at least one field" });
  }
  const seen = new Map<string, number>();
  model.predictionFields.forEach((field, i) => {
    const fieldPath = `${path}.prediction_fields[${i}]`;
    violations.push(...checkFieldName(`${fieldPath}.name`, field.name));
    if (!predictionTypes.has(field.type)) {
      violations.push({ field: `${fieldPath}.type`, description: "must be DOUBLE, INT64, STRING, BOOL or CATEGORICAL" });
    }
    const earlier = seen.get(field.name);
    if (earlier !== undefined) {
      violations.push({ field: `${fieldPath}.name`, description: `duplicates prediction_fields[${earlier}].name` });
    }
    seen.set(field.name, i);
  });
  const scoreField = model.predictionFields[0];
  const numericScore = scoreField !== undefined && (scoreField.type === FieldType.DOUBLE || scoreField.type === FieldType.INT64);
  if (scoreField !== undefined && model.scoreType !== ScoreType.CLASSIFICATION && !numericScore) {
    violations.push({ field: `${path}.prediction_fields[0].type`, description: "the score of a PROBITS, LOGITS or REGRESSION model must be DOUBLE or INT64" });
  }
  if (model.labelField !== "") {
    const label = schema.fields.find((f) => f.name === model.labelField);
    if (label === undefined || label.kind !== FieldKind.LABEL) {
      violations.push({ field: `${path}.label_field`, description: `"${model.labelField}" is not a LABEL field of the collection` });
    }
  }
  const threshold = model.decisionThreshold;
  if (threshold !== undefined) {
    if (!Number.isFinite(threshold)) {
      violations.push({ field: `${path}.decision_threshold`, description: "must be a finite number" });
    } else if (model.scoreType === ScoreType.PROBITS && (threshold < 0 || threshold > 1)) {
      violations.push({ field: `${path}.decision_threshold`, description: "must be within [0, 1] for PROBITS" });
    }
  }
  const labels = new Set<string>();
  model.classLabels.forEach((label, i) => {
    if (label === "") violations.push({ field: `${path}.class_labels[${i}]`, description: "must not be empty" });
    violations.push(...checkStoredText(`${path}.class_labels[${i}]`, label));
    if (labels.has(label)) violations.push({ field: `${path}.class_labels[${i}]`, description: `duplicates "${label}"` });
    labels.add(label);
  });
  if (model.classLabels.length === 1) {
    violations.push({ field: `${path}.class_labels`, description: "must name at least two classes when given" });
  }
  violations.push(...checkInfluenceOptions(`${path}.influence_options`, model));
  return violations;
}

/** Upper bounds keep one record's influence work bounded: background rows x coalitions model evaluations. */
export const influenceLimits = { maxBackgroundRows: 10_000, maxKernelSamples: 100_000 } as const;

export function checkInfluenceOptionValues(path: string, options: InfluenceOptions): Violation[] {
  const violations: Violation[] = [];
  if (InfluenceAlgorithm[options.algorithm] === undefined) {
    violations.push({ field: `${path}.algorithm`, description: "must be UNSPECIFIED, TREE_SHAP or KERNEL_SHAP" });
  }
  if (options.backgroundRows < 0 || options.backgroundRows > influenceLimits.maxBackgroundRows) {
    violations.push({ field: `${path}.background_rows`, description: `must be within [0, ${influenceLimits.maxBackgroundRows}] (0 takes the default)` });
  }
  if (options.kernelSamples < 0 || options.kernelSamples > influenceLimits.maxKernelSamples) {
    violations.push({ field: `${path}.kernel_samples`, description: `must be within [0, ${influenceLimits.maxKernelSamples}] (0 takes the default)` });
  }
  if (options.seed < 0n || options.seed > BigInt(Number.MAX_SAFE_INTEGER)) {
    violations.push({ field: `${path}.seed`, description: "must be within [0, 2^53 - 1]" });
  }
  return violations;
}

function checkInfluenceOptions(path: string, model: Model): Violation[] {
  const options = model.influenceOptions;
  if (options === undefined) return [];
  const violations = checkInfluenceOptionValues(path, options);
  if (options.onIngest && model.mode !== ModelMode.DATA_AND_MODEL) {
    violations.push({ field: `${path}.on_ingest`, description: "needs a DATA_AND_MODEL model: a DATA_ONLY model's influences are sent, not computed" });
  }
  return violations;
}

/** The threshold the service applies when the model declares none. */
export function effectiveThreshold(model: Pick<Model, "decisionThreshold" | "scoreType">): number {
  return model.decisionThreshold ?? (model.scoreType === ScoreType.LOGITS ? 0 : 0.5);
}

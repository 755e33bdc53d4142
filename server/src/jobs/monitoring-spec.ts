// What a monitoring run reads from each record, and how, for one model: the bridge between the stored layout and the
// pure report. Its digest changes whenever anything a stored result depends on (besides the bucket's own records)
// changes, which makes the next run recompute every bucket.
import { createHash } from "node:crypto";
import { effectiveThreshold } from "../catalog/model.js";
import { FieldKind, FieldType, ScoreType } from "../gen/sightline/v1/resources_pb.js";
import { valueKey } from "../ingest/layout.js";
import type { RecordDoc } from "../ingest/layout.js";
import type { ReportSpec, ScoreReading } from "../monitoring/report.js";
import type { SampleRow } from "../monitoring/sample.js";
import type { CollectionDoc, ModelDoc, StoredField } from "../store/db.js";

/** Bumped when the report's definition changes, so stored results are recomputed once. */
const reportVersion = 1;

const numericTypes = new Set([FieldType.DOUBLE, FieldType.INT64]);
const monitoredTypes = new Set([FieldType.DOUBLE, FieldType.INT64, FieldType.STRING, FieldType.BOOL, FieldType.CATEGORICAL]);

export interface MonitoringPlan {
  spec: ReportSpec;
  /** The find projection that reads exactly what `readRow` needs. */
  projection: Record<string, 1>;
  readRow(doc: RecordDoc): SampleRow;
}

function readingOf(scoreType: number): ScoreReading {
  switch (scoreType) {
    case ScoreType.PROBITS:
      return "probability";
    case ScoreType.LOGITS:
      return "logit";
    case ScoreType.CLASSIFICATION:
      return "class";
    default:
      return "regression";
  }
}

/** The model's label field: the one it names, or the collection's only LABEL field. */
function labelFieldOf(collection: CollectionDoc, model: ModelDoc): StoredField | undefined {
  if (model.labelField !== "") return collection.fields.find((f) => f.name === model.labelField && f.kind === FieldKind.LABEL);
  const labels = collection.fields.filter((f) => f.kind === FieldKind.LABEL);
  return labels.length === 1 ? labels[0] : undefined;
}

export function monitoringPlan(collection: CollectionDoc, model: ModelDoc): MonitoringPlan {
  const features = collection.fields.filter((f) => f.kind === FieldKind.FEATURE && monitoredTypes.has(f.type));
  const label = labelFieldOf(collection, model);
  const scoreField = model.predictionFields[0]!;
  const scoreKey = valueKey(0);
  const labelKey = label === undefined ? undefined : valueKey(label.id);
  const featureKeys = features.map((f) => valueKey(f.id));
  const spec: ReportSpec = {
    reading: readingOf(model.scoreType),
    threshold: effectiveThreshold({ scoreType: model.scoreType, decisionThreshold: model.decisionThreshold ?? undefined }),
    classLabels: model.classLabels,
    noLabels: label === undefined ? "the model names no label field, and the collection has not exactly one" : undefined,
    score: { name: scoreField.name, numeric: model.scoreType !== ScoreType.CLASSIFICATION && numericTypes.has(scoreField.type) },
    fields: features.map((f) => ({ name: f.name, numeric: numericTypes.has(f.type) })),
  };
  const projection: Record<string, 1> = { f: 1, [`p.${model.name}.${scoreKey}`]: 1 };
  if (labelKey !== undefined) projection[`l.${labelKey}`] = 1;
  return {
    spec,
    projection,
    readRow(doc) {
      const f = doc.f;
      return {
        score: doc.p?.[model.name]?.[scoreKey] ?? null,
        label: labelKey === undefined ? null : (doc.l?.[labelKey] ?? null),
        hasFields: f !== undefined,
        fields: featureKeys.map((k) => f?.[k] ?? null),
      };
    },
  };
}

/** Digest of the model, the schema and the baseline's mark: a stored result is current only under the same one. */
export function monitoringSignature(collection: CollectionDoc, model: ModelDoc, baselineToken: string | null): string {
  const parts = {
    reportVersion,
    model: [model.scoreType, model.predictionFields, model.labelField, model.decisionThreshold, model.classLabels, model.createTime],
    fields: collection.fields.map((f) => [f.id, f.name, f.kind, f.type]),
    baseline: collection.baselineSplit,
    baselineToken,
  };
  return createHash("sha256").update(JSON.stringify(parts)).digest("base64url");
}

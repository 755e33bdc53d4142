// The catalog the fuzz suite works in: a protected project that fuzz inputs may read but never write, the fuzz
// project that fuzzed writes land in, and throwaway "victim" names that destructive RPCs (Delete, Seal, Revoke)
// aim at, so a valid delete never removes what the fuzz inputs need to reach deep into the handlers.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { FieldKind, FieldType, ModelMode, ScoreType, SchemaSchema, type ModelSchema, type Schema } from "../../../server/src/gen/sightline/v1/resources_pb.js";

export interface FieldSpec {
  name: string;
  kind: FieldKind;
  type: FieldType;
  nullable: boolean;
  categories?: string[];
  min?: number;
  max?: number;
}

export interface ModelSpec {
  name: string;
  scoreType: ScoreType;
  mode: ModelMode;
  predictionFields: { name: string; type: FieldType }[];
}

/** Where a fuzz input points: names that exist (or are meant to be created and deleted) together. */
export interface Scope {
  label: "protected" | "fuzz" | "artifact" | "victim";
  project: string;
  collection: string;
  splits: string[];
  model: string;
  fields: FieldSpec[];
  modelSpec: ModelSpec | undefined;
}

/** Awkward on purpose: dots, '$', a space and non-ASCII in field names. */
export const mainFields: FieldSpec[] = [
  { name: "x.num", kind: FieldKind.FEATURE, type: FieldType.DOUBLE, nullable: true, min: -1e6, max: 1e6 },
  { name: "n$int", kind: FieldKind.FEATURE, type: FieldType.INT64, nullable: false, min: 0, max: 1000 },
  { name: "s tr", kind: FieldKind.FEATURE, type: FieldType.STRING, nullable: true },
  { name: "flag", kind: FieldKind.FEATURE, type: FieldType.BOOL, nullable: true },
  { name: "catégorie", kind: FieldKind.FEATURE, type: FieldType.CATEGORICAL, nullable: true, categories: ["a", "b", "ç"] },
  { name: "when", kind: FieldKind.FEATURE, type: FieldType.TIMESTAMP, nullable: true },
  { name: "y", kind: FieldKind.LABEL, type: FieldType.BOOL, nullable: true },
  { name: "amount", kind: FieldKind.LABEL, type: FieldType.DOUBLE, nullable: true },
  { name: "note", kind: FieldKind.EXTRA, type: FieldType.STRING, nullable: true },
];

export const mainModel: ModelSpec = {
  name: "m1",
  scoreType: ScoreType.PROBITS,
  mode: ModelMode.DATA_ONLY,
  predictionFields: [
    { name: "score", type: FieldType.DOUBLE },
    { name: "klass", type: FieldType.STRING },
  ],
};

/** Five DOUBLE features, matching the reference ONNX models under test/reference/influence. */
export const artifactFields: FieldSpec[] = ["f0", "f1", "f2", "f3", "f4"].map((name) => ({ name, kind: FieldKind.FEATURE, type: FieldType.DOUBLE, nullable: true }));

export const artifactModel: ModelSpec = {
  name: "am",
  scoreType: ScoreType.PROBITS,
  mode: ModelMode.DATA_AND_MODEL,
  predictionFields: [{ name: "score", type: FieldType.DOUBLE }],
};

export const protectedScope: Scope = {
  label: "protected",
  project: "guarded-zone-7",
  collection: "vault",
  splits: ["golden"],
  model: "gm",
  fields: mainFields,
  modelSpec: { ...mainModel, name: "gm" },
};

export const fuzzScope: Scope = {
  label: "fuzz",
  project: "fz",
  collection: "fzc",
  splits: ["s1", "s2"],
  model: "m1",
  fields: mainFields,
  modelSpec: mainModel,
};

export const artifactScope: Scope = {
  label: "artifact",
  project: "fz",
  collection: "art",
  splits: ["bg"],
  model: "am",
  fields: artifactFields,
  modelSpec: artifactModel,
};

/** Names that fuzz inputs create and delete; they share the main schema when created. */
export const victimScope: Scope = {
  label: "victim",
  project: "tmp-p",
  collection: "tmp-c",
  splits: ["tmp-s"],
  model: "tmp-m",
  fields: mainFields,
  modelSpec: { ...mainModel, name: "tmp-m" },
};

/** Every name of the protected scope: fuzz inputs of writing RPCs must never carry one. */
export const protectedNames = new Set([protectedScope.project, protectedScope.collection, ...protectedScope.splits, protectedScope.model]);

export function schemaOf(fields: FieldSpec[]): Schema {
  return create(SchemaSchema, {
    recordIdColumn: "id",
    timestampColumn: "ts",
    fields: fields.map((f) => ({
      name: f.name,
      kind: f.kind,
      type: f.type,
      nullable: f.nullable,
      categories: f.categories ?? [],
      ...(f.min !== undefined || f.max !== undefined ? { range: { min: f.min, max: f.max } } : {}),
    })),
  });
}

export function modelInit(scope: Pick<Scope, "project" | "collection">, spec: ModelSpec): MessageInitShape<typeof ModelSchema> {
  const binary = spec.scoreType === ScoreType.PROBITS || spec.scoreType === ScoreType.LOGITS;
  return {
    project: scope.project,
    collection: scope.collection,
    name: spec.name,
    scoreType: spec.scoreType,
    mode: spec.mode,
    predictionFields: spec.predictionFields,
    ...(binary && spec.mode === ModelMode.DATA_ONLY ? { labelField: "y", classLabels: ["no", "yes"], decisionThreshold: 0.5 } : {}),
  };
}

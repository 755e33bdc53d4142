import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  FieldSchema,
  FieldKind,
  FieldType,
  ModelMode,
  ScoreType,
  SchemaSchema,
  SplitType,
  type ModelSchema,
  type SplitSchema,
} from "../../server/src/gen/sightline/v1/resources_pb.js";

/** A schema with awkward field names: dots, '$' and non-ASCII must all be stored safely. */
export function creditSchema() {
  return create(SchemaSchema, {
    recordIdColumn: "id",
    timestampColumn: "ts",
    fields: [
      { name: "age", kind: FieldKind.FEATURE, type: FieldType.INT64, range: { min: 0, max: 130 } },
      { name: "income.monthly", kind: FieldKind.FEATURE, type: FieldType.DOUBLE, nullable: true },
      { name: "$segment", kind: FieldKind.FEATURE, type: FieldType.CATEGORICAL, categories: ["a", "b", "c"] },
      { name: "städt", kind: FieldKind.FEATURE, type: FieldType.BOOL },
      { name: "defaulted", kind: FieldKind.LABEL, type: FieldType.BOOL, nullable: true },
      { name: "region", kind: FieldKind.EXTRA, type: FieldType.STRING, nullable: true },
    ],
  });
}

export function splitInit(project: string, collection: string, name: string, baseline = false): MessageInitShape<typeof SplitSchema> {
  return { project, collection, name, type: SplitType.TRAIN, baseline };
}

export function modelInit(project: string, collection: string, name: string): MessageInitShape<typeof ModelSchema> {
  return {
    project,
    collection,
    name,
    scoreType: ScoreType.PROBITS,
    mode: ModelMode.DATA_ONLY,
    predictionFields: [{ name: "score", type: FieldType.DOUBLE }],
    labelField: "defaulted",
    decisionThreshold: 0.4,
    classLabels: ["repaid", "defaulted"],
  };
}

export function field(init: MessageInitShape<typeof FieldSchema>) {
  return create(FieldSchema, init);
}

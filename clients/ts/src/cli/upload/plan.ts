// Which file column goes where: the record ID, the event time, schema fields by name (the server sorts them into
// features, labels and extra data), and a model's predictions and influences as the flags map them.
import { FieldKind, FieldType, type Model, type Schema } from "../../index.js";
import { CliError } from "../failure.js";
import { converterFor, type Converter } from "./cells.js";

export type Group = "columns" | "predictions" | "influences";

export interface PlannedColumn {
  /** Position in the file's rows. */
  index: number;
  /** The name in the file. */
  source: string;
  /** The name in the batch: a schema field, a prediction field or the feature an influence is for. */
  name: string;
  group: Group;
  type: FieldType;
  convert: Converter;
}

export interface UploadPlan {
  idIndex: number;
  idColumn: string;
  /** Production only. */
  time: PlannedColumn | undefined;
  columns: PlannedColumn[];
  /** File columns nothing reads. */
  ignored: string[];
}

export interface MappingFlags {
  idColumn?: string;
  timeColumn?: string;
  /** `COL` or `COL=FIELD`. */
  predictions: string[];
  /** `COL=FEATURE`. */
  influences: string[];
  influencePrefix?: string;
}

export interface PlanInput {
  fileColumns: readonly string[];
  schema: Schema;
  production: boolean;
  model: Model | undefined;
  flags: MappingFlags;
}

function pair(spec: string, flag: string, needsTarget: boolean): [string, string] {
  const at = spec.lastIndexOf("=");
  if (at < 0) {
    if (needsTarget) throw new CliError(`${flag} ${spec}: expected COLUMN=FEATURE`);
    return [spec, spec];
  }
  const [column, target] = [spec.slice(0, at), spec.slice(at + 1)];
  if (column === "" || target === "") throw new CliError(`${flag} ${spec}: expected COLUMN=NAME`);
  return [column, target];
}

export function planUpload({ fileColumns, schema, production, model, flags }: PlanInput): UploadPlan {
  const indexOf = (column: string, why: string) => {
    const i = fileColumns.indexOf(column);
    if (i < 0) throw new CliError(`the file has no column "${column}" (${why}); its columns are: ${fileColumns.join(", ")}`);
    return i;
  };
  const used = new Set<string>();
  const plan = (source: string, name: string, group: Group, type: FieldType, why: string): PlannedColumn => {
    used.add(source);
    return { index: indexOf(source, why), source, name, group, type, convert: converterFor(type) };
  };

  const idColumn = flags.idColumn ?? schema.recordIdColumn;
  const idIndex = indexOf(idColumn, flags.idColumn === undefined ? "the schema's record ID column; or pass --id-column" : "--id-column");
  used.add(idColumn);

  let time: PlannedColumn | undefined;
  // Split rows carry no event times; the schema's timestamp column is then expected, not worth a warning.
  if (!production) used.add(flags.timeColumn ?? schema.timestampColumn);
  if (production) {
    const timeColumn = flags.timeColumn ?? schema.timestampColumn;
    if (timeColumn === "") throw new CliError("production rows need event times: the schema names no timestamp column, so pass --time-column");
    time = plan(timeColumn, timeColumn, "columns", FieldType.TIMESTAMP, flags.timeColumn === undefined ? "the schema's timestamp column; or pass --time-column" : "--time-column");
  }

  const columns: PlannedColumn[] = [];
  for (const field of schema.fields) {
    if (fileColumns.includes(field.name)) columns.push(plan(field.name, field.name, "columns", field.type, "schema field"));
  }

  const wantsModel = flags.predictions.length > 0 || flags.influences.length > 0 || flags.influencePrefix !== undefined;
  if (model === undefined) {
    if (wantsModel) throw new CliError("--prediction and --influence need --model");
  } else {
    const predictionTypes = new Map(model.predictionFields.map((f) => [f.name, f.type]));
    const explicit = flags.predictions.map((spec) => pair(spec, "--prediction", false));
    // Without --prediction, the model's prediction fields are read from columns of the same name.
    const predictionPairs = explicit.length > 0 ? explicit : model.predictionFields.filter((f) => fileColumns.includes(f.name) && !used.has(f.name)).map((f): [string, string] => [f.name, f.name]);
    for (const [source, field] of predictionPairs) {
      const type = predictionTypes.get(field);
      if (type === undefined) throw new CliError(`--prediction ${source}=${field}: model "${model.name}" has no prediction field "${field}" (it has ${[...predictionTypes.keys()].join(", ")})`);
      columns.push(plan(source, field, "predictions", type, "--prediction"));
    }
    const features = new Set(schema.fields.filter((f) => f.kind === FieldKind.FEATURE).map((f) => f.name));
    const influencePairs = flags.influences.map((spec) => pair(spec, "--influence", true));
    if (flags.influencePrefix !== undefined) {
      for (const feature of features) {
        const source = `${flags.influencePrefix}${feature}`;
        if (fileColumns.includes(source)) influencePairs.push([source, feature]);
      }
      if (influencePairs.length === 0) throw new CliError(`--influence-prefix ${flags.influencePrefix}: no column is named after a feature with that prefix`);
    }
    for (const [source, feature] of influencePairs) {
      if (!features.has(feature)) throw new CliError(`--influence ${source}=${feature}: "${feature}" is not a feature of the collection`);
      columns.push(plan(source, feature, "influences", FieldType.DOUBLE, "--influence"));
    }
  }

  for (const group of ["columns", "predictions", "influences"] as const) {
    const names = columns.filter((c) => c.group === group).map((c) => c.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) throw new CliError(`"${twice}" is mapped twice among the ${group === "columns" ? "schema fields" : group}`);
  }
  if (columns.length === 0) throw new CliError("no column of the file matches a schema field, a prediction or an influence: nothing to upload");
  return { idIndex, idColumn, time, columns, ignored: fileColumns.filter((c) => !used.has(c)) };
}

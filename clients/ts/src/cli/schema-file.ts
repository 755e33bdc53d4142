// The schema file format of `collections create --schema` (YAML, or JSON, which is YAML too), and the same format
// printed back by `collections get --schema` and `collections infer`, so a printed schema can be edited and reused.
import { readFile } from "node:fs/promises";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { parse, stringify } from "yaml";
import { FieldKind, FieldType, type Schema, type SchemaSchema } from "../index.js";
import { CliError } from "./failure.js";
import { nameOf, parseEnum } from "./names.js";

export type SchemaInit = MessageInitShape<typeof SchemaSchema>;
type FieldInit = NonNullable<SchemaInit["fields"]>[number];

/** The file's shape, as documented in docs/cli.md. */
export interface SchemaDocument {
  record_id_column: string;
  timestamp_column?: string;
  fields: FieldDocument[];
}

export interface FieldDocument {
  name: string;
  kind: string;
  type: string;
  nullable?: boolean;
  categories?: string[];
  range?: { min?: number; max?: number };
}

const topKeys = new Set(["record_id_column", "timestamp_column", "fields"]);
const fieldKeys = new Set(["name", "kind", "type", "nullable", "categories", "range"]);

class Reader {
  constructor(readonly source: string) {}
  fail(path: string, message: string): never {
    throw new CliError(`${this.source}: ${path}: ${message}`);
  }
  object(value: unknown, path: string, allowed: Set<string>): Record<string, unknown> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) this.fail(path, "must be a mapping");
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) if (!allowed.has(key)) this.fail(path, `unknown key "${key}" (expected ${[...allowed].join(", ")})`);
    return record;
  }
  string(value: unknown, path: string): string {
    if (typeof value !== "string" || value === "") this.fail(path, "must be a non-empty string");
    return value;
  }
  number(value: unknown, path: string): number {
    if (typeof value !== "number" || !Number.isFinite(value)) this.fail(path, "must be a finite number");
    return value;
  }
}

function readField(r: Reader, value: unknown, path: string): FieldInit {
  const f = r.object(value, path, fieldKeys);
  const type = parseEnum(FieldType, r.string(f.type, `${path}.type`), `${path}.type`);
  const field: FieldInit = {
    name: r.string(f.name, `${path}.name`),
    kind: f.kind === undefined ? FieldKind.FEATURE : parseEnum(FieldKind, r.string(f.kind, `${path}.kind`), `${path}.kind`),
    type,
    nullable: false,
  };
  if (f.nullable !== undefined) {
    if (typeof f.nullable !== "boolean") r.fail(`${path}.nullable`, "must be true or false");
    field.nullable = f.nullable;
  }
  if (f.categories !== undefined) {
    if (!Array.isArray(f.categories)) r.fail(`${path}.categories`, "must be a list");
    // YAML reads `yes` or `1` as non-strings; a category is always text.
    field.categories = f.categories.map((c: unknown, i) => (typeof c === "string" || typeof c === "number" || typeof c === "boolean" ? String(c) : r.fail(`${path}.categories[${i}]`, "must be a scalar")));
  }
  if (type === FieldType.CATEGORICAL && (field.categories?.length ?? 0) === 0) r.fail(`${path}.categories`, "a categorical field needs its categories");
  if (f.range !== undefined) {
    const range = r.object(f.range, `${path}.range`, new Set(["min", "max"]));
    field.range = {
      min: range.min === undefined ? undefined : r.number(range.min, `${path}.range.min`),
      max: range.max === undefined ? undefined : r.number(range.max, `${path}.range.max`),
    };
  }
  return field;
}

/** Validates the document's shape here, so a typo is named by its path before anything reaches the server. */
export function schemaFromDocument(doc: unknown, source: string): SchemaInit {
  const r: Reader = new Reader(source);
  const top = r.object(doc, "(top)", topKeys);
  const fields: unknown = top.fields;
  if (!Array.isArray(fields) || fields.length === 0) r.fail("fields", "must be a non-empty list");
  return {
    recordIdColumn: r.string(top.record_id_column, "record_id_column"),
    timestampColumn: top.timestamp_column === undefined ? "" : r.string(top.timestamp_column, "timestamp_column"),
    fields: fields.map((f: unknown, i: number) => readField(r, f, `fields[${i}]`)),
  };
}

export async function readSchemaFile(path: string): Promise<SchemaInit> {
  const text = await readFile(path, "utf8");
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new CliError(`${path}: not valid YAML or JSON: ${(err as Error).message}`);
  }
  return schemaFromDocument(doc, path);
}

export function schemaToDocument(schema: Schema): SchemaDocument {
  const doc: SchemaDocument = { record_id_column: schema.recordIdColumn, timestamp_column: schema.timestampColumn, fields: [] };
  if (schema.timestampColumn === "") delete doc.timestamp_column;
  for (const f of schema.fields) {
    const field: FieldDocument = { name: f.name, kind: nameOf(FieldKind, f.kind), type: nameOf(FieldType, f.type), nullable: f.nullable };
    if (f.categories.length > 0) field.categories = [...f.categories];
    if (f.range !== undefined && (f.range.min !== undefined || f.range.max !== undefined)) {
      field.range = {};
      if (f.range.min !== undefined) field.range.min = f.range.min;
      if (f.range.max !== undefined) field.range.max = f.range.max;
    }
    doc.fields.push(field);
  }
  return doc;
}

export function documentToYaml(doc: SchemaDocument, comment?: string): string {
  const body = stringify(doc, { lineWidth: 0 });
  return comment === undefined ? body : `${comment.split("\n").map((l) => `# ${l}`).join("\n")}\n${body}`;
}

// Schema rules: what a valid schema is, and which changes count as additive.
import type { SchemaLimits } from "../config.js";
import type { PreconditionViolation, Violation } from "../errors.js";
import { FieldKind, FieldType, type Field, type Schema } from "../gen/sightline/v1/resources_pb.js";
import { checkFieldName, checkStoredText } from "./names.js";

export const maxCategoryBytes = 256;

const numericTypes = new Set([FieldType.DOUBLE, FieldType.INT64]);

function checkField(path: string, field: Field, limits: SchemaLimits): Violation[] {
  const violations = checkFieldName(`${path}.name`, field.name);
  if (field.kind === FieldKind.UNSPECIFIED || FieldKind[field.kind] === undefined) {
    violations.push({ field: `${path}.kind`, description: "must be FEATURE, LABEL or EXTRA" });
  }
  if (field.type === FieldType.UNSPECIFIED || FieldType[field.type] === undefined) {
    violations.push({ field: `${path}.type`, description: "must be set" });
  }
  if (field.type === FieldType.CATEGORICAL) {
    violations.push(...checkCategories(`${path}.categories`, field.categories, limits));
  } else if (field.categories.length > 0) {
    violations.push({ field: `${path}.categories`, description: "are only allowed for CATEGORICAL fields" });
  }
  if (field.range !== undefined) {
    const { min, max } = field.range;
    if (!numericTypes.has(field.type)) {
      violations.push({ field: `${path}.range`, description: "is only allowed for DOUBLE and INT64 fields" });
    } else if ((min !== undefined && !Number.isFinite(min)) || (max !== undefined && !Number.isFinite(max))) {
      violations.push({ field: `${path}.range`, description: "bounds must be finite numbers" });
    } else if (min !== undefined && max !== undefined && min > max) {
      violations.push({ field: `${path}.range`, description: `min ${min} is greater than max ${max}` });
    }
  }
  return violations;
}

function checkCategories(path: string, categories: string[], limits: SchemaLimits): Violation[] {
  if (categories.length === 0) return [{ field: path, description: "must list at least one category" }];
  if (categories.length > limits.maxCategories) {
    return [{ field: path, description: `holds ${categories.length} categories; at most ${limits.maxCategories} (SIGHTLINE_MAX_CATEGORIES)` }];
  }
  const violations: Violation[] = [];
  const seen = new Set<string>();
  categories.forEach((category, i) => {
    if (category.length === 0) violations.push({ field: `${path}[${i}]`, description: "must not be empty" });
    else if (Buffer.byteLength(category, "utf8") > maxCategoryBytes) {
      violations.push({ field: `${path}[${i}]`, description: `must be at most ${maxCategoryBytes} bytes` });
    }
    violations.push(...checkStoredText(`${path}[${i}]`, category));
    if (seen.has(category)) violations.push({ field: `${path}[${i}]`, description: `duplicates category "${category}"` });
    seen.add(category);
  });
  return violations;
}

/**
 * Every problem of a schema, each with its path under `path` (for example `collection.schema`). A schema over the
 * field limit is reported by that alone: its fields are not checked one by one.
 */
export function checkSchema(path: string, schema: Schema | undefined, limits: SchemaLimits): Violation[] {
  if (schema === undefined) return [{ field: path, description: "is required" }];
  const violations: Violation[] = [];
  if (schema.recordIdColumn === "") {
    violations.push({ field: `${path}.record_id_column`, description: "is required" });
  } else {
    violations.push(...checkFieldName(`${path}.record_id_column`, schema.recordIdColumn));
  }
  if (schema.timestampColumn !== "") {
    violations.push(...checkFieldName(`${path}.timestamp_column`, schema.timestampColumn));
    if (schema.timestampColumn === schema.recordIdColumn) {
      violations.push({ field: `${path}.timestamp_column`, description: "must differ from record_id_column" });
    }
  }
  if (schema.fields.length > limits.maxFields) {
    violations.push({ field: `${path}.fields`, description: `holds ${schema.fields.length} fields; at most ${limits.maxFields} (SIGHTLINE_MAX_SCHEMA_FIELDS)` });
    return violations;
  }
  const firstIndex = new Map<string, number>();
  schema.fields.forEach((field, i) => {
    const fieldPath = `${path}.fields[${i}]`;
    violations.push(...checkField(fieldPath, field, limits));
    const earlier = firstIndex.get(field.name);
    if (earlier !== undefined) {
      violations.push({ field: `${fieldPath}.name`, description: `duplicates fields[${earlier}].name "${field.name}"` });
    } else {
      firstIndex.set(field.name, i);
    }
    if (field.name !== "" && (field.name === schema.recordIdColumn || field.name === schema.timestampColumn)) {
      violations.push({ field: `${fieldPath}.name`, description: "must differ from record_id_column and timestamp_column" });
    }
  });
  return violations;
}

function describeField(field: Field): string {
  const range = field.range === undefined ? "" : ` range [${field.range.min ?? "-inf"}, ${field.range.max ?? "+inf"}]`;
  const categories = field.type === FieldType.CATEGORICAL ? ` categories [${field.categories.join(", ")}]` : "";
  return `${FieldKind[field.kind]} ${FieldType[field.type]}${field.nullable ? " nullable" : ""}${categories}${range}`;
}

/**
 * Why `next` is not an additive change of `current`: existing fields must stay exactly as they are, and new fields
 * must be nullable because records already stored lack them. An empty result means the change is allowed.
 */
export function nonAdditiveChanges(current: Schema, next: Schema): PreconditionViolation[] {
  const violations: PreconditionViolation[] = [];
  const type = "SCHEMA_CHANGE";
  if (next.recordIdColumn !== current.recordIdColumn) {
    violations.push({ type, subject: "record_id_column", description: `cannot change from "${current.recordIdColumn}"` });
  }
  if (next.timestampColumn !== current.timestampColumn) {
    violations.push({ type, subject: "timestamp_column", description: `cannot change from "${current.timestampColumn}"` });
  }
  const nextByName = new Map(next.fields.map((f) => [f.name, f]));
  const currentNames = new Set(current.fields.map((f) => f.name));
  for (const field of current.fields) {
    const replacement = nextByName.get(field.name);
    if (replacement === undefined) {
      violations.push({ type, subject: `field "${field.name}"`, description: "cannot be removed" });
    } else if (describeField(replacement) !== describeField(field)) {
      violations.push({
        type,
        subject: `field "${field.name}"`,
        description: `cannot change from ${describeField(field)} to ${describeField(replacement)}`,
      });
    }
  }
  for (const field of next.fields) {
    if (!currentNames.has(field.name) && !field.nullable) {
      violations.push({ type, subject: `field "${field.name}"`, description: "must be nullable: existing records do not have it" });
    }
  }
  return violations;
}

// Proposes a schema from a sample of rows. Every non-null value of a column must fit a type for the column to get
// it; text that fits nothing narrower is STRING, or CATEGORICAL when it takes few distinct values.
import { CliError } from "./failure.js";
import type { FieldDocument, SchemaDocument } from "./schema-file.js";
import type { RawValue, TypeHint } from "./source/source.js";
import { parseBool, parseDouble, parseInt64, parseTime } from "./upload/cells.js";

export interface InferOptions {
  idColumn?: string;
  timeColumn?: string;
  labels: string[];
  extras: string[];
  /** At most this many distinct values make a text column categorical. */
  maxCategories: number;
}

interface ColumnProfile {
  type: string;
  nullable: boolean;
  distinct: Set<string>;
  values: number;
}

/** Only words read as booleans here: 0/1 columns are far more often counts or codes. */
const boolWords = new Set(["true", "false", "yes", "no"]);
const idName = /^(id|record[_ ]?id|.+[_ ]id)$/i;
const timeName = /(^|[_ .])(ts|time|timestamp|date|datetime)$|_at$|^event/i;
/** A numeric string is a number, not a time, even though it would read as Unix milliseconds. */
const timeText = (text: string) => !/^[-+]?\d+$/.test(text.trim()) && parseTime(text) !== undefined;

function textType(texts: string[]): string {
  const all = (test: (t: string) => boolean) => texts.every(test);
  if (all((t) => boolWords.has(t.trim().toLowerCase()) && parseBool(t) !== undefined)) return "bool";
  if (all((t) => parseInt64(t) !== undefined && !t.includes("."))) return "int64";
  if (all((t) => parseDouble(t) !== undefined)) return "double";
  if (all(timeText)) return "timestamp";
  return "string";
}

function profile(values: RawValue[], hint: TypeHint | undefined, maxCategories: number): ColumnProfile {
  const present = values.filter((v): v is NonNullable<RawValue> => v !== null && !(typeof v === "string" && v.trim() === ""));
  const texts = present.map((v) => (v instanceof Date ? v.toISOString() : String(v)));
  let type = hint !== undefined && hint !== "string" ? hint : textType(texts);
  const distinct = new Set(texts);
  if (present.length === 0) type = "string";
  // A few values repeated across the sample look like a category; as many values as rows look like free text.
  if (type === "string" && distinct.size > 0 && distinct.size <= maxCategories && distinct.size * 2 <= present.length) type = "categorical";
  return { type, nullable: present.length < values.length, distinct, values: present.length };
}

function pick(columns: readonly string[], explicit: string | undefined, flag: string, guess: (c: string) => boolean): string | undefined {
  if (explicit !== undefined) {
    if (!columns.includes(explicit)) throw new CliError(`${flag} ${explicit}: the file has no such column`);
    return explicit;
  }
  return columns.find(guess);
}

export function inferSchema(columns: readonly string[], rows: readonly (readonly RawValue[])[], hint: (column: string) => TypeHint | undefined, o: InferOptions): SchemaDocument {
  for (const [flag, names] of [["--label", o.labels], ["--extra", o.extras]] as const) {
    for (const name of names) if (!columns.includes(name)) throw new CliError(`${flag} ${name}: the file has no such column`);
  }
  const profiles = new Map(columns.map((c, i) => [c, profile(rows.map((r) => r[i] ?? null), hint(c), o.maxCategories)]));
  const unique = (c: string) => {
    const p = profiles.get(c)!;
    return !p.nullable && p.values > 0 && p.distinct.size === p.values;
  };
  const idColumn = pick(columns, o.idColumn, "--id-column", (c) => idName.test(c) && unique(c)) ?? columns.find(unique);
  if (idColumn === undefined) throw new CliError("no column holds unique values in the sample to serve as the record ID; pass --id-column");
  const timeColumn = pick(columns, o.timeColumn, "--time-column", (c) => c !== idColumn && profiles.get(c)!.type === "timestamp" && timeName.test(c));
  const fields: FieldDocument[] = [];
  for (const column of columns) {
    if (column === idColumn || column === timeColumn) continue;
    const p = profiles.get(column)!;
    const kind = o.labels.includes(column) ? "label" : o.extras.includes(column) ? "extra" : "feature";
    const field: FieldDocument = { name: column, kind, type: p.type, nullable: p.nullable };
    if (p.type === "categorical") field.categories = [...p.distinct].sort();
    fields.push(field);
  }
  // Keys in the documented order, which YAML output keeps.
  return timeColumn === undefined ? { record_id_column: idColumn, fields } : { record_id_column: idColumn, timestamp_column: timeColumn, fields };
}

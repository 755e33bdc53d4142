// A tabular file read row by row from disk, whatever its format, so uploads and inference never hold the whole file.
import { extname } from "node:path";
import { CliError } from "../failure.js";
import { openCsv } from "./csv.js";
import { openParquet } from "./parquet.js";

/** What a cell may hold: text from a CSV (null for an unquoted empty cell), or a typed value from Parquet. */
export type RawValue = string | number | bigint | boolean | Date | null;

/** A column type a format knows for certain (Parquet's physical and logical types); CSV knows none. */
export type TypeHint = "double" | "int64" | "bool" | "timestamp" | "string";

export interface RowSource {
  readonly format: "csv" | "parquet";
  /** Column names in file order; every row holds one value per column. */
  readonly columns: readonly string[];
  /** Rows in file order. A CSV row may hold fewer or more values than there are columns; the caller judges it. */
  rows(): AsyncIterable<readonly RawValue[]>;
  /** How much of the file has been read, 0 to 1, for the ETA. */
  progress(): number;
  typeHint(column: string): TypeHint | undefined;
  close(): Promise<void>;
}

export async function openSource(path: string): Promise<RowSource> {
  const ext = extname(path).toLowerCase();
  if (ext === ".csv") return openCsv(path);
  if (ext === ".parquet" || ext === ".pq") return openParquet(path);
  throw new CliError(`${path}: unknown file type "${ext}"; use a .csv or .parquet file`);
}

// Parquet through hyparquet, one row group at a time, over an AsyncBuffer that reads byte ranges from an open file
// handle: only the footer and the current row group's column chunks are ever in memory. A row group is the smallest
// unit Parquet can decode, so writers should keep them modest (pyarrow's `row_group_size`).
import { open, type FileHandle } from "node:fs/promises";
import { parquetMetadataAsync, parquetRead, parquetSchema, type AsyncBuffer, type SchemaElement } from "hyparquet";
import { CliError } from "../failure.js";
import type { RawValue, RowSource, TypeHint } from "./source.js";

function fileBuffer(handle: FileHandle, byteLength: number): AsyncBuffer {
  return {
    byteLength,
    async slice(start: number, end = byteLength): Promise<ArrayBuffer> {
      const bytes = new Uint8Array(end - start);
      for (let filled = 0; filled < bytes.length; ) {
        const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, start + filled);
        if (bytesRead === 0) throw new Error(`the file ends at byte ${start + filled}, before byte ${end}`);
        filled += bytesRead;
      }
      return bytes.buffer;
    },
  };
}

function hintOf(element: SchemaElement): TypeHint | undefined {
  const logical = element.logical_type?.type;
  const converted = element.converted_type;
  if (logical === "TIMESTAMP" || logical === "DATE" || converted === "TIMESTAMP_MILLIS" || converted === "TIMESTAMP_MICROS" || converted === "DATE" || element.type === "INT96") {
    return "timestamp";
  }
  if (logical === "STRING" || logical === "ENUM" || converted === "UTF8" || converted === "ENUM") return "string";
  if (logical === "DECIMAL" || converted === "DECIMAL") return "double";
  switch (element.type) {
    case "BOOLEAN":
      return "bool";
    case "INT32":
    case "INT64":
      return "int64";
    case "FLOAT":
    case "DOUBLE":
      return "double";
    default:
      return undefined;
  }
}

/** hyparquet leaves absent values undefined and decodes nested columns to arrays and objects; those stay as they are for the converters to refuse. */
function rawOf(value: unknown): RawValue {
  return value === undefined ? null : (value as RawValue);
}

export async function openParquet(path: string): Promise<RowSource> {
  const handle = await open(path, "r");
  try {
    const file = fileBuffer(handle, (await handle.stat()).size);
    const metadata = await parquetMetadataAsync(file).catch((err: unknown) => {
      throw new CliError(`${path}: not a readable Parquet file: ${(err as Error).message}`);
    });
    const top = parquetSchema(metadata).children;
    const columns = top.map((c) => c.element.name);
    const hints = new Map(top.map((c) => [c.element.name, c.children.length === 0 ? hintOf(c.element) : undefined]));
    const totalRows = Number(metadata.num_rows);
    let rowsRead = 0;
    return {
      format: "parquet",
      columns,
      async *rows() {
        let groupStart = 0;
        for (const group of metadata.row_groups) {
          const groupEnd = groupStart + Number(group.num_rows);
          let decoded: unknown[][] = [];
          await parquetRead({ file, metadata, columns, rowStart: groupStart, rowEnd: groupEnd, rowFormat: "array", onComplete: (rows: unknown[][]) => (decoded = rows) });
          groupStart = groupEnd;
          for (const row of decoded) {
            rowsRead += 1;
            yield row.map(rawOf);
          }
        }
      },
      progress: () => (totalRows === 0 ? 1 : rowsRead / totalRows),
      typeHint: (column) => hints.get(column),
      close: () => handle.close(),
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

// CSV through csv-parse as a stream: the file is read in 256 KiB chunks and parsed as rows are pulled, so a file
// larger than memory streams through with backpressure.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { parse } from "csv-parse";
import { CliError } from "../failure.js";
import type { RawValue, RowSource } from "./source.js";

const emptyIsNull = (cell: string): RawValue => (cell === "" ? null : cell);

export async function openCsv(path: string): Promise<RowSource> {
  const size = (await stat(path)).size;
  const file = createReadStream(path, { highWaterMark: 256 * 1024 });
  // Rows with the wrong number of values are let through so they are reported as row errors, not as a failed file.
  // No `cast`: it makes csv-parse build a context object per cell, which cost half the parse time. An empty cell,
  // quoted or not, is therefore null, as pandas reads it.
  const parser = file.pipe(parse({ bom: true, relax_column_count: true, skip_empty_lines: true }));
  file.once("error", (err) => parser.destroy(err));
  const iterator: AsyncIterator<string[]> = parser[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done === true) throw new CliError(`${path}: the file is empty; a CSV needs a header row`);
  const columns = first.value.map((name, i) => (name !== "" ? name : `column${i + 1}`));
  const duplicate = columns.find((name, i) => columns.indexOf(name) !== i);
  if (duplicate !== undefined) throw new CliError(`${path}: the header names column "${duplicate}" twice`);
  let consumed = false;
  let rowsTaken = 0;
  return {
    format: "csv",
    columns,
    async *rows() {
      if (consumed) throw new Error("a CSV source is read once");
      consumed = true;
      try {
        for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
          rowsTaken += 1;
          yield next.value.map(emptyIsNull);
        }
      } catch (err) {
        throw new CliError(`${path}: ${(err as Error).message}`);
      }
    },
    progress() {
      // The parser runs a chunk ahead of the rows taken, so its byte count alone would jump ahead; the rows taken
      // times the bytes per row parsed so far tracks what has really been handed on.
      const { records, bytes } = parser.info;
      if (size === 0 || records === 0) return size === 0 ? 1 : 0;
      return Math.min(1, (rowsTaken * (bytes / records)) / size);
    },
    typeHint: () => undefined,
    async close() {
      parser.destroy();
      file.destroy();
    },
  };
}

// Wide CSV rows (about 1 KB each: 24 typed columns and four long strings) for the CLI's memory test and benchmark,
// so a file of N MB holds about N thousand rows and an upload of hundreds of MB stays within reach of the dev database.
import { createWriteStream } from "node:fs";
import { once } from "node:events";

export const wideSchemaYaml = `record_id_column: id
timestamp_column: ts
fields:
${[
  ...Array.from({ length: 10 }, (_, i) => `  - {name: d${i}, type: double}`),
  ...Array.from({ length: 5 }, (_, i) => `  - {name: i${i}, type: int64}`),
  ...["b0", "b1", "b2"].map((n) => `  - {name: ${n}, type: bool}`),
  "  - {name: c0, type: categorical, categories: [a, b, c, d, e]}",
  "  - {name: c1, type: categorical, categories: [x, y, z]}",
  ...["s0", "s1", "s2", "s3"].map((n) => `  - {name: ${n}, kind: extra, type: string}`),
].join("\n")}
`;

const header = ["id", "ts", ...Array.from({ length: 10 }, (_, i) => `d${i}`), ...Array.from({ length: 5 }, (_, i) => `i${i}`), "b0", "b1", "b2", "c0", "c1", "s0", "s1", "s2", "s3"];
const filler = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco laboris nisi";
const t0 = Date.UTC(2024, 0, 1);

function row(i: number, prefix: string): string {
  return [
    `${prefix}${i}`,
    new Date(t0 + (i % 720) * 3_600_000).toISOString(),
    ...Array.from({ length: 10 }, (_, k) => (((i * 7 + k) % 1000) / 7).toFixed(6)),
    ...Array.from({ length: 5 }, (_, k) => String(i * 13 + k)),
    i % 2 === 1 ? "true" : "false",
    i % 3 === 1 ? "true" : "false",
    i % 5 === 1 ? "true" : "false",
    "abcde"[i % 5],
    "xyz"[i % 3],
    ...Array.from({ length: 4 }, (_, k) => `${k}-${i}-${filler}`),
  ].join(",");
}

/** Writes rows until the file reaches `bytes`; returns the number of rows. */
export async function writeWideCsv(path: string, bytes: number, idPrefix = "r"): Promise<number> {
  const out = createWriteStream(path);
  let written = 0;
  let rows = 0;
  const lines: string[] = [header.join(",")];
  const flush = async () => {
    const chunk = `${lines.join("\n")}\n`;
    lines.length = 0;
    written += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await once(out, "drain");
  };
  while (written < bytes) {
    lines.push(row(rows, idPrefix));
    rows += 1;
    if (lines.length === 1000) await flush();
  }
  if (lines.length > 0) await flush();
  out.end();
  await once(out, "finish");
  return rows;
}

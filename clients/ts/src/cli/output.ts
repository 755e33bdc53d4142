// Everything a command prints goes through here: colour only on a terminal (and never with NO_COLOR), tables padded
// to their widest cell, JSON for scripts.
import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";

interface Stream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

/** https://no-color.org: any non-empty NO_COLOR turns colour off. */
export function colourWanted(stream: Stream): boolean {
  const noColor = process.env.NO_COLOR;
  return stream.isTTY === true && (noColor === undefined || noColor === "");
}

export function styleFor(stream: Stream): Style {
  const on = colourWanted(stream);
  const sgr = (open: number, close: number) => (text: string) => (on ? `\u001b[${open}m${text}\u001b[${close}m` : text);
  return { bold: sgr(1, 22), dim: sgr(2, 22), red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39) };
}

export const out = {
  line(text = ""): void {
    process.stdout.write(`${text}\n`);
  },
  style: styleFor(process.stdout),
};

export const err = {
  line(text = ""): void {
    process.stderr.write(`${text}\n`);
  },
  style: styleFor(process.stderr),
};

/** Visible width: colour codes take no room. */
function width(text: string): number {
  return [...text.replace(/\u001b\[[0-9;]*m/g, "")].length;
}

/** A table with a bold header; numbers are right-aligned so their digits line up. */
export function printTable(header: string[], rows: string[][], numeric: ReadonlySet<number> = new Set()): void {
  if (rows.length === 0) {
    out.line(out.style.dim("(none)"));
    return;
  }
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ""))));
  const pad = (cell: string, i: number) => {
    const gap = " ".repeat(widths[i]! - width(cell));
    return numeric.has(i) ? gap + cell : cell + gap;
  };
  out.line(out.style.bold(header.map(pad).join("  ").trimEnd()));
  for (const row of rows) out.line(row.map(pad).join("  ").trimEnd());
}

/** Key/value lines for one resource. */
export function printFields(pairs: [string, string][]): void {
  const w = Math.max(...pairs.map(([k]) => k.length));
  for (const [k, v] of pairs) out.line(`${out.style.dim(k.padEnd(w))}  ${v}`);
}

export function printJson(value: unknown): void {
  out.line(JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2));
}

/** A message as proto3 JSON, the form every Sightline client and grpcurl agree on. */
export function messageJson<D extends DescMessage>(schema: D, message: MessageShape<D>): unknown {
  return toJson(schema, message);
}

export function formatCount(n: number | bigint): string {
  return Number(n).toLocaleString("en-US");
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

export function formatTime(date: Date | undefined): string {
  return date === undefined ? "" : date.toISOString().replace(/\.000Z$/, "Z");
}

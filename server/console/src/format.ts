// How numbers and times read on every page.
import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { Granularity } from "./router.js";

export function num(value: number | bigint | undefined | null): string {
  if (value === undefined || value === null) return "–";
  if (typeof value === "bigint") return value.toLocaleString("en-US");
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  const size = Math.abs(value);
  if (size >= 1e6 || size < 1e-3) return value.toExponential(3);
  if (size >= 1000) return value.toLocaleString("en-US", { maximumFractionDigits: 1 });
  // Four significant digits, without the trailing zeros toPrecision keeps.
  return String(Number(value.toPrecision(4)));
}

export function percent(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? "–" : `${(value * 100).toFixed(1)}%`;
}

export function ms(ts: Timestamp | undefined): number | undefined {
  return ts === undefined ? undefined : timestampMs(ts);
}

/** Buckets are UTC hours and days, so they read in UTC. */
export function bucketLabel(startMs: number, granularity: Granularity): string {
  const iso = new Date(startMs).toISOString();
  return granularity === "day" ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

export function dateTime(ts: Timestamp | undefined): string {
  const t = ms(ts);
  return t === undefined ? "–" : `${new Date(t).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** `DATA_KIND_FEATURES` style enum names from the generated enums (`FEATURES`). */
export function enumName(e: Record<number, string>, value: number): string {
  return e[value] ?? String(value);
}

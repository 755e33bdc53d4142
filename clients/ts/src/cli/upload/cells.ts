// Converting file values to the JavaScript values the client's batches carry for each field type. CSV cells arrive as
// text and Parquet cells typed; both go through the same rules. A value that cannot be converted yields `invalid`
// (no allocation on the hot path), and `whyInvalid` explains it afterwards.
import { FieldType, type Cell } from "../../index.js";
import type { RawValue } from "../source/source.js";

export const invalid: unique symbol = Symbol("invalid");
export type Converter = (raw: RawValue) => Cell | typeof invalid;

const integerText = /^[-+]?\d+$/;
const wholeDecimalText = /^([-+]?\d+)\.0*$/;
const numberText = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const nanText = /^[-+]?nan$/i;
const infinityText = /^([-+]?)(inf|infinity)$/i;
const isoTime = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const trueText = new Set(["true", "t", "yes", "y", "1"]);
const falseText = new Set(["false", "f", "no", "n", "0"]);
const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

/** Text is null when blank: a quoted "" in a number column has no other sensible reading. */
const blank = (text: string) => text.trim() === "";

export function parseDouble(text: string): number | undefined {
  const t = text.trim();
  if (numberText.test(t)) return Number(t);
  if (nanText.test(t)) return Number.NaN;
  const inf = infinityText.exec(t);
  if (inf !== null) return inf[1] === "-" ? -Infinity : Infinity;
  return undefined;
}

export function parseInt64(text: string): bigint | undefined {
  const t = text.trim();
  const whole = integerText.test(t) ? t : wholeDecimalText.exec(t)?.[1];
  if (whole === undefined) return undefined;
  const value = BigInt(whole);
  return value < int64Min || value > int64Max ? undefined : value;
}

export function parseBool(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  return trueText.has(t) ? true : falseText.has(t) ? false : undefined;
}

/**
 * An ISO 8601 date or date-time, or an integer of Unix milliseconds. A date-time without a zone is UTC, never the
 * machine's local time, so the same file lands the same way everywhere.
 */
export function parseTime(text: string): number | undefined {
  const t = text.trim();
  if (integerText.test(t)) return Number(t);
  const m = isoTime.exec(t);
  if (m === null) return undefined;
  let zone = m[3] ?? "Z";
  if (/^[+-]\d{2}$/.test(zone)) zone += ":00";
  else if (/^[+-]\d{4}$/.test(zone)) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${m[1]}T${m[2] ?? "00:00"}${zone.toUpperCase()}`);
  return Number.isNaN(ms) ? undefined : ms;
}

function toDouble(raw: RawValue): Cell | typeof invalid {
  if (raw === null) return null;
  if (typeof raw === "number") return raw;
  if (typeof raw === "string") return blank(raw) ? null : (parseDouble(raw) ?? invalid);
  if (typeof raw === "bigint") return raw <= BigInt(Number.MAX_SAFE_INTEGER) && raw >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(raw) : invalid;
  return invalid;
}

function toInt64(raw: RawValue): Cell | typeof invalid {
  if (raw === null) return null;
  if (typeof raw === "bigint") return raw;
  if (typeof raw === "number") return Number.isSafeInteger(raw) ? BigInt(raw) : Number.isNaN(raw) ? null : invalid;
  if (typeof raw === "string") return blank(raw) ? null : (parseInt64(raw) ?? invalid);
  return invalid;
}

/** Timestamps travel as Dates, which the client sends as int64 Unix milliseconds. */
function toTime(raw: RawValue): Cell | typeof invalid {
  if (raw === null) return null;
  if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? invalid : raw;
  if (typeof raw === "bigint") return new Date(Number(raw));
  if (typeof raw === "number") return Number.isFinite(raw) ? new Date(Math.trunc(raw)) : invalid;
  if (typeof raw === "string") {
    if (blank(raw)) return null;
    const ms = parseTime(raw);
    return ms === undefined ? invalid : new Date(ms);
  }
  return invalid;
}

function toBool(raw: RawValue): Cell | typeof invalid {
  if (raw === null) return null;
  if (typeof raw === "boolean") return raw;
  if (typeof raw === "string") return blank(raw) ? null : (parseBool(raw) ?? invalid);
  if (raw === 0 || raw === 0n) return false;
  if (raw === 1 || raw === 1n) return true;
  return invalid;
}

function toText(raw: RawValue): Cell | typeof invalid {
  if (raw === null || typeof raw === "string") return raw;
  if (typeof raw === "number" || typeof raw === "bigint" || typeof raw === "boolean") return String(raw);
  if (raw instanceof Date) return raw.toISOString();
  return invalid;
}

export function converterFor(type: FieldType): Converter {
  switch (type) {
    case FieldType.DOUBLE:
      return toDouble;
    case FieldType.INT64:
      return toInt64;
    case FieldType.TIMESTAMP:
      return toTime;
    case FieldType.BOOL:
      return toBool;
    default:
      return toText;
  }
}

function shown(raw: RawValue): string {
  if (raw instanceof Date) return raw.toISOString();
  if (typeof raw === "string") return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
  if (typeof raw === "object" && raw !== null) return "a nested value";
  return String(raw);
}

export function whyInvalid(type: FieldType, raw: RawValue): string {
  const name = FieldType[type];
  switch (type) {
    case FieldType.TIMESTAMP:
      return `${shown(raw)} is not a ${name} (ISO 8601, or integer Unix milliseconds)`;
    case FieldType.BOOL:
      return `${shown(raw)} is not a ${name} (true/false, yes/no, 1/0)`;
    case FieldType.INT64:
      return `${shown(raw)} is not an ${name} (a whole number within ±2^63)`;
    default:
      return `${shown(raw)} is not a ${name}`;
  }
}

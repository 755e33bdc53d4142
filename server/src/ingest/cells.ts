// Reading one cell of a column under its field's rules. A reader is specialised once per column, so the per-row
// work is a bounds check and a conversion, with no allocation for accepted values.
import { Long } from "mongodb";
import { FieldType } from "../gen/sightline/v1/resources_pb.js";
import { RowErrorReason, type Column } from "../gen/sightline/v1/records_pb.js";
import { isNull } from "./null-mask.js";
import type { ValueRule } from "./plan.js";

export interface CellProblem {
  reason: RowErrorReason;
  description: string;
}

/** Returned instead of a value when the cell is rejected; the reader's `problem` then says why. */
export const rejected: unique symbol = Symbol("rejected");

export interface CellReader {
  read(row: number): unknown;
  problem: CellProblem;
}

const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);
const minSafe = BigInt(Number.MIN_SAFE_INTEGER);
const nulChar = "\u0000";

function describeType(column: Column): string {
  switch (column.values.case) {
    case "doubles":
      return "doubles";
    case "int64s":
      return "int64s";
    case "strings":
      return "strings";
    case "bools":
      return "bools";
    default:
      return "nothing";
  }
}

/** Int64 values are stored as numbers while exact, and as BSON Int64 beyond 2^53. */
export function int64ToStored(value: bigint): number | Long {
  return value <= maxSafe && value >= minSafe ? Number(value) : Long.fromBigInt(value);
}

export function cellReader(rule: ValueRule, column: Column, nullMask: Uint8Array, maxStringBytes: number): CellReader {
  const problem: CellProblem = { reason: RowErrorReason.UNSPECIFIED, description: "" };
  const reject = (reason: RowErrorReason, description: string): typeof rejected => {
    problem.reason = reason;
    problem.description = description;
    return rejected;
  };
  const missing = () => (rule.nullable ? null : reject(RowErrorReason.NULL_NOT_ALLOWED, "is null but the field is not nullable"));
  const inRange = (value: number): number | typeof rejected => {
    if ((rule.min !== undefined && value < rule.min) || (rule.max !== undefined && value > rule.max)) {
      return reject(RowErrorReason.OUT_OF_RANGE, `${value} is outside [${rule.min ?? "-inf"}, ${rule.max ?? "+inf"}]`);
    }
    return value;
  };
  /** A doubles cell: null and NaN (how pandas spells a missing float) read as missing, infinities are refused. */
  const readDouble = (data: number[], row: number, finite: (v: number) => unknown): unknown => {
    if (isNull(nullMask, row)) return missing();
    const v = data[row]!;
    if (Number.isNaN(v)) return rule.nanIsNull ? missing() : reject(RowErrorReason.NOT_FINITE, "NaN is not a finite number");
    if (!Number.isFinite(v)) return reject(RowErrorReason.NOT_FINITE, `${v} is not finite`);
    return finite(v);
  };
  const wrongType = (): CellReader => ({
    problem,
    read: (row) =>
      isNull(nullMask, row) ? missing() : reject(RowErrorReason.WRONG_TYPE, `a ${FieldType[rule.type]} field cannot take ${describeType(column)}`),
  });
  const values = column.values;

  switch (rule.type) {
    case FieldType.DOUBLE: {
      if (values.case === "doubles") {
        const data = values.value.values;
        return { problem, read: (row) => readDouble(data, row, inRange) };
      }
      if (values.case === "int64s") {
        const data = values.value.values;
        return {
          problem,
          read(row) {
            if (isNull(nullMask, row)) return missing();
            const v = data[row]!;
            if (v > maxSafe || v < minSafe) return reject(RowErrorReason.WRONG_TYPE, `${v} cannot be held exactly by a DOUBLE`);
            return inRange(Number(v));
          },
        };
      }
      return wrongType();
    }
    case FieldType.INT64:
    case FieldType.TIMESTAMP: {
      const asStored = (v: bigint): unknown => {
        if (rule.type === FieldType.TIMESTAMP) {
          const ms = Number(v);
          const date = new Date(ms);
          return Number.isNaN(date.getTime()) ? reject(RowErrorReason.OUT_OF_RANGE, `${v} is not a valid time`) : date;
        }
        return inRange(Number(v)) === rejected ? rejected : int64ToStored(v);
      };
      if (values.case === "int64s") {
        const data = values.value.values;
        return { problem, read: (row) => (isNull(nullMask, row) ? missing() : asStored(data[row]!)) };
      }
      if (values.case === "doubles") {
        // A pandas integer column with missing values arrives as floats with NaN.
        const data = values.value.values;
        const whole = (v: number) => (Number.isSafeInteger(v) ? asStored(BigInt(v)) : reject(RowErrorReason.WRONG_TYPE, `${v} is not a whole number`));
        return { problem, read: (row) => readDouble(data, row, whole) };
      }
      return wrongType();
    }
    case FieldType.STRING:
    case FieldType.CATEGORICAL: {
      if (values.case !== "strings") return wrongType();
      const data = values.value.values;
      const categories = rule.categories;
      return {
        problem,
        read(row) {
          if (isNull(nullMask, row)) return missing();
          const v = data[row]!;
          // A string's UTF-8 length is at most 3 bytes per UTF-16 unit, so most strings skip the exact count.
          if (v.length * 3 > maxStringBytes && Buffer.byteLength(v, "utf8") > maxStringBytes) {
            return reject(RowErrorReason.STRING_TOO_LONG, `is longer than ${maxStringBytes} bytes`);
          }
          if (v.includes(nulChar)) return reject(RowErrorReason.INVALID_STRING, "contains a NUL character");
          if (categories !== undefined && !categories.has(v)) {
            return reject(RowErrorReason.UNKNOWN_CATEGORY, `"${v}" is not one of the field's categories`);
          }
          return v;
        },
      };
    }
    case FieldType.BOOL: {
      if (values.case !== "bools") return wrongType();
      const data = values.value.values;
      return { problem, read: (row) => (isNull(nullMask, row) ? missing() : data[row]!) };
    }
    default:
      return wrongType();
  }
}

// Proto enums as the words people type and read: FieldType.INT64 <-> "int64", SplitType.OUT_OF_TIME <-> "out-of-time".
import { CliError } from "./failure.js";

/** A TypeScript enum object as protoc-gen-es emits it: names to numbers and numbers back to names. */
export type EnumObject = Record<string, string | number>;

export function nameOf(e: EnumObject, value: number): string {
  const name = e[value];
  return typeof name === "string" ? name.toLowerCase().replace(/_/g, "-") : String(value);
}

export function choicesOf(e: EnumObject): string[] {
  return Object.entries(e)
    .filter(([, value]) => typeof value === "number" && value !== 0)
    .map(([key]) => key.toLowerCase().replace(/_/g, "-"));
}

/** Reads a name case-insensitively, with dashes or underscores; UNSPECIFIED is never a valid choice. */
export function parseEnum(e: EnumObject, text: string, what: string): number {
  const value = e[text.trim().toUpperCase().replace(/-/g, "_")];
  if (typeof value !== "number" || value === 0) {
    throw new CliError(`${what} must be one of ${choicesOf(e).join(", ")}, not "${text}"`);
  }
  return value;
}

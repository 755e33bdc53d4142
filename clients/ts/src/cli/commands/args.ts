// Option parsers shared by the commands; they throw commander's InvalidArgumentError so usage errors read the same.
import { InvalidArgumentError } from "commander";
import { parseTime } from "../upload/cells.js";

/** For repeatable options; they have no default, so the first call sees undefined. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError("must be a positive integer");
  return n;
}

export function finiteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError("must be a number");
  return n;
}

/** Same reading as a file's timestamps: a time without a zone is UTC. */
export function isoTime(value: string): Date {
  const ms = parseTime(value);
  if (ms === undefined) throw new InvalidArgumentError("must be an ISO 8601 time, such as 2024-05-01 or 2024-05-01T12:00:00Z");
  return new Date(ms);
}

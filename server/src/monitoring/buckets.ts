// Time buckets of the monitoring series and the binary class of a label or predicted class. Pure: the monitoring
// job uses these to decide which buckets a change dirtied and how to read a record's outcome.

export const hourMs = 3_600_000;
export const dayMs = 24 * hourMs;

/** Start of the UTC hour holding an event time: the bucket key `hb` stores, so jobs find a bucket by equality. */
export function hourStart(eventMs: number): number {
  return Math.floor(eventMs / hourMs) * hourMs;
}

/** Start of the UTC day holding an event time; a day's bucket is the union of its 24 hours. */
export function dayStart(eventMs: number): number {
  return Math.floor(eventMs / dayMs) * dayMs;
}

/** The days whose series must be recomputed when these hours changed. */
export function daysOfHours(hours: Iterable<number>): number[] {
  return [...new Set([...hours].map(dayStart))].sort((a, b) => a - b);
}

/**
 * The binary class of a label or of a predicted class: 1 positive, 0 negative, undefined when the value says
 * neither (counted, never guessed). Booleans map directly, numbers 1 and 0 likewise, and strings through the
 * model's two class labels, the second being the positive class.
 */
export function binaryClass(value: unknown, classLabels: readonly string[]): 0 | 1 | undefined {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number") return value === 1 ? 1 : value === 0 ? 0 : undefined;
  if (typeof value === "string" && classLabels.length === 2) return value === classLabels[1] ? 1 : value === classLabels[0] ? 0 : undefined;
  return undefined;
}

// Bucket arithmetic and class mapping for the monitoring job.
import { describe, expect, it } from "vitest";
import { binaryClass, dayStart, daysOfHours, hourStart } from "../../server/src/monitoring/buckets.js";

describe("monitoring buckets", () => {
  it("puts an event in its UTC hour and day, boundaries included in the later bucket", () => {
    const t = Date.UTC(2026, 10, 26, 13, 59, 59, 999);
    expect(hourStart(t)).toBe(Date.UTC(2026, 10, 26, 13));
    expect(hourStart(t + 1)).toBe(Date.UTC(2026, 10, 26, 14));
    expect(dayStart(t)).toBe(Date.UTC(2026, 10, 26));
    expect(dayStart(Date.UTC(2026, 10, 26))).toBe(Date.UTC(2026, 10, 26));
    // Before 1970 still floors towards earlier time.
    expect(hourStart(-1)).toBe(-3_600_000);
  });

  it("turns dirty hours into the days to recompute, once each and in order", () => {
    const hours = [Date.UTC(2026, 10, 27, 5), Date.UTC(2026, 10, 26, 23), Date.UTC(2026, 10, 26, 1)];
    expect(daysOfHours(hours)).toEqual([Date.UTC(2026, 10, 26), Date.UTC(2026, 10, 27)]);
  });

  it("reads binary classes from booleans, 0/1 numbers and the model's two class labels", () => {
    expect([true, false, 1, 0].map((v) => binaryClass(v, []))).toEqual([1, 0, 1, 0]);
    expect(["yes", "no", "maybe"].map((v) => binaryClass(v, ["no", "yes"]))).toEqual([1, 0, undefined]);
    expect([2, 0.5, "yes", null].map((v) => binaryClass(v, []))).toEqual([undefined, undefined, undefined, undefined]);
  });
});

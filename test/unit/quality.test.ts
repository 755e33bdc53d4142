// Data quality of a bucket against the baseline's profile: missing, out-of-range and unseen values.
import { describe, expect, it } from "vitest";
import { categoricalProfile, categoricalQuality, numericProfile, numericQuality } from "../../server/src/monitoring/quality.js";

describe("data quality", () => {
  it("counts missing values over records and out-of-range values over present ones", () => {
    const baseline = numericProfile([3, null, -1, 7.5]);
    expect(baseline).toEqual({ min: -1, max: 7.5 });
    const q = numericQuality([null, null, -1, 7.5, 7.6, -2, 0], baseline);
    expect(q).toEqual({ count: 7, missing: 2, missingRate: 2 / 7, outOfRange: 2, outOfRangeRate: 2 / 5 });
  });

  it("has no range to break when the baseline holds no value, and no rates for an empty bucket", () => {
    expect(numericProfile([null, null])).toBeUndefined();
    expect(numericQuality([1, null], undefined)).toEqual({ count: 2, missing: 1, missingRate: 0.5, outOfRange: 0, outOfRangeRate: undefined });
    expect(numericQuality([], { min: 0, max: 1 })).toEqual({ count: 0, missing: 0, missingRate: undefined, outOfRange: 0, outOfRangeRate: undefined });
  });

  it("counts categories the baseline never held", () => {
    const baseline = categoricalProfile(["a", "b", null, "a"]);
    expect(categoricalQuality(["a", "c", null, "d", "b"], baseline)).toEqual({ count: 5, missing: 1, missingRate: 0.2, unseen: 2, unseenRate: 0.5 });
    expect(categoricalQuality([null], baseline).unseenRate).toBeUndefined();
  });
});

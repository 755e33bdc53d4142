// Drift statistics against SciPy and NumPy: the cases and reference values come from
// test/reference/drift_reference.py (seeded; rerun it to regenerate test/reference/drift-cases.json).
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import {
  binCounts,
  categoricalDrift,
  chiSquareHomogeneity,
  chiSquareSf,
  decileEdges,
  jensenShannonDistance,
  kolmogorovSmirnovSf,
  ksTwoSample,
  logGamma,
  numericBaseline,
  numericDrift,
  psi,
  PSI_PSEUDO_COUNT,
  smirnovSf,
  wasserstein1,
} from "../../server/src/monitoring/drift.js";

interface NumericCase {
  name: string;
  kind: "numeric";
  baseline: number[];
  current: number[];
  expected: {
    edges: number[];
    baselineBins: number[];
    currentBins: number[];
    psi: number | null;
    jensenShannon: number | null;
    wasserstein: number | null;
    ksStatistic: number | null;
    ksPValue: number | null;
  };
}

interface CategoricalCase {
  name: string;
  kind: "categorical";
  baseline: [string, number][];
  current: [string, number][];
  expected: {
    categories: string[];
    psi: number | null;
    jensenShannon: number | null;
    chiSquare: number | null;
    chiSquarePValue: number | null;
    chiSquareDegreesOfFreedom: number | null;
  };
}

interface ReferenceDocument {
  pseudoCount: number;
  cases: (NumericCase | CategoricalCase)[];
  kolmogorovSmirnovSf: { n: number; d: number; sf: number; region: string }[];
  smirnovSf: { n: number; x: number; sf: number }[];
  chiSquareSf: { x: number; dof: number; sf: number }[];
}

const reference = JSON.parse(readFileSync(new URL("../reference/drift-cases.json", import.meta.url), "utf8")) as ReferenceDocument;

/** Largest deviation seen per statistic, relative to SciPy's value (absolute where SciPy says 0). */
const worst = new Map<string, number>();

function record(statistic: string, actual: number, expected: number): void {
  const deviation = expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
  worst.set(statistic, Math.max(worst.get(statistic) ?? 0, deviation));
}

/** The tolerance for metrics and statistics: 1e-9 relative, 1e-12 absolute near zero. */
function expectStatistic(actual: number | undefined, expected: number | null, statistic: string, what: string): void {
  if (expected === null) {
    expect(actual, `${what} should be undefined`).toBeUndefined();
    return;
  }
  expect(typeof actual, `${what} should be a number`).toBe("number");
  const got = actual as number;
  expect(Math.abs(got - expected), `${what}: ${got} vs ${expected}`).toBeLessThanOrEqual(Math.max(1e-9 * Math.abs(expected), 1e-12));
  record(statistic, got, expected);
}

/** The tolerance for p-values: 1e-6 relative. */
function expectPValue(actual: number | undefined, expected: number | null, statistic: string, what: string): void {
  if (expected === null) {
    expect(actual, `${what} should be undefined`).toBeUndefined();
    return;
  }
  expect(typeof actual, `${what} should be a number`).toBe("number");
  const got = actual as number;
  expect(Math.abs(got - expected), `${what}: ${got} vs ${expected}`).toBeLessThanOrEqual(1e-6 * Math.abs(expected));
  record(statistic, got, expected);
}

describe("numeric drift matches SciPy and NumPy", () => {
  it("uses the pseudo-count the reference script used", () => {
    expect(PSI_PSEUDO_COUNT).toBe(reference.pseudoCount);
  });

  for (const c of reference.cases.filter((c): c is NumericCase => c.kind === "numeric")) {
    it(c.name, () => {
      const report = numericDrift(numericBaseline(c.baseline), c.current);
      const e = c.expected;
      // Bins must be identical, not close: one value on the other side of an edge changes every binned statistic.
      expect(report.edges).toEqual(e.edges);
      expect(report.baselineBins).toEqual(e.baselineBins);
      expect(report.currentBins).toEqual(e.currentBins);
      expectStatistic(report.psi, e.psi, "PSI (numeric)", "psi");
      expectStatistic(report.jensenShannon, e.jensenShannon, "Jensen-Shannon (numeric)", "jensenShannon");
      expectStatistic(report.wasserstein, e.wasserstein, "Wasserstein-1", "wasserstein");
      expectStatistic(report.ksStatistic, e.ksStatistic, "KS statistic", "ksStatistic");
      expectPValue(report.ksPValue, e.ksPValue, "KS p-value", "ksPValue");
      for (const statistic of ["psi", "jensenShannon", "wasserstein", "ksStatistic", "ksPValue"] as const) {
        expect(report.gaps[statistic] !== undefined, `gap for ${statistic}`).toBe(e[statistic] === null);
      }
      // The stand-alone functions are the report's building blocks and must agree with it exactly.
      expect(decileEdges(c.baseline) ?? []).toEqual(report.edges);
      expect(wasserstein1(c.baseline, c.current)).toBe(report.wasserstein);
      expect(ksTwoSample(c.baseline, c.current)?.pValue).toBe(report.ksPValue);
    });
  }
});

describe("categorical drift matches SciPy", () => {
  for (const c of reference.cases.filter((c): c is CategoricalCase => c.kind === "categorical")) {
    it(c.name, () => {
      const report = categoricalDrift(new Map(c.baseline), new Map(c.current));
      const e = c.expected;
      expect(report.categories).toEqual(e.categories);
      expectStatistic(report.psi, e.psi, "PSI (categorical)", "psi");
      expectStatistic(report.jensenShannon, e.jensenShannon, "Jensen-Shannon (categorical)", "jensenShannon");
      expectStatistic(report.chiSquare, e.chiSquare, "chi-square statistic", "chiSquare");
      expectPValue(report.chiSquarePValue, e.chiSquarePValue, "chi-square p-value", "chiSquarePValue");
      expect(report.chiSquareDegreesOfFreedom).toBe(e.chiSquareDegreesOfFreedom ?? undefined);
      expect(report.gaps.chiSquare !== undefined, "gap for chiSquare").toBe(e.chiSquare === null);
    });
  }
});

describe("p-value distributions match SciPy over every region", () => {
  it(`kstwo.sf at ${reference.kolmogorovSmirnovSf.length} points`, () => {
    for (const { n, d, sf, region } of reference.kolmogorovSmirnovSf) expectPValue(kolmogorovSmirnovSf(n, d), sf, "kstwo.sf grid", `n=${n} d=${d} (${region})`);
  });

  it(`special.smirnov at ${reference.smirnovSf.length} points`, () => {
    for (const { n, x, sf } of reference.smirnovSf) expectPValue(smirnovSf(n, x), sf, "smirnov grid", `n=${n} x=${x}`);
  });

  it(`chi2.sf at ${reference.chiSquareSf.length} points, down to 1e-299`, () => {
    for (const { x, dof, sf } of reference.chiSquareSf) expectPValue(chiSquareSf(x, dof), sf, "chi2.sf grid", `x=${x} dof=${dof}`);
  });
});

describe("drift by hand", () => {
  it("gives zero drift for identical samples", () => {
    const sample = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5];
    const report = numericDrift(numericBaseline(sample), [...sample].reverse());
    expect([report.psi, report.jensenShannon, report.wasserstein, report.ksStatistic, report.ksPValue]).toEqual([0, 0, 0, 0, 1]);
    const counts = new Map([
      ["a", 4],
      ["b", 7],
    ]);
    const categorical = categoricalDrift(counts, counts);
    expect([categorical.psi, categorical.jensenShannon, categorical.chiSquare, categorical.chiSquarePValue]).toEqual([0, 0, 0, 1]);
  });

  it("places decile edges by linear interpolation and closes bins on the right", () => {
    const edges = decileEdges([10, 9, 8, 7, 6, 5, 4, 3, 2, 1])!;
    [1.9, 2.8, 3.7, 4.6, 5.5, 6.4, 7.3, 8.2, 9.1].forEach((edge, i) => expect(edges[i]).toBeCloseTo(edge, 12));
    expect(binCounts([-100, edges[0]!, 1.95, 9.1000001, 100], edges)).toEqual([2, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
    expect(decileEdges([5, 5, 5])).toEqual([5]);
    expect(binCounts([4, 5, 5.1], [5])).toEqual([2, 1]);
    expect(decileEdges([])).toBeUndefined();
  });

  it("computes PSI and Jensen-Shannon from their formulas", () => {
    // With the ½ pseudo-count the proportions become exactly (½, ½) and (¾, ¼): PSI = ¼ ln 1.5 − ¼ ln 0.5 = ¼ ln 3.
    expect(psi([49.5, 49.5], [74.5, 24.5])).toBeCloseTo(Math.log(3) / 4, 14);
    expect(psi([1, 0], [0, 1], 1e-9)).toBeGreaterThan(30);
    expect(jensenShannonDistance([5, 0], [0, 2])).toBe(1);
    const halfAndHalfAgainstOne = Math.sqrt((0.5 * (Math.log2(2 / 3) + 1)) / 2 + Math.log2(4 / 3) / 2);
    expect(jensenShannonDistance([1, 1], [1, 0])).toBeCloseTo(halfAndHalfAgainstOne, 14);
    expect(psi([0, 0], [1, 2])).toBeUndefined();
    expect(jensenShannonDistance([1, 2], [0, 0])).toBeUndefined();
  });

  it("computes Wasserstein-1 and KS by hand", () => {
    expect(wasserstein1([0, 1], [2, 3])).toBe(2);
    expect(wasserstein1([0], [1, 3])).toBe(2);
    expect(wasserstein1(new Float64Array([1, 2]), [])).toBeUndefined();
    // One record against four: the effective size is 1, where P(D₁ ≥ d) = 2(1 − d).
    expect(ksTwoSample([1, 2, 3, 4], [3.5])).toEqual({ statistic: 0.75, pValue: 0.5, effectiveSize: 1 });
    expect(ksTwoSample([1, 2, 3], [4, 5, 6])).toEqual({ statistic: 1, pValue: 0, effectiveSize: 2 });
    expect(ksTwoSample([], [1])).toBeUndefined();
  });

  it("rounds the effective KS size half to even, as NumPy does", () => {
    const sizeOf = (n: number): number => ksTwoSample(Array.from({ length: n }, (_, i) => i), Array.from({ length: n }, (_, i) => i + 0.5))!.effectiveSize;
    expect([3, 5, 7, 9].map(sizeOf)).toEqual([2, 2, 4, 4]);
  });

  it("approaches Kolmogorov's limit for large n", () => {
    // K(1) = 2 Σ (−1)^(k−1) e^(−2k²); the finite-n correction is of order 1/√n.
    let limit = 0;
    for (let k = 1; k <= 20; k++) limit += 2 * (-1) ** (k - 1) * Math.exp(-2 * k * k);
    expect(Math.abs(kolmogorovSmirnovSf(1_000_000, 1 / 1000) - limit)).toBeLessThan(1e-3);
  });

  it("evaluates chi-square tails with closed forms", () => {
    // Even degrees of freedom have finite sums: sf(x, 2) = e^(−x/2), sf(x, 4) = e^(−x/2)(1 + x/2).
    for (const x of [0.1, 3, 40, 1000]) {
      expect(chiSquareSf(x, 2) / Math.exp(-x / 2)).toBeCloseTo(1, 13);
      expect(chiSquareSf(x, 4) / (Math.exp(-x / 2) * (1 + x / 2))).toBeCloseTo(1, 13);
    }
    expect(chiSquareHomogeneity([10, 0], [0, 10])).toEqual({ statistic: 20, pValue: chiSquareSf(20, 1), degreesOfFreedom: 1 });
    expect(chiSquareHomogeneity([3, 0], [0, 0])).toBeUndefined();
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 14);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 13);
  });

  it("reports undefined statistics with the reason", () => {
    const noCurrent = numericDrift(numericBaseline([1, 2, 3]), []);
    expect([noCurrent.psi, noCurrent.wasserstein, noCurrent.ksStatistic]).toEqual([undefined, undefined, undefined]);
    expect(noCurrent.gaps.ksPValue).toBe("empty current");
    expect(noCurrent.currentBins).toEqual(new Array(10).fill(0));
    const noBaseline = numericDrift(numericBaseline([]), [1]);
    expect(noBaseline.gaps.psi).toBe("empty baseline");
    expect(noBaseline.edges).toEqual([]);
    const single = numericDrift(numericBaseline([1]), [2]);
    expect(single.ksStatistic).toBe(1);
    expect(single.ksPValue).toBeUndefined();
    expect(single.gaps).toEqual({ ksPValue: "effective sample size rounds to 0" });
    const categorical = categoricalDrift(new Map(), new Map([["a", 1]]));
    expect(categorical.gaps.chiSquarePValue).toBe("empty baseline");
    expect(categorical.chiSquare).toBeUndefined();
  });

  it("refuses values that are not finite and counts that are negative", () => {
    expect(() => numericBaseline([1, Number.NaN])).toThrow(RangeError);
    expect(() => wasserstein1([1], [Number.POSITIVE_INFINITY])).toThrow(RangeError);
    expect(() => psi([1, -1], [1, 1])).toThrow(RangeError);
    expect(() => psi([1, 2], [1])).toThrow(RangeError);
    expect(() => categoricalDrift(new Map([["a", -2]]), new Map([["a", 1]]))).toThrow(RangeError);
  });
});

afterAll(() => {
  // Printed for the closing note; each bound above is the tolerance.
  const lines = [...worst].map(([statistic, deviation]) => `  ${statistic}: ${deviation.toExponential(2)}`);
  console.log(`largest relative deviation from SciPy, per statistic:\n${lines.join("\n")}`);
});

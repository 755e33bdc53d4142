// Performance metrics against scikit-learn: the cases and reference values come from
// test/reference/metrics_reference.py (seeded; rerun it to regenerate test/reference/metrics-cases.json).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { binaryMetrics, classify, regressionMetrics, sigmoid } from "../../server/src/monitoring/metrics.js";

interface BinaryCase {
  name: string;
  kind: "binary";
  scoreType: "probits" | "logits" | "classification";
  threshold: number;
  labels: number[];
  scores: number[] | null;
  predicted: number[];
  expected: Record<string, unknown>;
}

interface RegressionCase {
  name: string;
  kind: "regression";
  labels: number[];
  predictions: number[];
  expected: Record<string, unknown>;
}

const { cases } = JSON.parse(readFileSync(new URL("../reference/metrics-cases.json", import.meta.url), "utf8")) as {
  cases: (BinaryCase | RegressionCase)[];
};

/** The tolerance: 1e-9 relative, 1e-12 absolute near zero. */
function expectClose(actual: unknown, expected: unknown, what: string): void {
  if (expected === null) {
    expect(actual, `${what} should be undefined`).toBeUndefined();
    return;
  }
  if (typeof expected === "object") {
    expect(actual, what).toEqual(expected);
    return;
  }
  expect(typeof actual, `${what} should be a number`).toBe("number");
  const deviation = Math.abs((actual as number) - (expected as number));
  expect(deviation, `${what}: ${String(actual)} vs ${String(expected)}`).toBeLessThanOrEqual(Math.max(1e-9 * Math.abs(expected as number), 1e-12));
  worst = Math.max(worst, deviation / Math.max(Math.abs(expected as number), 1e-3));
}
let worst = 0;

describe("binary classification metrics match scikit-learn", () => {
  for (const c of cases.filter((c): c is BinaryCase => c.kind === "binary")) {
    it(c.name, () => {
      const probabilities = c.scores === null ? undefined : c.scoreType === "logits" ? c.scores.map(sigmoid) : c.scores;
      const predicted = probabilities === undefined ? c.predicted : Array.from(classify(probabilities, c.threshold));
      expect(predicted).toEqual(c.predicted);
      const got = binaryMetrics({ labels: c.labels, probabilities, predicted }) as unknown as Record<string, unknown>;
      for (const [metric, expected] of Object.entries(c.expected)) expectClose(got[metric], expected, metric);
    });
  }
});

describe("regression metrics match scikit-learn", () => {
  for (const c of cases.filter((c): c is RegressionCase => c.kind === "regression")) {
    it(c.name, () => {
      const got = regressionMetrics(c.labels, c.predictions) as unknown as Record<string, unknown>;
      for (const [metric, expected] of Object.entries(c.expected)) expectClose(got[metric], expected, metric);
    });
  }
});

describe("metric edge cases", () => {
  it("says AUC is undefined, not a number, when one class is missing, and handles an empty bucket", () => {
    expect(binaryMetrics({ labels: [1, 1], probabilities: [0.2, 0.9], predicted: [0, 1] }).rocAuc).toBeUndefined();
    const empty = binaryMetrics({ labels: [], probabilities: [], predicted: [] });
    expect([empty.accuracy, empty.rocAuc, empty.logLoss, empty.brierScore, empty.precision]).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(regressionMetrics([], []).meanAbsoluteError).toBeUndefined();
  });

  it("keeps extreme logits finite and ordered", () => {
    expect(sigmoid(800)).toBe(1);
    expect(sigmoid(-800)).toBe(0);
    expect(sigmoid(-40)).toBeGreaterThan(0);
    expect(binaryMetrics({ labels: [1, 0], probabilities: [sigmoid(-800), sigmoid(800)], predicted: [0, 1] }).logLoss).toBeCloseTo(-Math.log(Number.EPSILON), 9);
  });

  it("reports the largest relative deviation seen", () => {
    // Printed for the closing note; the bound is the tolerance.
    console.log(`largest relative deviation from scikit-learn: ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-9);
  });
});

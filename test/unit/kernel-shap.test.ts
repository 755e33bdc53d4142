// Kernel SHAP against closed forms (linear models), an independent brute-force Shapley implementation, and the
// module's own exact mode; plus the batching contract with the evaluator.
import { describe, expect, it } from "vitest";
import { kernelShap, type BatchEvaluator, type KernelShapOptions } from "../../server/src/influence/kernel-shap.js";

/** Test-local PRNG (xorshift32) so the data doesn't depend on the module's generator. */
function randomMatrix(n: number, m: number, seed: number, scale = 1): Float64Array {
  let s = seed >>> 0 || 1;
  const out = new Float64Array(n * m);
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

type Model = (row: Float64Array, o: number) => number;

function evaluator(model: Model, m: number): BatchEvaluator {
  return async (rows, n) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = model(rows, i * m);
    return out;
  };
}

interface Spy {
  f: BatchEvaluator;
  calls: number;
  rows: number;
  maxBatch: number;
  seen: string[];
}

function spy(model: Model, m: number, record = false): Spy {
  const base = evaluator(model, m);
  const s: Spy = {
    calls: 0,
    rows: 0,
    maxBatch: 0,
    seen: [],
    f: async (rows, n) => {
      s.calls++;
      s.rows += n;
      s.maxBatch = Math.max(s.maxBatch, n);
      expect(rows.length).toBe(n * m);
      if (record) for (let i = 0; i < n; i++) s.seen.push(Array.from(rows.subarray(i * m, i * m + m)).join(","));
      return base(rows, n);
    },
  };
  return s;
}

const opts = (o: Partial<KernelShapOptions>): KernelShapOptions => ({
  samples: 2048,
  exactUpTo: 4096,
  seed: 7,
  maxBatchRows: 4096,
  ...o,
});

/**
 * Brute force by the permutation definition: φ_i = mean over all orderings of v(pre ∪ {i}) − v(pre), with the
 * interventional v computed row by row (no batching, no bitmasks).
 */
function bruteForceShapley(model: Model, bg: Float64Array, nBg: number, x: Float64Array, m: number): Float64Array {
  const v = (inS: boolean[]): number => {
    let total = 0;
    const mixed = new Float64Array(m);
    for (let b = 0; b < nBg; b++) {
      for (let j = 0; j < m; j++) mixed[j] = inS[j] ? x[j]! : bg[b * m + j]!;
      total += model(mixed, 0);
    }
    return total / nBg;
  };
  const phi = new Float64Array(m);
  let count = 0;
  const perm: number[] = [];
  const used = new Array<boolean>(m).fill(false);
  const visit = (): void => {
    if (perm.length === m) {
      count++;
      const inS = new Array<boolean>(m).fill(false);
      let prev = v(inS);
      for (const i of perm) {
        inS[i] = true;
        const next = v(inS);
        phi[i]! += next - prev;
        prev = next;
      }
      return;
    }
    for (let i = 0; i < m; i++) {
      if (used[i]) continue;
      used[i] = true;
      perm.push(i);
      visit();
      perm.pop();
      used[i] = false;
    }
  };
  visit();
  for (let i = 0; i < m; i++) phi[i]! /= count;
  return phi;
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

function expectAdditive(r: { values: Float64Array; base: number; fx: Float64Array }, nRows: number, m: number): void {
  for (let i = 0; i < nRows; i++) {
    let s = r.base;
    for (let j = 0; j < m; j++) s += r.values[i * m + j]!;
    expect(Math.abs(s - r.fx[i]!)).toBeLessThan(1e-9);
  }
}

const nonlinear5: Model = (r, o) =>
  r[o]! * r[o + 1]! +
  Math.max(r[o + 2]!, r[o + 3]!) +
  (r[o + 4]! > 0.1 ? 1.5 : -0.25) +
  r[o]! * r[o + 2]! * r[o + 4]! +
  (r[o + 1]! > r[o + 3]! ? r[o]! : 0);

const nonlinear10: Model = (r, o) => {
  let s = 0;
  for (let j = 0; j < 9; j++) s += r[o + j]! * r[o + j + 1]! * (j % 3 === 0 ? 2 : 0.5);
  s += Math.max(r[o]!, r[o + 5]!, r[o + 9]!);
  s += r[o + 3]! > 0 ? r[o + 7]! : -r[o + 8]!;
  s += r[o + 2]! > 0.2 && r[o + 6]! < 0 ? 1 : 0;
  return s + Math.tanh(r[o + 4]! * 3);
};

describe("kernelShap on a linear model", () => {
  const m = 8;
  const nBg = 25;
  const nRows = 6;
  const w = Float64Array.from([1.5, -2, 0.3, 4, -0.7, 0, 2.2, -1.1]);
  const c = 0.37;
  const model: Model = (r, o) => {
    let s = c;
    for (let j = 0; j < m; j++) s += w[j]! * r[o + j]!;
    return s;
  };
  const bg = randomMatrix(nBg, m, 11);
  const x = randomMatrix(nRows, m, 12, 2);
  const expected = new Float64Array(nRows * m);
  for (let j = 0; j < m; j++) {
    let mean = 0;
    for (let b = 0; b < nBg; b++) mean += bg[b * m + j]!;
    mean /= nBg;
    for (let i = 0; i < nRows; i++) expected[i * m + j] = w[j]! * (x[i * m + j]! - mean);
  }

  it("exact mode gives w_i (x_i − mean b_i)", async () => {
    const r = await kernelShap(evaluator(model, m), bg, nBg, m, x, nRows, opts({}));
    expect(r.exact).toBe(true);
    expect(maxAbsDiff(r.values, expected)).toBeLessThan(1e-9);
    expectAdditive(r, nRows, m);
  });

  it("sampled mode is exact too, even with a budget far below 2^M", async () => {
    // 40 < 2^8 − 2 = 254, so most coalitions come from random draws.
    const r = await kernelShap(evaluator(model, m), bg, nBg, m, x, nRows, opts({ exactUpTo: 0, samples: 40 }));
    expect(r.exact).toBe(false);
    expect(maxAbsDiff(r.values, expected)).toBeLessThan(1e-9);
    expectAdditive(r, nRows, m);
  });
});

describe("kernelShap exact mode on a nonlinear model (M = 5)", () => {
  const m = 5;
  const nBg = 9;
  const nRows = 4;
  const bg = randomMatrix(nBg, m, 21);
  const x = randomMatrix(nRows, m, 22, 1.5);

  it("matches the brute-force permutation formula", async () => {
    const r = await kernelShap(evaluator(nonlinear5, m), bg, nBg, m, x, nRows, opts({}));
    expect(r.exact).toBe(true);
    let worst = 0;
    for (let i = 0; i < nRows; i++) {
      const ref = bruteForceShapley(nonlinear5, bg, nBg, x.subarray(i * m, i * m + m), m);
      worst = Math.max(worst, maxAbsDiff(r.values.subarray(i * m, i * m + m), ref));
      expect(r.fx[i]).toBe(nonlinear5(x, i * m));
    }
    expect(worst).toBeLessThan(1e-9);
    let meanF = 0;
    for (let b = 0; b < nBg; b++) meanF += nonlinear5(bg, b * m);
    expect(Math.abs(r.base - meanF / nBg)).toBeLessThan(1e-12);
    expectAdditive(r, nRows, m);
  });

  it("gives exactly 0 to a feature equal to x in every background row, and the rest still match", async () => {
    const bg2 = Float64Array.from(bg);
    const x2 = Float64Array.from(x);
    for (let b = 0; b < nBg; b++) bg2[b * m + 2] = 0.42;
    for (let i = 0; i < nRows; i++) x2[i * m + 2] = 0.42;
    for (const o of [opts({}), opts({ exactUpTo: 0, samples: 14 })]) {
      const r = await kernelShap(evaluator(nonlinear5, m), bg2, nBg, m, x2, nRows, o);
      for (let i = 0; i < nRows; i++) {
        expect(r.values[i * m + 2]).toBe(0);
        const ref = bruteForceShapley(nonlinear5, bg2, nBg, x2.subarray(i * m, i * m + m), m);
        expect(maxAbsDiff(r.values.subarray(i * m, i * m + m), ref)).toBeLessThan(1e-9);
      }
      // 4 varying features → 2^4 − 2 = 14 coalitions, so the sampled run enumerates completely.
      expect(r.exact).toBe(true);
      expectAdditive(r, nRows, m);
    }
  });

  it("splits a coalition's background block across calls when maxBatchRows < nBg", async () => {
    const s = spy(nonlinear5, m);
    const r = await kernelShap(s.f, bg, nBg, m, x, nRows, opts({ maxBatchRows: 4 }));
    const ref = await kernelShap(evaluator(nonlinear5, m), bg, nBg, m, x, nRows, opts({}));
    expect(maxAbsDiff(r.values, ref.values)).toBeLessThan(1e-12);
    expect(s.maxBatch).toBe(4);
    expect(s.calls).toBe(Math.ceil(s.rows / 4));
  });
});

describe("kernelShap sampled mode on a nonlinear model (M = 10)", () => {
  const m = 10;
  const nBg = 12;
  const nRows = 5;
  const bg = randomMatrix(nBg, m, 31);
  const x = randomMatrix(nRows, m, 32, 1.5);

  it("with samples >= 2^M − 2 enumerates every coalition and equals the exact values", async () => {
    const exact = await kernelShap(evaluator(nonlinear10, m), bg, nBg, m, x, nRows, opts({}));
    const s = spy(nonlinear10, m);
    const sampled = await kernelShap(s.f, bg, nBg, m, x, nRows, opts({ exactUpTo: 0, samples: 2046 }));
    expect(exact.exact).toBe(true);
    expect(sampled.exact).toBe(true);
    expect(maxAbsDiff(sampled.values, exact.values)).toBeLessThan(1e-9);
    expect(s.rows).toBe(nBg + nRows + nRows * 1022 * nBg);
    expectAdditive(exact, nRows, m);
    expectAdditive(sampled, nRows, m);
  });

  it("with samples = 300 stays close to the exact values", async () => {
    const exact = await kernelShap(evaluator(nonlinear10, m), bg, nBg, m, x, nRows, opts({}));
    const sampled = await kernelShap(evaluator(nonlinear10, m), bg, nBg, m, x, nRows, opts({ exactUpTo: 0, samples: 300 }));
    expect(sampled.exact).toBe(false);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of exact.values) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const rel = maxAbsDiff(sampled.values, exact.values) / (hi - lo);
    // Measured max |φ_sampled − φ_exact| / (max φ − min φ): 0.0142 at seed 7; over seeds 0..39 median 0.0171,
    // worst 0.0279 (median 0.041 at samples = 100, 0.0047 at 1000). 0.04 leaves headroom over the worst seed.
    expect(rel).toBeGreaterThan(1e-6);
    expect(rel).toBeLessThan(0.04);
    expectAdditive(sampled, nRows, m);
  });

  it("is deterministic for a seed, batches up to maxBatchRows and evaluates no coalition twice", async () => {
    const o = opts({ exactUpTo: 0, samples: 300, maxBatchRows: 1000 });
    const a = spy(nonlinear10, m, true);
    const b = spy(nonlinear10, m);
    const r1 = await kernelShap(a.f, bg, nBg, m, x, nRows, o);
    const r2 = await kernelShap(b.f, bg, nBg, m, x, nRows, o);
    expect(Array.from(r2.values)).toEqual(Array.from(r1.values));
    expect(r2.base).toBe(r1.base);
    const r3 = await kernelShap(evaluator(nonlinear10, m), bg, nBg, m, x, nRows, { ...o, seed: 8 });
    expect(maxAbsDiff(r3.values, r1.values)).toBeGreaterThan(0);

    expect(a.maxBatch).toBeLessThanOrEqual(1000);
    expect(a.calls).toBeLessThanOrEqual(Math.ceil(a.rows / 1000) + nRows);
    // Every call but the last is full.
    expect(a.calls).toBe(Math.ceil(a.rows / 1000));
    expect(a.rows).toBeLessThanOrEqual(nBg + nRows + nRows * 300 * nBg);
    // x and background values all differ, so a repeated mixed row would mean a coalition evaluated twice.
    expect(new Set(a.seen).size).toBe(a.seen.length);
    // Duplicate merging must not shrink the budget much: shap fills it unless draws run out.
    expect(a.rows).toBeGreaterThan(nBg + nRows + nRows * 290 * nBg);
  });

  it("gives a row the same values alone as inside a batch (draws are seeded by the row, not its position)", async () => {
    const o = opts({ exactUpTo: 0, samples: 300 });
    const all = await kernelShap(evaluator(nonlinear10, m), bg, nBg, m, x, nRows, o);
    const third = await kernelShap(evaluator(nonlinear10, m), bg, nBg, m, x.subarray(2 * m, 3 * m), 1, o);
    expect(Array.from(third.values)).toEqual(Array.from(all.values.subarray(2 * m, 3 * m)));
  });

  it("stays finite and additive when the budget is below the number of features", async () => {
    const r = await kernelShap(evaluator(nonlinear10, m), bg, nBg, m, x, nRows, opts({ exactUpTo: 0, samples: 4 }));
    for (const v of r.values) expect(Number.isFinite(v)).toBe(true);
    expectAdditive(r, nRows, m);
  });
});

describe("kernelShap input validation", () => {
  const f = evaluator((r, o) => r[o]!, 2);
  const bg = new Float64Array(4);
  const x = new Float64Array(2);

  it("rejects bad sizes with RangeError", async () => {
    await expect(kernelShap(f, bg, 2, 0, x, 1, opts({}))).rejects.toThrow(RangeError);
    await expect(kernelShap(f, bg, 0, 2, x, 1, opts({}))).rejects.toThrow(/nBg/);
    await expect(kernelShap(f, bg, 3, 2, x, 1, opts({}))).rejects.toThrow(/background has 4 values/);
    await expect(kernelShap(f, bg, 2, 2, x, 2, opts({}))).rejects.toThrow(/rows has 2 values/);
    await expect(kernelShap(f, bg, 2, 2, x, 1, opts({ maxBatchRows: 0 }))).rejects.toThrow(/maxBatchRows/);
    await expect(kernelShap(f, bg, 2, 2, x, 1, opts({ samples: 1.5 }))).rejects.toThrow(/samples/);
  });

  it("rejects an evaluator that returns the wrong number of scores", async () => {
    const bad: BatchEvaluator = async (_rows, n) => new Float64Array(n + 1);
    await expect(kernelShap(bad, bg, 2, 2, Float64Array.from([1, 1]), 1, opts({}))).rejects.toThrow(RangeError);
  });
});

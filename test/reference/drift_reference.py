"""Reference values for server/src/monitoring/drift.ts, from SciPy and NumPy on seeded datasets.

Run: .venv-clients/bin/python test/reference/drift_reference.py  (writes test/reference/drift-cases.json)

Each numeric case holds a baseline and a current sample; each categorical case, two lists of [category, count]. The
expected values come from SciPy where SciPy has the statistic:

  Wasserstein-1   scipy.stats.wasserstein_distance(baseline, current)
  KS D, p-value   scipy.stats.ks_2samp(baseline, current, method="asymp")   (two-sided)
  Jensen-Shannon  scipy.spatial.distance.jensenshannon(baseline_bins, current_bins, base=2)
  chi-square      scipy.stats.chi2_contingency([baseline, current], correction=False)

and from NumPy for what SciPy has no function for: the decile edges (numpy.quantile, linear), the bins
(numpy.searchsorted) and PSI by its documented formula, cross-checked against the symmetric Kullback-Leibler form
that scipy.stats.entropy gives. Direct grids of kstwo.sf, smirnov and chi2.sf cover every region of the p-value
algorithms. What SciPy cannot define (an empty side, a NaN p-value) is written as null; the service must report it
as undefined.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.spatial.distance import jensenshannon
from scipy.special import smirnov
from scipy.stats import chi2, chi2_contingency, entropy, ks_2samp, kstwo, wasserstein_distance

OUT = Path(__file__).with_name("drift-cases.json")

# Must equal PSI_PSEUDO_COUNT in drift.ts.
PSEUDO_COUNT = 0.5
DECILE_LEVELS = [k / 10 for k in range(1, 10)]
# Below this a double has lost relative precision (subnormals), so a p-value there cannot be held to 1e-6 relative.
SMALLEST_COMPARABLE = 1e-300


def number(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def decile_edges(baseline: np.ndarray) -> np.ndarray:
    return np.unique(np.quantile(baseline, DECILE_LEVELS, method="linear"))


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    # side="left" gives the number of edges strictly below each value, i.e. right-closed bins (e_i-1, e_i].
    return np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)


def psi(baseline: np.ndarray, current: np.ndarray) -> float | None:
    if baseline.sum() == 0 or current.sum() == 0:
        return None
    k = len(baseline)
    expected = (baseline + PSEUDO_COUNT) / (baseline.sum() + k * PSEUDO_COUNT)
    actual = (current + PSEUDO_COUNT) / (current.sum() + k * PSEUDO_COUNT)
    value = float(np.sum((actual - expected) * np.log(actual / expected)))
    symmetric_kl = float(entropy(actual, expected) + entropy(expected, actual))
    assert abs(value - symmetric_kl) <= 1e-12 * max(1.0, abs(value)), (value, symmetric_kl)
    return value


def js_distance(p: np.ndarray, q: np.ndarray) -> float | None:
    if p.sum() == 0 or q.sum() == 0:
        return None
    value = float(jensenshannon(p, q, base=2))
    assert not math.isnan(value), "a JS case too close to identical for SciPy's sum; pick another"
    return value


def ks_region(n: int, d: float) -> str:
    """Which branch of SciPy's kolmogn a (n, d) pair takes, for the coverage note in each case."""
    if d <= 0.5 / n:
        return "below support"
    if d >= 1:
        return "d >= 1"
    t = n * d
    if t <= 1:
        return "Ruben-Gambino low"
    if t >= n - 1:
        return "Ruben-Gambino high"
    if d >= 0.5:
        return "2 smirnov (d >= 0.5)"
    nd2 = t * d
    if n <= 140:
        return "Durbin" if nd2 <= 0.754693 else "Pomeranz" if nd2 <= 4 else "2 smirnov"
    if nd2 >= 370:
        return "zero"
    if nd2 >= 2.2:
        return "2 smirnov"
    return "Durbin" if n <= 100000 and n * d**1.5 <= 1.4 else "Pelz-Good"


def numeric_case(name: str, baseline_values: npt.ArrayLike, current_values: npt.ArrayLike) -> dict[str, Any]:
    baseline = np.asarray(baseline_values, dtype=float)
    current = np.asarray(current_values, dtype=float)
    expected: dict[str, Any] = {
        "edges": [],
        "baselineBins": [],
        "currentBins": [],
        "psi": None,
        "jensenShannon": None,
        "wasserstein": None,
        "ksStatistic": None,
        "ksPValue": None,
    }
    note = "empty side"
    if len(baseline):
        # The bins depend on the baseline alone, so an empty current side still has them (all zero).
        edges = decile_edges(baseline)
        expected.update(edges=[float(e) for e in edges], baselineBins=bin_counts(baseline, edges).tolist(), currentBins=bin_counts(current, edges).tolist())
    if len(baseline) and len(current):
        base_bins = np.array(expected["baselineBins"])
        cur_bins = np.array(expected["currentBins"])
        with warnings.catch_warnings():
            # n = m = 1 makes the effective size 0; SciPy warns and returns NaN, which is the point of that case.
            warnings.simplefilter("ignore", RuntimeWarning)
            ks = ks_2samp(baseline, current, method="asymp")
        m, n = sorted([float(len(baseline)), float(len(current))], reverse=True)
        effective = int(np.round(m * n / (m + n)))
        note = f"effective n {effective}, region {ks_region(effective, float(ks.statistic)) if effective else 'undefined'}"
        expected.update(
            psi=psi(base_bins, cur_bins),
            jensenShannon=js_distance(base_bins, cur_bins),
            wasserstein=number(wasserstein_distance(baseline, current)),
            ksStatistic=number(ks.statistic),
            ksPValue=number(ks.pvalue),
        )
    return {
        "name": name,
        "kind": "numeric",
        "note": note,
        "baseline": [float(v) for v in baseline],
        "current": [float(v) for v in current],
        "expected": expected,
    }


def categorical_case(name: str, baseline: list[tuple[str, int]], current: list[tuple[str, int]]) -> dict[str, Any]:
    base_map, cur_map = dict(baseline), dict(current)
    # The union in the order drift.ts documents: the baseline's categories, then the current side's new ones,
    # leaving out categories empty on both sides.
    order = [c for c, _ in baseline] + [c for c, _ in current if c not in base_map]
    categories = [c for c in order if base_map.get(c, 0) + cur_map.get(c, 0) > 0]
    base = np.array([base_map.get(c, 0) for c in categories], dtype=float)
    cur = np.array([cur_map.get(c, 0) for c in categories], dtype=float)
    expected: dict[str, Any] = {
        "categories": categories,
        "psi": psi(base, cur),
        "jensenShannon": js_distance(base, cur),
        "chiSquare": None,
        "chiSquarePValue": None,
        "chiSquareDegreesOfFreedom": None,
    }
    if base.sum() > 0 and cur.sum() > 0:
        result = chi2_contingency(np.array([base, cur]), correction=False)
        expected.update(chiSquare=float(result.statistic), chiSquarePValue=float(result.pvalue), chiSquareDegreesOfFreedom=int(result.dof))
    return {
        "name": name,
        "kind": "categorical",
        "baseline": [[c, int(v)] for c, v in baseline],
        "current": [[c, int(v)] for c, v in current],
        "expected": expected,
    }


def counts_of(labels: list[str], counts: np.ndarray) -> list[tuple[str, int]]:
    return [(label, int(count)) for label, count in zip(labels, counts)]


def kolmogorov_grid() -> list[dict[str, Any]]:
    points = []
    for n in (1, 2, 3, 5, 10, 26, 50, 140, 141, 500, 2500, 20000, 100000, 100001, 300000):
        xs = {0.3 / n, 0.5 / n, 0.75 / n, 1 / n, 1.5 / n, 0.45, 0.5, 0.55, 0.9, 1 - 1 / n, 1 - 0.5 / n, 1.0}
        for target in (0.05, 0.3, 0.754, 0.76, 1.0, 2.0, 2.19, 2.21, 3.9, 4.1, 10.0, 18.0, 60.0, 150.0, 300.0, 369.0, 371.0):
            xs.add(math.sqrt(target / n))
        xs.add(0.9 * (1.4 / n) ** (2 / 3))
        xs.add(1.1 * (1.4 / n) ** (2 / 3))
        for x in sorted(xs):
            if not 0 < x <= 1:
                continue
            p = float(kstwo.sf(x, n))
            if 0 < p < SMALLEST_COMPARABLE:
                continue
            points.append({"n": n, "d": x, "sf": p, "region": ks_region(n, x)})
    return points


def smirnov_grid() -> list[dict[str, Any]]:
    points = []
    for n in (1, 2, 7, 40, 141, 1000, 20000):
        for x in (0.5 / n, 1 / n, 0.01, 0.05, 0.1, 0.3, 0.5, 0.7, 1 - 1 / n, 0.999):
            if not 0 < x < 1:
                continue
            p = float(smirnov(n, x))
            if 0 < p < SMALLEST_COMPARABLE:
                continue
            points.append({"n": n, "x": x, "sf": p})
    return points


def chi_square_grid() -> list[dict[str, Any]]:
    points = []
    for dof in (1, 2, 3, 5, 10, 49, 199, 1000, 10000):
        for ratio in (0.0, 0.01, 0.3, 0.8, 1.0, 1.2, 2.0, 5.0):
            points.append({"x": ratio * dof, "dof": dof, "sf": float(chi2.sf(ratio * dof, dof))})
        # Deep tails, down to where doubles stop being normal.
        for exponent in (20, 100, 250, 299):
            x = float(chi2.isf(10.0**-exponent, dof))
            points.append({"x": x, "dof": dof, "sf": float(chi2.sf(x, dof))})
    return points


def main() -> None:
    rng = np.random.default_rng(20261127)

    def r4(values: np.ndarray) -> np.ndarray:
        # Four decimals keep the JSON small; the cases built for ties round much harder.
        return np.round(values, 4)

    cases: list[dict[str, Any]] = []

    cases.append(numeric_case("same distribution, 1000 vs 1000", r4(rng.normal(0, 1, 1000)), r4(rng.normal(0, 1, 1000))))
    cases.append(numeric_case("small shift, 5000 vs 5000", r4(rng.normal(0, 1, 5000)), r4(rng.normal(0.1, 1, 5000))))
    cases.append(numeric_case("large shift, tiny p-value, 5000 vs 5000", r4(rng.normal(0, 1, 5000)), r4(rng.normal(0.9, 1, 5000))))
    cases.append(numeric_case("wider spread, 5000 vs 1000", r4(rng.normal(0, 1, 5000)), r4(rng.normal(0, 2, 1000))))
    cases.append(numeric_case("no drift, 5000 vs 5000 (Pelz-Good region)", r4(rng.normal(0, 1, 5000)), r4(rng.normal(0, 1, 5000))))
    cases.append(numeric_case("no drift, 1000 vs 300 (effective n 231)", r4(rng.normal(0, 1, 1000)), r4(rng.normal(0, 1, 300))))
    cases.append(numeric_case("300 vs 200 (effective n 120)", r4(rng.normal(0, 1, 300)), r4(rng.normal(0.2, 1, 200))))
    cases.append(numeric_case("50 vs 50", r4(rng.normal(0, 1, 50)), r4(rng.normal(0.3, 1, 50))))
    cases.append(numeric_case("30 vs 20", r4(rng.normal(0, 1, 30)), r4(rng.normal(0, 1.5, 20))))
    base = r4(rng.normal(0, 1, 1000))
    for size in (1, 2, 10):
        cases.append(numeric_case(f"1000 vs {size}", base, r4(rng.normal(0.5, 1, size))))
    cases.append(numeric_case("10 vs 10", r4(rng.normal(0, 1, 10)), r4(rng.normal(1, 1, 10))))
    cases.append(numeric_case("5 vs 5 (effective n 2.5 rounds to 2)", r4(rng.normal(0, 1, 5)), r4(rng.normal(0, 1, 5))))
    cases.append(numeric_case("2 vs 1", [0.25, 1.5], [0.75]))
    cases.append(numeric_case("1 vs 1000", [0.5], r4(rng.normal(0, 1, 1000))))
    cases.append(numeric_case("one record each (p-value undefined)", [1.0], [2.0]))
    cases.append(numeric_case("ties: Poisson counts", rng.poisson(3, 2000).astype(float), rng.poisson(3.4, 800).astype(float)))
    cases.append(numeric_case("ties: one decimal", np.round(rng.normal(0, 1, 3000), 1), np.round(rng.normal(0.05, 1, 700), 1)))
    cases.append(numeric_case("ties: mostly one value", np.concatenate([np.zeros(90), r4(rng.uniform(1, 2, 10))]), np.concatenate([np.zeros(40), r4(rng.uniform(1, 3, 20))])))
    cases.append(numeric_case("all baseline values equal", np.full(200, 5.0), r4(rng.normal(5, 1, 100))))
    cases.append(numeric_case("all current values equal", r4(rng.normal(5, 1, 200)), np.full(100, 5.0)))
    cases.append(numeric_case("both constant, same value", np.full(200, 5.0), np.full(50, 5.0)))
    cases.append(numeric_case("both constant, different values", np.full(200, 5.0), np.full(50, 7.0)))
    cases.append(numeric_case("large values, small spread", np.round(1e6 + rng.normal(0, 1, 2000), 6), np.round(1e6 + rng.normal(0.01, 1, 2000), 6)))
    cases.append(numeric_case("prediction scores in [0, 1]", r4(rng.beta(2, 5, 2000)), r4(rng.beta(2.5, 5, 500))))
    cases.append(numeric_case("empty current", r4(rng.normal(0, 1, 100)), []))
    cases.append(numeric_case("empty baseline", [], r4(rng.normal(0, 1, 10))))

    labels = ["a", "b", "c", "d"]
    cases.append(categorical_case("same distribution", counts_of(labels[:3], rng.multinomial(1000, [0.5, 0.3, 0.2])), counts_of(labels[:3], rng.multinomial(1000, [0.5, 0.3, 0.2]))))
    cases.append(categorical_case("shifted proportions", counts_of(labels[:3], rng.multinomial(2000, [0.5, 0.3, 0.2])), counts_of(labels[:3], rng.multinomial(500, [0.3, 0.3, 0.4]))))
    cases.append(categorical_case("category unseen in the baseline", counts_of(labels[:3], rng.multinomial(2000, [0.5, 0.3, 0.2])), counts_of(labels, rng.multinomial(400, [0.45, 0.3, 0.2, 0.05]))))
    cases.append(categorical_case("baseline category missing from the current", counts_of(labels, rng.multinomial(2000, [0.4, 0.3, 0.2, 0.1])), counts_of(["b", "a", "d"], rng.multinomial(300, [0.3, 0.5, 0.2]))))
    cases.append(categorical_case("two categories (one degree of freedom, no continuity correction)", [("yes", 700), ("no", 300)], [("yes", 40), ("no", 35)]))
    cases.append(categorical_case("one category on both sides", [("only", 500)], [("only", 20)]))
    cases.append(categorical_case("a single current record", counts_of(labels, rng.multinomial(1000, [0.4, 0.3, 0.2, 0.1])), [("c", 1)]))
    cases.append(categorical_case("categories listed with zero counts", [("a", 10), ("z", 0), ("b", 5)], [("z", 0), ("b", 7), ("a", 3)]))
    cases.append(categorical_case("large counts, tiny p-value", counts_of(labels, rng.multinomial(3_000_000, [0.4, 0.3, 0.2, 0.1])), counts_of(labels, rng.multinomial(1_000_000, [0.385, 0.3, 0.215, 0.1]))))
    many = [f"c{i:03d}" for i in range(200)]
    weights = rng.dirichlet(np.full(200, 0.5))
    cases.append(categorical_case("200 categories", counts_of(many, rng.multinomial(20000, weights)), counts_of(many, rng.multinomial(3000, rng.dirichlet(np.full(200, 0.5) + 3000 * weights)))))
    cases.append(categorical_case("empty current", [("a", 5), ("b", 3)], []))
    cases.append(categorical_case("empty baseline", [], [("a", 5)]))

    grids: dict[str, list[dict[str, Any]]] = {
        "kolmogorovSmirnovSf": kolmogorov_grid(),
        "smirnovSf": smirnov_grid(),
        "chiSquareSf": chi_square_grid(),
    }
    document = {
        "generator": "test/reference/drift_reference.py",
        "pseudoCount": PSEUDO_COUNT,
        "cases": cases,
        **grids,
    }
    OUT.write_text(json.dumps(document, indent=None, separators=(",", ":"), allow_nan=False) + "\n")
    print(f"wrote {len(cases)} cases and {sum(len(points) for points in grids.values())} distribution points to {OUT}")


if __name__ == "__main__":
    main()

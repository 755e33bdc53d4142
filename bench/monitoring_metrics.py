"""Run through bench/monitoring.ts, which writes the arrays and reads the JSON this prints.

Times scikit-learn and SciPy on the same float64 arrays the TypeScript metric functions were timed on, each group
best of --repeat, and reports the values so the caller can check that both sides computed the same thing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import Callable

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, wasserstein_distance
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    log_loss,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    precision_recall_fscore_support,
    r2_score,
    roc_auc_score,
)

DECILES = [k / 10 for k in range(1, 10)]


def best_of(repeat: int, fn: Callable[[], dict[str, float]]) -> tuple[float, dict[str, float]]:
    best = float("inf")
    values: dict[str, float] = {}
    for _ in range(repeat):
        started = time.perf_counter()
        values = fn()
        best = min(best, (time.perf_counter() - started) * 1000)
    return best, values


def binary(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    predicted = (probabilities >= 0.5).astype(np.int64)
    tn, fp, fn, tp = confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    precision, recall, f1, _ = precision_recall_fscore_support(labels, predicted, average="binary", zero_division=np.nan)
    return {
        "true_negatives": float(tn),
        "false_positives": float(fp),
        "false_negatives": float(fn),
        "true_positives": float(tp),
        "accuracy": float((tp + tn) / labels.size),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": float(roc_auc_score(labels, probabilities)),
        "average_precision": float(average_precision_score(labels, probabilities)),
        "log_loss": float(log_loss(labels, probabilities, labels=[0, 1])),
        "brier_score": float(brier_score_loss(labels, probabilities)),
    }


def regression(y: np.ndarray, y_hat: np.ndarray) -> dict[str, float]:
    return {
        "mae": float(mean_absolute_error(y, y_hat)),
        "mse": float(mean_squared_error(y, y_hat)),
        "r2": float(r2_score(y, y_hat)),
        "mape": float(mean_absolute_percentage_error(y, y_hat)),
    }


def drift(baseline: np.ndarray, current: np.ndarray) -> dict[str, float]:
    # The server's bins: the baseline's deciles (linear interpolation), repeats dropped; v goes to the first edge >= v.
    edges = np.unique(np.quantile(baseline, DECILES))
    baseline_bins = np.bincount(np.searchsorted(edges, baseline, side="left"), minlength=edges.size + 1)
    current_bins = np.bincount(np.searchsorted(edges, current, side="left"), minlength=edges.size + 1)
    # PSI with the server's Jeffreys pseudo-count of 1/2 per bin (NumPy; SciPy has no PSI).
    expected = (baseline_bins + 0.5) / (baseline_bins.sum() + 0.5 * edges.size + 0.5)
    actual = (current_bins + 0.5) / (current_bins.sum() + 0.5 * edges.size + 0.5)
    ks = ks_2samp(baseline, current, method="asymp")
    return {
        "psi": float(np.sum((actual - expected) * np.log(actual / expected))),
        "jensen_shannon": float(jensenshannon(baseline_bins, current_bins, base=2)),
        "wasserstein": float(wasserstein_distance(baseline, current)),
        "ks_statistic": float(ks.statistic),
        "ks_p_value": float(ks.pvalue),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True, help="directory holding the <name>.f64 arrays (little-endian float64)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    def load(name: str) -> np.ndarray:
        return np.fromfile(os.path.join(args.dir, f"{name}.f64"), dtype="<f8")

    labels = load("labels").astype(np.int64)
    probabilities = load("probabilities")
    y, y_hat = load("y"), load("y_hat")
    baseline, current = load("baseline"), load("current")

    out = {}
    for group, fn in (
        ("binary", lambda: binary(labels, probabilities)),
        ("regression", lambda: regression(y, y_hat)),
        ("drift", lambda: drift(baseline, current)),
    ):
        ms, values = best_of(args.repeat, fn)
        out[group] = {"ms": ms, "values": values}
    import scipy
    import sklearn

    out["versions"] = {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""Reference values for server/src/monitoring/metrics.ts, from scikit-learn on seeded datasets.

Run: .venv-clients/bin/python test/reference/metrics_reference.py  (writes test/reference/metrics-cases.json)

Each case holds its inputs and what scikit-learn says of them. A metric that scikit-learn cannot define on the data
(a zero denominator, one class present) is written as null, and the service must report it as undefined.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import expit
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

OUT = Path(__file__).with_name("metrics-cases.json")


def number(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def binary_case(name: str, labels: np.ndarray, scores: np.ndarray | None, score_type: str, threshold: float, predicted: np.ndarray | None = None) -> dict[str, Any]:
    labels = labels.astype(int)
    probabilities = None
    if score_type == "logits":
        probabilities = expit(scores)
    elif score_type == "probits":
        probabilities = scores
    if predicted is None:
        predicted = (probabilities >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    precision, recall, f1, _ = precision_recall_fscore_support(labels, predicted, labels=[1], average=None, zero_division=np.nan)
    both = 0 < labels.sum() < len(labels)
    expected: dict[str, Any] = {
        "count": len(labels),
        "positives": int(labels.sum()),
        "confusion": {"trueNegatives": int(tn), "falsePositives": int(fp), "falseNegatives": int(fn), "truePositives": int(tp)},
        "accuracy": number((tp + tn) / len(labels)) if len(labels) else None,
        "precision": number(precision[0]),
        "recall": number(recall[0]),
        "f1": number(f1[0]),
        "specificity": number(tn / (tn + fp)) if tn + fp else None,
        "falsePositiveRate": number(fp / (fp + tn)) if fp + tn else None,
        "falseNegativeRate": number(fn / (fn + tp)) if fn + tp else None,
        "rocAuc": None,
        "averagePrecision": None,
        "logLoss": None,
        "brierScore": None,
    }
    if probabilities is not None and len(labels):
        expected["rocAuc"] = number(roc_auc_score(labels, probabilities)) if both else None
        expected["averagePrecision"] = number(average_precision_score(labels, probabilities)) if labels.sum() > 0 else None
        expected["logLoss"] = number(log_loss(labels, probabilities, labels=[0, 1]))
        expected["brierScore"] = number(brier_score_loss(labels, probabilities, pos_label=1))
    return {
        "name": name,
        "kind": "binary",
        "scoreType": score_type,
        "threshold": threshold,
        "labels": labels.tolist(),
        "scores": None if scores is None else [float(s) for s in scores],
        "predicted": predicted.astype(int).tolist(),
        "expected": expected,
    }


def regression_case(name: str, labels: np.ndarray, predictions: np.ndarray) -> dict[str, Any]:
    nonzero = labels != 0
    constant = len(labels) == 0 or np.all(labels == labels[0])
    expected = {
        "count": len(labels),
        "meanAbsoluteError": number(mean_absolute_error(labels, predictions)),
        "meanSquaredError": number(mean_squared_error(labels, predictions)),
        "rootMeanSquaredError": number(math.sqrt(mean_squared_error(labels, predictions))),
        "meanAbsolutePercentageError": number(mean_absolute_percentage_error(labels[nonzero], predictions[nonzero])) if nonzero.any() else None,
        "zeroLabels": int((~nonzero).sum()),
        "r2": None if constant or len(labels) < 2 else number(r2_score(labels, predictions)),
        "meanError": number(np.mean(predictions - labels)),
    }
    return {"name": name, "kind": "regression", "labels": [float(v) for v in labels], "predictions": [float(v) for v in predictions], "expected": expected}


def main() -> None:
    rng = np.random.default_rng(20261126)
    cases: list[dict[str, Any]] = []
    for n in (2, 10, 1000, 5000):
        labels = rng.integers(0, 2, n)
        if labels.min() == labels.max():
            labels[0] = 1 - labels[0]
        scores = np.clip(rng.normal(0.35 + 0.3 * labels, 0.2), 0, 1)
        cases.append(binary_case(f"probits n={n}", labels, scores, "probits", 0.5))
    labels = rng.integers(0, 2, 2000)
    cases.append(binary_case("probits with ties", labels, np.round(rng.uniform(size=2000), 1), "probits", 0.4))
    cases.append(binary_case("probits all predictions equal", labels, np.full(2000, 0.7), "probits", 0.5))
    cases.append(binary_case("probits every label the same", np.ones(300, dtype=int), rng.uniform(size=300), "probits", 0.5))
    cases.append(binary_case("probits every label negative", np.zeros(300, dtype=int), rng.uniform(size=300), "probits", 0.5))
    cases.append(binary_case("probits single record", np.array([1]), np.array([0.8]), "probits", 0.5))
    cases.append(binary_case("probits nothing predicted positive", labels, rng.uniform(0, 0.3, 2000), "probits", 0.5))
    logits = rng.normal(0, 3, 3000)
    labels = (rng.uniform(size=3000) < expit(logits)).astype(int)
    cases.append(binary_case("logits", labels, logits, "logits", 0.5))
    extreme = np.concatenate([rng.normal(0, 50, 500), [800, -800, 40, -40, 37, -37, 0]])
    labels = (rng.uniform(size=len(extreme)) < 0.5).astype(int)
    cases.append(binary_case("extreme logits", labels, extreme, "logits", 0.5))
    labels = rng.integers(0, 2, 1500)
    cases.append(binary_case("classification (hard predictions)", labels, None, "classification", 0.5, predicted=rng.integers(0, 2, 1500)))

    for n in (1, 2, 10, 1000, 5000):
        labels = rng.normal(100, 25, n)
        cases.append(regression_case(f"regression n={n}", labels, labels + rng.normal(2, 10, n)))
    labels = rng.integers(-3, 4, 800).astype(float)
    cases.append(regression_case("regression with zero labels", labels, labels + rng.normal(0, 1, 800)))
    cases.append(regression_case("regression constant labels", np.full(50, 3.0), rng.normal(3, 1, 50)))
    big = rng.normal(1e6, 1, 4000)
    cases.append(regression_case("regression near-perfect large values", big, big + rng.normal(0, 1e-3, 4000)))

    OUT.write_text(json.dumps({"generator": "test/reference/metrics_reference.py", "cases": cases}, indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()

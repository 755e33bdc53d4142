"""Reference dataset and expected results for the monitoring job, end to end, from scikit-learn and SciPy.

Run: .venv-clients/bin/python test/reference/monitoring_reference.py  (writes test/reference/monitoring-cases.json)

What it generates (seeded, so every run writes the same file for the same library versions):

* a collection schema (record id column "id"): features income (DOUBLE, nullable), age (INT64), region
  (CATEGORICAL), channel (STRING, nullable); labels approved (BOOL, nullable) and amount (DOUBLE, nullable);
* three models, each with one DOUBLE prediction field holding its score: "clf" (PROBITS, threshold 0.5), "lg"
  (LOGITS, threshold 0 in logit space) and "reg" (REGRESSION), the first two judged by "approved", the last by
  "amount";
* two splits, "train" (the baseline) and "test", whose rows carry features, both labels and all three scores;
* about three UTC days of production records from 2026-03-02T00:00Z, with event times, drifting features and
  designed edge-case hours (listed in the JSON under "edgeCases");
* "lateLabels": label writes by record id only, replayed after the first run (phase 2): changed labels in one earlier
  hour, and labels for an hour that had none. Every write carries both label fields, so replacing a record's labels
  and merging field by field give the same state.

and the values the service must return for each model, per production hour and day and per split, after phase 1 and
after phase 2: bucket counts, performance metrics and the confusion matrix, drift of every feature and of the score
against the baseline split, and data quality of every feature.

The per-array semantics are not re-derived here: performance comes from `binary_case` / `regression_case` in
metrics_reference.py and drift from `numeric_case` / `categorical_case` in drift_reference.py, so the three reference
files cannot disagree. This script only decides which records go into which array. Data quality (a count of nulls,
of values outside the baseline's range and of categories the baseline never held) has no library counterpart and is
counted directly here, as quality.ts documents.

A value the data cannot define is written as null: the service must report it as undefined.
"""

from __future__ import annotations

import copy
import json
import math
import platform
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy
import sklearn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from drift_reference import categorical_case, numeric_case  # noqa: E402
from metrics_reference import binary_case, regression_case  # noqa: E402

OUT = Path(__file__).with_name("monitoring-cases.json")
SEED = 20260302

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
START_MS = 1_772_409_600_000  # 2026-03-02T00:00:00Z
PRODUCTION_HOURS = 72

REGIONS = ["north", "south", "east", "west", "central"]
BASELINE_SPLIT = "train"


# ─── Schema and models ────────────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # FEATURE | LABEL
    type: str  # DOUBLE | INT64 | STRING | BOOL | CATEGORICAL
    nullable: bool
    categories: tuple[str, ...] = ()

    @property
    def numeric(self) -> bool:
        return self.type in ("DOUBLE", "INT64")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "type": self.type, "nullable": self.nullable}
        if self.categories:
            out["categories"] = list(self.categories)
        return out


FIELDS = [
    FieldSpec("income", "FEATURE", "DOUBLE", True),
    FieldSpec("age", "FEATURE", "INT64", False),
    FieldSpec("region", "FEATURE", "CATEGORICAL", False, tuple(REGIONS)),
    FieldSpec("channel", "FEATURE", "STRING", True),
    FieldSpec("approved", "LABEL", "BOOL", True),
    FieldSpec("amount", "LABEL", "DOUBLE", True),
]
FEATURES = [f for f in FIELDS if f.kind == "FEATURE"]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    score_type: str  # PROBITS | LOGITS | REGRESSION
    label_field: str
    threshold: float | None
    prediction_field: str

    @property
    def binary(self) -> bool:
        return self.score_type in ("PROBITS", "LOGITS")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "scoreType": self.score_type,
            "labelField": self.label_field,
            "threshold": self.threshold,
            "predictionField": {"name": self.prediction_field, "type": "DOUBLE"},
        }


MODELS = [
    ModelSpec("clf", "PROBITS", "approved", 0.5, "p_approved"),
    ModelSpec("lg", "LOGITS", "approved", 0.0, "logit_approved"),
    ModelSpec("reg", "REGRESSION", "amount", None, "amount_hat"),
]

BINARY_NAMES = {
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "f1",
    "specificity": "specificity",
    "false_positive_rate": "falsePositiveRate",
    "false_negative_rate": "falseNegativeRate",
    "roc_auc": "rocAuc",
    "average_precision": "averagePrecision",
    "log_loss": "logLoss",
    "brier_score": "brierScore",
}
REGRESSION_NAMES = {
    "mae": "meanAbsoluteError",
    "mse": "meanSquaredError",
    "rmse": "rootMeanSquaredError",
    "mape": "meanAbsolutePercentageError",
    "r2": "r2",
    "mean_error": "meanError",
}
NUMERIC_DRIFT_NAMES = {"psi": "psi", "jensen_shannon": "jensenShannon", "wasserstein": "wasserstein", "ks_statistic": "ksStatistic", "ks_p_value": "ksPValue"}
CATEGORICAL_DRIFT_NAMES = {"psi": "psi", "jensen_shannon": "jensenShannon", "chi_square": "chiSquare", "chi_square_p_value": "chiSquarePValue"}


# ─── Records ──────────────────────────────────────────────────────────────────────────────────────────────────────


@dataclass
class Record:
    id: str
    ts: int | None  # event time in ms; None for split rows
    features: dict[str, Any]
    labels: dict[str, Any] | None  # None: the record has no labels at all
    predictions: dict[str, float]  # model name → score

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.ts is not None:
            out["ts"] = self.ts
        out["features"] = self.features
        if self.labels is not None:
            out["labels"] = self.labels
        out["predictions"] = self.predictions
        return out


@dataclass(frozen=True)
class FeatureProfile:
    """How one population's features are drawn."""

    income_scale: float
    income_null_rate: float
    # Incomes set outside the baseline's observed range (filled in once the baseline exists).
    income_high_rate: float
    income_low_rate: float
    age_range: tuple[int, int]  # inclusive
    region_weights: tuple[float, ...]  # over REGIONS
    channels: tuple[str | None, ...]
    channel_weights: tuple[float, ...]


BASELINE_PROFILE = FeatureProfile(
    income_scale=1.0,
    income_null_rate=0.04,
    income_high_rate=0.0,
    income_low_rate=0.0,
    age_range=(21, 70),
    region_weights=(0.3, 0.25, 0.25, 0.2, 0.0),
    channels=("web", "app", "branch", None),
    channel_weights=(0.5, 0.3, 0.15, 0.05),
)


def production_profile(day: int) -> FeatureProfile:
    """Production drifts a little more each day: incomes grow, "central" and "kiosk" appear, more nulls."""
    return FeatureProfile(
        income_scale=(1.0, 1.12, 1.3)[day],
        income_null_rate=0.08,
        income_high_rate=0.03,
        income_low_rate=0.006,
        age_range=(18, 82),
        region_weights=(0.27, 0.22, 0.23, 0.16, 0.12),
        channels=("web", "app", "branch", "kiosk", None),
        channel_weights=(0.4, 0.3, 0.1, 0.1, 0.1),
    )


REGION_EFFECT = {"north": 0.2, "south": -0.1, "east": 0.0, "west": 0.3, "central": -0.4}
CHANNEL_EFFECT = {"web": 0.0, "app": 0.25, "branch": -0.2, "kiosk": -0.5}


class Generator:
    """Draws features, labels and the three models' scores from one seeded numpy Generator."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        # Set once the baseline exists, so production can be placed outside its range on purpose.
        self.income_range: tuple[float, float] | None = None

    def features(self, profile: FeatureProfile) -> dict[str, Any]:
        rng = self.rng
        income: float | None = round(float(50_000 * profile.income_scale * rng.lognormal(0.0, 0.4)), 2)
        u = rng.uniform()
        if u < profile.income_null_rate:
            income = None
        elif self.income_range is not None and u < profile.income_null_rate + profile.income_high_rate:
            income = round(self.income_range[1] * float(rng.uniform(1.05, 1.6)), 2)
        elif self.income_range is not None and u < profile.income_null_rate + profile.income_high_rate + profile.income_low_rate:
            income = round(self.income_range[0] * float(rng.uniform(0.2, 0.9)), 2)
        low, high = profile.age_range
        age = int(rng.integers(low, high + 1))
        region = REGIONS[int(rng.choice(len(REGIONS), p=np.array(profile.region_weights)))]
        channel = profile.channels[int(rng.choice(len(profile.channels), p=np.array(profile.channel_weights)))]
        return {"income": income, "age": age, "region": region, "channel": channel}

    def outcome(self, features: dict[str, Any]) -> tuple[dict[str, Any], dict[str, float]]:
        """The true labels and the three models' scores for one record's features."""
        rng = self.rng
        income = features["income"] if features["income"] is not None else 50_000.0
        log_odds = (
            -0.2
            + 1.5 * math.log(max(income, 1.0) / 50_000)
            + 0.03 * (features["age"] - 45)
            + REGION_EFFECT[features["region"]]
            + CHANNEL_EFFECT.get(features["channel"], 0.0)
        )
        approved = bool(rng.uniform() < 1 / (1 + math.exp(-log_odds)))
        amount = 0.0 if rng.uniform() < 0.08 else round(0.25 * income * (1.3 if approved else 0.7) * float(rng.lognormal(0.0, 0.25)), 2)
        p = 1 / (1 + math.exp(-(log_odds + float(rng.normal(0, 0.7)))))
        predictions = {
            "clf": round(min(max(p, 1e-4), 1 - 1e-4), 4),
            "lg": round(log_odds + float(rng.normal(0, 0.7)), 4),
            "reg": round(0.25 * income * (0.75 + 0.5 * p) + float(rng.normal(300, 1500)), 2),
        }
        return {"approved": approved, "amount": amount}, predictions

    def row(self, record_id: str, profile: FeatureProfile, ts: int | None = None) -> Record:
        features = self.features(profile)
        labels, predictions = self.outcome(features)
        return Record(record_id, ts, features, labels, predictions)


# ─── Production design ────────────────────────────────────────────────────────────────────────────────────────────

# Hour indices from START_MS of the designed edge cases.
SAME_CLASS_HOUR = 5
SINGLE_RECORD_HOUR = 9
LATE_CHANGES_HOUR = 11
EQUAL_SCORES_HOUR = 14
TIES_HOURS = (20, 21)
LAST_MS_HOUR = 23
DAY_BOUNDARY_HOUR = 24
EXTREME_HOURS = (26, 27)
UNLABELLED_HOUR = 33
GAP_HOUR = 45
ZERO_AMOUNTS_HOUR = 52
NO_APPROVED_HOUR = 60
UNSEEN_HOUR = 66

EXTREME_LOGITS = (40.0, -40.0, 800.0, -800.0, 1000.0, -1000.0)
# Rounds to probability 0.5 exactly, yet is below the threshold 0 in logit space: predicted negative.
TINY_NEGATIVE_LOGIT = -1e-17


def hour_ms(index: int) -> int:
    return START_MS + index * HOUR_MS


def make_edge_cases() -> list[dict[str, Any]]:
    def case(index: int, what: str) -> dict[str, Any]:
        return {"hour": hour_ms(index), "what": what}

    return [
        case(SAME_CLASS_HOUR, "every record labelled and every approved label true: roc_auc, specificity and false_positive_rate undefined for clf and lg"),
        case(SINGLE_RECORD_HOUR, "a single record, labelled, with income and channel null: their drift statistics undefined (empty current side), r2 undefined, roc_auc undefined"),
        case(LATE_CHANGES_HOUR, "phase 2 changes labels here: approved flipped on 4 records, amount changed on 3 (one to 0), approved set to null on 1, and labels added to the 2 records that had none"),
        case(EQUAL_SCORES_HOUR, "every clf probability is 0.5 and every lg logit is 0 (all predicted positive; roc_auc 0.5)"),
        case(TIES_HOURS[0], "clf and lg scores rounded to 1 decimal: ties in roc_auc and average_precision"),
        case(TIES_HOURS[1], "clf and lg scores rounded to 1 decimal: ties in roc_auc and average_precision"),
        case(LAST_MS_HOUR, "its last record's event time is the hour's last millisecond (23:59:59.999Z): it belongs here and to day 2026-03-02"),
        case(DAY_BOUNDARY_HOUR, "its first record's event time is exactly 2026-03-03T00:00:00.000Z: it belongs to this hour and to day 2026-03-03"),
        case(EXTREME_HOURS[0], "every lg logit is one of ±40, ±800, ±1000 (sigmoid gives 0 or 1, log loss clipped), about a third confidently wrong; some clf probabilities exactly 0 or 1"),
        case(EXTREME_HOURS[1], f"half the lg logits are ±40/±800/±1000, and one is {TINY_NEGATIVE_LOGIT!r}: its probability is exactly 0.5 but the threshold 0 is applied to the logit, so it is predicted negative"),
        case(UNLABELLED_HOUR, "phase 1: predictions but no labels at all, so every metric is undefined and labelRate is 0; phase 2 adds labels to all but its last 2 records"),
        case(GAP_HOUR, "no records at all: absent from the expected hours"),
        case(ZERO_AMOUNTS_HOUR, "every record labelled and every amount exactly 0: zeroLabels = labelled, mape undefined, r2 undefined (constant labels)"),
        case(NO_APPROVED_HOUR, "every record has labels, but approved is null in all of them: clf and lg have labelled 0 (metrics undefined) while reg is labelled"),
        case(UNSEEN_HOUR, "every record has region \"central\" and channel \"kiosk\", both absent from the baseline: unseenRate 1 for both"),
    ]


def hour_sizes(gen: Generator) -> list[int]:
    sizes = []
    for index in range(PRODUCTION_HOURS):
        daily = 21 + 7 * math.sin(2 * math.pi * ((index % 24) - 8) / 24)
        sizes.append(max(12, int(gen.rng.poisson(daily))))
    sizes[SINGLE_RECORD_HOUR] = 1
    sizes[GAP_HOUR] = 0
    return sizes


def production_hour(gen: Generator, index: int, size: int) -> list[Record]:
    """The records of one production hour, with its designed edge case applied."""
    start = hour_ms(index)
    offsets = sorted(int(v) for v in gen.rng.integers(0, HOUR_MS, size))
    if index == LAST_MS_HOUR:
        offsets[-1] = HOUR_MS - 1
    if index == DAY_BOUNDARY_HOUR:
        offsets[0] = 0
    profile = production_profile(index // 24)
    records = [gen.row("", profile, start + offset) for offset in offsets]
    for record in records:
        # Most production records are labelled when written; some labels are still missing or partly null.
        u = gen.rng.uniform()
        assert record.labels is not None
        if u < 0.12:
            record.labels = None
        elif u < 0.15:
            record.labels["approved"] = None
        elif u < 0.18:
            record.labels["amount"] = None

    rng = gen.rng
    if index == SAME_CLASS_HOUR:
        for record in records:
            record.labels = {"approved": True, "amount": round(float(rng.uniform(8_000, 20_000)), 2)}
    elif index == SINGLE_RECORD_HOUR:
        (record,) = records
        record.features["income"] = None
        record.features["channel"] = None
        record.labels = {"approved": True, "amount": 15_250.5}
    elif index == LATE_CHANGES_HOUR:
        records[0].labels = None
        records[1].labels = None
        for record in records[2:]:
            record.labels = {"approved": bool(rng.uniform() < 0.5), "amount": round(float(rng.uniform(5_000, 20_000)), 2)}
    elif index == EQUAL_SCORES_HOUR:
        for record in records:
            record.predictions["clf"] = 0.5
            record.predictions["lg"] = 0.0
        # Both classes present, so roc_auc is defined (0.5).
        records[0].labels = {"approved": True, "amount": 12_000.0}
        records[1].labels = {"approved": False, "amount": 9_000.0}
    elif index in TIES_HOURS:
        for record in records:
            record.predictions["clf"] = round(record.predictions["clf"], 1)
            record.predictions["lg"] = round(record.predictions["lg"], 1)
    elif index == EXTREME_HOURS[0]:
        for i, record in enumerate(records):
            record.labels = {"approved": bool(i % 2), "amount": round(float(rng.uniform(5_000, 20_000)), 2)}
            magnitude = EXTREME_LOGITS[2 * int(rng.integers(0, 3))]
            # Two records in three get the sign of their label, the third the opposite.
            agrees = i % 3 != 0
            positive = record.labels["approved"] == agrees
            record.predictions["lg"] = magnitude if positive else -magnitude
        records[0].predictions["clf"] = 0.0
        records[1].predictions["clf"] = 1.0
        records[2].predictions["clf"] = 1.0
        records[3].predictions["clf"] = 0.0
    elif index == EXTREME_HOURS[1]:
        for i, record in enumerate(records[: len(records) // 2]):
            record.predictions["lg"] = EXTREME_LOGITS[i % len(EXTREME_LOGITS)]
        records[-1].predictions["lg"] = TINY_NEGATIVE_LOGIT
        records[-1].labels = {"approved": True, "amount": 11_000.0}
    elif index == UNLABELLED_HOUR:
        for record in records:
            record.labels = None
    elif index == ZERO_AMOUNTS_HOUR:
        for record in records:
            record.labels = {"approved": bool(rng.uniform() < 0.5), "amount": 0.0}
    elif index == NO_APPROVED_HOUR:
        for record in records:
            record.labels = {"approved": None, "amount": round(float(rng.uniform(5_000, 20_000)), 2)}
    elif index == UNSEEN_HOUR:
        for record in records:
            record.features["region"] = "central"
            record.features["channel"] = "kiosk"
    return records


def make_production(gen: Generator) -> list[Record]:
    sizes = hour_sizes(gen)
    records = [record for index, size in enumerate(sizes) for record in production_hour(gen, index, size)]
    for i, record in enumerate(records, start=1):
        record.id = f"p-{i:05d}"
    return records


def make_late_labels(gen: Generator, production: list[Record]) -> list[dict[str, Any]]:
    """Label writes for phase 2, each with both label fields (the record's full labels after the write)."""
    rng = gen.rng
    writes: list[dict[str, Any]] = []

    def write(record: Record, labels: dict[str, Any]) -> None:
        writes.append({"id": record.id, "labels": labels})

    changed = [r for r in production if hour_of(r) == hour_ms(LATE_CHANGES_HOUR)]
    unlabelled, labelled = changed[:2], changed[2:]
    assert all(r.labels is None for r in unlabelled) and all(r.labels is not None for r in labelled)
    assert len(labelled) >= 8
    for record in unlabelled:
        write(record, {"approved": True, "amount": round(float(rng.uniform(5_000, 20_000)), 2)})
    for record in labelled[0:4]:
        assert record.labels is not None
        write(record, {"approved": not record.labels["approved"], "amount": record.labels["amount"]})
    for k, record in enumerate(labelled[4:7]):
        assert record.labels is not None
        write(record, {"approved": record.labels["approved"], "amount": 0.0 if k == 0 else round(record.labels["amount"] * 1.5 + 100, 2)})
    assert labelled[7].labels is not None
    write(labelled[7], {"approved": None, "amount": labelled[7].labels["amount"]})

    late = [r for r in production if hour_of(r) == hour_ms(UNLABELLED_HOUR)]
    for record in late[:-2]:
        approved = bool(rng.uniform() < 0.55)
        amount = 0.0 if rng.uniform() < 0.1 else round(float(rng.uniform(3_000, 25_000)), 2)
        write(record, {"approved": approved, "amount": amount})
    return writes


def apply_late_labels(production: list[Record], writes: list[dict[str, Any]]) -> list[Record]:
    after = copy.deepcopy(production)
    by_id = {r.id: r for r in after}
    for w in writes:
        by_id[w["id"]].labels = dict(w["labels"])
    return after


# ─── Buckets and expected values ──────────────────────────────────────────────────────────────────────────────────


def hour_of(record: Record) -> int:
    assert record.ts is not None
    return record.ts // HOUR_MS * HOUR_MS


def day_of(record: Record) -> int:
    assert record.ts is not None
    return record.ts // DAY_MS * DAY_MS


def group(records: Iterable[Record], key: Callable[[Record], int]) -> dict[int, list[Record]]:
    groups: dict[int, list[Record]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    return dict(sorted(groups.items()))


def usable_label(model: ModelSpec, record: Record) -> Any:
    """The record's label for this model if the model can be judged by it, else None."""
    if record.labels is None:
        return None
    value = record.labels.get(model.label_field)
    if model.binary:
        return value if isinstance(value, bool) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def counts_and_performance(model: ModelSpec, records: list[Record]) -> dict[str, Any]:
    scored = [r for r in records if r.predictions.get(model.name) is not None]
    judged = [(r.predictions[model.name], label) for r in scored if (label := usable_label(model, r)) is not None]
    scores = np.array([s for s, _ in judged], dtype=float)
    labels = np.array([y for _, y in judged])
    counts = {
        "records": len(records),
        "predictions": len(scored),
        "labelled": len(judged),
        "labelRate": len(judged) / len(scored) if scored else None,
        "unusableLabels": 0,
        "zeroLabels": 0,
    }
    out: dict[str, Any] = {"counts": counts}
    with warnings.catch_warnings():
        # sklearn's undefined-metric and renamed-argument warnings; the undefined values come out as null anyway.
        warnings.simplefilter("ignore")
        if model.binary:
            names = BINARY_NAMES
            expected: dict[str, Any] | None = None
            if len(judged):
                y = labels.astype(int)
                if model.score_type == "PROBITS":
                    expected = binary_case(model.name, y, scores, "probits", float(model.threshold or 0.0))["expected"]
                else:
                    # The threshold applies to the score itself, here the logit.
                    predicted = (scores >= model.threshold).astype(int)
                    expected = binary_case(model.name, y, scores, "logits", float(model.threshold or 0.0), predicted=predicted)["expected"]
            zero_confusion = {"trueNegatives": 0, "falsePositives": 0, "falseNegatives": 0, "truePositives": 0}
            out["performance"] = {name: (expected[key] if expected else None) for name, key in names.items()}
            out["confusion"] = expected["confusion"] if expected else zero_confusion
        else:
            expected = regression_case(model.name, labels.astype(float), scores)["expected"] if len(judged) else None
            counts["zeroLabels"] = expected["zeroLabels"] if expected else 0
            out["performance"] = {name: (expected[key] if expected else None) for name, key in REGRESSION_NAMES.items()}
    return out


class Reference:
    """What the baseline split says is normal, and the drift and quality of any set of records against it."""

    def __init__(self, baseline: list[Record]) -> None:
        self.baseline = baseline
        self.cache: dict[tuple[str, str], dict[str, Any]] = {}

    def baseline_values(self, field: str, source: str) -> list[Any]:
        if source == "PREDICTION":
            return [r.predictions[field] for r in self.baseline if r.predictions.get(field) is not None]
        return [r.features[field] for r in self.baseline if r.features.get(field) is not None]

    def drift(self, key: str, records: list[Record], spec: FieldSpec | None, model: ModelSpec | None = None) -> dict[str, Any]:
        """Drift of one feature (spec) or of one model's score (model) over `records`; `key` names the bucket."""
        baseline: list[Any]
        current: list[Any]
        if model is not None:
            name, source, numeric = model.prediction_field, "PREDICTION", True
            baseline = self.baseline_values(model.name, source)
            current = [r.predictions[model.name] for r in records if r.predictions.get(model.name) is not None]
        else:
            assert spec is not None
            name, source, numeric = spec.name, "FEATURE", spec.numeric
            baseline = self.baseline_values(name, source)
            current = [r.features[name] for r in records if r.features.get(name) is not None]
        cache_key = (key, name)
        if cache_key not in self.cache:
            if numeric:
                expected = numeric_case(name, baseline, current)["expected"]
                statistics = {out: expected[ref] for out, ref in NUMERIC_DRIFT_NAMES.items()}
            else:
                order = list(spec.categories) if spec is not None and spec.categories else first_seen(baseline)
                expected = categorical_case(name, category_counts(baseline, order), category_counts(current, first_seen(current)))["expected"]
                statistics = {out: expected[ref] for out, ref in CATEGORICAL_DRIFT_NAMES.items()}
            for stat, value in statistics.items():
                # quality.ts and drift.ts report p-values below the smallest normal double as 0; none should get there.
                assert value is None or (math.isfinite(value) and not 0 < abs(value) < 2.0**-1022), (key, name, stat, value)
            self.cache[cache_key] = {
                "field": name,
                "source": source,
                "baselineCount": len(baseline),
                "currentCount": len(current),
                "statistics": statistics,
            }
        return self.cache[cache_key]

    def quality(self, records: list[Record], spec: FieldSpec) -> dict[str, Any]:
        values = [r.features.get(spec.name) for r in records]
        present = [v for v in values if v is not None]
        missing = len(values) - len(present)
        out: dict[str, Any] = {
            "field": spec.name,
            "count": len(values),
            "missing": missing,
            "missingRate": missing / len(values) if values else None,
        }
        baseline = self.baseline_values(spec.name, "FEATURE")
        if spec.numeric:
            low, high = min(baseline), max(baseline)
            outside = sum(1 for v in present if v < low or v > high)
            out.update(outOfRange=outside, outOfRangeRate=outside / len(present) if present else None)
        else:
            known = set(baseline)
            unseen = sum(1 for v in present if v not in known)
            out.update(unseen=unseen, unseenRate=unseen / len(present) if present else None)
        return out

    def bucket(self, key: str, model: ModelSpec, records: list[Record], start: int | None) -> dict[str, Any]:
        out: dict[str, Any] = {} if start is None else {"start": start}
        out.update(counts_and_performance(model, records))
        out["drift"] = [self.drift(key, records, spec) for spec in FEATURES] + [self.drift(key, records, None, model)]
        out["quality"] = [self.quality(records, spec) for spec in FEATURES]
        return out


def first_seen(values: list[Any]) -> list[str]:
    return list(dict.fromkeys(values))


def category_counts(values: list[str], order: list[str]) -> list[tuple[str, int]]:
    counts: dict[str, int] = dict.fromkeys(order, 0)
    for v in values:
        counts[v] += 1
    return list(counts.items())


def expected_state(reference: Reference, splits: dict[str, list[Record]], production: list[Record]) -> dict[str, Any]:
    hours = group(production, hour_of)
    days = group(production, day_of)
    state: dict[str, Any] = {}
    for model in MODELS:
        state[model.name] = {
            "hours": [reference.bucket(f"hour {start}", model, records, start) for start, records in hours.items()],
            "days": [reference.bucket(f"day {start}", model, records, start) for start, records in days.items()],
            "splits": {name: reference.bucket(f"split {name}", model, records, None) for name, records in splits.items()},
        }
    return state


# ─── Main ─────────────────────────────────────────────────────────────────────────────────────────────────────────


def make_splits(gen: Generator) -> dict[str, list[Record]]:
    train = [gen.row(f"train-{i:04d}", BASELINE_PROFILE) for i in range(1, 501)]
    # A test split like the baseline, with a few missing labels and a few values the baseline never held.
    test = [gen.row(f"test-{i:04d}", BASELINE_PROFILE) for i in range(1, 301)]
    for record in test[::37]:
        assert record.labels is not None
        record.labels["approved"] = None
    for record in test[5::41]:
        assert record.labels is not None
        record.labels["amount"] = None
    for record in test[10:13]:
        record.features["region"] = "central"
    for record in test[20:22]:
        record.features["channel"] = "kiosk"
    incomes = [r.features["income"] for r in train if r.features["income"] is not None]
    gen.income_range = (min(incomes), max(incomes))
    return {"train": train, "test": test}


def check_design(splits: dict[str, list[Record]], production: list[Record]) -> None:
    train = splits[BASELINE_SPLIT]
    assert all(r.features["region"] != "central" and r.features["channel"] != "kiosk" for r in train)
    hours = group(production, hour_of)
    assert hour_ms(GAP_HOUR) not in hours
    assert len(hours[hour_ms(SINGLE_RECORD_HOUR)]) == 1
    assert hours[hour_ms(DAY_BOUNDARY_HOUR)][0].ts == hour_ms(DAY_BOUNDARY_HOUR)
    assert hours[hour_ms(LAST_MS_HOUR)][-1].ts == hour_ms(LAST_MS_HOUR + 1) - 1
    same_class = hours[hour_ms(SAME_CLASS_HOUR)]
    assert all(r.labels is not None and r.labels["approved"] is True for r in same_class)
    assert all(r.labels is None for r in hours[hour_ms(UNLABELLED_HOUR)])
    income_max = max(r.features["income"] for r in train if r.features["income"] is not None)
    assert any(r.features["income"] is not None and r.features["income"] > income_max for r in production)
    assert all(r.ts is not None and START_MS <= r.ts < START_MS + PRODUCTION_HOURS * HOUR_MS for r in production)


def main() -> None:
    began = time.perf_counter()
    gen = Generator(SEED)
    splits = make_splits(gen)
    production = make_production(gen)
    late_labels = make_late_labels(gen, production)
    after = apply_late_labels(production, late_labels)
    check_design(splits, production)

    reference = Reference(splits[BASELINE_SPLIT])
    document: dict[str, Any] = {
        "generator": {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__},
        "schema": {"recordIdColumn": "id", "fields": [f.to_json() for f in FIELDS]},
        "models": [m.to_json() for m in MODELS],
        "baselineSplit": BASELINE_SPLIT,
        "splits": {name: [r.to_json() for r in records] for name, records in splits.items()},
        "production": [r.to_json() for r in production],
        "lateLabels": late_labels,
        "edgeCases": make_edge_cases(),
        "expected": {
            "phase1": expected_state(reference, splits, production),
            "phase2": expected_state(reference, splits, after),
        },
    }
    text = json.dumps(document, indent=None, separators=(",", ":"), allow_nan=False) + "\n"
    OUT.write_text(text)
    hours = len(document["expected"]["phase1"]["clf"]["hours"])
    print(
        f"wrote {len(production)} production records in {hours} hours, {sum(len(s) for s in splits.values())} split rows and "
        f"{len(late_labels)} late label writes to {OUT} ({len(text) / 1e6:.2f} MB, {time.perf_counter() - began:.1f} s)"
    )


if __name__ == "__main__":
    main()

"""What the monitoring service returns, as plain Python values: job statuses, and a model's series as DataFrames."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from google.protobuf import timestamp_pb2

from sightline.v1 import monitoring_service_pb2

from .models import ComputeRunResult

#: Performance metrics in the order the service reports them, by model kind (see monitoring_service.proto).
BINARY_METRICS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "specificity",
    "false_positive_rate",
    "false_negative_rate",
    "roc_auc",
    "average_precision",
    "log_loss",
    "brier_score",
)
REGRESSION_METRICS = ("mae", "mse", "rmse", "mape", "r2", "mean_error")

_TERMINAL = frozenset({"completed", "failed"})


@dataclass(frozen=True)
class MonitoringRunResult:
    """What a completed monitoring job recomputed."""

    hours: int
    days: int
    splits: int
    records_read: int
    #: True when every bucket was recomputed (first run, a changed model, schema or baseline, or `full=True`).
    full: bool

    @classmethod
    def from_proto(cls, message: monitoring_service_pb2.MonitoringRunResult) -> MonitoringRunResult:
        return cls(hours=message.hours, days=message.days, splits=message.splits, records_read=message.records_read, full=message.full)


@dataclass(frozen=True)
class JobStatus:
    """One report of a job: its state ("waiting", "active", "delayed", "completed" or "failed"), progress from 0 to
    100, what it is doing (or why it failed), the attempts made so far, and once completed what it computed: `result`
    for a monitoring job, `compute_result` for a ComputePredictions or ComputeInfluences job."""

    job_id: str
    state: str
    progress: float
    message: str
    attempts: int
    result: MonitoringRunResult | None = None
    compute_result: ComputeRunResult | None = None

    @property
    def done(self) -> bool:
        """True once the job completed or failed; no further status follows."""
        return self.state in _TERMINAL

    @property
    def failed(self) -> bool:
        return self.state == "failed"

    @classmethod
    def from_proto(cls, message: monitoring_service_pb2.WatchJobResponse) -> JobStatus:
        return cls(
            job_id=message.job_id,
            state=job_state_name(message.state),
            progress=message.progress,
            message=message.message,
            attempts=message.attempts,
            result=MonitoringRunResult.from_proto(message.result) if message.HasField("result") else None,
            compute_result=ComputeRunResult.from_proto(message.compute_result) if message.HasField("compute_result") else None,
        )


def job_state_name(state: int) -> str:
    try:
        name = monitoring_service_pb2.JobState.Name(state)
    except ValueError:
        return "unspecified"
    return name.removeprefix("JOB_STATE_").lower()


@dataclass(frozen=True, eq=False)
class Monitoring:
    """A model's monitoring series, as DataFrames (see `Client.monitoring` for their columns).

    Undefined values (AUC with one class present, a rate of nothing) are NaN; `undefined_metrics` and the drift
    frames' `undefined_reason` column say why.
    """

    #: One row per production bucket: `start`, counts, one float column per metric, the confusion matrix of binary
    #: models, and what ingestion rejected or overwrote there.
    performance: pd.DataFrame
    #: Long form: one row per bucket, field and statistic.
    drift: pd.DataFrame
    #: Long form: one row per bucket and field.
    quality: pd.DataFrame
    #: Like `performance`, with a `split` column instead of `start`: one row per split asked for that has results.
    splits: pd.DataFrame
    split_drift: pd.DataFrame
    split_quality: pd.DataFrame
    #: Why each NaN metric of `performance` is undefined: `start`, `metric`, `reason`.
    undefined_metrics: pd.DataFrame
    #: The same for `splits`: `split`, `metric`, `reason`.
    split_undefined_metrics: pd.DataFrame
    #: When the model's newest run finished; None before the first.
    last_run: pd.Timestamp | None
    #: The service's response as it came, for anything the frames leave out.
    response: monitoring_service_pb2.GetMonitoringResponse = field(repr=False)

    def __repr__(self) -> str:
        frames = ("performance", "drift", "quality", "splits", "split_drift", "split_quality")
        shapes = ", ".join(f"{name}={len(getattr(self, name))} rows" for name in frames)
        return f"Monitoring({shapes}, last_run={self.last_run!r})"


# ─── Frames ─────────────────────────────────────────────────────────────────────────────────────────────────────────

_COUNT_COLUMNS = ("records", "predictions", "labelled")
_CONFUSION_COLUMNS = ("tn", "fp", "fn", "tp")


def timestamp_ns(message: timestamp_pb2.Timestamp) -> int:
    return message.seconds * 1_000_000_000 + message.nanos


def _times(values: Sequence[object]) -> pd.Series:
    """UTC instants from nanoseconds since the epoch, as datetime64[ns, UTC] even when empty."""
    return pd.Series(np.asarray(values, dtype="int64").view("datetime64[ns]")).dt.tz_localize("UTC")


class _Columns:
    """Builds a frame column by column, with each column's dtype fixed up front, so an empty frame has it too."""

    def __init__(self, key: str, key_dtype: str) -> None:
        self.key = key
        self.dtypes: dict[str, str] = {key: key_dtype}
        self.values: dict[str, list[object]] = {key: []}

    def add(self, name: str, dtype: str) -> None:
        self.dtypes[name] = dtype
        self.values[name] = []

    def append(self, row: dict[str, object]) -> None:
        for name, column in self.values.items():
            column.append(row.get(name))

    def frame(self) -> pd.DataFrame:
        data: dict[str, pd.Series] = {}
        for name, dtype in self.dtypes.items():
            values = self.values[name]
            if dtype == "time":
                data[name] = _times(values)
            elif dtype == "float64":
                data[name] = pd.Series([math.nan if v is None else v for v in values], dtype="float64")
            elif dtype == "int64":
                data[name] = pd.Series([0 if v is None else v for v in values], dtype="int64")
            else:
                data[name] = pd.Series(values, dtype=dtype)
        return pd.DataFrame(data)


def _value(metric: monitoring_service_pb2.MetricValue) -> float:
    return metric.value if metric.HasField("value") else math.nan


def _performance_columns(key: str, key_dtype: str, metrics: Sequence[str], binary: bool) -> _Columns:
    columns = _Columns(key, key_dtype)
    for name in _COUNT_COLUMNS:
        columns.add(name, "int64")
    columns.add("label_rate", "float64")
    columns.add("unusable_labels", "int64")
    columns.add("zero_labels", "int64")
    for name in metrics:
        columns.add(name, "float64")
    if binary:
        for name in _CONFUSION_COLUMNS:
            columns.add(name, "int64")
    columns.add("rejected_rows", "int64")
    columns.add("overwritten_records", "int64")
    return columns


def _drift_columns(key: str, key_dtype: str) -> _Columns:
    columns = _Columns(key, key_dtype)
    for name, dtype in (("field", "string"), ("source", "string"), ("statistic", "string"), ("value", "float64"), ("undefined_reason", "string")):
        columns.add(name, dtype)
    columns.add("baseline_count", "int64")
    columns.add("current_count", "int64")
    return columns


def _quality_columns(key: str, key_dtype: str) -> _Columns:
    columns = _Columns(key, key_dtype)
    columns.add("field", "string")
    for name in ("count", "missing"):
        columns.add(name, "int64")
    columns.add("missing_rate", "float64")
    columns.add("out_of_range", "int64")
    columns.add("out_of_range_rate", "float64")
    columns.add("unseen", "int64")
    columns.add("unseen_rate", "float64")
    return columns


def _undefined_columns(key: str, key_dtype: str) -> _Columns:
    columns = _Columns(key, key_dtype)
    columns.add("metric", "string")
    columns.add("reason", "string")
    return columns


def _source_name(source: int) -> str:
    try:
        name = monitoring_service_pb2.DriftSource.Name(source)
    except ValueError:
        return "unspecified"
    return name.removeprefix("DRIFT_SOURCE_").lower()


class _Section:
    """The four frames of one side of the response: production buckets keyed by `start`, or splits by `split`."""

    def __init__(self, key: str, key_dtype: str, metrics: Sequence[str], binary: bool) -> None:
        self.key = key
        self.performance = _performance_columns(key, key_dtype, metrics, binary)
        self.drift = _drift_columns(key, key_dtype)
        self.quality = _quality_columns(key, key_dtype)
        self.undefined = _undefined_columns(key, key_dtype)

    def add(self, key: object, bucket: monitoring_service_pb2.MonitoringBucket) -> None:
        counts = bucket.counts
        row: dict[str, object] = {
            self.key: key,
            "records": counts.records,
            "predictions": counts.predictions,
            "labelled": counts.labelled,
            "label_rate": counts.label_rate if counts.HasField("label_rate") else None,
            "unusable_labels": counts.unusable_labels,
            "zero_labels": counts.zero_labels,
            "rejected_rows": sum(r.count for r in bucket.rejected_rows),
            "overwritten_records": bucket.overwritten_records,
        }
        for metric in bucket.performance:
            row[metric.name] = _value(metric)
            if not metric.HasField("value"):
                self.undefined.append({self.key: key, "metric": metric.name, "reason": metric.undefined_reason})
        if bucket.HasField("confusion"):
            c = bucket.confusion
            row.update(tn=c.true_negatives, fp=c.false_positives, fn=c.false_negatives, tp=c.true_positives)
        self.performance.append(row)
        for drift in bucket.drift:
            for statistic in drift.statistics:
                self.drift.append(
                    {
                        self.key: key,
                        "field": drift.field,
                        "source": _source_name(drift.source),
                        "statistic": statistic.name,
                        "value": _value(statistic),
                        "undefined_reason": statistic.undefined_reason,
                        "baseline_count": drift.baseline_count,
                        "current_count": drift.current_count,
                    }
                )
        for quality in bucket.quality:
            quality_row: dict[str, object] = {
                self.key: key,
                "field": quality.field,
                "count": quality.count,
                "missing": quality.missing,
                "out_of_range": quality.out_of_range,
                "unseen": quality.unseen,
            }
            for rate in quality.rates:
                quality_row[rate.name] = _value(rate)
            self.quality.append(quality_row)


def informative(buckets: Iterable[monitoring_service_pb2.MonitoringBucket]) -> list[monitoring_service_pb2.MonitoringBucket]:
    """The buckets computed from records, which tell the model's metrics and kind; the others hold ingestion counts."""
    return [b for b in buckets if len(b.performance) > 0 or b.HasField("confusion")]


def monitoring_from_proto(response: monitoring_service_pb2.GetMonitoringResponse, metrics: Sequence[str], binary: bool) -> Monitoring:
    """The frames of a response; `metrics` names the metric columns and `binary` adds the confusion matrix."""
    production = _Section("start", "time", metrics, binary)
    for bucket in response.buckets:
        production.add(timestamp_ns(bucket.start_time), bucket)
    splits = _Section("split", "string", metrics, binary)
    for split in response.splits:
        splits.add(split.split, split.result)
    last_run = pd.Timestamp(timestamp_ns(response.last_run_time), unit="ns", tz="UTC") if response.HasField("last_run_time") else None
    return Monitoring(
        performance=production.performance.frame(),
        drift=production.drift.frame(),
        quality=production.quality.frame(),
        splits=splits.performance.frame(),
        split_drift=splits.drift.frame(),
        split_quality=splits.quality.frame(),
        undefined_metrics=production.undefined.frame(),
        split_undefined_metrics=splits.undefined.frame(),
        last_run=last_run,
        response=response,
    )

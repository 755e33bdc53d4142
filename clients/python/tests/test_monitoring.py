"""Monitoring through the client: a refresh, its job's progress, and the series as DataFrames, checked against
scikit-learn and SciPy on the same rows. One deployment for the module, whose worker runs every model's monitoring
each second, as the service does every few minutes by default."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as skm

import sightline
from sightline import Client, JobStatus, Monitoring

from .conftest import Live, free_port, new_live

COLLECTION = "loans"
MODEL = "risk"
HOURS = [pd.Timestamp(t) for t in ("2026-11-05T22:00Z", "2026-11-05T23:00Z", "2026-11-06T00:00Z", "2026-11-06T01:00Z")]
DAYS = [pd.Timestamp("2026-11-05T00:00Z"), pd.Timestamp("2026-11-06T00:00Z")]
#: Production records per hour; the last hour's labels are all positive, so its AUC is undefined.
PER_HOUR = [70, 60, 70, 12]
NUMERIC_STATISTICS = ["psi", "jensen_shannon", "wasserstein", "ks_statistic", "ks_p_value"]
CATEGORICAL_STATISTICS = ["psi", "jensen_shannon", "chi_square", "chi_square_p_value"]
BASE_COLUMNS = ["records", "predictions", "labelled", "label_rate", "unusable_labels", "zero_labels"]
TAIL_COLUMNS = ["tn", "fp", "fn", "tp", "rejected_rows", "overwritten_records"]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-x)))


@dataclass
class Dataset:
    client: Client
    baseline: pd.DataFrame
    #: Every accepted production record, with `hour`, `day` and the label (NA when none was sent).
    production: pd.DataFrame
    job_id: str
    final: JobStatus
    watched: list[JobStatus]


def build_frames(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = 300
    x = rng.normal(0.0, 1.0, n)
    baseline = pd.DataFrame(
        {
            "id": [f"b{i:04d}" for i in range(n)],
            "x": x,
            "n": rng.poisson(3, n).astype("int64"),
            "segment": rng.choice(["a", "b"], n, p=[0.6, 0.4]),
            "p": sigmoid(1.2 * x + rng.normal(0, 0.5, n)),
        }
    )
    baseline["y"] = rng.random(n) < sigmoid(1.5 * baseline["x"].to_numpy())

    parts = []
    for h, (hour, count) in enumerate(zip(HOURS, PER_HOUR)):
        x = rng.normal(0.3 * h, 1.1, count)
        p = sigmoid(1.2 * x + rng.normal(0, 0.7, count))
        part = pd.DataFrame(
            {
                "id": [f"q{h}-{i:03d}" for i in range(count)],
                "ts": hour + pd.to_timedelta(np.sort(rng.integers(0, 3_600_000, count)), unit="ms"),
                "x": np.where(rng.random(count) < 0.06, np.nan, x),
                "n": rng.poisson(3 + h, count).astype("int64"),
                "segment": rng.choice(["a", "b", "c"], count, p=[0.5, 0.3, 0.2]),
                "p": p,
            }
        )
        labelled = rng.random(count) < 0.75
        y = rng.random(count) < sigmoid(1.5 * np.nan_to_num(x))
        if h == 3:
            labelled[:] = True
            y[:] = True
        part["y"] = pd.array([bool(v) if keep else None for v, keep in zip(y, labelled)], dtype="boolean")
        part["hour"] = hour
        parts.append(part)
    production = pd.concat(parts, ignore_index=True)
    production["ts"] = production["ts"].astype("datetime64[ms, UTC]")
    production["day"] = production["hour"].dt.floor("D")
    return baseline, production


@pytest.fixture(scope="module")
def deployment() -> Iterator[Live]:
    live = new_live("monitoring", SIGHTLINE_MONITORING_INTERVAL_MS="1000")
    try:
        live.start_server()
        live.start_worker()
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def data(deployment: Live) -> Iterator[Dataset]:
    with Client(deployment.address, api_key=deployment.admin_key) as admin:
        project = f"p{secrets.token_hex(4)}"
        admin.create_project(project)
        _, key = admin.create_api_key(project)
    client = Client(deployment.address, api_key=key, project=project)
    try:
        baseline, production = build_frames(np.random.default_rng(20261105))

        schema = sightline.schema_from_dataframe(
            production[["id", "ts", "x", "n", "segment"]].assign(y=True),
            record_id_column="id", timestamp_column="ts", labels=["y"], categories={"segment": ["a", "b", "c"]},
        )
        client.create_collection(COLLECTION, schema)
        client.create_split(COLLECTION, "train", baseline=True)
        client.create_model(COLLECTION, MODEL, score_type="probits", prediction_fields={"p": "double"}, label_field="y")

        assert client.upload(baseline, collection=COLLECTION, split="train", model=MODEL).rows_rejected == 0
        served = production[["id", "ts", "x", "n", "segment", "p"]]
        assert client.upload(served, collection=COLLECTION, production=True, model=MODEL, batch_rows=50).rows_rejected == 0
        # Labels arrive later, by record ID alone, for three records in four.
        labels = production.loc[production["y"].notna(), ["id", "y"]].astype({"y": "bool"})
        assert client.upload(labels, collection=COLLECTION, production=True).rows_accepted == len(labels)
        # Ingestion's counts per bucket: three rows refused in the second hour, four labels sent again in the third.
        bad = served[production["hour"] == HOURS[1]].head(3).assign(id=lambda f: "bad-" + f["id"], segment="zzz")
        assert client.upload(bad, collection=COLLECTION, production=True, model=MODEL).rows_rejected == 3
        again = labels[labels["id"].isin(production.loc[production["hour"] == HOURS[2], "id"])].head(4)
        assert client.upload(again, collection=COLLECTION, production=True).rows_accepted == 4

        job_id = client.refresh_monitoring(COLLECTION, MODEL, full=True)
        watched = list(client.watch_job(job_id, timeout=120))
        final = client.wait_for_job(job_id, timeout=120)
        yield Dataset(client, baseline, production, job_id, final, watched)
    finally:
        client.close()


def labelled_rows(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    rows = frame[frame["y"].notna()]
    return rows["y"].astype("bool").to_numpy(), rows["p"].to_numpy()


def assert_rel(actual: Any, expected: Any, rel: float, what: str) -> None:
    assert actual == pytest.approx(expected, rel=rel, abs=1e-15), f"{what}: got {actual!r}, expected {expected!r}"


def check_performance(row: pd.Series, rows: pd.DataFrame, where: str) -> None:
    y, p = labelled_rows(rows)
    predicted = p >= 0.5
    assert (row["records"], row["predictions"], row["labelled"]) == (len(rows), len(rows), len(y)), where
    assert_rel(row["label_rate"], len(y) / len(rows), 1e-12, f"{where} label_rate")
    assert_rel(row["accuracy"], skm.accuracy_score(y, predicted), 1e-9, f"{where} accuracy")
    assert_rel(row["log_loss"], skm.log_loss(y, p, labels=[False, True]), 1e-9, f"{where} log_loss")
    assert_rel(row["brier_score"], skm.brier_score_loss(y, p), 1e-9, f"{where} brier_score")
    tn, fp, fn, tp = skm.confusion_matrix(y, predicted, labels=[False, True]).ravel()
    assert (row["tn"], row["fp"], row["fn"], row["tp"]) == (tn, fp, fn, tp), where
    if y.all() or not y.any():
        assert np.isnan(row["roc_auc"]), where
    else:
        assert_rel(row["roc_auc"], skm.roc_auc_score(y, p), 1e-9, f"{where} roc_auc")
        assert_rel(row["average_precision"], skm.average_precision_score(y, p), 1e-9, f"{where} average_precision")


def test_the_refresh_job_is_watched_to_completion(data: Dataset) -> None:
    assert data.job_id.startswith("monitoring:")
    last = data.watched[-1]
    assert (last.job_id, last.state, last.progress, last.done, last.failed) == (data.job_id, "completed", 100.0, True, False)
    assert all(not s.done for s in data.watched[:-1]) and all(0 <= s.progress <= 100 for s in data.watched)
    # A full run recomputes every hour, both days and the one split, reading at least every record.
    assert last.result is not None
    assert (last.result.hours, last.result.days, last.result.splits, last.result.full) == (4, 2, 1, True)
    assert last.result.records_read >= len(data.production) + len(data.baseline)
    assert data.final == last and last.attempts >= 1
    # Watching a finished job reports its end at once; so does waiting, with the bar forced on.
    assert list(data.client.watch_job(data.job_id)) == [last]
    assert data.client.wait_for_job(data.job_id, progress=True) == last


def test_hourly_performance_matches_scikit_learn(data: Dataset) -> None:
    mon = data.client.monitoring(COLLECTION, MODEL)
    perf = mon.performance
    assert list(perf.columns) == ["start", *BASE_COLUMNS, *sightline.monitoring.BINARY_METRICS, *TAIL_COLUMNS]
    assert str(perf["start"].dtype) == "datetime64[ns, UTC]"
    assert perf["start"].tolist() == HOURS
    for hour, (_, row) in zip(HOURS, perf.iterrows()):
        check_performance(row, data.production[data.production["hour"] == hour], f"hour {hour}")
    assert perf["rejected_rows"].tolist() == [0, 3, 0, 0]
    assert perf["overwritten_records"].tolist() == [0, 0, 4, 0]
    assert isinstance(mon.last_run, pd.Timestamp) and mon.last_run >= perf["start"].max()


def test_one_class_bucket_has_undefined_auc_with_a_reason(data: Dataset) -> None:
    mon = data.client.monitoring(COLLECTION, MODEL)
    last = mon.performance.set_index("start").loc[HOURS[3]]
    assert last["labelled"] == PER_HOUR[3] and last["tn"] + last["fp"] == 0
    assert last["accuracy"] == pytest.approx(last["tp"] / PER_HOUR[3])
    assert np.isnan(last["roc_auc"]) and np.isnan(last["specificity"])
    reasons = mon.undefined_metrics
    assert list(reasons.columns) == ["start", "metric", "reason"]
    at_last = reasons[reasons["start"] == HOURS[3]].set_index("metric")["reason"]
    assert at_last["roc_auc"] == "every label is positive"
    assert {"roc_auc", "specificity", "false_positive_rate"} <= set(at_last.index)
    # Every NaN metric is explained, and nothing else is.
    metric_columns = list(sightline.monitoring.BINARY_METRICS)
    nan_cells = {(s, m) for s, row in mon.performance.set_index("start")[metric_columns].iterrows() for m in metric_columns if np.isnan(row[m])}
    assert nan_cells == set(zip(reasons["start"], reasons["metric"]))


def test_day_buckets_union_their_hours(data: Dataset) -> None:
    mon = data.client.monitoring(COLLECTION, MODEL, granularity="day")
    assert mon.performance["start"].tolist() == DAYS
    for day, (_, row) in zip(DAYS, mon.performance.iterrows()):
        check_performance(row, data.production[data.production["day"] == day], f"day {day}")
    assert mon.performance["rejected_rows"].tolist() == [3, 0]
    assert mon.performance["overwritten_records"].tolist() == [0, 4]
    with pytest.raises(ValueError, match="granularity"):
        data.client.monitoring(COLLECTION, MODEL, granularity="week")


def test_drift_against_the_baseline_matches_scipy(data: Dataset) -> None:
    drift = data.client.monitoring(COLLECTION, MODEL).drift
    assert list(drift.columns) == ["start", "field", "source", "statistic", "value", "undefined_reason", "baseline_count", "current_count"]
    first = drift[drift["start"] == HOURS[0]]
    assert first.groupby("field", sort=False)["statistic"].apply(list).to_dict() == {
        "x": NUMERIC_STATISTICS,
        "n": NUMERIC_STATISTICS,
        "segment": CATEGORICAL_STATISTICS,
        "p": NUMERIC_STATISTICS,
    }
    assert first.groupby("field", sort=False)["source"].first().to_dict() == {"x": "feature", "n": "feature", "segment": "feature", "p": "prediction"}
    assert drift["value"].notna().all() and (drift["undefined_reason"] == "").all()
    base_x = data.baseline["x"].to_numpy()
    for hour in HOURS:
        current = data.production.loc[data.production["hour"] == hour, "x"].dropna().to_numpy()
        x = drift[(drift["start"] == hour) & (drift["field"] == "x")].set_index("statistic")
        assert (x["baseline_count"].iloc[0], x["current_count"].iloc[0]) == (len(base_x), len(current))
        reference = stats.ks_2samp(base_x, current, method="asymp")
        assert_rel(x.loc["ks_p_value", "value"], reference.pvalue, 1e-6, f"{hour} ks_p_value")
        assert_rel(x.loc["ks_statistic", "value"], reference.statistic, 1e-12, f"{hour} ks_statistic")
        assert_rel(x.loc["wasserstein", "value"], stats.wasserstein_distance(base_x, current), 1e-9, f"{hour} wasserstein")


def test_quality_counts_missing_out_of_range_and_unseen(data: Dataset) -> None:
    quality = data.client.monitoring(COLLECTION, MODEL).quality
    assert list(quality.columns) == ["start", "field", "count", "missing", "missing_rate", "out_of_range", "out_of_range_rate", "unseen", "unseen_rate"]
    assert quality[quality["start"] == HOURS[0]]["field"].tolist() == ["x", "n", "segment"]
    low, high = data.baseline["x"].min(), data.baseline["x"].max()
    for hour in HOURS:
        rows = data.production[data.production["hour"] == hour]
        q = quality[quality["start"] == hour].set_index("field")
        present = rows["x"].dropna()
        outside = int(((present < low) | (present > high)).sum())
        assert (q.loc["x", "count"], q.loc["x", "missing"], q.loc["x", "out_of_range"]) == (len(rows), rows["x"].isna().sum(), outside)
        assert_rel(q.loc["x", "missing_rate"], rows["x"].isna().mean(), 1e-12, "missing_rate")
        assert_rel(q.loc["x", "out_of_range_rate"], outside / len(present), 1e-12, "out_of_range_rate")
        unseen = int((rows["segment"] == "c").sum())
        assert (q.loc["segment", "unseen"], q.loc["segment", "missing"]) == (unseen, 0)
        assert_rel(q.loc["segment", "unseen_rate"], unseen / len(rows), 1e-12, "unseen_rate")
        assert np.isnan(q.loc["x", "unseen_rate"]) and np.isnan(q.loc["segment", "out_of_range_rate"])


def test_splits_metrics_fields_and_time_range_narrow_the_result(data: Dataset) -> None:
    client = data.client
    mon = client.monitoring(COLLECTION, MODEL, splits="*", metrics=["accuracy"], fields=["x"], start=HOURS[1], end=HOURS[3])
    assert list(mon.performance.columns) == ["start", *BASE_COLUMNS, "accuracy", *TAIL_COLUMNS]
    assert mon.performance["start"].tolist() == HOURS[1:3]
    assert set(mon.drift["field"]) == {"x"} and set(mon.quality["field"]) == {"x"}
    assert list(mon.splits.columns) == ["split", *BASE_COLUMNS, "accuracy", *TAIL_COLUMNS]
    train = mon.splits.set_index("split").loc["train"]
    y, p = data.baseline["y"].to_numpy(), data.baseline["p"].to_numpy()
    assert (train["records"], train["labelled"]) == (len(data.baseline), len(data.baseline))
    assert_rel(train["accuracy"], skm.accuracy_score(y, p >= 0.5), 1e-9, "train accuracy")
    # The baseline against itself: no drift at all.
    split_x = mon.split_drift.set_index("statistic")
    assert mon.split_drift["split"].unique().tolist() == ["train"]
    assert split_x.loc["ks_statistic", "value"] == 0 and split_x.loc["ks_p_value", "value"] == pytest.approx(1.0)
    assert mon.split_quality[["split", "field", "missing", "out_of_range"]].values.tolist() == [["train", "x", 0, 0]]
    # Splits are left out unless asked for, and can be named one by one.
    assert client.monitoring(COLLECTION, MODEL).splits.empty
    assert client.monitoring(COLLECTION, MODEL, splits=["train"]).splits["split"].tolist() == ["train"]


def assert_empty_frames(mon: Monitoring, metrics: tuple[str, ...], binary: bool) -> None:
    tail = TAIL_COLUMNS if binary else TAIL_COLUMNS[4:]
    assert list(mon.performance.columns) == ["start", *BASE_COLUMNS, *metrics, *tail]
    assert list(mon.splits.columns) == ["split", *BASE_COLUMNS, *metrics, *tail]
    for frame in (mon.performance, mon.drift, mon.quality, mon.undefined_metrics):
        assert frame.empty and str(frame["start"].dtype) == "datetime64[ns, UTC]"
    for frame in (mon.splits, mon.split_drift, mon.split_quality, mon.split_undefined_metrics):
        assert frame.empty and "split" in frame.columns
    assert mon.performance.dtypes[list(metrics)].eq("float64").all() and mon.performance["records"].dtype == "int64"
    assert mon.drift["value"].dtype == "float64" and mon.quality["missing"].dtype == "int64"


def test_a_model_without_data_gives_empty_frames_with_their_columns(data: Dataset) -> None:
    client = data.client
    schema = sightline.schema_from_dataframe(pd.DataFrame({"id": ["a"], "ts": pd.to_datetime([0], utc=True), "x": [0.5]}), record_id_column="id", timestamp_column="ts")
    client.create_collection("quiet", schema)
    client.create_model("quiet", "clf", score_type="probits", prediction_fields={"p": "double"})
    client.create_model("quiet", "reg", score_type="regression", prediction_fields={"yhat": "double"})
    assert_empty_frames(client.monitoring("quiet", "clf", splits="*"), sightline.monitoring.BINARY_METRICS, True)
    assert_empty_frames(client.monitoring("quiet", "reg", splits="*"), sightline.monitoring.REGRESSION_METRICS, False)
    assert_empty_frames(client.monitoring("quiet", "clf", metrics=["roc_auc"]), ("roc_auc",), True)


def test_errors_are_typed(data: Dataset) -> None:
    client = data.client
    with pytest.raises(sightline.NotFoundError):
        client.monitoring(COLLECTION, "nope")
    with pytest.raises(sightline.NotFoundError):
        client.refresh_monitoring(COLLECTION, "nope")
    with pytest.raises(sightline.InvalidArgumentError) as bad_id:
        list(client.watch_job("not a job"))
    assert [v.field for v in bad_id.value.violations] == ["job_id"]
    with pytest.raises(sightline.InvalidArgumentError):
        client.wait_for_job("nope")
    with pytest.raises(sightline.NotFoundError):
        client.wait_for_job("monitoring:999999999")
    with pytest.raises(sightline.InvalidArgumentError) as bad_metric:
        client.monitoring(COLLECTION, MODEL, metrics=["mae"])
    assert [v.field for v in bad_metric.value.violations] == ["metrics[0]"]
    with pytest.raises(sightline.InvalidArgumentError):
        client.monitoring(COLLECTION, MODEL, splits=["nope"])


def test_another_projects_key_cannot_watch_the_job(deployment: Live, data: Dataset) -> None:
    with Client(deployment.address, api_key=deployment.admin_key) as admin:
        other = f"p{secrets.token_hex(4)}"
        admin.create_project(other)
        _, key = admin.create_api_key(other)
    with Client(deployment.address, api_key=key, project=other) as stranger:
        # To another project's key the job does not exist, so its ID gives nothing away.
        with pytest.raises(sightline.NotFoundError):
            list(stranger.watch_job(data.job_id))


def test_a_watch_outlives_a_server_restart_and_waits_for_a_worker() -> None:
    # No worker at first, so the job waits; the watch keeps following it across a server restart, and ends once a
    # worker has run it.
    live = new_live("watch", SIGHTLINE_MONITORING_INTERVAL_MS="1000", SIGHTLINE_SHUTDOWN_GRACE_MS="500")
    port = free_port()
    live.start_server(port=port)
    try:
        with Client(live.address, api_key=live.admin_key) as admin:
            admin.create_project("acme")
            _, key = admin.create_api_key("acme")
        client = Client(live.address, api_key=key, project="acme")
        schema = sightline.schema_from_dataframe(pd.DataFrame({"id": ["a"], "ts": pd.to_datetime([0], utc=True), "x": [0.5]}), record_id_column="id", timestamp_column="ts")
        client.create_collection("c", schema)
        client.create_model("c", "m", score_type="regression", prediction_fields={"yhat": "double"})
        rows = pd.DataFrame({"id": ["r1", "r2"], "ts": [HOURS[0], HOURS[1]], "x": [1.0, 2.0], "yhat": [0.5, 0.25]})
        client.put(rows, collection="c", production=True, model="m")
        job_id = client.refresh_monitoring("c", "m")
        first = next(iter(client.watch_job(job_id)))
        assert (first.state, first.done, first.result) == ("waiting", False, None)
        with pytest.raises(sightline.DeadlineExceededError):
            client.wait_for_job(job_id, timeout=0.5)
        with pytest.raises(sightline.DeadlineExceededError):
            list(client.watch_job(job_id, timeout=1e-9))

        seen: list[JobStatus] = []
        outcome: dict[str, object] = {}

        def watch() -> None:
            try:
                for status in client.watch_job(job_id, timeout=120):
                    seen.append(status)
            except Exception as err:  # handed to the test thread
                outcome["error"] = err

        watcher = threading.Thread(target=watch)
        watcher.start()
        time.sleep(0.5)
        assert live.server is not None
        live.server.stop()
        live.start_server(port=port)
        live.start_worker()
        watcher.join(120)
        assert not watcher.is_alive() and "error" not in outcome
        assert seen[0].state == "waiting" and seen[-1].state == "completed" and seen[-1].progress == 100
        assert seen[-1].result is not None and (seen[-1].result.hours, seen[-1].result.days) == (2, 1)
        # The statuses seen before the restart are not repeated after it.
        assert all(a != b for a, b in zip(seen, seen[1:]))
        mon = client.monitoring("c", "m")
        assert mon.performance["start"].tolist() == HOURS[:2] and mon.performance["predictions"].tolist() == [1, 1]
        assert np.isnan(mon.performance["mae"]).all() and set(mon.undefined_metrics["reason"]) == {
            "the model names no label field, and the collection has not exactly one"
        }
        client.close()
    finally:
        live.stop()


def test_wait_for_job_raises_for_a_failed_job(monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client("127.0.0.1:1")
    statuses = [
        JobStatus("monitoring:7", "active", 40.0, "day 2026-11-05 (1 of 2 steps)", 1),
        JobStatus("monitoring:7", "failed", 40.0, "lost the model's lease", 5),
    ]
    monkeypatch.setattr(client, "watch_job", lambda job_id, timeout=None: iter(statuses))
    with pytest.raises(sightline.JobFailedError) as failed:
        client.wait_for_job("monitoring:7", progress=False)
    assert failed.value.status == statuses[-1] and failed.value.job_id == "monitoring:7"
    assert "after 5 attempt(s): lost the model's lease" in str(failed.value)
    assert isinstance(failed.value, sightline.SightlineError)
    client.close()

"""Uploads, puts, streams and reads of DataFrames through the live server."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import sightline
from sightline import Client
from sightline.v1 import resources_pb2

from .conftest import Live, ProjectAccess, free_port, new_live

FieldType = resources_pb2.FieldType


def every_type_frame(rows: int = 12) -> pd.DataFrame:
    """One column of every field type, each with nulls in different rows."""
    index = np.arange(rows)
    frame = pd.DataFrame(
        {
            "id": pd.Series([f"rec-{i:03d}" for i in index], dtype="string"),
            "score": np.where(index % 4 == 1, np.nan, index * 1.25 - 3.5),
            "count": pd.array([None if i % 5 == 2 else int(i) * 1_000_000_007 for i in index], dtype="Int64"),
            "name": pd.array([None if i % 3 == 0 else f"név {i} ✓" for i in index], dtype="string"),
            "active": pd.array([None if i % 4 == 3 else bool(i % 2) for i in index], dtype="boolean"),
            "segment": pd.Categorical([None if i % 6 == 5 else ["low", "mid", "high"][i % 3] for i in index], categories=["low", "mid", "high"]),
            "seen.at": pd.Series(pd.to_datetime([None if i % 7 == 4 else 1_700_000_000_000 + i * 3_600_123 for i in index], unit="ms", utc=True)).astype("datetime64[ms, UTC]"),
            "target": pd.array([None if i % 5 == 0 else float(i % 2) for i in index], dtype="Float64").astype("float64"),
        }
    )
    return frame


def create_every_type_collection(client: Client, name: str = "typed") -> None:
    schema = sightline.schema_from_dataframe(every_type_frame(), record_id_column="id", labels=["target"], extra=["name"])
    client.create_collection(name, schema)


def test_dataframe_with_every_type_reads_back_equal(project: ProjectAccess) -> None:
    client = project.client
    create_every_type_collection(client)
    client.create_split("typed", "train")
    frame = every_type_frame()
    summary = client.upload(frame, collection="typed", split="train", batch_rows=5)
    assert (summary.rows_received, summary.rows_accepted, summary.rows_rejected, summary.batches) == (12, 12, 0, 3)
    assert summary.kinds["features"].accepted == 12 and summary.kinds["labels"].accepted == 12
    back = client.read(collection="typed", split="train")
    pd.testing.assert_frame_equal(back[list(frame.columns)], frame, check_dtype=True)


def test_pyarrow_table_uploads_like_its_frame(project: ProjectAccess) -> None:
    client = project.client
    create_every_type_collection(client)
    client.create_split("typed", "arrow")
    frame = every_type_frame()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    summary = client.upload(table, collection="typed", split="arrow")
    assert summary.rows_accepted == 12
    back = client.read(collection="typed", split="arrow")
    pd.testing.assert_frame_equal(back[list(frame.columns)], frame)


def test_row_errors_name_row_and_field_and_the_rest_lands(project: ProjectAccess) -> None:
    client = project.client
    schema = sightline.schema_from_dataframe(
        pd.DataFrame({"id": ["x"], "age": [1], "segment": ["a"]}), record_id_column="id", categories={"segment": ["a", "b"]}, ranges={"age": (0, 130)}
    )
    client.create_collection("people", schema)
    client.create_split("people", "train")
    frame = pd.DataFrame({"id": ["r0", "r1", "r2", "r3"], "age": [30, 200, 40, 50], "segment": ["a", "b", "zzz", "b"]})
    summary = client.upload(frame, collection="people", split="train")
    assert (summary.rows_accepted, summary.rows_rejected) == (2, 2)
    assert [(e.row, e.record_id, e.field, e.reason) for e in summary.row_errors] == [
        (1, "r1", "age", "OUT_OF_RANGE"),
        (2, "r2", "segment", "UNKNOWN_CATEGORY"),
    ]
    assert sorted(client.read(collection="people", split="train")["id"].tolist()) == ["r0", "r3"]
    with pytest.raises(sightline.RowsRejectedError) as strict:
        client.upload(frame, collection="people", split="train", strict=True)
    assert [e.record_id for e in strict.value.row_errors] == ["r1", "r2"]
    # A call-level refusal: an unknown split writes nothing and names the split.
    with pytest.raises(sightline.NotFoundError):
        client.upload(frame, collection="people", split="nope")
    with pytest.raises(ValueError, match="not in the schema"):
        client.upload(frame.assign(typo=1), collection="people", split="train")


def test_production_kinds_join_by_id_with_late_labels(project: ProjectAccess) -> None:
    client = project.client
    schema = sightline.schema_from_dataframe(
        pd.DataFrame({"id": ["a"], "ts": pd.to_datetime([0], utc=True), "x1": [0.5], "x2": [1.5], "y": [True], "region": ["eu"]}),
        record_id_column="id", timestamp_column="ts", labels=["y"], extra=["region"],
    )
    client.create_collection("live", schema)
    client.create_model("live", "m1", score_type="probits", prediction_fields={"p": "double"}, label_field="y")
    now = pd.Timestamp("2026-11-01T10:00:00Z")
    served = pd.DataFrame(
        {
            "id": [f"q{i}" for i in range(6)],
            "ts": [now + pd.Timedelta(minutes=i) for i in range(6)],
            "x1": np.linspace(0, 1, 6),
            "x2": np.linspace(1, 2, 6),
            "region": ["eu", "us", "eu", "us", "eu", "us"],
            "p": np.linspace(0.1, 0.6, 6),
            "influence.x1": np.linspace(-1, 1, 6),
            "influence.x2": np.linspace(1, -1, 6),
        }
    )
    summary = client.upload(served, collection="live", production=True, model="m1")
    assert {k: v.accepted for k, v in summary.kinds.items()} == {"features": 6, "extra": 6, "predictions": 6, "influences": 6}
    # Labels weeks later, by record ID alone; one for a record never served is kept too.
    labels = pd.DataFrame({"id": ["q1", "q4", "q9"], "y": [True, False, True]})
    assert client.put(labels, collection="live", production=True).rows_accepted == 3
    joined = client.read(collection="live", production=True, model="m1", start=now, end=now + pd.Timedelta(hours=1))
    assert joined["id"].tolist() == [f"q{i}" for i in range(6)]
    assert joined["y"].tolist() == [pd.NA, True, pd.NA, pd.NA, False, pd.NA]
    np.testing.assert_allclose(joined["p"].to_numpy(), served["p"].to_numpy())
    np.testing.assert_allclose(joined["influence.x2"].to_numpy(), served["influence.x2"].to_numpy())
    assert joined["ts"].tolist() == served["ts"].tolist()
    only_labels = client.read(collection="live", production=True, kinds=["labels"], record_ids=["q9"])
    assert only_labels["y"].tolist() == [True]
    with pytest.raises(sightline.InvalidArgumentError):
        client.put(pd.DataFrame({"id": [f"z{i}" for i in range(1001)], "y": [True] * 1001}), collection="live", production=True)


def test_kinds_option_sends_only_those_kinds(project: ProjectAccess) -> None:
    client = project.client
    schema = sightline.schema_from_dataframe(pd.DataFrame({"id": ["a"], "x": [1.0], "y": [1.0]}), record_id_column="id", labels=["y"])
    client.create_collection("k", schema)
    client.create_split("k", "s")
    frame = pd.DataFrame({"id": ["a", "b"], "x": [1.0, 2.0], "y": [0.0, 1.0]})
    summary = client.upload(frame, collection="k", split="s", kinds=["labels"])
    assert set(summary.kinds) == {"labels"}
    back = client.read(collection="k", split="s")
    assert back["x"].isna().all() and back["y"].tolist() == [0.0, 1.0]


def production_collection(client: Client, name: str) -> None:
    schema = sightline.schema_from_dataframe(
        pd.DataFrame({"id": ["a"], "ts": pd.to_datetime([0], utc=True), "x": [0.5]}), record_id_column="id", timestamp_column="ts"
    )
    client.create_collection(name, schema)
    client.create_model(name, "m", score_type="regression", prediction_fields={"yhat": "double"})


def test_stream_writer_acks_every_batch_and_reports_refusals(project: ProjectAccess) -> None:
    client = project.client
    production_collection(client, "rt")
    with client.stream(collection="rt", production=True, model="m", max_in_flight=8) as writer:
        futures = [writer.write({"id": f"s{i}", "ts": pd.Timestamp("2026-11-02T00:00:00Z"), "x": i / 10, "yhat": i * 2.0})[0] for i in range(200)]
        refused = writer.write_batch(sightline.v1.records_pb2.RecordBatch(record_ids=["bad"], columns=[sightline.v1.records_pb2.Column(name="nope")]))
        writer.flush()
        assert all(f.result().summary.rows_accepted == 1 for f in futures)
        with pytest.raises(sightline.InvalidArgumentError) as why:
            refused.result()
        assert why.value.violations
    assert writer.summary.rows_accepted == 200 and len(writer.refused) == 1
    back = client.read(collection="rt", production=True, model="m")
    assert len(back) == 200
    assert back.set_index("id").loc["s7", "yhat"] == pytest.approx(14.0)


def production_client(deployment: Live) -> Client:
    """A project key's client on a fresh deployment, with the production collection "rt" (model "m") set up."""
    admin = Client(deployment.address, api_key=deployment.admin_key)
    admin.create_project("acme")
    _, secret = admin.create_api_key("acme")
    client = Client(deployment.address, api_key=secret, project="acme")
    production_collection(client, "rt")
    return client


def test_stream_writer_survives_a_server_restart(tmp_path: object) -> None:
    deployment = new_live("restart")
    port = free_port()
    deployment.start_server(port=port)
    try:
        client = production_client(deployment)
        total = 1500
        restarted = threading.Event()
        writer = client.stream(collection="rt", production=True, model="m", max_in_flight=32)

        def restart() -> None:
            assert deployment.server is not None
            deployment.server.stop()
            deployment.start_server(port=port)
            restarted.set()

        restarter = threading.Thread(target=restart)
        stamp = pd.Timestamp("2026-11-03T00:00:00Z")
        i = 0
        # Writes go on until the new server is up, so that some are sent while the server stops, is down, and comes
        # back, whatever the restart takes.
        while i < total or not restarted.is_set():
            if i == total // 3:
                restarter.start()
            writer.write({"id": f"r{i:05d}", "ts": stamp, "x": float(i), "yhat": float(i) / 2})
            time.sleep(0.002)
            i += 1
        total = i
        restarter.join(120)
        summary = writer.close(timeout=120)
        assert restarted.is_set()
        assert writer.reconnects >= 1
        # Each batch counts once: an ack lost with the old stream is replaced by the re-sent batch's ack.
        assert summary.rows_accepted == total
        back = client.read(collection="rt", production=True, model="m")
        assert len(back) == total
        assert back["id"].tolist() == [f"r{i:05d}" for i in range(total)]
        np.testing.assert_allclose(back["yhat"].to_numpy(), np.arange(total) / 2)
    finally:
        deployment.stop()


def test_stream_writer_lets_an_idle_stream_close_until_the_next_write() -> None:
    deployment = new_live("idle", SIGHTLINE_STREAM_IDLE_TIMEOUT_MS="1000")
    deployment.start_server()
    try:
        client = production_client(deployment)
        stamp = pd.Timestamp("2026-11-03T00:00:00Z")
        writer = client.stream(collection="rt", production=True, model="m", max_reconnects=2)
        writer.write({"id": "a", "ts": stamp, "x": 1.0, "yhat": 0.5})
        writer.flush(timeout=30)
        # Four idle periods, each ended by the server: a writer that reopened its stream each time would have given
        # up after max_reconnects of them.
        time.sleep(4.5)
        writer.write({"id": "b", "ts": stamp, "x": 2.0, "yhat": 1.0})
        summary = writer.close(timeout=30)
        # One stream reopened after the idle timeout, for the second write.
        assert writer.reconnects == 1
        assert summary.rows_accepted == 2
        assert sorted(client.read(collection="rt", production=True, model="m")["id"]) == ["a", "b"]
    finally:
        deployment.stop()


def test_read_stream_and_sealed_split_errors(live: Live, project: ProjectAccess) -> None:
    client = project.client
    production_collection(client, "errs")
    client.create_split("errs", "frozen")
    with pytest.raises(sightline.NotFoundError):
        client.read(collection="errs", split="nope")
    client.seal_split("errs", "frozen")
    frame = pd.DataFrame({"id": ["a"], "x": [1.0]})
    with pytest.raises(sightline.FailedPreconditionError) as sealed:
        client.upload(frame, collection="errs", split="frozen")
    assert sealed.value.reason == "SPLIT_SEALED"
    # A stream the server refuses outright (here: the split is sealed) fails the writer for good, with the
    # server's typed error on every pending and later write.
    writer = client.stream(collection="errs", split="frozen")
    futures = writer.write(frame)
    with pytest.raises(sightline.FailedPreconditionError):
        writer.flush(timeout=30)
    with pytest.raises(sightline.FailedPreconditionError):
        futures[0].result(timeout=30)
    with pytest.raises(sightline.FailedPreconditionError):
        writer.write(frame)
    assert writer.reconnects == 0

"""Every Admin and Catalog RPC through the client, on its success path and on one error path."""

from __future__ import annotations

import secrets
import time

import grpc
import pandas as pd
import pytest

import sightline
from sightline import Client
from sightline.v1 import resources_pb2

from .conftest import Live, ProjectAccess

FieldType = resources_pb2.FieldType


def small_schema() -> resources_pb2.Schema:
    frame = pd.DataFrame({"id": ["a"], "age": [41], "income": [5200.5], "segment": pd.Categorical(["a"], categories=["a", "b"]), "defaulted": [True]})
    return sightline.schema_from_dataframe(frame, record_id_column="id", labels=["defaulted"])


def test_projects(admin: Client) -> None:
    name = f"p{secrets.token_hex(4)}"
    created = admin.create_project(name, display_name="Acme")
    assert (created.name, created.display_name) == (name, "Acme")
    assert admin.get_project(name).display_name == "Acme"
    assert name in [p.name for p in admin.list_projects()]
    with pytest.raises(sightline.AlreadyExistsError) as exists:
        admin.create_project(name)
    assert exists.value.code == grpc.StatusCode.ALREADY_EXISTS
    admin.delete_project(name)
    with pytest.raises(sightline.NotFoundError) as missing:
        admin.get_project(name)
    assert missing.value.reason == "NOT_FOUND"
    with pytest.raises(sightline.NotFoundError):
        admin.delete_project(name)
    with pytest.raises(sightline.InvalidArgumentError) as bad:
        admin.create_project("Not A Name")
    assert [v.field for v in bad.value.violations] == ["project.name"]


def test_api_keys(admin: Client, project: ProjectAccess) -> None:
    key, secret = admin.create_api_key(project.name, display_name="second")
    assert secret.startswith("slk_") and key.display_name == "second"
    assert {k.id for k in admin.list_api_keys(project.name)} >= {key.id, project.key_id}
    revoked = admin.revoke_api_key(key.id, project=project.name)
    assert revoked.HasField("revoke_time")
    with pytest.raises(sightline.NotFoundError):
        admin.revoke_api_key("no-such-key", project=project.name)
    with pytest.raises(sightline.NotFoundError):
        admin.create_api_key("no-such-project")
    with pytest.raises(sightline.NotFoundError):
        admin.list_api_keys("no-such-project")
    # A project key sees only its own project, and cannot delete it.
    assert [p.name for p in project.client.list_projects()] == [project.name]
    with pytest.raises(sightline.PermissionDeniedError):
        project.client.delete_project(project.name)


def test_collections(project: ProjectAccess) -> None:
    client = project.client
    created = client.create_collection("credit", small_schema(), display_name="Credit")
    fields = {f.name: f for f in created.schema.fields}
    assert fields["age"].type == FieldType.FIELD_TYPE_INT64
    assert fields["segment"].type == FieldType.FIELD_TYPE_CATEGORICAL and list(fields["segment"].categories) == ["a", "b"]
    assert fields["defaulted"].kind == resources_pb2.FieldKind.FIELD_KIND_LABEL
    assert client.get_collection("credit").display_name == "Credit"
    assert [c.name for c in client.list_collections()] == ["credit"]
    with pytest.raises(sightline.AlreadyExistsError):
        client.create_collection("credit", small_schema())
    with pytest.raises(sightline.NotFoundError):
        client.get_collection("nope")

    grown = resources_pb2.Schema()
    grown.CopyFrom(created.schema)
    grown.fields.add(name="region", kind=resources_pb2.FieldKind.FIELD_KIND_EXTRA, type=FieldType.FIELD_TYPE_STRING, nullable=True)
    updated = client.update_schema("credit", grown, expected_version=created.schema_version)
    assert updated.schema_version == created.schema_version + 1
    shrunk = resources_pb2.Schema()
    shrunk.CopyFrom(grown)
    del shrunk.fields[0]
    with pytest.raises(sightline.FailedPreconditionError) as not_additive:
        client.update_schema("credit", shrunk)
    assert not_additive.value.reason == "SCHEMA_CHANGE_NOT_ADDITIVE"

    with pytest.raises(sightline.NotFoundError):
        client.stats("nope")
    client.delete_collection("credit")
    with pytest.raises(sightline.NotFoundError):
        client.delete_collection("credit")
    with pytest.raises(sightline.PermissionDeniedError):
        client.list_collections(project="someone-else")


def test_splits_and_models(project: ProjectAccess) -> None:
    client = project.client
    client.create_collection("credit", small_schema())
    split = client.create_split("credit", "train", type="train")
    assert split.type == resources_pb2.SplitType.SPLIT_TYPE_TRAIN and not split.sealed
    client.create_split("credit", "test", type="test")
    assert client.get_split("credit", "test").name == "test"
    assert [s.name for s in client.list_splits("credit")] == ["test", "train"]
    with pytest.raises(sightline.AlreadyExistsError):
        client.create_split("credit", "train")
    with pytest.raises(ValueError):
        client.create_split("credit", "x", type="sometimes")
    assert client.set_baseline_split("credit", "train").baseline
    with pytest.raises(sightline.NotFoundError):
        client.set_baseline_split("credit", "nope")
    assert client.seal_split("credit", "test").sealed
    with pytest.raises(sightline.NotFoundError):
        client.seal_split("credit", "nope")
    client.delete_split("credit", "test")
    with pytest.raises(sightline.NotFoundError):
        client.get_split("credit", "test")
    with pytest.raises(sightline.NotFoundError):
        client.delete_split("credit", "test")
    with pytest.raises(sightline.NotFoundError):
        client.list_splits("nope")

    model = client.create_model(
        "credit", "risk", score_type="probits", prediction_fields={"p_default": "double"}, label_field="defaulted",
        decision_threshold=0.4, class_labels=["no", "yes"],
    )
    assert model.decision_threshold == pytest.approx(0.4) and list(model.class_labels) == ["no", "yes"]
    assert client.get_model("credit", "risk").label_field == "defaulted"
    assert [m.name for m in client.list_models("credit")] == ["risk"]
    with pytest.raises(sightline.InvalidArgumentError) as bad_label:
        client.create_model("credit", "bad", score_type="probits", prediction_fields={"p": "double"}, label_field="age")
    assert bad_label.value.violations
    with pytest.raises(sightline.NotFoundError):
        client.get_model("credit", "nope")
    with pytest.raises(sightline.NotFoundError):
        client.list_models("nope")
    client.delete_model("credit", "risk")
    with pytest.raises(sightline.NotFoundError):
        client.delete_model("credit", "risk")


def test_stats_follow_writes(project: ProjectAccess) -> None:
    client = project.client
    client.create_collection("credit", small_schema())
    client.create_split("credit", "train")
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(30)], "age": range(30), "income": [1.0] * 30, "segment": ["a"] * 30, "defaulted": [False] * 30})
    client.upload(frame, collection="credit", split="train")
    deadline = time.monotonic() + 30
    stats = client.stats("credit")
    while (stats is None or not any(s.records == 30 for s in stats.splits)) and time.monotonic() < deadline:
        time.sleep(0.3)
        stats = client.stats("credit")
    assert stats is not None
    assert {s.split: s.records for s in stats.splits} == {"train": 30}


def test_health_reports_serving(live: Live) -> None:
    with grpc.insecure_channel(live.address) as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=lambda b: b, response_deserializer=lambda b: b)
        # HealthCheckRequest{service: ""} is empty; HealthCheckResponse{status: SERVING} is field 1 = 1.
        assert check(b"", timeout=10) == b"\x08\x01"

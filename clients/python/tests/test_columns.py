"""Pure conversions: null masks, column typing and routing, with no server involved."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sightline
from sightline.batches import route_columns
from sightline.columns import column_from_series, null_mask, nulls_from_mask, series_from_column
from sightline.v1 import resources_pb2

FieldType = resources_pb2.FieldType


def test_null_mask_is_lsb_first_and_empty_without_nulls() -> None:
    nulls = np.array([True, False, False, False, False, False, False, False, False, True])
    assert null_mask(nulls) == bytes([0b00000001, 0b00000010])
    assert null_mask(np.zeros(5, dtype=bool)) == b""
    assert nulls_from_mask(bytes([0b00000001, 0b00000010]), 10).tolist() == nulls.tolist()


@pytest.mark.parametrize(
    ("series", "which"),
    [
        (pd.Series([1.5, np.nan]), "doubles"),
        (pd.Series([1, None], dtype="Int64"), "int64s"),
        (pd.Series([True, None], dtype="boolean"), "bools"),
        (pd.Series(["a", None]), "strings"),
        (pd.Series(pd.to_datetime([0, None], unit="ms", utc=True)), "int64s"),
        (pd.Series([1, 2.5], dtype=object), "doubles"),
    ],
)
def test_columns_are_typed_by_dtype_and_mark_nulls(series: pd.Series, which: str) -> None:
    column = column_from_series("c", series)
    assert column.WhichOneof("values") == which
    assert nulls_from_mask(column.null_mask, 2).tolist() == series.isna().tolist()


def test_an_all_null_column_takes_the_field_type() -> None:
    column = column_from_series("c", pd.Series([None, None]), FieldType.FIELD_TYPE_BOOL)
    assert column.WhichOneof("values") == "bools" and column.null_mask == bytes([0b11])


def test_doubles_round_trip_through_the_packed_fast_path() -> None:
    values = np.random.default_rng(7).normal(size=1000)
    back = series_from_column(column_from_series("c", pd.Series(values)), FieldType.FIELD_TYPE_DOUBLE)
    np.testing.assert_array_equal(back.to_numpy(), values)


def test_schema_from_dataframe_types_and_overrides() -> None:
    frame = pd.DataFrame({"id": ["a"], "f": [1.0], "n": [1], "b": [True], "s": ["x"], "c": pd.Categorical(["u"]), "y": [0]})
    schema = sightline.schema_from_dataframe(frame, record_id_column="id", labels=["y"], ranges={"f": (0, None)}, required=["n"])
    fields = {f.name: f for f in schema.fields}
    assert [fields[n].type for n in ["f", "n", "b", "s", "c"]] == [
        FieldType.FIELD_TYPE_DOUBLE, FieldType.FIELD_TYPE_INT64, FieldType.FIELD_TYPE_BOOL, FieldType.FIELD_TYPE_STRING, FieldType.FIELD_TYPE_CATEGORICAL,
    ]
    assert fields["y"].kind == resources_pb2.FieldKind.FIELD_KIND_LABEL
    assert fields["f"].range.HasField("min") and not fields["f"].range.HasField("max")
    assert not fields["n"].nullable and fields["f"].nullable
    with pytest.raises(ValueError, match="not in the DataFrame"):
        sightline.schema_from_dataframe(frame, record_id_column="id", labels=["nope"])


def test_routing_sends_columns_by_name_and_refuses_unknown_ones() -> None:
    schema = sightline.schema_from_dataframe(pd.DataFrame({"id": ["a"], "x": [1.0], "y": [1.0]}), record_id_column="id", labels=["y"])
    model = resources_pb2.Model(name="m", prediction_fields=[resources_pb2.PredictionField(name="p", type=FieldType.FIELD_TYPE_DOUBLE)])
    routing = route_columns(["id", "x", "y", "p", "influence.x"], schema, model, production=False)
    assert routing.columns == {"x": ("x", FieldType.FIELD_TYPE_DOUBLE), "y": ("y", FieldType.FIELD_TYPE_DOUBLE)}
    assert list(routing.predictions) == ["p"] and routing.influences == {"influence.x": ("x", FieldType.FIELD_TYPE_DOUBLE)}
    labels_only = route_columns(["id", "x", "y"], schema, None, production=False, kinds=["labels"])
    assert list(labels_only.columns) == ["y"]
    with pytest.raises(ValueError, match="not in the schema"):
        route_columns(["id", "x", "p"], schema, None, production=False)
    with pytest.raises(ValueError, match="record ID column"):
        route_columns(["x"], schema, None, production=False)

"""Declaring a collection's schema from a DataFrame's dtypes, with overrides for kinds, categories and ranges."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd
from pandas.api import types as ptypes

from sightline.v1 import resources_pb2

FieldKind = resources_pb2.FieldKind
FieldType = resources_pb2.FieldType

_kinds = {"feature": FieldKind.FIELD_KIND_FEATURE, "label": FieldKind.FIELD_KIND_LABEL, "extra": FieldKind.FIELD_KIND_EXTRA}
_types = {
    "double": FieldType.FIELD_TYPE_DOUBLE,
    "int64": FieldType.FIELD_TYPE_INT64,
    "string": FieldType.FIELD_TYPE_STRING,
    "bool": FieldType.FIELD_TYPE_BOOL,
    "categorical": FieldType.FIELD_TYPE_CATEGORICAL,
    "timestamp": FieldType.FIELD_TYPE_TIMESTAMP,
}


def field_type(name: str) -> resources_pb2.FieldType:
    """A FieldType from its short name: double, int64, string, bool, categorical or timestamp."""
    try:
        return _types[name.lower()]
    except KeyError:
        raise ValueError(f"unknown field type {name!r}; use one of {sorted(_types)}") from None


def type_of_dtype(series: pd.Series) -> resources_pb2.FieldType:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return FieldType.FIELD_TYPE_CATEGORICAL
    if ptypes.is_datetime64_any_dtype(dtype):
        return FieldType.FIELD_TYPE_TIMESTAMP
    if ptypes.is_bool_dtype(dtype):
        return FieldType.FIELD_TYPE_BOOL
    if ptypes.is_integer_dtype(dtype):
        return FieldType.FIELD_TYPE_INT64
    if ptypes.is_float_dtype(dtype):
        return FieldType.FIELD_TYPE_DOUBLE
    inferred = ptypes.infer_dtype(series, skipna=True)
    return {
        "boolean": FieldType.FIELD_TYPE_BOOL,
        "integer": FieldType.FIELD_TYPE_INT64,
        "floating": FieldType.FIELD_TYPE_DOUBLE,
        "mixed-integer-float": FieldType.FIELD_TYPE_DOUBLE,
        "datetime": FieldType.FIELD_TYPE_TIMESTAMP,
        "datetime64": FieldType.FIELD_TYPE_TIMESTAMP,
    }.get(inferred, FieldType.FIELD_TYPE_STRING)


def schema_from_dataframe(
    df: pd.DataFrame,
    *,
    record_id_column: str,
    timestamp_column: str | None = None,
    labels: Iterable[str] = (),
    extra: Iterable[str] = (),
    exclude: Iterable[str] = (),
    types: Mapping[str, str] | None = None,
    categories: Mapping[str, Iterable[str]] | None = None,
    ranges: Mapping[str, tuple[float | None, float | None]] | None = None,
    required: Iterable[str] = (),
) -> resources_pb2.Schema:
    """A schema with one field per column: features unless listed in `labels` or `extra`, typed by dtype.

    Category-dtype columns become CATEGORICAL with their categories; `categories` makes any column CATEGORICAL with
    the given list. `types` overrides a field's type by short name. Fields are nullable unless listed in `required`,
    since production data is often less complete than training data. `exclude` leaves columns out, such as
    predictions that belong to a model rather than the collection.
    """
    label_set, extra_set, skip, must = set(labels), set(extra), set(exclude), set(required)
    categories = dict(categories or {})
    ranges = dict(ranges or {})
    types = dict(types or {})
    columns = set(map(str, df.columns))
    for name in [*label_set, *extra_set, *skip, *must, *categories, *ranges, *types]:
        if name not in columns:
            raise ValueError(f"column {name!r} is named in an override but is not in the DataFrame")
    fields = []
    for column in df.columns:
        name = str(column)
        if name in skip or name in (record_id_column, timestamp_column):
            continue
        kind = _kinds["label"] if name in label_set else _kinds["extra"] if name in extra_set else _kinds["feature"]
        series = df[column]
        kind_of_type = field_type(types[name]) if name in types else type_of_dtype(series)
        field = resources_pb2.Field(name=name, kind=kind, type=kind_of_type, nullable=name not in must)
        if name in categories:
            field.type = FieldType.FIELD_TYPE_CATEGORICAL
            field.categories.extend(str(c) for c in categories[name])
        elif field.type == FieldType.FIELD_TYPE_CATEGORICAL:
            dtype = series.dtype
            listed = dtype.categories if isinstance(dtype, pd.CategoricalDtype) else pd.unique(series.dropna())
            field.categories.extend(str(c) for c in listed)
        if name in ranges:
            low, high = ranges[name]
            if low is not None:
                field.range.min = low
            if high is not None:
                field.range.max = high
        fields.append(field)
    return resources_pb2.Schema(record_id_column=record_id_column, timestamp_column=timestamp_column or "", fields=fields)

"""Pure routing of a DataFrame's (or pyarrow Table's) columns to the wire's record batches, and back."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from sightline.v1 import records_pb2, resources_pb2

from .columns import column_from_arrow, column_from_series, null_mask, series_from_column, timestamp_millis

FieldKind = resources_pb2.FieldKind
FieldType = resources_pb2.FieldType

#: Influence columns are named `<prefix><feature>` in DataFrames, since a feature's own column already has its name.
DEFAULT_INFLUENCE_PREFIX = "influence."

_kind_of_field = {
    FieldKind.FIELD_KIND_FEATURE: "features",
    FieldKind.FIELD_KIND_LABEL: "labels",
    FieldKind.FIELD_KIND_EXTRA: "extra",
}
KIND_NAMES = ("features", "labels", "extra", "predictions", "influences")


@dataclass
class Routing:
    """Where each source column goes: record IDs, event times, schema columns, predictions or influences."""

    id_column: str
    timestamp_column: str | None
    #: source column -> (wire name, field type), for each destination
    columns: dict[str, tuple[str, int]] = field(default_factory=dict)
    predictions: dict[str, tuple[str, int]] = field(default_factory=dict)
    influences: dict[str, tuple[str, int]] = field(default_factory=dict)


def route_columns(
    source_columns: Iterable[str],
    schema: resources_pb2.Schema,
    model: resources_pb2.Model | None,
    *,
    production: bool,
    id_column: str | None = None,
    timestamp_column: str | None = None,
    kinds: Iterable[str] | None = None,
    rename: Mapping[str, str] | None = None,
    influence_prefix: str = DEFAULT_INFLUENCE_PREFIX,
    ignore_unknown: bool = False,
) -> Routing:
    """Decides each column's destination by name. `rename` maps source names to schema names; `kinds` keeps only the
    columns of those data kinds (so a full frame can send just its labels later). Unknown columns are an error
    unless `ignore_unknown`, because a typo would otherwise silently drop data."""
    wanted = set(KIND_NAMES if kinds is None else kinds)
    unknown_kinds = wanted - set(KIND_NAMES)
    if unknown_kinds:
        raise ValueError(f"unknown data kinds {sorted(unknown_kinds)}; use {list(KIND_NAMES)}")
    rename = dict(rename or {})
    ids = id_column or schema.record_id_column
    stamps = timestamp_column or schema.timestamp_column or None
    fields = {f.name: f for f in schema.fields}
    prediction_types = {p.name: p.type for p in model.prediction_fields} if model is not None else {}
    features = {f.name for f in schema.fields if f.kind == FieldKind.FIELD_KIND_FEATURE}
    routing = Routing(id_column=ids, timestamp_column=None)
    unknown: list[str] = []
    names = list(source_columns)
    if ids not in names:
        raise ValueError(f"the record ID column {ids!r} is not among the columns; pass id_column=")
    for source in names:
        if source == ids:
            continue
        if source == stamps:
            if production:
                routing.timestamp_column = source
            continue
        name = rename.get(source, source)
        if name in fields:
            if _kind_of_field[fields[name].kind] in wanted:
                routing.columns[source] = (name, fields[name].type)
        elif name in prediction_types:
            if "predictions" in wanted:
                routing.predictions[source] = (name, prediction_types[name])
        elif model is not None and name.startswith(influence_prefix) and name[len(influence_prefix) :] in features:
            if "influences" in wanted:
                routing.influences[source] = (name[len(influence_prefix) :], FieldType.FIELD_TYPE_DOUBLE)
        else:
            unknown.append(source)
    if unknown and not ignore_unknown:
        where = "the schema" + (f" or model {model.name!r}" if model is not None else " (predictions and influences need model=)")
        raise ValueError(f"columns {unknown} are not in {where}; rename them, drop them or pass ignore_unknown=True")
    return routing


def _is_arrow(data: Any) -> bool:
    return type(data).__module__.startswith("pyarrow")


def row_count(data: Any) -> int:
    return int(data.num_rows) if _is_arrow(data) else len(data)


def record_batches(data: pd.DataFrame | Any, routing: Routing, batch_rows: int) -> Iterator[records_pb2.RecordBatch]:
    """Slices the data into batches of at most `batch_rows` rows, converting whole columns at a time."""
    rows = row_count(data)
    arrow = _is_arrow(data)
    source: Any = data
    for start in range(0, rows, batch_rows):
        part: Any = source.slice(start, batch_rows) if arrow else source.iloc[start : start + batch_rows]
        yield _record_batch(part, routing)


def _column(part: Any, source: str, name: str, hint: int) -> records_pb2.Column:
    if _is_arrow(part):
        return column_from_arrow(name, part.column(source), hint)
    return column_from_series(name, part[source], hint)


def _record_ids(values: pd.Series) -> list[str]:
    if values.isna().any():
        # An empty ID is refused row by row by the server (INVALID_RECORD_ID), like any other bad ID.
        values = values.astype(object).where(values.notna(), "")
    if ptypes.is_string_dtype(values.dtype) and not isinstance(values.dtype, pd.CategoricalDtype):
        return [v if isinstance(v, str) else str(v) for v in values.tolist()]
    return values.astype(str).tolist()


def _record_batch(part: Any, routing: Routing) -> records_pb2.RecordBatch:
    arrow = _is_arrow(part)
    ids = part.column(routing.id_column).to_pandas() if arrow else part[routing.id_column]
    batch = records_pb2.RecordBatch(record_ids=_record_ids(ids))
    if routing.timestamp_column is not None:
        stamps = part.column(routing.timestamp_column).to_pandas() if arrow else part[routing.timestamp_column]
        if ptypes.is_integer_dtype(stamps.dtype) or ptypes.is_float_dtype(stamps.dtype):
            nulls = stamps.isna().to_numpy()
            millis = stamps.to_numpy(dtype=np.float64, na_value=0).astype(np.int64)
        else:
            millis, nulls = timestamp_millis(stamps)
        batch.event_times.unix_millis.extend(millis.tolist())
        batch.event_times.null_mask = null_mask(nulls)
    batch.columns.extend(_column(part, s, name, hint) for s, (name, hint) in routing.columns.items())
    batch.predictions.extend(_column(part, s, name, hint) for s, (name, hint) in routing.predictions.items())
    batch.influences.extend(_column(part, s, name, hint) for s, (name, hint) in routing.influences.items())
    return batch


def frame_from_batches(
    batches: Iterable[records_pb2.RecordBatch],
    schema: resources_pb2.Schema,
    model: resources_pb2.Model | None,
    *,
    production: bool,
    influence_prefix: str = DEFAULT_INFLUENCE_PREFIX,
) -> pd.DataFrame:
    """The joined records as one DataFrame, with each field in the nullable dtype of its type."""
    field_types = {f.name: f.type for f in schema.fields}
    categories = {f.name: list(f.categories) for f in schema.fields if f.type == FieldType.FIELD_TYPE_CATEGORICAL}
    prediction_types = {p.name: p.type for p in model.prediction_fields} if model is not None else {}
    id_name = schema.record_id_column
    time_name = schema.timestamp_column or "event_time"
    parts: list[pd.DataFrame] = []
    for batch in batches:
        data: dict[str, pd.Series] = {id_name: pd.Series(list(batch.record_ids), dtype="string")}
        if production:
            stamps = records_pb2.Column(name=time_name, int64s=records_pb2.Int64Values(values=batch.event_times.unix_millis), null_mask=batch.event_times.null_mask)
            data[time_name] = series_from_column(stamps, FieldType.FIELD_TYPE_TIMESTAMP)
        for column in batch.columns:
            data[column.name] = series_from_column(column, field_types.get(column.name))
        for column in batch.predictions:
            data[column.name] = series_from_column(column, prediction_types.get(column.name))
        for column in batch.influences:
            data[influence_prefix + column.name] = series_from_column(column, FieldType.FIELD_TYPE_DOUBLE)
        parts.append(pd.DataFrame(data))
    if not parts:
        columns = [id_name, *([time_name] if production else []), *field_types]
        return pd.DataFrame({c: pd.Series([], dtype="object") for c in columns})
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    for name, listed in categories.items():
        if name in frame.columns:
            frame[name] = pd.Categorical(frame[name].astype(object).where(frame[name].notna(), None), categories=listed)
    return frame

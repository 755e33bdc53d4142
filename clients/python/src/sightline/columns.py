"""Pure conversion between pandas or pyarrow columns and the wire's typed columns with null masks, a whole column at
a time through numpy: nothing here goes row by row, except building the Python string list a string column needs."""

from __future__ import annotations

from typing import Any, Union

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api import types as ptypes

from sightline.v1 import records_pb2, resources_pb2

FieldType = resources_pb2.FieldType

try:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
except ImportError:  # pyarrow is optional: only pyarrow input needs it
    pa = None

ColumnLike = Union[pd.Series, "pa.Array", "pa.ChunkedArray"]


def null_mask(nulls: npt.NDArray[np.bool_]) -> bytes:
    """Bit i, least significant first, set when row i is null; empty when no row is."""
    if not nulls.any():
        return b""
    return np.packbits(nulls, bitorder="little").tobytes()


def nulls_from_mask(mask: bytes, rows: int) -> npt.NDArray[np.bool_]:
    if not mask:
        return np.zeros(rows, dtype=bool)
    bits = np.unpackbits(np.frombuffer(mask, dtype=np.uint8), bitorder="little")
    return bits[:rows].astype(bool)


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _packed(raw: bytes) -> bytes:
    # Field 1, wire type 2 (a packed repeated scalar): parsing raw bytes is far faster than filling the field.
    return b"\x0a" + _varint(len(raw)) + raw


def _packed_payload(encoded: bytes) -> bytes:
    """The raw values of a message whose only field is a packed repeated scalar of fixed one-value size."""
    if not encoded:
        return b""
    at = 1
    while encoded[at] & 0x80:
        at += 1
    return encoded[at + 1 :]


def doubles(values: npt.NDArray[np.float64]) -> records_pb2.DoubleValues:
    return records_pb2.DoubleValues.FromString(_packed(np.ascontiguousarray(values, dtype="<f8").tobytes()))


def bools(values: npt.NDArray[np.bool_]) -> records_pb2.BoolValues:
    return records_pb2.BoolValues.FromString(_packed(np.ascontiguousarray(values, dtype=np.uint8).tobytes()))


def int64s(values: npt.NDArray[np.int64]) -> records_pb2.Int64Values:
    return records_pb2.Int64Values(values=values.tolist())


def strings(values: list[str]) -> records_pb2.StringValues:
    return records_pb2.StringValues(values=values)


def _empty_column(name: str, rows: int, hint: int | None) -> records_pb2.Column:
    """An all-null column, typed after the field it fills, since its values say nothing."""
    mask = null_mask(np.ones(rows, dtype=bool))
    if hint in (FieldType.FIELD_TYPE_INT64, FieldType.FIELD_TYPE_TIMESTAMP):
        return records_pb2.Column(name=name, int64s=int64s(np.zeros(rows, dtype=np.int64)), null_mask=mask)
    if hint in (FieldType.FIELD_TYPE_STRING, FieldType.FIELD_TYPE_CATEGORICAL):
        return records_pb2.Column(name=name, strings=strings([""] * rows), null_mask=mask)
    if hint == FieldType.FIELD_TYPE_BOOL:
        return records_pb2.Column(name=name, bools=bools(np.zeros(rows, dtype=bool)), null_mask=mask)
    return records_pb2.Column(name=name, doubles=doubles(np.zeros(rows)), null_mask=mask)


def timestamp_millis(series: pd.Series) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Unix milliseconds of a datetime column (naive values are taken as UTC), with its null rows."""
    if not ptypes.is_datetime64_any_dtype(series.dtype):
        series = pd.to_datetime(series, utc=True)
    if getattr(series.dtype, "tz", None) is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    nulls = series.isna().to_numpy()
    millis = series.to_numpy(dtype="datetime64[ms]").astype(np.int64)
    millis[nulls] = 0
    return millis, nulls


def column_from_series(name: str, series: pd.Series, hint: int | None = None) -> records_pb2.Column:
    """One wire column from a pandas column, typed by its dtype; `hint` (a FieldType) types all-null columns."""
    rows = len(series)
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        series = series.astype(object)
        dtype = series.dtype
    if ptypes.is_datetime64_any_dtype(dtype):
        millis, nulls = timestamp_millis(series)
        return records_pb2.Column(name=name, int64s=int64s(millis), null_mask=null_mask(nulls))
    if ptypes.is_bool_dtype(dtype):
        nulls = series.isna().to_numpy()
        if nulls.all():
            return _empty_column(name, rows, hint)
        return records_pb2.Column(name=name, bools=bools(series.to_numpy(dtype=bool, na_value=False)), null_mask=null_mask(nulls))
    if ptypes.is_integer_dtype(dtype):
        nulls = series.isna().to_numpy()
        if nulls.all():
            return _empty_column(name, rows, hint)
        return records_pb2.Column(name=name, int64s=int64s(series.to_numpy(dtype=np.int64, na_value=0)), null_mask=null_mask(nulls))
    if ptypes.is_float_dtype(dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        nulls = np.isnan(values)
        if nulls.all():
            return _empty_column(name, rows, hint)
        return records_pb2.Column(name=name, doubles=doubles(values), null_mask=null_mask(nulls))
    inferred = ptypes.infer_dtype(series, skipna=True)
    if inferred == "empty":
        return _empty_column(name, rows, hint)
    if inferred == "boolean":
        return column_from_series(name, series.astype("boolean"), hint)
    if inferred == "integer":
        return column_from_series(name, series.astype("Int64"), hint)
    if inferred in ("floating", "mixed-integer-float", "decimal"):
        return column_from_series(name, series.astype("Float64"), hint)
    if inferred in ("datetime", "datetime64", "date"):
        return column_from_series(name, pd.to_datetime(series, utc=True), hint)
    nulls = series.isna().to_numpy()
    objects = series.to_numpy(dtype=object, na_value="")
    text = [value if isinstance(value, str) else str(value) for value in objects] if inferred != "string" else objects.tolist()
    return records_pb2.Column(name=name, strings=strings(text), null_mask=null_mask(nulls))


def column_from_arrow(name: str, array: Any, hint: int | None = None) -> records_pb2.Column:
    """One wire column from a pyarrow array or chunked array, without a pandas round trip for numbers."""
    assert pa is not None, "pyarrow input needs pyarrow installed"
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    kind = array.type
    nulls = array.is_null().to_numpy(zero_copy_only=False)
    if nulls.all() and len(array) > 0:
        return _empty_column(name, len(array), hint)
    if pa.types.is_dictionary(kind):
        array = array.dictionary_decode()
        kind = array.type
    if pa.types.is_floating(kind):
        values = array.fill_null(float("nan")).to_numpy(zero_copy_only=False).astype(np.float64)
        return records_pb2.Column(name=name, doubles=doubles(values), null_mask=null_mask(nulls | np.isnan(values)))
    if pa.types.is_integer(kind):
        values = array.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        return records_pb2.Column(name=name, int64s=int64s(values), null_mask=null_mask(nulls))
    if pa.types.is_boolean(kind):
        values = array.fill_null(False).to_numpy(zero_copy_only=False)
        return records_pb2.Column(name=name, bools=bools(values), null_mask=null_mask(nulls))
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return column_from_series(name, array.to_pandas(), hint)
    text = array.cast(pa.string()).fill_null("").to_pylist()
    return records_pb2.Column(name=name, strings=strings(text), null_mask=null_mask(nulls))


def series_from_column(column: records_pb2.Column, field_type: int | None) -> pd.Series:
    """A pandas column from a wire column, in the nullable dtype of its field's type."""
    which = column.WhichOneof("values")
    if which == "doubles":
        values: Any = np.frombuffer(_packed_payload(column.doubles.SerializeToString()), dtype="<f8").astype(np.float64)
        rows = len(values)
    elif which == "int64s":
        values = np.array(column.int64s.values, dtype=np.int64)
        rows = len(values)
    elif which == "bools":
        values = np.frombuffer(_packed_payload(column.bools.SerializeToString()), dtype=np.uint8).astype(bool)
        rows = len(values)
    elif which == "strings":
        values = np.array(column.strings.values, dtype=object)
        rows = len(values)
    else:
        values = np.array([], dtype=np.float64)
        rows = 0
    nulls = nulls_from_mask(column.null_mask, rows)
    if field_type == FieldType.FIELD_TYPE_TIMESTAMP:
        stamps = pd.Series(pd.to_datetime(np.where(nulls, 0, values).astype(np.int64), unit="ms", utc=True))
        return stamps.mask(nulls).astype("datetime64[ms, UTC]")
    if which == "doubles":
        floats = values.copy()
        floats[nulls] = np.nan
        return pd.Series(floats, dtype="float64")
    if which == "int64s":
        return pd.Series(pd.arrays.IntegerArray(values, nulls.copy()), dtype="Int64")
    if which == "bools":
        return pd.Series(pd.arrays.BooleanArray(values, nulls.copy()), dtype="boolean")
    text = values.copy()
    text[nulls] = None
    return pd.Series(text, dtype="string")

from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DataKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DATA_KIND_UNSPECIFIED: _ClassVar[DataKind]
    DATA_KIND_FEATURES: _ClassVar[DataKind]
    DATA_KIND_LABELS: _ClassVar[DataKind]
    DATA_KIND_EXTRA: _ClassVar[DataKind]
    DATA_KIND_PREDICTIONS: _ClassVar[DataKind]
    DATA_KIND_INFLUENCES: _ClassVar[DataKind]

class RowErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROW_ERROR_REASON_UNSPECIFIED: _ClassVar[RowErrorReason]
    ROW_ERROR_REASON_INVALID_RECORD_ID: _ClassVar[RowErrorReason]
    ROW_ERROR_REASON_DUPLICATE_RECORD_ID: _ClassVar[RowErrorReason]
    ROW_ERROR_REASON_MISSING_TIMESTAMP: _ClassVar[RowErrorReason]
    ROW_ERROR_REASON_WRONG_TYPE: _ClassVar[RowErrorReason]
    ROW_ERROR_REASON_NULL_NOT_ALLOWED: _ClassVar[RowErrorReason]
    ROW_ERROR_REASON_NOT_FINITE: _ClassVar[RowErrorReason]
    ROW_ERROR_REASON_OUT_OF_RANGE: _ClassVar[RowErrorReason]
    ROW_ERROR_REASON_UNKNOWN_CATEGORY: _ClassVar[RowErrorReason]
    ROW_ERROR_REASON_STRING_TOO_LONG: _ClassVar[RowErrorReason]
    ROW_ERROR_REASON_INVALID_STRING: _ClassVar[RowErrorReason]
DATA_KIND_UNSPECIFIED: DataKind
DATA_KIND_FEATURES: DataKind
DATA_KIND_LABELS: DataKind
DATA_KIND_EXTRA: DataKind
DATA_KIND_PREDICTIONS: DataKind
DATA_KIND_INFLUENCES: DataKind
ROW_ERROR_REASON_UNSPECIFIED: RowErrorReason
ROW_ERROR_REASON_INVALID_RECORD_ID: RowErrorReason
ROW_ERROR_REASON_DUPLICATE_RECORD_ID: RowErrorReason
ROW_ERROR_REASON_MISSING_TIMESTAMP: RowErrorReason
ROW_ERROR_REASON_WRONG_TYPE: RowErrorReason
ROW_ERROR_REASON_NULL_NOT_ALLOWED: RowErrorReason
ROW_ERROR_REASON_NOT_FINITE: RowErrorReason
ROW_ERROR_REASON_OUT_OF_RANGE: RowErrorReason
ROW_ERROR_REASON_UNKNOWN_CATEGORY: RowErrorReason
ROW_ERROR_REASON_STRING_TOO_LONG: RowErrorReason
ROW_ERROR_REASON_INVALID_STRING: RowErrorReason

class DoubleValues(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, values: _Optional[_Iterable[float]] = ...) -> None: ...

class Int64Values(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, values: _Optional[_Iterable[int]] = ...) -> None: ...

class StringValues(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, values: _Optional[_Iterable[str]] = ...) -> None: ...

class BoolValues(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[bool]
    def __init__(self, values: _Optional[_Iterable[bool]] = ...) -> None: ...

class Column(_message.Message):
    __slots__ = ("name", "doubles", "int64s", "strings", "bools", "null_mask")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DOUBLES_FIELD_NUMBER: _ClassVar[int]
    INT64S_FIELD_NUMBER: _ClassVar[int]
    STRINGS_FIELD_NUMBER: _ClassVar[int]
    BOOLS_FIELD_NUMBER: _ClassVar[int]
    NULL_MASK_FIELD_NUMBER: _ClassVar[int]
    name: str
    doubles: DoubleValues
    int64s: Int64Values
    strings: StringValues
    bools: BoolValues
    null_mask: bytes
    def __init__(self, name: _Optional[str] = ..., doubles: _Optional[_Union[DoubleValues, _Mapping]] = ..., int64s: _Optional[_Union[Int64Values, _Mapping]] = ..., strings: _Optional[_Union[StringValues, _Mapping]] = ..., bools: _Optional[_Union[BoolValues, _Mapping]] = ..., null_mask: _Optional[bytes] = ...) -> None: ...

class TimestampColumn(_message.Message):
    __slots__ = ("unix_millis", "null_mask")
    UNIX_MILLIS_FIELD_NUMBER: _ClassVar[int]
    NULL_MASK_FIELD_NUMBER: _ClassVar[int]
    unix_millis: _containers.RepeatedScalarFieldContainer[int]
    null_mask: bytes
    def __init__(self, unix_millis: _Optional[_Iterable[int]] = ..., null_mask: _Optional[bytes] = ...) -> None: ...

class RecordBatch(_message.Message):
    __slots__ = ("record_ids", "event_times", "columns", "predictions", "influences")
    RECORD_IDS_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIMES_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    PREDICTIONS_FIELD_NUMBER: _ClassVar[int]
    INFLUENCES_FIELD_NUMBER: _ClassVar[int]
    record_ids: _containers.RepeatedScalarFieldContainer[str]
    event_times: TimestampColumn
    columns: _containers.RepeatedCompositeFieldContainer[Column]
    predictions: _containers.RepeatedCompositeFieldContainer[Column]
    influences: _containers.RepeatedCompositeFieldContainer[Column]
    def __init__(self, record_ids: _Optional[_Iterable[str]] = ..., event_times: _Optional[_Union[TimestampColumn, _Mapping]] = ..., columns: _Optional[_Iterable[_Union[Column, _Mapping]]] = ..., predictions: _Optional[_Iterable[_Union[Column, _Mapping]]] = ..., influences: _Optional[_Iterable[_Union[Column, _Mapping]]] = ...) -> None: ...

class Target(_message.Message):
    __slots__ = ("project", "collection", "split", "production", "model")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    split: str
    production: bool
    model: str
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., split: _Optional[str] = ..., production: _Optional[bool] = ..., model: _Optional[str] = ...) -> None: ...

class RowError(_message.Message):
    __slots__ = ("row", "record_id", "field", "reason", "description", "batch")
    ROW_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    row: int
    record_id: str
    field: str
    reason: RowErrorReason
    description: str
    batch: int
    def __init__(self, row: _Optional[int] = ..., record_id: _Optional[str] = ..., field: _Optional[str] = ..., reason: _Optional[_Union[RowErrorReason, str]] = ..., description: _Optional[str] = ..., batch: _Optional[int] = ...) -> None: ...

class KindCount(_message.Message):
    __slots__ = ("kind", "accepted", "rejected")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    kind: DataKind
    accepted: int
    rejected: int
    def __init__(self, kind: _Optional[_Union[DataKind, str]] = ..., accepted: _Optional[int] = ..., rejected: _Optional[int] = ...) -> None: ...

class WriteSummary(_message.Message):
    __slots__ = ("rows_received", "rows_accepted", "rows_rejected", "kinds", "row_errors", "batches")
    ROWS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    ROWS_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    ROWS_REJECTED_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    ROW_ERRORS_FIELD_NUMBER: _ClassVar[int]
    BATCHES_FIELD_NUMBER: _ClassVar[int]
    rows_received: int
    rows_accepted: int
    rows_rejected: int
    kinds: _containers.RepeatedCompositeFieldContainer[KindCount]
    row_errors: _containers.RepeatedCompositeFieldContainer[RowError]
    batches: int
    def __init__(self, rows_received: _Optional[int] = ..., rows_accepted: _Optional[int] = ..., rows_rejected: _Optional[int] = ..., kinds: _Optional[_Iterable[_Union[KindCount, _Mapping]]] = ..., row_errors: _Optional[_Iterable[_Union[RowError, _Mapping]]] = ..., batches: _Optional[int] = ...) -> None: ...

import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from sightline.v1 import records_pb2 as _records_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UploadRequest(_message.Message):
    __slots__ = ("header", "batch")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    header: _records_pb2.Target
    batch: _records_pb2.RecordBatch
    def __init__(self, header: _Optional[_Union[_records_pb2.Target, _Mapping]] = ..., batch: _Optional[_Union[_records_pb2.RecordBatch, _Mapping]] = ...) -> None: ...

class UploadResponse(_message.Message):
    __slots__ = ("summary",)
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    summary: _records_pb2.WriteSummary
    def __init__(self, summary: _Optional[_Union[_records_pb2.WriteSummary, _Mapping]] = ...) -> None: ...

class StreamRequest(_message.Message):
    __slots__ = ("header", "batch")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    header: _records_pb2.Target
    batch: SequencedBatch
    def __init__(self, header: _Optional[_Union[_records_pb2.Target, _Mapping]] = ..., batch: _Optional[_Union[SequencedBatch, _Mapping]] = ...) -> None: ...

class SequencedBatch(_message.Message):
    __slots__ = ("sequence", "batch")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    batch: _records_pb2.RecordBatch
    def __init__(self, sequence: _Optional[int] = ..., batch: _Optional[_Union[_records_pb2.RecordBatch, _Mapping]] = ...) -> None: ...

class StreamResponse(_message.Message):
    __slots__ = ("sequence", "summary", "error")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    summary: _records_pb2.WriteSummary
    error: BatchError
    def __init__(self, sequence: _Optional[int] = ..., summary: _Optional[_Union[_records_pb2.WriteSummary, _Mapping]] = ..., error: _Optional[_Union[BatchError, _Mapping]] = ...) -> None: ...

class BatchError(_message.Message):
    __slots__ = ("code", "message", "violations")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    violations: _containers.RepeatedCompositeFieldContainer[FieldViolation]
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., violations: _Optional[_Iterable[_Union[FieldViolation, _Mapping]]] = ...) -> None: ...

class FieldViolation(_message.Message):
    __slots__ = ("field", "description")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    field: str
    description: str
    def __init__(self, field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class PutRequest(_message.Message):
    __slots__ = ("target", "batch")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    target: _records_pb2.Target
    batch: _records_pb2.RecordBatch
    def __init__(self, target: _Optional[_Union[_records_pb2.Target, _Mapping]] = ..., batch: _Optional[_Union[_records_pb2.RecordBatch, _Mapping]] = ...) -> None: ...

class PutResponse(_message.Message):
    __slots__ = ("summary",)
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    summary: _records_pb2.WriteSummary
    def __init__(self, summary: _Optional[_Union[_records_pb2.WriteSummary, _Mapping]] = ...) -> None: ...

class ReadRecordsRequest(_message.Message):
    __slots__ = ("target", "start_time", "end_time", "record_ids", "kinds", "fields", "batch_size")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    RECORD_IDS_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    target: _records_pb2.Target
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    record_ids: _containers.RepeatedScalarFieldContainer[str]
    kinds: _containers.RepeatedScalarFieldContainer[_records_pb2.DataKind]
    fields: _containers.RepeatedScalarFieldContainer[str]
    batch_size: int
    def __init__(self, target: _Optional[_Union[_records_pb2.Target, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., record_ids: _Optional[_Iterable[str]] = ..., kinds: _Optional[_Iterable[_Union[_records_pb2.DataKind, str]]] = ..., fields: _Optional[_Iterable[str]] = ..., batch_size: _Optional[int] = ...) -> None: ...

class ReadRecordsResponse(_message.Message):
    __slots__ = ("batch",)
    BATCH_FIELD_NUMBER: _ClassVar[int]
    batch: _records_pb2.RecordBatch
    def __init__(self, batch: _Optional[_Union[_records_pb2.RecordBatch, _Mapping]] = ...) -> None: ...

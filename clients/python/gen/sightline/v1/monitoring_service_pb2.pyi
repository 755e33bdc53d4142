import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from sightline.v1 import resources_pb2 as _resources_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_WAITING: _ClassVar[JobState]
    JOB_STATE_ACTIVE: _ClassVar[JobState]
    JOB_STATE_COMPLETED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_DELAYED: _ClassVar[JobState]

class Granularity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GRANULARITY_UNSPECIFIED: _ClassVar[Granularity]
    GRANULARITY_HOUR: _ClassVar[Granularity]
    GRANULARITY_DAY: _ClassVar[Granularity]

class DriftSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DRIFT_SOURCE_UNSPECIFIED: _ClassVar[DriftSource]
    DRIFT_SOURCE_FEATURE: _ClassVar[DriftSource]
    DRIFT_SOURCE_PREDICTION: _ClassVar[DriftSource]
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_WAITING: JobState
JOB_STATE_ACTIVE: JobState
JOB_STATE_COMPLETED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_DELAYED: JobState
GRANULARITY_UNSPECIFIED: Granularity
GRANULARITY_HOUR: Granularity
GRANULARITY_DAY: Granularity
DRIFT_SOURCE_UNSPECIFIED: DriftSource
DRIFT_SOURCE_FEATURE: DriftSource
DRIFT_SOURCE_PREDICTION: DriftSource

class RefreshMonitoringRequest(_message.Message):
    __slots__ = ("project", "collection", "model", "full")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    FULL_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    model: str
    full: bool
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., model: _Optional[str] = ..., full: _Optional[bool] = ...) -> None: ...

class RefreshMonitoringResponse(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class WatchJobResponse(_message.Message):
    __slots__ = ("job_id", "state", "progress", "message", "attempts", "result", "compute_result")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_RESULT_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: JobState
    progress: float
    message: str
    attempts: int
    result: MonitoringRunResult
    compute_result: ComputeRunResult
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., progress: _Optional[float] = ..., message: _Optional[str] = ..., attempts: _Optional[int] = ..., result: _Optional[_Union[MonitoringRunResult, _Mapping]] = ..., compute_result: _Optional[_Union[ComputeRunResult, _Mapping]] = ...) -> None: ...

class ComputeRunResult(_message.Message):
    __slots__ = ("records", "written", "rejected", "chunks", "artifact_version", "algorithm", "exact", "base_value")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_VERSION_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    EXACT_FIELD_NUMBER: _ClassVar[int]
    BASE_VALUE_FIELD_NUMBER: _ClassVar[int]
    records: int
    written: int
    rejected: int
    chunks: int
    artifact_version: int
    algorithm: _resources_pb2.InfluenceAlgorithm
    exact: bool
    base_value: float
    def __init__(self, records: _Optional[int] = ..., written: _Optional[int] = ..., rejected: _Optional[int] = ..., chunks: _Optional[int] = ..., artifact_version: _Optional[int] = ..., algorithm: _Optional[_Union[_resources_pb2.InfluenceAlgorithm, str]] = ..., exact: _Optional[bool] = ..., base_value: _Optional[float] = ...) -> None: ...

class MonitoringRunResult(_message.Message):
    __slots__ = ("hours", "days", "splits", "records_read", "full")
    HOURS_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    SPLITS_FIELD_NUMBER: _ClassVar[int]
    RECORDS_READ_FIELD_NUMBER: _ClassVar[int]
    FULL_FIELD_NUMBER: _ClassVar[int]
    hours: int
    days: int
    splits: int
    records_read: int
    full: bool
    def __init__(self, hours: _Optional[int] = ..., days: _Optional[int] = ..., splits: _Optional[int] = ..., records_read: _Optional[int] = ..., full: _Optional[bool] = ...) -> None: ...

class GetMonitoringRequest(_message.Message):
    __slots__ = ("project", "collection", "model", "start_time", "end_time", "granularity", "metrics", "fields", "splits")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    SPLITS_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    model: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    granularity: Granularity
    metrics: _containers.RepeatedScalarFieldContainer[str]
    fields: _containers.RepeatedScalarFieldContainer[str]
    splits: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., model: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., granularity: _Optional[_Union[Granularity, str]] = ..., metrics: _Optional[_Iterable[str]] = ..., fields: _Optional[_Iterable[str]] = ..., splits: _Optional[_Iterable[str]] = ...) -> None: ...

class GetMonitoringResponse(_message.Message):
    __slots__ = ("buckets", "splits", "last_run_time")
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    SPLITS_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_TIME_FIELD_NUMBER: _ClassVar[int]
    buckets: _containers.RepeatedCompositeFieldContainer[MonitoringBucket]
    splits: _containers.RepeatedCompositeFieldContainer[SplitMonitoring]
    last_run_time: _timestamp_pb2.Timestamp
    def __init__(self, buckets: _Optional[_Iterable[_Union[MonitoringBucket, _Mapping]]] = ..., splits: _Optional[_Iterable[_Union[SplitMonitoring, _Mapping]]] = ..., last_run_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SplitMonitoring(_message.Message):
    __slots__ = ("split", "result")
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    split: str
    result: MonitoringBucket
    def __init__(self, split: _Optional[str] = ..., result: _Optional[_Union[MonitoringBucket, _Mapping]] = ...) -> None: ...

class MetricValue(_message.Message):
    __slots__ = ("name", "value", "undefined_reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    UNDEFINED_REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    undefined_reason: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ..., undefined_reason: _Optional[str] = ...) -> None: ...

class ConfusionMatrix(_message.Message):
    __slots__ = ("true_negatives", "false_positives", "false_negatives", "true_positives")
    TRUE_NEGATIVES_FIELD_NUMBER: _ClassVar[int]
    FALSE_POSITIVES_FIELD_NUMBER: _ClassVar[int]
    FALSE_NEGATIVES_FIELD_NUMBER: _ClassVar[int]
    TRUE_POSITIVES_FIELD_NUMBER: _ClassVar[int]
    true_negatives: int
    false_positives: int
    false_negatives: int
    true_positives: int
    def __init__(self, true_negatives: _Optional[int] = ..., false_positives: _Optional[int] = ..., false_negatives: _Optional[int] = ..., true_positives: _Optional[int] = ...) -> None: ...

class BucketCounts(_message.Message):
    __slots__ = ("records", "predictions", "labelled", "label_rate", "unusable_labels", "zero_labels")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    PREDICTIONS_FIELD_NUMBER: _ClassVar[int]
    LABELLED_FIELD_NUMBER: _ClassVar[int]
    LABEL_RATE_FIELD_NUMBER: _ClassVar[int]
    UNUSABLE_LABELS_FIELD_NUMBER: _ClassVar[int]
    ZERO_LABELS_FIELD_NUMBER: _ClassVar[int]
    records: int
    predictions: int
    labelled: int
    label_rate: float
    unusable_labels: int
    zero_labels: int
    def __init__(self, records: _Optional[int] = ..., predictions: _Optional[int] = ..., labelled: _Optional[int] = ..., label_rate: _Optional[float] = ..., unusable_labels: _Optional[int] = ..., zero_labels: _Optional[int] = ...) -> None: ...

class FieldDrift(_message.Message):
    __slots__ = ("field", "source", "statistics", "baseline_count", "current_count")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STATISTICS_FIELD_NUMBER: _ClassVar[int]
    BASELINE_COUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    field: str
    source: DriftSource
    statistics: _containers.RepeatedCompositeFieldContainer[MetricValue]
    baseline_count: int
    current_count: int
    def __init__(self, field: _Optional[str] = ..., source: _Optional[_Union[DriftSource, str]] = ..., statistics: _Optional[_Iterable[_Union[MetricValue, _Mapping]]] = ..., baseline_count: _Optional[int] = ..., current_count: _Optional[int] = ...) -> None: ...

class FieldQuality(_message.Message):
    __slots__ = ("field", "count", "missing", "rates", "out_of_range", "unseen")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    RATES_FIELD_NUMBER: _ClassVar[int]
    OUT_OF_RANGE_FIELD_NUMBER: _ClassVar[int]
    UNSEEN_FIELD_NUMBER: _ClassVar[int]
    field: str
    count: int
    missing: int
    rates: _containers.RepeatedCompositeFieldContainer[MetricValue]
    out_of_range: int
    unseen: int
    def __init__(self, field: _Optional[str] = ..., count: _Optional[int] = ..., missing: _Optional[int] = ..., rates: _Optional[_Iterable[_Union[MetricValue, _Mapping]]] = ..., out_of_range: _Optional[int] = ..., unseen: _Optional[int] = ...) -> None: ...

class RejectedRows(_message.Message):
    __slots__ = ("reason", "count")
    REASON_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    reason: str
    count: int
    def __init__(self, reason: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class MonitoringBucket(_message.Message):
    __slots__ = ("start_time", "granularity", "counts", "performance", "confusion", "drift", "quality", "rejected_rows", "overwritten_records", "compute_time")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    PERFORMANCE_FIELD_NUMBER: _ClassVar[int]
    CONFUSION_FIELD_NUMBER: _ClassVar[int]
    DRIFT_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    REJECTED_ROWS_FIELD_NUMBER: _ClassVar[int]
    OVERWRITTEN_RECORDS_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TIME_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    granularity: Granularity
    counts: BucketCounts
    performance: _containers.RepeatedCompositeFieldContainer[MetricValue]
    confusion: ConfusionMatrix
    drift: _containers.RepeatedCompositeFieldContainer[FieldDrift]
    quality: _containers.RepeatedCompositeFieldContainer[FieldQuality]
    rejected_rows: _containers.RepeatedCompositeFieldContainer[RejectedRows]
    overwritten_records: int
    compute_time: _timestamp_pb2.Timestamp
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., granularity: _Optional[_Union[Granularity, str]] = ..., counts: _Optional[_Union[BucketCounts, _Mapping]] = ..., performance: _Optional[_Iterable[_Union[MetricValue, _Mapping]]] = ..., confusion: _Optional[_Union[ConfusionMatrix, _Mapping]] = ..., drift: _Optional[_Iterable[_Union[FieldDrift, _Mapping]]] = ..., quality: _Optional[_Iterable[_Union[FieldQuality, _Mapping]]] = ..., rejected_rows: _Optional[_Iterable[_Union[RejectedRows, _Mapping]]] = ..., overwritten_records: _Optional[int] = ..., compute_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

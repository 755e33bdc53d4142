import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from sightline.v1 import records_pb2 as _records_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FieldKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIELD_KIND_UNSPECIFIED: _ClassVar[FieldKind]
    FIELD_KIND_FEATURE: _ClassVar[FieldKind]
    FIELD_KIND_LABEL: _ClassVar[FieldKind]
    FIELD_KIND_EXTRA: _ClassVar[FieldKind]

class FieldType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIELD_TYPE_UNSPECIFIED: _ClassVar[FieldType]
    FIELD_TYPE_DOUBLE: _ClassVar[FieldType]
    FIELD_TYPE_INT64: _ClassVar[FieldType]
    FIELD_TYPE_STRING: _ClassVar[FieldType]
    FIELD_TYPE_BOOL: _ClassVar[FieldType]
    FIELD_TYPE_CATEGORICAL: _ClassVar[FieldType]
    FIELD_TYPE_TIMESTAMP: _ClassVar[FieldType]

class SplitType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPLIT_TYPE_UNSPECIFIED: _ClassVar[SplitType]
    SPLIT_TYPE_TRAIN: _ClassVar[SplitType]
    SPLIT_TYPE_TEST: _ClassVar[SplitType]
    SPLIT_TYPE_VALIDATION: _ClassVar[SplitType]
    SPLIT_TYPE_OUT_OF_TIME: _ClassVar[SplitType]
    SPLIT_TYPE_CUSTOM: _ClassVar[SplitType]

class ScoreType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCORE_TYPE_UNSPECIFIED: _ClassVar[ScoreType]
    SCORE_TYPE_PROBITS: _ClassVar[ScoreType]
    SCORE_TYPE_LOGITS: _ClassVar[ScoreType]
    SCORE_TYPE_REGRESSION: _ClassVar[ScoreType]
    SCORE_TYPE_CLASSIFICATION: _ClassVar[ScoreType]

class ModelMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_MODE_UNSPECIFIED: _ClassVar[ModelMode]
    MODEL_MODE_DATA_ONLY: _ClassVar[ModelMode]
    MODEL_MODE_DATA_AND_MODEL: _ClassVar[ModelMode]

class InfluenceAlgorithm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INFLUENCE_ALGORITHM_UNSPECIFIED: _ClassVar[InfluenceAlgorithm]
    INFLUENCE_ALGORITHM_TREE_SHAP: _ClassVar[InfluenceAlgorithm]
    INFLUENCE_ALGORITHM_KERNEL_SHAP: _ClassVar[InfluenceAlgorithm]
FIELD_KIND_UNSPECIFIED: FieldKind
FIELD_KIND_FEATURE: FieldKind
FIELD_KIND_LABEL: FieldKind
FIELD_KIND_EXTRA: FieldKind
FIELD_TYPE_UNSPECIFIED: FieldType
FIELD_TYPE_DOUBLE: FieldType
FIELD_TYPE_INT64: FieldType
FIELD_TYPE_STRING: FieldType
FIELD_TYPE_BOOL: FieldType
FIELD_TYPE_CATEGORICAL: FieldType
FIELD_TYPE_TIMESTAMP: FieldType
SPLIT_TYPE_UNSPECIFIED: SplitType
SPLIT_TYPE_TRAIN: SplitType
SPLIT_TYPE_TEST: SplitType
SPLIT_TYPE_VALIDATION: SplitType
SPLIT_TYPE_OUT_OF_TIME: SplitType
SPLIT_TYPE_CUSTOM: SplitType
SCORE_TYPE_UNSPECIFIED: ScoreType
SCORE_TYPE_PROBITS: ScoreType
SCORE_TYPE_LOGITS: ScoreType
SCORE_TYPE_REGRESSION: ScoreType
SCORE_TYPE_CLASSIFICATION: ScoreType
MODEL_MODE_UNSPECIFIED: ModelMode
MODEL_MODE_DATA_ONLY: ModelMode
MODEL_MODE_DATA_AND_MODEL: ModelMode
INFLUENCE_ALGORITHM_UNSPECIFIED: InfluenceAlgorithm
INFLUENCE_ALGORITHM_TREE_SHAP: InfluenceAlgorithm
INFLUENCE_ALGORITHM_KERNEL_SHAP: InfluenceAlgorithm

class Project(_message.Message):
    __slots__ = ("name", "display_name", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ApiKey(_message.Message):
    __slots__ = ("id", "project", "display_name", "create_time", "revoke_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    project: str
    display_name: str
    create_time: _timestamp_pb2.Timestamp
    revoke_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., project: _Optional[str] = ..., display_name: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class NumericRange(_message.Message):
    __slots__ = ("min", "max")
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    min: float
    max: float
    def __init__(self, min: _Optional[float] = ..., max: _Optional[float] = ...) -> None: ...

class Field(_message.Message):
    __slots__ = ("name", "kind", "type", "nullable", "categories", "range")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NULLABLE_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: FieldKind
    type: FieldType
    nullable: bool
    categories: _containers.RepeatedScalarFieldContainer[str]
    range: NumericRange
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[FieldKind, str]] = ..., type: _Optional[_Union[FieldType, str]] = ..., nullable: _Optional[bool] = ..., categories: _Optional[_Iterable[str]] = ..., range: _Optional[_Union[NumericRange, _Mapping]] = ...) -> None: ...

class Schema(_message.Message):
    __slots__ = ("record_id_column", "timestamp_column", "fields")
    RECORD_ID_COLUMN_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_COLUMN_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    record_id_column: str
    timestamp_column: str
    fields: _containers.RepeatedCompositeFieldContainer[Field]
    def __init__(self, record_id_column: _Optional[str] = ..., timestamp_column: _Optional[str] = ..., fields: _Optional[_Iterable[_Union[Field, _Mapping]]] = ...) -> None: ...

class DataCollection(_message.Message):
    __slots__ = ("project", "name", "display_name", "schema", "schema_version", "baseline_split", "create_time")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    BASELINE_SPLIT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    display_name: str
    schema: Schema
    schema_version: int
    baseline_split: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ..., display_name: _Optional[str] = ..., schema: _Optional[_Union[Schema, _Mapping]] = ..., schema_version: _Optional[int] = ..., baseline_split: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Split(_message.Message):
    __slots__ = ("project", "collection", "name", "type", "baseline", "sealed", "create_time", "seal_time")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    SEALED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SEAL_TIME_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    name: str
    type: SplitType
    baseline: bool
    sealed: bool
    create_time: _timestamp_pb2.Timestamp
    seal_time: _timestamp_pb2.Timestamp
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[_Union[SplitType, str]] = ..., baseline: _Optional[bool] = ..., sealed: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., seal_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PredictionField(_message.Message):
    __slots__ = ("name", "type")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: FieldType
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[FieldType, str]] = ...) -> None: ...

class Model(_message.Message):
    __slots__ = ("project", "collection", "name", "score_type", "prediction_fields", "label_field", "decision_threshold", "class_labels", "mode", "create_time", "influence_options")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCORE_TYPE_FIELD_NUMBER: _ClassVar[int]
    PREDICTION_FIELDS_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_FIELD_NUMBER: _ClassVar[int]
    DECISION_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    CLASS_LABELS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    INFLUENCE_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    name: str
    score_type: ScoreType
    prediction_fields: _containers.RepeatedCompositeFieldContainer[PredictionField]
    label_field: str
    decision_threshold: float
    class_labels: _containers.RepeatedScalarFieldContainer[str]
    mode: ModelMode
    create_time: _timestamp_pb2.Timestamp
    influence_options: InfluenceOptions
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., name: _Optional[str] = ..., score_type: _Optional[_Union[ScoreType, str]] = ..., prediction_fields: _Optional[_Iterable[_Union[PredictionField, _Mapping]]] = ..., label_field: _Optional[str] = ..., decision_threshold: _Optional[float] = ..., class_labels: _Optional[_Iterable[str]] = ..., mode: _Optional[_Union[ModelMode, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., influence_options: _Optional[_Union[InfluenceOptions, _Mapping]] = ...) -> None: ...

class InfluenceOptions(_message.Message):
    __slots__ = ("algorithm", "background_rows", "kernel_samples", "seed", "on_ingest")
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_ROWS_FIELD_NUMBER: _ClassVar[int]
    KERNEL_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    ON_INGEST_FIELD_NUMBER: _ClassVar[int]
    algorithm: InfluenceAlgorithm
    background_rows: int
    kernel_samples: int
    seed: int
    on_ingest: bool
    def __init__(self, algorithm: _Optional[_Union[InfluenceAlgorithm, str]] = ..., background_rows: _Optional[int] = ..., kernel_samples: _Optional[int] = ..., seed: _Optional[int] = ..., on_ingest: _Optional[bool] = ...) -> None: ...

class SplitStats(_message.Message):
    __slots__ = ("split", "records")
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    split: str
    records: int
    def __init__(self, split: _Optional[str] = ..., records: _Optional[int] = ...) -> None: ...

class CollectionStats(_message.Message):
    __slots__ = ("project", "collection", "split_count", "model_count", "field_count", "splits", "production_records", "compute_time", "targets", "production_labelled_fraction")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    SPLIT_COUNT_FIELD_NUMBER: _ClassVar[int]
    MODEL_COUNT_FIELD_NUMBER: _ClassVar[int]
    FIELD_COUNT_FIELD_NUMBER: _ClassVar[int]
    SPLITS_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_RECORDS_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TIME_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_LABELLED_FRACTION_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    split_count: int
    model_count: int
    field_count: int
    splits: _containers.RepeatedCompositeFieldContainer[SplitStats]
    production_records: int
    compute_time: _timestamp_pb2.Timestamp
    targets: _containers.RepeatedCompositeFieldContainer[TargetStats]
    production_labelled_fraction: float
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., split_count: _Optional[int] = ..., model_count: _Optional[int] = ..., field_count: _Optional[int] = ..., splits: _Optional[_Iterable[_Union[SplitStats, _Mapping]]] = ..., production_records: _Optional[int] = ..., compute_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., targets: _Optional[_Iterable[_Union[TargetStats, _Mapping]]] = ..., production_labelled_fraction: _Optional[float] = ...) -> None: ...

class KindStats(_message.Message):
    __slots__ = ("kind", "records", "last_write_time")
    KIND_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    LAST_WRITE_TIME_FIELD_NUMBER: _ClassVar[int]
    kind: _records_pb2.DataKind
    records: int
    last_write_time: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[_Union[_records_pb2.DataKind, str]] = ..., records: _Optional[int] = ..., last_write_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ModelStats(_message.Message):
    __slots__ = ("model", "kinds", "records_with_features_without_predictions")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    RECORDS_WITH_FEATURES_WITHOUT_PREDICTIONS_FIELD_NUMBER: _ClassVar[int]
    model: str
    kinds: _containers.RepeatedCompositeFieldContainer[KindStats]
    records_with_features_without_predictions: int
    def __init__(self, model: _Optional[str] = ..., kinds: _Optional[_Iterable[_Union[KindStats, _Mapping]]] = ..., records_with_features_without_predictions: _Optional[int] = ...) -> None: ...

class TargetStats(_message.Message):
    __slots__ = ("split", "production", "records", "kinds", "models")
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    split: str
    production: bool
    records: int
    kinds: _containers.RepeatedCompositeFieldContainer[KindStats]
    models: _containers.RepeatedCompositeFieldContainer[ModelStats]
    def __init__(self, split: _Optional[str] = ..., production: _Optional[bool] = ..., records: _Optional[int] = ..., kinds: _Optional[_Iterable[_Union[KindStats, _Mapping]]] = ..., models: _Optional[_Iterable[_Union[ModelStats, _Mapping]]] = ...) -> None: ...

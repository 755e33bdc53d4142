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

class ArtifactFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ARTIFACT_FORMAT_UNSPECIFIED: _ClassVar[ArtifactFormat]
    ARTIFACT_FORMAT_ONNX: _ClassVar[ArtifactFormat]
ARTIFACT_FORMAT_UNSPECIFIED: ArtifactFormat
ARTIFACT_FORMAT_ONNX: ArtifactFormat

class ArtifactHeader(_message.Message):
    __slots__ = ("project", "collection", "model", "format", "size_bytes", "sha256")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    model: str
    format: ArtifactFormat
    size_bytes: int
    sha256: str
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., model: _Optional[str] = ..., format: _Optional[_Union[ArtifactFormat, str]] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class UploadModelArtifactRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: ArtifactHeader
    chunk: bytes
    def __init__(self, header: _Optional[_Union[ArtifactHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class ModelArtifact(_message.Message):
    __slots__ = ("project", "collection", "model", "version", "format", "size_bytes", "sha256", "upload_time", "inputs", "outputs", "influence_algorithm", "producer")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_TIME_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    INFLUENCE_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    model: str
    version: int
    format: ArtifactFormat
    size_bytes: int
    sha256: str
    upload_time: _timestamp_pb2.Timestamp
    inputs: _containers.RepeatedScalarFieldContainer[str]
    outputs: _containers.RepeatedScalarFieldContainer[str]
    influence_algorithm: _resources_pb2.InfluenceAlgorithm
    producer: str
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., model: _Optional[str] = ..., version: _Optional[int] = ..., format: _Optional[_Union[ArtifactFormat, str]] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., upload_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., inputs: _Optional[_Iterable[str]] = ..., outputs: _Optional[_Iterable[str]] = ..., influence_algorithm: _Optional[_Union[_resources_pb2.InfluenceAlgorithm, str]] = ..., producer: _Optional[str] = ...) -> None: ...

class UploadModelArtifactResponse(_message.Message):
    __slots__ = ("artifact",)
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    artifact: ModelArtifact
    def __init__(self, artifact: _Optional[_Union[ModelArtifact, _Mapping]] = ...) -> None: ...

class GetModelArtifactRequest(_message.Message):
    __slots__ = ("project", "collection", "model", "version")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    model: str
    version: int
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., model: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class GetModelArtifactResponse(_message.Message):
    __slots__ = ("artifact",)
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    artifact: ModelArtifact
    def __init__(self, artifact: _Optional[_Union[ModelArtifact, _Mapping]] = ...) -> None: ...

class ProductionRange(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ComputePredictionsRequest(_message.Message):
    __slots__ = ("project", "collection", "model", "split", "production", "artifact_version")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_VERSION_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    model: str
    split: str
    production: ProductionRange
    artifact_version: int
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., model: _Optional[str] = ..., split: _Optional[str] = ..., production: _Optional[_Union[ProductionRange, _Mapping]] = ..., artifact_version: _Optional[int] = ...) -> None: ...

class ComputeInfluencesRequest(_message.Message):
    __slots__ = ("project", "collection", "model", "split", "production", "artifact_version", "options")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    PRODUCTION_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_VERSION_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    model: str
    split: str
    production: ProductionRange
    artifact_version: int
    options: _resources_pb2.InfluenceOptions
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., model: _Optional[str] = ..., split: _Optional[str] = ..., production: _Optional[_Union[ProductionRange, _Mapping]] = ..., artifact_version: _Optional[int] = ..., options: _Optional[_Union[_resources_pb2.InfluenceOptions, _Mapping]] = ...) -> None: ...

class ComputePredictionsResponse(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class ComputeInfluencesResponse(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

from sightline.v1 import resources_pb2 as _resources_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateDataCollectionRequest(_message.Message):
    __slots__ = ("collection",)
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    collection: _resources_pb2.DataCollection
    def __init__(self, collection: _Optional[_Union[_resources_pb2.DataCollection, _Mapping]] = ...) -> None: ...

class CreateDataCollectionResponse(_message.Message):
    __slots__ = ("collection",)
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    collection: _resources_pb2.DataCollection
    def __init__(self, collection: _Optional[_Union[_resources_pb2.DataCollection, _Mapping]] = ...) -> None: ...

class GetDataCollectionRequest(_message.Message):
    __slots__ = ("project", "name")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GetDataCollectionResponse(_message.Message):
    __slots__ = ("collection",)
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    collection: _resources_pb2.DataCollection
    def __init__(self, collection: _Optional[_Union[_resources_pb2.DataCollection, _Mapping]] = ...) -> None: ...

class ListDataCollectionsRequest(_message.Message):
    __slots__ = ("project", "page_size", "page_token")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    project: str
    page_size: int
    page_token: str
    def __init__(self, project: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDataCollectionsResponse(_message.Message):
    __slots__ = ("collections", "next_page_token")
    COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    collections: _containers.RepeatedCompositeFieldContainer[_resources_pb2.DataCollection]
    next_page_token: str
    def __init__(self, collections: _Optional[_Iterable[_Union[_resources_pb2.DataCollection, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteDataCollectionRequest(_message.Message):
    __slots__ = ("project", "name")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    project: str
    name: str
    def __init__(self, project: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DeleteDataCollectionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UpdateSchemaRequest(_message.Message):
    __slots__ = ("project", "collection", "schema", "expected_schema_version")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    schema: _resources_pb2.Schema
    expected_schema_version: int
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., schema: _Optional[_Union[_resources_pb2.Schema, _Mapping]] = ..., expected_schema_version: _Optional[int] = ...) -> None: ...

class UpdateSchemaResponse(_message.Message):
    __slots__ = ("collection",)
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    collection: _resources_pb2.DataCollection
    def __init__(self, collection: _Optional[_Union[_resources_pb2.DataCollection, _Mapping]] = ...) -> None: ...

class GetCollectionStatsRequest(_message.Message):
    __slots__ = ("project", "collection")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ...) -> None: ...

class GetCollectionStatsResponse(_message.Message):
    __slots__ = ("stats",)
    STATS_FIELD_NUMBER: _ClassVar[int]
    stats: _resources_pb2.CollectionStats
    def __init__(self, stats: _Optional[_Union[_resources_pb2.CollectionStats, _Mapping]] = ...) -> None: ...

class CreateSplitRequest(_message.Message):
    __slots__ = ("split",)
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    split: _resources_pb2.Split
    def __init__(self, split: _Optional[_Union[_resources_pb2.Split, _Mapping]] = ...) -> None: ...

class CreateSplitResponse(_message.Message):
    __slots__ = ("split",)
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    split: _resources_pb2.Split
    def __init__(self, split: _Optional[_Union[_resources_pb2.Split, _Mapping]] = ...) -> None: ...

class GetSplitRequest(_message.Message):
    __slots__ = ("project", "collection", "name")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    name: str
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GetSplitResponse(_message.Message):
    __slots__ = ("split",)
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    split: _resources_pb2.Split
    def __init__(self, split: _Optional[_Union[_resources_pb2.Split, _Mapping]] = ...) -> None: ...

class ListSplitsRequest(_message.Message):
    __slots__ = ("project", "collection", "page_size", "page_token")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    page_size: int
    page_token: str
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSplitsResponse(_message.Message):
    __slots__ = ("splits", "next_page_token")
    SPLITS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    splits: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Split]
    next_page_token: str
    def __init__(self, splits: _Optional[_Iterable[_Union[_resources_pb2.Split, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteSplitRequest(_message.Message):
    __slots__ = ("project", "collection", "name")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    name: str
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DeleteSplitResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SealSplitRequest(_message.Message):
    __slots__ = ("project", "collection", "name")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    name: str
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class SealSplitResponse(_message.Message):
    __slots__ = ("split",)
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    split: _resources_pb2.Split
    def __init__(self, split: _Optional[_Union[_resources_pb2.Split, _Mapping]] = ...) -> None: ...

class SetBaselineSplitRequest(_message.Message):
    __slots__ = ("project", "collection", "name")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    name: str
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class SetBaselineSplitResponse(_message.Message):
    __slots__ = ("split",)
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    split: _resources_pb2.Split
    def __init__(self, split: _Optional[_Union[_resources_pb2.Split, _Mapping]] = ...) -> None: ...

class CreateModelRequest(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _resources_pb2.Model
    def __init__(self, model: _Optional[_Union[_resources_pb2.Model, _Mapping]] = ...) -> None: ...

class CreateModelResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _resources_pb2.Model
    def __init__(self, model: _Optional[_Union[_resources_pb2.Model, _Mapping]] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("project", "collection", "name")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    name: str
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GetModelResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: _resources_pb2.Model
    def __init__(self, model: _Optional[_Union[_resources_pb2.Model, _Mapping]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("project", "collection", "page_size", "page_token")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    page_size: int
    page_token: str
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "next_page_token")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Model]
    next_page_token: str
    def __init__(self, models: _Optional[_Iterable[_Union[_resources_pb2.Model, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteModelRequest(_message.Message):
    __slots__ = ("project", "collection", "name")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    project: str
    collection: str
    name: str
    def __init__(self, project: _Optional[str] = ..., collection: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DeleteModelResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

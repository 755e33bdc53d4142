"""The Sightline client: catalog helpers, DataFrame uploads, real-time streams and reads, over one gRPC channel."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, TypeVar

import grpc
import pandas as pd
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message
from tqdm.auto import tqdm

from sightline.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    catalog_service_pb2,
    catalog_service_pb2_grpc,
    ingest_service_pb2,
    ingest_service_pb2_grpc,
    model_service_pb2,
    model_service_pb2_grpc,
    monitoring_service_pb2,
    monitoring_service_pb2_grpc,
    records_pb2,
    resources_pb2,
)

from .batches import DEFAULT_INFLUENCE_PREFIX, Routing, frame_from_batches, record_batches, route_columns, row_count
from .errors import DeadlineExceededError, JobFailedError, RowsRejectedError, SightlineError, TLSError, UnavailableError, from_rpc_error
from .models import DEFAULT_CHUNK_SIZE, Artifact, ModelArtifact, artifact_chunks, artifact_digest, influence_algorithm, options_message
from .monitoring import BINARY_METRICS, REGRESSION_METRICS, JobStatus, Monitoring, informative, monitoring_from_proto
from .schema import field_type
from .stream import StreamWriter
from .summary import WriteSummary, kind_value

R = TypeVar("R")

_split_types = {
    "train": resources_pb2.SplitType.SPLIT_TYPE_TRAIN,
    "test": resources_pb2.SplitType.SPLIT_TYPE_TEST,
    "validation": resources_pb2.SplitType.SPLIT_TYPE_VALIDATION,
    "out_of_time": resources_pb2.SplitType.SPLIT_TYPE_OUT_OF_TIME,
    "custom": resources_pb2.SplitType.SPLIT_TYPE_CUSTOM,
}
_score_types = {
    "probits": resources_pb2.ScoreType.SCORE_TYPE_PROBITS,
    "logits": resources_pb2.ScoreType.SCORE_TYPE_LOGITS,
    "regression": resources_pb2.ScoreType.SCORE_TYPE_REGRESSION,
    "classification": resources_pb2.ScoreType.SCORE_TYPE_CLASSIFICATION,
}
_granularities = {
    "hour": monitoring_service_pb2.Granularity.GRANULARITY_HOUR,
    "day": monitoring_service_pb2.Granularity.GRANULARITY_DAY,
}
_model_modes = {
    "data_only": resources_pb2.ModelMode.MODEL_MODE_DATA_ONLY,
    "data_and_model": resources_pb2.ModelMode.MODEL_MODE_DATA_AND_MODEL,
}

#: Rows per batch by default: well under the server's 10,000-row limit, and large enough to amortise each message.
DEFAULT_BATCH_ROWS = 5000


E = TypeVar("E")


def _choice(table: Mapping[str, E], name: str, what: str) -> E:
    try:
        return table[name.lower()]
    except KeyError:
        raise ValueError(f"unknown {what} {name!r}; use one of {sorted(table)}") from None


def _timestamp(value: datetime | pd.Timestamp | str) -> timestamp_pb2.Timestamp:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    message = timestamp_pb2.Timestamp()
    message.FromDatetime(stamp.to_pydatetime())
    return message


class _BearerAuth(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[type-arg]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[type-arg]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[type-arg]
    grpc.StreamStreamClientInterceptor,  # type: ignore[type-arg]
):
    """Adds the API key to every call; an interceptor works on plaintext channels, where call credentials do not."""

    def __init__(self, api_key: str) -> None:
        self._metadata = (("authorization", f"Bearer {api_key}"),)

    def _with_key(self, details: Any) -> Any:
        # grpc hands interceptors its call details as a namedtuple.
        return details._replace(metadata=tuple(details.metadata or ()) + self._metadata)

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._with_key(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._with_key(details), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._with_key(details), requests)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._with_key(details), requests)


class Client:
    """A connection to a Sightline server.

    `url` is `host:port`, or `http://host:port` / `https://host:port`; `tls=True` (or an https URL) uses TLS, trusting
    `root_certificates` (PEM bytes or a file path) or the system's roots. `project` is the default for every call
    that names one. Failed calls raise the typed exceptions of `sightline.errors`.
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        tls: bool | None = None,
        root_certificates: bytes | str | None = None,
        project: str | None = None,
        timeout: float | None = None,
    ) -> None:
        target = url
        if url.startswith("https://"):
            target, tls = url[len("https://") :], True if tls is None else tls
        elif url.startswith("http://"):
            target = url[len("http://") :]
        self.address = target.rstrip("/")
        self.project = project
        self.timeout = timeout
        options = [
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
            # Reconnect quickly after a server restart; the stream writer has its own bounded retries on top.
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 2000),
        ]
        if tls:
            roots = root_certificates
            if isinstance(roots, str):
                with open(roots, "rb") as handle:
                    roots = handle.read()
            channel = grpc.secure_channel(self.address, grpc.ssl_channel_credentials(root_certificates=roots), options=options)
        else:
            channel = grpc.insecure_channel(self.address, options=options)
        self._raw_channel = channel
        self.channel = grpc.intercept_channel(channel, _BearerAuth(api_key)) if api_key else channel
        #: The generated stubs, for anything the helpers do not cover.
        self.admin = admin_service_pb2_grpc.AdminServiceStub(self.channel)
        self.catalog = catalog_service_pb2_grpc.CatalogServiceStub(self.channel)
        self.ingest = ingest_service_pb2_grpc.IngestServiceStub(self.channel)
        # Not `monitoring`, which is the method that reads a model's series.
        self.monitoring_service = monitoring_service_pb2_grpc.MonitoringServiceStub(self.channel)
        self.model_service = model_service_pb2_grpc.ModelServiceStub(self.channel)

    def close(self) -> None:
        self._raw_channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -----------------------------------------------------------------------------------------------

    def _project(self, project: str | None) -> str:
        chosen = project or self.project
        if not chosen:
            raise ValueError("name a project, here or as Client(project=...)")
        return chosen

    def _call(self, method: Callable[..., R], request: Any, timeout: float | None = None) -> R:
        # A call that never reached a server is safe to repeat, and after a restart the channel can fail fast for a
        # moment before it reconnects; but a client stream's request iterator is spent by the first attempt.
        attempts = _connect_attempts if isinstance(request, Message) else 1
        for attempt in range(attempts):
            try:
                return method(request, timeout=timeout if timeout is not None else self.timeout)
            except grpc.RpcError as err:
                error = from_rpc_error(err)
                if not _never_connected(error) or attempt == attempts - 1:
                    raise error from None
                time.sleep(0.1 * 2**attempt)
        raise AssertionError("unreachable")

    def _pages(self, method: Callable[..., Any], request: Any, items: str) -> Iterator[Any]:
        while True:
            response = self._call(method, request)
            yield from getattr(response, items)
            if not response.next_page_token:
                return
            request.page_token = response.next_page_token

    # -- admin (admin key) --------------------------------------------------------------------------------------

    def create_project(self, name: str, display_name: str = "") -> resources_pb2.Project:
        request = admin_service_pb2.CreateProjectRequest(project=resources_pb2.Project(name=name, display_name=display_name))
        return self._call(self.admin.CreateProject, request).project

    def get_project(self, name: str | None = None) -> resources_pb2.Project:
        return self._call(self.admin.GetProject, admin_service_pb2.GetProjectRequest(name=self._project(name))).project

    def list_projects(self) -> list[resources_pb2.Project]:
        return list(self._pages(self.admin.ListProjects, admin_service_pb2.ListProjectsRequest(page_size=1000), "projects"))

    def delete_project(self, name: str) -> None:
        self._call(self.admin.DeleteProject, admin_service_pb2.DeleteProjectRequest(name=name))

    def create_api_key(self, project: str | None = None, display_name: str = "") -> tuple[resources_pb2.ApiKey, str]:
        """Returns the key's record and its secret, which the server never shows again."""
        request = admin_service_pb2.CreateApiKeyRequest(project=self._project(project), display_name=display_name)
        response = self._call(self.admin.CreateApiKey, request)
        return response.api_key, response.secret

    def list_api_keys(self, project: str | None = None) -> list[resources_pb2.ApiKey]:
        request = admin_service_pb2.ListApiKeysRequest(project=self._project(project), page_size=1000)
        return list(self._pages(self.admin.ListApiKeys, request, "api_keys"))

    def revoke_api_key(self, key_id: str, project: str | None = None) -> resources_pb2.ApiKey:
        request = admin_service_pb2.RevokeApiKeyRequest(project=self._project(project), id=key_id)
        return self._call(self.admin.RevokeApiKey, request).api_key

    # -- catalog ------------------------------------------------------------------------------------------------

    def create_collection(self, name: str, schema: resources_pb2.Schema, *, display_name: str = "", project: str | None = None) -> resources_pb2.DataCollection:
        collection = resources_pb2.DataCollection(project=self._project(project), name=name, display_name=display_name, schema=schema)
        return self._call(self.catalog.CreateDataCollection, catalog_service_pb2.CreateDataCollectionRequest(collection=collection)).collection

    def get_collection(self, name: str, *, project: str | None = None) -> resources_pb2.DataCollection:
        request = catalog_service_pb2.GetDataCollectionRequest(project=self._project(project), name=name)
        return self._call(self.catalog.GetDataCollection, request).collection

    def list_collections(self, *, project: str | None = None) -> list[resources_pb2.DataCollection]:
        request = catalog_service_pb2.ListDataCollectionsRequest(project=self._project(project), page_size=1000)
        return list(self._pages(self.catalog.ListDataCollections, request, "collections"))

    def delete_collection(self, name: str, *, project: str | None = None) -> None:
        self._call(self.catalog.DeleteDataCollection, catalog_service_pb2.DeleteDataCollectionRequest(project=self._project(project), name=name))

    def update_schema(self, collection: str, schema: resources_pb2.Schema, *, expected_version: int | None = None, project: str | None = None) -> resources_pb2.DataCollection:
        """Replaces the schema with an additive change: existing fields unchanged, new fields nullable."""
        request = catalog_service_pb2.UpdateSchemaRequest(project=self._project(project), collection=collection, schema=schema)
        if expected_version is not None:
            request.expected_schema_version = expected_version
        return self._call(self.catalog.UpdateSchema, request).collection

    def stats(self, collection: str, *, project: str | None = None) -> resources_pb2.CollectionStats | None:
        """The latest counts per split, kind and model, or None before the first count has run."""
        request = catalog_service_pb2.GetCollectionStatsRequest(project=self._project(project), collection=collection)
        response = self._call(self.catalog.GetCollectionStats, request)
        return response.stats if response.HasField("stats") else None

    def create_split(self, collection: str, name: str, *, type: str = "train", baseline: bool = False, project: str | None = None) -> resources_pb2.Split:
        split = resources_pb2.Split(project=self._project(project), collection=collection, name=name, type=_choice(_split_types, type, "split type"), baseline=baseline)
        return self._call(self.catalog.CreateSplit, catalog_service_pb2.CreateSplitRequest(split=split)).split

    def get_split(self, collection: str, name: str, *, project: str | None = None) -> resources_pb2.Split:
        return self._call(self.catalog.GetSplit, catalog_service_pb2.GetSplitRequest(project=self._project(project), collection=collection, name=name)).split

    def list_splits(self, collection: str, *, project: str | None = None) -> list[resources_pb2.Split]:
        request = catalog_service_pb2.ListSplitsRequest(project=self._project(project), collection=collection, page_size=1000)
        return list(self._pages(self.catalog.ListSplits, request, "splits"))

    def delete_split(self, collection: str, name: str, *, project: str | None = None) -> None:
        self._call(self.catalog.DeleteSplit, catalog_service_pb2.DeleteSplitRequest(project=self._project(project), collection=collection, name=name))

    def seal_split(self, collection: str, name: str, *, project: str | None = None) -> resources_pb2.Split:
        return self._call(self.catalog.SealSplit, catalog_service_pb2.SealSplitRequest(project=self._project(project), collection=collection, name=name)).split

    def set_baseline_split(self, collection: str, name: str, *, project: str | None = None) -> resources_pb2.Split:
        request = catalog_service_pb2.SetBaselineSplitRequest(project=self._project(project), collection=collection, name=name)
        return self._call(self.catalog.SetBaselineSplit, request).split

    def create_model(
        self,
        collection: str,
        name: str,
        *,
        score_type: str,
        prediction_fields: Mapping[str, str],
        label_field: str = "",
        decision_threshold: float | None = None,
        class_labels: Iterable[str] = (),
        mode: str = "data_only",
        influence_options: resources_pb2.InfluenceOptions | Mapping[str, Any] | None = None,
        project: str | None = None,
    ) -> resources_pb2.Model:
        """`prediction_fields` maps each output's name to its type (double, int64, string, bool).

        `mode="data_and_model"` declares a model whose ONNX artifact the service holds (`upload_model_artifact`) and
        computes predictions and influences from. Its `influence_options`, a message or a mapping of
        `sightline.influence_options` arguments such as `{"algorithm": "kernel_shap", "background_rows": 200}`,
        are what `compute_influences` uses for what a call leaves unset.
        """
        model = resources_pb2.Model(
            project=self._project(project),
            collection=collection,
            name=name,
            score_type=_choice(_score_types, score_type, "score type"),
            prediction_fields=[resources_pb2.PredictionField(name=n, type=field_type(t)) for n, t in prediction_fields.items()],
            label_field=label_field,
            class_labels=list(class_labels),
            mode=_choice(_model_modes, mode, "model mode"),
        )
        if decision_threshold is not None:
            model.decision_threshold = decision_threshold
        if influence_options is not None:
            model.influence_options.CopyFrom(options_message(influence_options))
        return self._call(self.catalog.CreateModel, catalog_service_pb2.CreateModelRequest(model=model)).model

    def get_model(self, collection: str, name: str, *, project: str | None = None) -> resources_pb2.Model:
        return self._call(self.catalog.GetModel, catalog_service_pb2.GetModelRequest(project=self._project(project), collection=collection, name=name)).model

    def list_models(self, collection: str, *, project: str | None = None) -> list[resources_pb2.Model]:
        request = catalog_service_pb2.ListModelsRequest(project=self._project(project), collection=collection, page_size=1000)
        return list(self._pages(self.catalog.ListModels, request, "models"))

    def delete_model(self, collection: str, name: str, *, project: str | None = None) -> None:
        self._call(self.catalog.DeleteModel, catalog_service_pb2.DeleteModelRequest(project=self._project(project), collection=collection, name=name))

    # -- ingest -------------------------------------------------------------------------------------------------

    def target(self, collection: str, *, split: str | None = None, production: bool = False, model: str | None = None, project: str | None = None) -> records_pb2.Target:
        """A write or read destination: a split, or production (exactly one)."""
        if (split is None) == (not production):
            raise ValueError("name exactly one of split= or production=True")
        target = records_pb2.Target(project=self._project(project), collection=collection, model=model or "")
        if split is not None:
            target.split = split
        else:
            target.production = True
        return target

    def _catalog_for(self, target: records_pb2.Target) -> tuple[resources_pb2.Schema, resources_pb2.Model | None]:
        schema = self.get_collection(target.collection, project=target.project).schema
        model = self.get_model(target.collection, target.model, project=target.project) if target.model else None
        return schema, model

    def _routing(
        self,
        data: pd.DataFrame | Any,
        target: records_pb2.Target,
        kinds: Iterable[str] | None,
        columns: Mapping[str, str] | None,
        id_column: str | None,
        timestamp_column: str | None,
        influence_prefix: str,
        ignore_unknown: bool,
    ) -> Routing:
        """Where each column of `data` goes, under the target collection's schema and model."""
        schema, model = self._catalog_for(target)
        return route_columns(
            data.column_names if hasattr(data, "column_names") else [str(c) for c in data.columns],
            schema,
            model,
            production=target.HasField("production"),
            id_column=id_column,
            timestamp_column=timestamp_column,
            kinds=kinds,
            rename=columns,
            influence_prefix=influence_prefix,
            ignore_unknown=ignore_unknown,
        )

    def upload(
        self,
        data: pd.DataFrame | Any,
        *,
        collection: str,
        split: str | None = None,
        production: bool = False,
        model: str | None = None,
        kinds: Iterable[str] | None = None,
        columns: Mapping[str, str] | None = None,
        id_column: str | None = None,
        timestamp_column: str | None = None,
        influence_prefix: str = DEFAULT_INFLUENCE_PREFIX,
        ignore_unknown: bool = False,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        progress: bool | None = None,
        strict: bool = False,
        project: str | None = None,
        timeout: float | None = None,
    ) -> WriteSummary:
        """Uploads a pandas DataFrame or pyarrow Table over one client stream, in columnar batches.

        Columns are matched to the schema (and the model's predictions, and `influence.<feature>` influences) by
        name after `columns` renames them; `kinds` sends only those data kinds. The progress bar shows when
        `progress=True`, or by default when stderr is a terminal. Rejected rows are listed in the summary; with
        `strict=True` they raise RowsRejectedError after the rest has landed.
        """
        target = self.target(collection, split=split, production=production, model=model, project=project)
        routing = self._routing(data, target, kinds, columns, id_column, timestamp_column, influence_prefix, ignore_unknown)
        rows = row_count(data)
        show = progress if progress is not None else sys.stderr.isatty()
        bar = tqdm(total=rows, unit="rows", desc=f"upload {collection}", disable=not show)

        def requests() -> Iterator[ingest_service_pb2.UploadRequest]:
            yield ingest_service_pb2.UploadRequest(header=target)
            for batch in record_batches(data, routing, batch_rows):
                yield ingest_service_pb2.UploadRequest(batch=batch)
                bar.update(len(batch.record_ids))

        try:
            response = self._call(self.ingest.Upload, requests(), timeout)
        finally:
            bar.close()
        return _checked(WriteSummary.from_proto(response.summary), strict)

    def put(
        self,
        data: pd.DataFrame | Any,
        *,
        collection: str,
        split: str | None = None,
        production: bool = False,
        model: str | None = None,
        kinds: Iterable[str] | None = None,
        columns: Mapping[str, str] | None = None,
        id_column: str | None = None,
        timestamp_column: str | None = None,
        influence_prefix: str = DEFAULT_INFLUENCE_PREFIX,
        ignore_unknown: bool = False,
        strict: bool = False,
        project: str | None = None,
    ) -> WriteSummary:
        """A small write in one unary call (the server caps its rows); same column rules as `upload`."""
        target = self.target(collection, split=split, production=production, model=model, project=project)
        frame = pd.DataFrame(data) if isinstance(data, Mapping) else data
        routing = self._routing(frame, target, kinds, columns, id_column, timestamp_column, influence_prefix, ignore_unknown)
        batches = list(record_batches(frame, routing, max(1, row_count(frame))))
        batch = batches[0] if batches else records_pb2.RecordBatch()
        response = self._call(self.ingest.Put, ingest_service_pb2.PutRequest(target=target, batch=batch))
        return _checked(WriteSummary.from_proto(response.summary), strict)

    def stream(
        self,
        *,
        collection: str,
        split: str | None = None,
        production: bool = False,
        model: str | None = None,
        max_in_flight: int = 64,
        max_reconnects: int = 20,
        project: str | None = None,
    ) -> StreamWriter:
        """A real-time writer over the bidirectional stream; use it as a context manager. See StreamWriter."""
        target = self.target(collection, split=split, production=production, model=model, project=project)
        schema, model_message = self._catalog_for(target)
        return StreamWriter(self.ingest.Stream, target, schema, model_message, max_in_flight=max_in_flight, max_reconnects=max_reconnects)

    def read(
        self,
        *,
        collection: str,
        split: str | None = None,
        production: bool = False,
        model: str | None = None,
        start: datetime | pd.Timestamp | str | None = None,
        end: datetime | pd.Timestamp | str | None = None,
        record_ids: Iterable[str] = (),
        kinds: Iterable[str] = (),
        fields: Iterable[str] = (),
        batch_rows: int = 5000,
        influence_prefix: str = DEFAULT_INFLUENCE_PREFIX,
        project: str | None = None,
        timeout: float | None = None,
    ) -> pd.DataFrame:
        """The joined records of a split or of production in [start, end), as a DataFrame in record ID order."""
        target = self.target(collection, split=split, production=production, model=model, project=project)
        schema, model_message = self._catalog_for(target)
        request = ingest_service_pb2.ReadRecordsRequest(
            target=target, record_ids=list(record_ids), kinds=[kind_value(k) for k in kinds], fields=list(fields), batch_size=batch_rows
        )
        if start is not None:
            request.start_time.CopyFrom(_timestamp(start))
        if end is not None:
            request.end_time.CopyFrom(_timestamp(end))
        try:
            responses = self.ingest.ReadRecords(request, timeout=timeout if timeout is not None else self.timeout)
            return frame_from_batches((r.batch for r in responses), schema, model_message, production=production, influence_prefix=influence_prefix)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None

    # -- model artifacts and computations -----------------------------------------------------------------------

    def upload_model_artifact(
        self,
        collection: str,
        model: str,
        artifact: Artifact,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        project: str | None = None,
        timeout: float | None = None,
    ) -> ModelArtifact:
        """Uploads an ONNX artifact as the next version of a DATA_AND_MODEL model, and returns what was stored.

        `artifact` is the file's bytes or its path. A path is read twice, `chunk_size` bytes at a time: once for its
        size and SHA-256, which the header declares up front, then to stream it; memory stays bounded whatever the
        file's size. The server checks both, loads the model and matches it against the collection's features and
        the model's prediction fields before storing anything: InvalidArgumentError (reason "ARTIFACT_INVALID")
        for bytes that are not a usable ONNX model or do not match the declared size or digest,
        FailedPreconditionError for an artifact that does not fit ("ARTIFACT_MISMATCH", with a violation per input
        or output at fault) or a DATA_ONLY model ("MODEL_MODE").
        """
        size, sha256 = artifact_digest(artifact, chunk_size)
        header = model_service_pb2.ArtifactHeader(
            project=self._project(project),
            collection=collection,
            model=model,
            format=model_service_pb2.ArtifactFormat.ARTIFACT_FORMAT_ONNX,
            size_bytes=size,
            sha256=sha256,
        )

        def requests() -> Iterator[model_service_pb2.UploadModelArtifactRequest]:
            yield model_service_pb2.UploadModelArtifactRequest(header=header)
            for chunk in artifact_chunks(artifact, chunk_size):
                yield model_service_pb2.UploadModelArtifactRequest(chunk=chunk)

        return ModelArtifact.from_proto(self._call(self.model_service.UploadModelArtifact, requests(), timeout).artifact)

    def get_model_artifact(self, collection: str, model: str, *, version: int = 0, project: str | None = None) -> ModelArtifact:
        """The metadata of one version of a model's artifact, the latest with `version=0`. A model without an
        artifact is FailedPreconditionError (reason "ARTIFACT_MISSING"); an unknown version is NotFoundError."""
        request = model_service_pb2.GetModelArtifactRequest(project=self._project(project), collection=collection, model=model, version=version)
        return ModelArtifact.from_proto(self._call(self.model_service.GetModelArtifact, request).artifact)

    def _compute_scope(
        self,
        request: model_service_pb2.ComputePredictionsRequest | model_service_pb2.ComputeInfluencesRequest,
        split: str | None,
        start: datetime | pd.Timestamp | str | None,
        end: datetime | pd.Timestamp | str | None,
    ) -> None:
        if split is not None:
            if start is not None or end is not None:
                raise ValueError("start= and end= select production records; leave them out with split=")
            request.split = split
            return
        request.production.SetInParent()
        if start is not None:
            request.production.start.CopyFrom(_timestamp(start))
        if end is not None:
            request.production.end.CopyFrom(_timestamp(end))

    def compute_predictions(
        self,
        collection: str,
        model: str,
        *,
        split: str | None = None,
        start: datetime | pd.Timestamp | str | None = None,
        end: datetime | pd.Timestamp | str | None = None,
        artifact_version: int = 0,
        project: str | None = None,
    ) -> str:
        """Asks the workers to compute the model's predictions, from its artifact (the latest with
        `artifact_version=0`), for the records of `split`, or without a split for the production records of event
        time in [start, end) (either bound may be left out). They are written as an upload of them would be.
        Returns the job's ID for `wait_for_job` or `watch_job`, whose final status carries a `compute_result`.

        FailedPreconditionError with reason "MODEL_MODE" for a DATA_ONLY model, "ARTIFACT_MISSING" before the
        first upload.
        """
        request = model_service_pb2.ComputePredictionsRequest(project=self._project(project), collection=collection, model=model, artifact_version=artifact_version)
        self._compute_scope(request, split, start, end)
        return self._call(self.model_service.ComputePredictions, request).job_id

    def compute_influences(
        self,
        collection: str,
        model: str,
        *,
        split: str | None = None,
        start: datetime | pd.Timestamp | str | None = None,
        end: datetime | pd.Timestamp | str | None = None,
        artifact_version: int = 0,
        algorithm: str | None = None,
        background_rows: int = 0,
        kernel_samples: int = 0,
        seed: int = 0,
        project: str | None = None,
    ) -> str:
        """Asks the workers to compute the model's influences (Shapley values of its score) for the same records as
        `compute_predictions` selects, against a background sample of the collection's baseline split, and to write
        them as an upload of them would be. Returns the job's ID; its final status's `compute_result` holds the
        `base_value`: a record's base value plus the sum of its influences is its score.

        `algorithm` is "tree_shap" or "kernel_shap"; it and the zero-means-unset `background_rows`,
        `kernel_samples` and `seed` take the model's own influence options, then the service's defaults.
        FailedPreconditionError with reason "BASELINE_MISSING" when the collection has no baseline split with
        features, "ARTIFACT_MISMATCH" for "tree_shap" on an artifact that is not a tree ensemble, and as for
        `compute_predictions`.
        """
        request = model_service_pb2.ComputeInfluencesRequest(project=self._project(project), collection=collection, model=model, artifact_version=artifact_version)
        self._compute_scope(request, split, start, end)
        if algorithm is not None or background_rows or kernel_samples or seed:
            request.options.CopyFrom(
                resources_pb2.InfluenceOptions(
                    algorithm=influence_algorithm(algorithm) if algorithm is not None else resources_pb2.InfluenceAlgorithm.INFLUENCE_ALGORITHM_UNSPECIFIED,
                    background_rows=background_rows,
                    kernel_samples=kernel_samples,
                    seed=seed,
                )
            )
        return self._call(self.model_service.ComputeInfluences, request).job_id

    # -- monitoring ---------------------------------------------------------------------------------------------

    def refresh_monitoring(self, collection: str, model: str, *, full: bool = False, project: str | None = None) -> str:
        """Asks for a run of the model's monitoring now and returns its job ID, for `watch_job` or `wait_for_job`.

        A run recomputes the buckets whose data changed since the last one; `full=True` recomputes every bucket.
        """
        request = monitoring_service_pb2.RefreshMonitoringRequest(project=self._project(project), collection=collection, model=model, full=full)
        return self._call(self.monitoring_service.RefreshMonitoring, request).job_id

    def watch_job(self, job_id: str, *, timeout: float | None = None) -> Iterator[JobStatus]:
        """Yields the job's status whenever it changes, ending with its completion or failure (a failed job is
        yielded, not raised; see `wait_for_job`). Any job ID the service returned can be watched: monitoring
        refreshes (whose last status has a `result`) and predictions or influences computations (a
        `compute_result`).

        `timeout` (by default the client's) bounds the whole watch: DeadlineExceededError past it. The watch is
        read-only, so a connection lost on the way (a server restart) is reopened a few times, and a status seen
        before is not yielded again.
        """
        limit = timeout if timeout is not None else self.timeout
        deadline = None if limit is None else time.monotonic() + limit
        request = monitoring_service_pb2.WatchJobRequest(job_id=job_id)
        last: JobStatus | None = None
        failures = 0
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise DeadlineExceededError(f"job {job_id} did not finish within {limit:g}s")
            call = self.monitoring_service.WatchJob(request, timeout=remaining)
            try:
                for message in call:
                    status = JobStatus.from_proto(message)
                    failures = 0
                    if status != last:
                        last = status
                        yield status
                    if status.done:
                        return
                lost: SightlineError = UnavailableError(f"the watch of job {job_id} ended before the job did")
            except grpc.RpcError as err:
                lost = from_rpc_error(err)
                if not isinstance(lost, UnavailableError) or isinstance(lost, TLSError):
                    raise lost from None
            finally:
                call.cancel()
            if failures == _watch_reconnects:
                raise lost
            time.sleep(min(2.0, 0.1 * 2**failures))
            failures += 1

    def wait_for_job(self, job_id: str, *, progress: bool | None = None, timeout: float | None = None) -> JobStatus:
        """Waits until the job completes and returns its final status, with its `result` (a monitoring refresh) or
        `compute_result` (a predictions or influences computation); raises JobFailedError if it failed.

        The progress bar shows when `progress=True`, or by default when stderr is a terminal; `timeout` bounds the
        wait (DeadlineExceededError past it).
        """
        show = progress if progress is not None else sys.stderr.isatty()
        bar = tqdm(total=100, unit="%", desc=f"job {job_id}", disable=not show, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f}% [{elapsed}]{postfix}")
        final: JobStatus | None = None
        try:
            for status in self.watch_job(job_id, timeout=timeout):
                final = status
                bar.update(max(0.0, min(100.0, status.progress)) - bar.n)
                bar.set_postfix_str(f"{status.state}: {status.message}" if status.message else status.state)
        finally:
            bar.close()
        if final is None:
            raise UnavailableError(f"the watch of job {job_id} reported nothing")
        if final.failed:
            raise JobFailedError(final)
        return final

    def monitoring(
        self,
        collection: str,
        model: str,
        *,
        start: datetime | pd.Timestamp | str | None = None,
        end: datetime | pd.Timestamp | str | None = None,
        granularity: str = "hour",
        metrics: Iterable[str] | None = None,
        fields: Iterable[str] | None = None,
        splits: Iterable[str] | str | None = None,
        project: str | None = None,
    ) -> Monitoring:
        """A model's monitoring series: performance, drift and data quality per hour or day of event time (UTC) in
        production, buckets starting in [start, end), and the same for the splits named (`"*"` for every split).

        `metrics` narrows the performance metrics and `fields` the features (or the score field) whose drift and
        quality are returned. The frames of the returned `Monitoring`:

        - `performance`: one row per bucket with records: `start` (datetime64[ns, UTC]), `records`, `predictions`,
          `labelled`, `label_rate`, `unusable_labels`, `zero_labels`, one float column per metric (NaN when
          undefined), `tn`, `fp`, `fn`, `tp` for binary models, `rejected_rows` and `overwritten_records`;
        - `drift`: `start`, `field`, `source` ("feature" or "prediction"), `statistic`, `value`,
          `undefined_reason`, `baseline_count`, `current_count`;
        - `quality`: `start`, `field`, `count`, `missing`, `missing_rate`, `out_of_range`, `out_of_range_rate`,
          `unseen`, `unseen_rate`;
        - `splits`, `split_drift`, `split_quality`: the same with a `split` column instead of `start`;
        - `undefined_metrics` and `split_undefined_metrics`: why each NaN metric is undefined.
        """
        chosen = self._project(project)
        wanted_metrics = list(metrics or ())
        request = monitoring_service_pb2.GetMonitoringRequest(
            project=chosen,
            collection=collection,
            model=model,
            granularity=_choice(_granularities, granularity, "granularity"),
            metrics=wanted_metrics,
            fields=list(fields or ()),
            splits=[splits] if isinstance(splits, str) else list(splits or ()),
        )
        if start is not None:
            request.start_time.CopyFrom(_timestamp(start))
        if end is not None:
            request.end_time.CopyFrom(_timestamp(end))
        response = self._call(self.monitoring_service.GetMonitoring, request)
        computed = informative([*response.buckets, *(s.result for s in response.splits)])
        if computed:
            binary = any(b.HasField("confusion") for b in computed)
            names = wanted_metrics or [m.name for m in computed[0].performance]
        else:
            # Nothing computed yet: the model's kind gives the columns, so that empty frames look like full ones.
            binary = self.get_model(collection, model, project=chosen).score_type != resources_pb2.ScoreType.SCORE_TYPE_REGRESSION
            names = wanted_metrics or list(BINARY_METRICS if binary else REGRESSION_METRICS)
        return monitoring_from_proto(response, names, binary)


_connect_attempts = 6
#: Consecutive reopenings of a job watch whose connection was lost: a little over ten seconds of backoff in all.
_watch_reconnects = 9


def _never_connected(error: SightlineError) -> bool:
    return isinstance(error, UnavailableError) and not isinstance(error, TLSError) and "failed to connect" in error.message.lower()


def _checked(summary: WriteSummary, strict: bool) -> WriteSummary:
    if strict and summary.rows_rejected > 0:
        raise RowsRejectedError(f"{summary.rows_rejected} of {summary.rows_received} rows were rejected", summary.row_errors)
    return summary

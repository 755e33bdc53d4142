"""What the model service takes and returns, as plain Python values: artifacts to upload in chunks, the metadata of a
stored artifact, influence options, and what a ComputePredictions or ComputeInfluences job wrote."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import pandas as pd

from sightline.v1 import model_service_pb2, monitoring_service_pb2, resources_pb2

#: Bytes per streamed message of an artifact upload: far below gRPC's message limits, and few messages per model.
DEFAULT_CHUNK_SIZE = 1024 * 1024

#: An artifact's bytes, or the path of a file holding them.
Artifact: TypeAlias = "bytes | bytearray | memoryview | str | os.PathLike[str]"

_algorithms = {
    "tree_shap": resources_pb2.InfluenceAlgorithm.INFLUENCE_ALGORITHM_TREE_SHAP,
    "kernel_shap": resources_pb2.InfluenceAlgorithm.INFLUENCE_ALGORITHM_KERNEL_SHAP,
}


def influence_algorithm(name: str) -> resources_pb2.InfluenceAlgorithm:
    """An InfluenceAlgorithm from its short name: "tree_shap" or "kernel_shap" (any case)."""
    try:
        return _algorithms[name.lower()]
    except KeyError:
        raise ValueError(f"unknown influence algorithm {name!r}; use one of {sorted(_algorithms)}") from None


def algorithm_name(value: int) -> str | None:
    """The short name of an InfluenceAlgorithm value, or None for UNSPECIFIED (and values this client does not know)."""
    for name, known in _algorithms.items():
        if known == value:
            return name
    return None


def influence_options(
    *,
    algorithm: str | None = None,
    background_rows: int = 0,
    kernel_samples: int = 0,
    seed: int = 0,
    on_ingest: bool = False,
) -> resources_pb2.InfluenceOptions:
    """InfluenceOptions for `Client.create_model`. A zero (or None) field is left unset and takes the default: the
    artifact's algorithm (TreeSHAP for a tree ensemble, KernelSHAP otherwise), 100 background rows of the baseline
    split, 2048 + 2 x features KernelSHAP coalitions, seed 0. `on_ingest=True` computes the influences of every
    production record as its features arrive."""
    return resources_pb2.InfluenceOptions(
        algorithm=influence_algorithm(algorithm) if algorithm is not None else resources_pb2.InfluenceAlgorithm.INFLUENCE_ALGORITHM_UNSPECIFIED,
        background_rows=background_rows,
        kernel_samples=kernel_samples,
        seed=seed,
        on_ingest=on_ingest,
    )


def options_message(options: resources_pb2.InfluenceOptions | Mapping[str, Any]) -> resources_pb2.InfluenceOptions:
    """A message as is, or a mapping of `influence_options` keyword arguments."""
    if isinstance(options, resources_pb2.InfluenceOptions):
        return options
    return influence_options(**options)


def _format_name(value: int) -> str:
    try:
        name = model_service_pb2.ArtifactFormat.Name(value)
    except ValueError:
        return "unspecified"
    return name.removeprefix("ARTIFACT_FORMAT_").lower()


@dataclass(frozen=True)
class ModelArtifact:
    """One stored version of a model's artifact."""

    project: str
    collection: str
    model: str
    #: 1 for the model's first upload, then one more per upload.
    version: int
    #: "onnx", the only format the service accepts.
    format: str
    size_bytes: int
    #: SHA-256 of the bytes, 64 lowercase hexadecimal digits.
    sha256: str
    upload_time: pd.Timestamp | None
    #: The graph's inputs and outputs, by name, in order.
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    #: What `compute_influences` uses when neither the call nor the model chooses: "tree_shap" for a tree ensemble
    #: whose raw output is the model's score, "kernel_shap" otherwise.
    influence_algorithm: str | None
    #: The producer the ONNX file names, such as "skl2onnx".
    producer: str

    @classmethod
    def from_proto(cls, message: model_service_pb2.ModelArtifact) -> ModelArtifact:
        upload_time = None
        if message.HasField("upload_time"):
            stamp = message.upload_time
            upload_time = pd.Timestamp(stamp.seconds * 1_000_000_000 + stamp.nanos, unit="ns", tz="UTC")
        return cls(
            project=message.project,
            collection=message.collection,
            model=message.model,
            version=message.version,
            format=_format_name(message.format),
            size_bytes=message.size_bytes,
            sha256=message.sha256,
            upload_time=upload_time,
            inputs=tuple(message.inputs),
            outputs=tuple(message.outputs),
            influence_algorithm=algorithm_name(message.influence_algorithm),
            producer=message.producer,
        )


@dataclass(frozen=True)
class ComputeRunResult:
    """What a completed ComputePredictions or ComputeInfluences job wrote."""

    #: Records the job selected.
    records: int
    #: Records whose predictions or influences were written.
    written: int
    #: Records whose computed values the ingest rules refused (a non-finite output, say); the server log says why.
    rejected: int
    #: Chunks the records were split into, each its own job on the workers.
    chunks: int
    #: The artifact version used.
    artifact_version: int
    #: Influences: "tree_shap" or "kernel_shap". None for predictions.
    algorithm: str | None
    #: Influences: False when KernelSHAP sampled coalitions instead of enumerating them all.
    exact: bool
    #: Influences: the mean score over the background sample. A record's base value plus the sum of its influences is
    #: its score. None for predictions.
    base_value: float | None

    @classmethod
    def from_proto(cls, message: monitoring_service_pb2.ComputeRunResult) -> ComputeRunResult:
        return cls(
            records=message.records,
            written=message.written,
            rejected=message.rejected,
            chunks=message.chunks,
            artifact_version=message.artifact_version,
            algorithm=algorithm_name(message.algorithm),
            exact=message.exact,
            base_value=message.base_value if message.HasField("base_value") else None,
        )


def _check_chunk_size(chunk_size: int) -> None:
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, not {chunk_size}")


def artifact_digest(artifact: Artifact, chunk_size: int = DEFAULT_CHUNK_SIZE) -> tuple[int, str]:
    """The size and SHA-256 (lowercase hex) of an artifact; a file is read `chunk_size` bytes at a time."""
    _check_chunk_size(chunk_size)
    if isinstance(artifact, (bytes, bytearray, memoryview)):
        data = memoryview(artifact).cast("B")
        return data.nbytes, hashlib.sha256(data).hexdigest()
    digest = hashlib.sha256()
    size = 0
    with open(os.fspath(artifact), "rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def artifact_chunks(artifact: Artifact, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[bytes]:
    """The artifact's bytes in pieces of at most `chunk_size`; a file is opened when the first piece is asked for."""
    _check_chunk_size(chunk_size)
    if isinstance(artifact, (bytes, bytearray, memoryview)):
        data = memoryview(artifact).cast("B")
        for start in range(0, data.nbytes, chunk_size):
            yield bytes(data[start : start + chunk_size])
        return
    with open(os.fspath(artifact), "rb") as handle:
        while block := handle.read(chunk_size):
            yield block

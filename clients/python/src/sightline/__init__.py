"""Sightline's Python client: `Client` for the catalog, DataFrame uploads, real-time streams and reads, monitoring,
and model artifacts with the predictions and influences computed from them."""

from .batches import DEFAULT_INFLUENCE_PREFIX
from .client import Client
from .errors import (
    AbortedError,
    AlreadyExistsError,
    AuthenticationError,
    CancelledError,
    DeadlineExceededError,
    FailedPreconditionError,
    FieldViolation,
    InternalError,
    InvalidArgumentError,
    JobFailedError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionViolation,
    ResourceExhaustedError,
    RowsRejectedError,
    SightlineError,
    TLSError,
    UnavailableError,
)
from .models import ComputeRunResult, ModelArtifact, influence_options
from .monitoring import JobStatus, Monitoring, MonitoringRunResult
from .schema import schema_from_dataframe
from .stream import StreamWriter
from .summary import KindCount, RowError, WriteSummary

__all__ = [
    "DEFAULT_INFLUENCE_PREFIX",
    "AbortedError",
    "AlreadyExistsError",
    "AuthenticationError",
    "CancelledError",
    "Client",
    "ComputeRunResult",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "FieldViolation",
    "InternalError",
    "InvalidArgumentError",
    "JobFailedError",
    "JobStatus",
    "KindCount",
    "ModelArtifact",
    "Monitoring",
    "MonitoringRunResult",
    "NotFoundError",
    "PermissionDeniedError",
    "PreconditionViolation",
    "ResourceExhaustedError",
    "RowError",
    "RowsRejectedError",
    "SightlineError",
    "StreamWriter",
    "TLSError",
    "UnavailableError",
    "WriteSummary",
    "influence_options",
    "schema_from_dataframe",
]

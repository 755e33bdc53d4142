"""Sightline's Python client: `Client` for the catalog, DataFrame uploads, real-time streams and reads."""

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
    "DeadlineExceededError",
    "FailedPreconditionError",
    "FieldViolation",
    "InternalError",
    "InvalidArgumentError",
    "JobFailedError",
    "JobStatus",
    "KindCount",
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
    "schema_from_dataframe",
]

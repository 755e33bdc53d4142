"""Exceptions raised by the client: one class per gRPC status code the service uses, carrying the service's
machine-readable reason and field violations, so callers can branch without parsing messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

if TYPE_CHECKING:
    from .monitoring import JobStatus
    from .summary import RowError


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


@dataclass(frozen=True)
class PreconditionViolation:
    type: str
    subject: str
    description: str


class SightlineError(Exception):
    """Base of every error the client raises for a failed call."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
        violations: list[FieldViolation] | None = None,
        preconditions: list[PreconditionViolation] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        #: The service's ErrorReason name, such as "API_KEY_INVALID" or "SPLIT_SEALED", when it sent one.
        self.reason = reason
        self.metadata = metadata or {}
        self.violations = violations or []
        self.preconditions = preconditions or []

    def __str__(self) -> str:
        parts = [f"{self.code.name}: {self.message}"]
        if self.reason:
            parts.append(f"reason={self.reason}")
        parts.extend(f"{v.field}: {v.description}" for v in self.violations)
        parts.extend(f"{p.subject}: {p.description}" for p in self.preconditions)
        return "; ".join(parts)


class InvalidArgumentError(SightlineError, ValueError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFoundError(SightlineError, LookupError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExistsError(SightlineError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPreconditionError(SightlineError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class AbortedError(SightlineError):
    code = grpc.StatusCode.ABORTED


class AuthenticationError(SightlineError, PermissionError):
    """UNAUTHENTICATED: the API key is missing, unknown or revoked (see `reason`)."""

    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDeniedError(SightlineError, PermissionError):
    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhaustedError(SightlineError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class DeadlineExceededError(SightlineError, TimeoutError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class CancelledError(SightlineError):
    code = grpc.StatusCode.CANCELLED


class UnavailableError(SightlineError, ConnectionError):
    """The server or one of its databases cannot be reached; retrying later can succeed."""

    code = grpc.StatusCode.UNAVAILABLE


class TLSError(UnavailableError):
    """The TLS handshake failed: the server's certificate is not trusted, or one side does not speak TLS."""


class InternalError(SightlineError):
    code = grpc.StatusCode.INTERNAL


class RowsRejectedError(SightlineError, ValueError):
    """Raised by writes made with `strict=True` when any row was rejected; nothing else failed."""

    code = grpc.StatusCode.OK

    def __init__(self, message: str, row_errors: list[RowError]) -> None:
        super().__init__(message)
        self.row_errors = row_errors


class JobFailedError(SightlineError):
    """Raised by `Client.wait_for_job` when the job failed for good (after its retries); the calls themselves
    succeeded. `status` is the job's last status: its `message` says why, `attempts` how often it was tried."""

    code = grpc.StatusCode.OK

    def __init__(self, status: JobStatus) -> None:
        super().__init__(f"job {status.job_id} failed after {status.attempts} attempt(s): {status.message or 'no reason given'}")
        self.status = status
        self.job_id = status.job_id

    def __str__(self) -> str:
        return self.message


_by_code: dict[grpc.StatusCode, type[SightlineError]] = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        NotFoundError,
        AlreadyExistsError,
        FailedPreconditionError,
        AbortedError,
        AuthenticationError,
        PermissionDeniedError,
        ResourceExhaustedError,
        DeadlineExceededError,
        CancelledError,
        UnavailableError,
        InternalError,
    )
}

_tls_markers = ("ssl", "tls", "handshake", "certificate")


def from_rpc_error(err: grpc.RpcError) -> SightlineError:
    """Maps a failed call to its typed exception, decoding google.rpc details when the server sent them."""
    call = err if isinstance(err, grpc.Call) else None
    code = call.code() if call is not None else grpc.StatusCode.UNKNOWN
    message = (call.details() if call is not None else None) or str(err)
    reason: str | None = None
    metadata: dict[str, str] = {}
    violations: list[FieldViolation] = []
    preconditions: list[PreconditionViolation] = []
    status = rpc_status.from_call(call) if call is not None else None
    details: list[Any] = list(status.details) if status is not None else []
    for detail in details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
            metadata = dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations.extend(FieldViolation(v.field, v.description) for v in bad.field_violations)
        elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            failure = error_details_pb2.PreconditionFailure()
            detail.Unpack(failure)
            preconditions.extend(PreconditionViolation(v.type, v.subject, v.description) for v in failure.violations)
    cls = _by_code.get(code, SightlineError)
    if cls is UnavailableError and any(marker in message.lower() for marker in _tls_markers):
        cls = TLSError
    return cls(message, code=code, reason=reason, metadata=metadata, violations=violations, preconditions=preconditions)

from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_REASON_UNSPECIFIED: _ClassVar[ErrorReason]
    ERROR_REASON_API_KEY_MISSING: _ClassVar[ErrorReason]
    ERROR_REASON_API_KEY_INVALID: _ClassVar[ErrorReason]
    ERROR_REASON_API_KEY_REVOKED: _ClassVar[ErrorReason]
    ERROR_REASON_PERMISSION_DENIED: _ClassVar[ErrorReason]
    ERROR_REASON_INVALID_ARGUMENT: _ClassVar[ErrorReason]
    ERROR_REASON_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_ALREADY_EXISTS: _ClassVar[ErrorReason]
    ERROR_REASON_SCHEMA_CHANGE_NOT_ADDITIVE: _ClassVar[ErrorReason]
    ERROR_REASON_SPLIT_SEALED: _ClassVar[ErrorReason]
    ERROR_REASON_MESSAGE_TOO_LARGE: _ClassVar[ErrorReason]
    ERROR_REASON_DEPENDENCY_UNAVAILABLE: _ClassVar[ErrorReason]
    ERROR_REASON_CONCURRENT_MODIFICATION: _ClassVar[ErrorReason]
    ERROR_REASON_ARTIFACT_INVALID: _ClassVar[ErrorReason]
    ERROR_REASON_ARTIFACT_MISMATCH: _ClassVar[ErrorReason]
    ERROR_REASON_MODEL_MODE: _ClassVar[ErrorReason]
    ERROR_REASON_ARTIFACT_MISSING: _ClassVar[ErrorReason]
    ERROR_REASON_BASELINE_MISSING: _ClassVar[ErrorReason]
ERROR_REASON_UNSPECIFIED: ErrorReason
ERROR_REASON_API_KEY_MISSING: ErrorReason
ERROR_REASON_API_KEY_INVALID: ErrorReason
ERROR_REASON_API_KEY_REVOKED: ErrorReason
ERROR_REASON_PERMISSION_DENIED: ErrorReason
ERROR_REASON_INVALID_ARGUMENT: ErrorReason
ERROR_REASON_NOT_FOUND: ErrorReason
ERROR_REASON_ALREADY_EXISTS: ErrorReason
ERROR_REASON_SCHEMA_CHANGE_NOT_ADDITIVE: ErrorReason
ERROR_REASON_SPLIT_SEALED: ErrorReason
ERROR_REASON_MESSAGE_TOO_LARGE: ErrorReason
ERROR_REASON_DEPENDENCY_UNAVAILABLE: ErrorReason
ERROR_REASON_CONCURRENT_MODIFICATION: ErrorReason
ERROR_REASON_ARTIFACT_INVALID: ErrorReason
ERROR_REASON_ARTIFACT_MISMATCH: ErrorReason
ERROR_REASON_MODEL_MODE: ErrorReason
ERROR_REASON_ARTIFACT_MISSING: ErrorReason
ERROR_REASON_BASELINE_MISSING: ErrorReason

package sightline

import (
	"context"
	"errors"
	"io"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sightlinev1 "sightline/clients/go/gen/sightline/v1"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of every error the server raises itself; errors without it come
// from the transport (a refused TLS handshake, a closed port) or from a proxy in between.
const ErrorDomain = "sightline"

// Reasons the server puts in ErrorInfo. They are the sightline.v1.ErrorReason names without their prefix, so a
// switch on Error.Reason reads like the API guide's tables.
const (
	ReasonAPIKeyMissing           = "API_KEY_MISSING"
	ReasonAPIKeyInvalid           = "API_KEY_INVALID"
	ReasonAPIKeyRevoked           = "API_KEY_REVOKED"
	ReasonPermissionDenied        = "PERMISSION_DENIED"
	ReasonInvalidArgument         = "INVALID_ARGUMENT"
	ReasonNotFound                = "NOT_FOUND"
	ReasonAlreadyExists           = "ALREADY_EXISTS"
	ReasonSchemaChangeNotAdditive = "SCHEMA_CHANGE_NOT_ADDITIVE"
	ReasonSplitSealed             = "SPLIT_SEALED"
	ReasonMessageTooLarge         = "MESSAGE_TOO_LARGE"
	ReasonDependencyUnavailable   = "DEPENDENCY_UNAVAILABLE"
	ReasonConcurrentModification  = "CONCURRENT_MODIFICATION"
	// A model artifact is not a valid ONNX model, or does not match its declared size or SHA-256 (INVALID_ARGUMENT).
	ReasonArtifactInvalid = "ARTIFACT_INVALID"
	// A model artifact's inputs or outputs do not fit the collection's features or the model's prediction fields
	// (FAILED_PRECONDITION).
	ReasonArtifactMismatch = "ARTIFACT_MISMATCH"
	// A DATA_ONLY model has no artifact and computes nothing (FAILED_PRECONDITION).
	ReasonModelMode = "MODEL_MODE"
	// The model has no artifact yet (FAILED_PRECONDITION).
	ReasonArtifactMissing = "ARTIFACT_MISSING"
	// The collection has no baseline split with features to draw a background sample from (FAILED_PRECONDITION).
	ReasonBaselineMissing = "BASELINE_MISSING"
)

const reasonEnumPrefix = "ERROR_REASON_"

// FieldViolation names one part of a request at fault, such as "batch.columns[2].name".
type FieldViolation struct {
	Field       string
	Description string
}

// PreconditionViolation is one reason a precondition failed, such as a schema field that a change would alter.
type PreconditionViolation struct {
	Type        string
	Subject     string
	Description string
}

// Error is what every call of this package (and of the Client's raw stubs) fails with once the server or the
// transport has answered: the gRPC status with its details decoded, so callers branch on Code and Reason instead
// of parsing messages. It keeps the original status, so status.Code(err) and status.FromError(err) still work.
type Error struct {
	// Code is the gRPC status code.
	Code codes.Code
	// Reason is the ErrorInfo reason, one of the Reason constants; empty when the error did not come from the
	// server's own error mapper (a transport failure, say).
	Reason string
	// Message is the status message, meant for people.
	Message string
	// Metadata is the ErrorInfo metadata, such as resourceType and resourceName for NOT_FOUND.
	Metadata map[string]string
	// FieldViolations lists every invalid request field (from google.rpc.BadRequest, or from a streamed batch's
	// BatchError).
	FieldViolations []FieldViolation
	// PreconditionViolations lists each failed precondition (from google.rpc.PreconditionFailure).
	PreconditionViolations []PreconditionViolation
	// ResourceType and ResourceName come from google.rpc.ResourceInfo on NOT_FOUND and ALREADY_EXISTS.
	ResourceType string
	ResourceName string

	status *status.Status
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("sightline: ")
	b.WriteString(e.Code.String())
	if e.Reason != "" && e.Reason != codeName(e.Code) {
		b.WriteString(" (")
		b.WriteString(e.Reason)
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// codeName spells a code the way the API guide and the reasons do (NOT_FOUND), so Error() does not repeat a
// reason that only restates the code.
func codeName(c codes.Code) string {
	var out strings.Builder
	for i, r := range c.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			out.WriteByte('_')
		}
		out.WriteRune(r)
	}
	return strings.ToUpper(out.String())
}

// GRPCStatus lets status.Code, status.FromError and grpc's own helpers see through the wrapper.
func (e *Error) GRPCStatus() *status.Status {
	if e.status != nil {
		return e.status
	}
	return status.New(e.Code, e.Message)
}

// Is makes a call cut short by its own context match context.Canceled or context.DeadlineExceeded, as it would
// with any other Go API, although gRPC reports it as a status.
func (e *Error) Is(target error) bool {
	switch target {
	case context.Canceled:
		return e.Code == codes.Canceled
	case context.DeadlineExceeded:
		return e.Code == codes.DeadlineExceeded
	}
	return false
}

// ErrorReason is Reason as the generated enum, ERROR_REASON_UNSPECIFIED when there is none.
func (e *Error) ErrorReason() sightlinev1.ErrorReason {
	name := e.Reason
	if !strings.HasPrefix(name, reasonEnumPrefix) {
		name = reasonEnumPrefix + name
	}
	return sightlinev1.ErrorReason(sightlinev1.ErrorReason_value[name])
}

// Retryable reports whether the same call may succeed later unchanged: the server or a dependency was down, or a
// concurrent change got in the way. Writes are upserts, so retrying them is safe.
func (e *Error) Retryable() bool {
	switch e.Code {
	case codes.Unavailable, codes.Aborted:
		return true
	}
	return false
}

// AsError returns err's *Error, if it holds one.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// ReasonOf is the ErrorInfo reason of err, or "" when it has none.
func ReasonOf(err error) string {
	if e, ok := AsError(err); ok {
		return e.Reason
	}
	return ""
}

// FromStatus decodes a status and its details into an *Error.
func FromStatus(s *status.Status) *Error {
	e := &Error{Code: s.Code(), Message: s.Message(), status: s}
	for _, detail := range s.Details() {
		switch d := detail.(type) {
		case *errdetails.ErrorInfo:
			e.Reason = strings.TrimPrefix(d.GetReason(), reasonEnumPrefix)
			e.Metadata = d.GetMetadata()
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				e.FieldViolations = append(e.FieldViolations, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
			}
		case *errdetails.PreconditionFailure:
			for _, v := range d.GetViolations() {
				e.PreconditionViolations = append(e.PreconditionViolations, PreconditionViolation{Type: v.GetType(), Subject: v.GetSubject(), Description: v.GetDescription()})
			}
		case *errdetails.ResourceInfo:
			e.ResourceType = d.GetResourceType()
			e.ResourceName = d.GetResourceName()
		}
	}
	return e
}

// wrapError turns a call's failure into an *Error. io.EOF passes through untouched: on a stream it means "no more
// messages" (or, from Send, "the call is over; Recv tells why"), which callers compare against directly.
func wrapError(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if _, ok := AsError(err); ok {
		return err
	}
	if s, ok := status.FromError(err); ok {
		return FromStatus(s)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return FromStatus(status.FromContextError(err))
	}
	return err
}

// batchError turns an ack's BatchError into an *Error shaped like the one Put raises for the same batch, so a
// refused batch is handled the same way whichever write path sent it.
func batchError(be *sightlinev1.BatchError) *Error {
	e := &Error{Code: codes.Code(be.GetCode()), Message: be.GetMessage()}
	if e.Code == codes.InvalidArgument {
		e.Reason = ReasonInvalidArgument
	}
	for _, v := range be.GetViolations() {
		e.FieldViolations = append(e.FieldViolations, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
	}
	return e
}

// The one error mapper: every failure a client sees is a ConnectError built here, with a
// google.rpc.ErrorInfo (domain "sightline", reason from sightline.v1.ErrorReason) and, where it helps,
// a BadRequest, PreconditionFailure or ResourceInfo detail.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { MongoBulkWriteError, MongoError, MongoNetworkError, MongoNotConnectedError, MongoServerError, MongoServerSelectionError } from "mongodb";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  PreconditionFailureSchema,
  ResourceInfoSchema,
} from "./gen/google/rpc/error_details_pb.js";
import { ErrorReason } from "./gen/sightline/v1/errors_pb.js";

export const errorDomain = "sightline";

/** A field that failed validation: `field` is a path into the request, such as `collection.schema.fields[2].name`. */
export interface Violation {
  field: string;
  description: string;
}

type Detail = ConstructorParameters<typeof ConnectError>[3] extends (infer D)[] | undefined ? D : never;

function errorInfo(reason: ErrorReason, metadata: Record<string, string> = {}): Detail {
  return {
    desc: ErrorInfoSchema,
    value: create(ErrorInfoSchema, { reason: ErrorReason[reason], domain: errorDomain, metadata }),
  };
}

// A status travels in HTTP/2 header blocks (grpc-message, grpc-status-details-bin), which Node refuses to send past
// 64 KiB and clients cap lower still: the stream is then reset and the client gets no status at all. So an error
// lists a bounded number of violations, each clipped, and quotes no request value whole.
const maxListedViolations = 25;
const maxViolationText = 300;
const maxMessageText = 2000;
const maxQuotedName = 200;

function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never between the halves of a surrogate pair: a lone half cannot be percent-encoded into grpc-message, and
  // connect-node then failed to answer the call at all.
  const end = /[\uD800-\uDBFF]/.test(text[max - 1]!) ? max - 1 : max;
  return `${text.slice(0, end)}… (${text.length - end} more characters)`;
}

export function invalidArgument(violations: Violation[], summary?: string, reason: ErrorReason = ErrorReason.INVALID_ARGUMENT): ConnectError {
  const listed = violations.slice(0, maxListedViolations).map((v) => ({ field: clip(v.field, maxViolationText), description: clip(v.description, maxViolationText) }));
  if (violations.length > listed.length) listed.push({ field: "", description: `and ${violations.length - listed.length} more violations` });
  const message = clip(summary ?? listed.map((v) => (v.field === "" ? v.description : `${v.field}: ${v.description}`)).join("; "), maxMessageText);
  return new ConnectError(message, Code.InvalidArgument, undefined, [
    errorInfo(reason),
    { desc: BadRequestSchema, value: create(BadRequestSchema, { fieldViolations: listed }) },
  ]);
}

export function notFound(resourceType: string, name: string): ConnectError {
  const resourceName = clip(name, maxQuotedName);
  return new ConnectError(`${resourceType} "${resourceName}" not found`, Code.NotFound, undefined, [
    errorInfo(ErrorReason.NOT_FOUND, { resourceType, resourceName }),
    { desc: ResourceInfoSchema, value: create(ResourceInfoSchema, { resourceType, resourceName }) },
  ]);
}

export function alreadyExists(resourceType: string, name: string): ConnectError {
  const resourceName = clip(name, maxQuotedName);
  return new ConnectError(`${resourceType} "${resourceName}" already exists`, Code.AlreadyExists, undefined, [
    errorInfo(ErrorReason.ALREADY_EXISTS, { resourceType, resourceName }),
    { desc: ResourceInfoSchema, value: create(ResourceInfoSchema, { resourceType, resourceName }) },
  ]);
}

export interface PreconditionViolation {
  type: string;
  subject: string;
  description: string;
}

export function failedPrecondition(reason: ErrorReason, violations: PreconditionViolation[]): ConnectError {
  const listed = violations
    .slice(0, maxListedViolations)
    .map((v) => ({ type: clip(v.type, maxViolationText), subject: clip(v.subject, maxViolationText), description: clip(v.description, maxViolationText) }));
  const more = violations.length - listed.length;
  const message = clip(listed.map((v) => `${v.subject}: ${v.description}`).join("; ") + (more > 0 ? `; and ${more} more violations` : ""), maxMessageText);
  return new ConnectError(message, Code.FailedPrecondition, undefined, [
    errorInfo(reason),
    { desc: PreconditionFailureSchema, value: create(PreconditionFailureSchema, { violations: listed }) },
  ]);
}

export function aborted(message: string): ConnectError {
  return new ConnectError(clip(message, maxMessageText), Code.Aborted, undefined, [errorInfo(ErrorReason.CONCURRENT_MODIFICATION)]);
}

export function unauthenticated(reason: ErrorReason, message: string): ConnectError {
  return new ConnectError(clip(message, maxMessageText), Code.Unauthenticated, undefined, [errorInfo(reason)]);
}

export function permissionDenied(message: string): ConnectError {
  return new ConnectError(clip(message, maxMessageText), Code.PermissionDenied, undefined, [errorInfo(ErrorReason.PERMISSION_DENIED)]);
}

export function unavailable(dependency: string): ConnectError {
  return new ConnectError(`${dependency} is unavailable, retry later`, Code.Unavailable, undefined, [
    errorInfo(ErrorReason.DEPENDENCY_UNAVAILABLE, { dependency }),
  ]);
}

/**
 * What FerretDB answers (InternalError, code 1) when it cannot reach its PostgreSQL: a connection exception (SQLSTATE
 * class 08), the server shutting down or starting (57P01-57P03), or a failed connect.
 */
const ferretdbBackendDown = /SQLSTATE (08|57P0[1-3])|failed to connect to `/;

function isDependencyOutage(err: unknown): boolean {
  if (err instanceof MongoNetworkError || err instanceof MongoServerSelectionError) return true;
  // A call still on a client that store/db.ts replaced and closed (a cursor's next batch, say): "Client must be
  // connected before running operations". The next call uses the new client.
  if (err instanceof MongoNotConnectedError) return true;
  // A bulk write that failed as a whole (no write errors) carries the driver error's own fields instead: a network
  // error's `beforeHandshake`, or a server-selection error's `reason` (the topology no server could be chosen from).
  if (err instanceof MongoBulkWriteError && writeErrorsOf(err).length === 0 && ("beforeHandshake" in err || "reason" in err)) return true;
  if (err instanceof MongoServerError && err.code === 1 && ferretdbBackendDown.test(err.message)) return true;
  if (err instanceof MongoError && /not connected|topology.*closed|connection.*closed/i.test(err.message)) return true;
  return false;
}

function writeErrorsOf(err: MongoBulkWriteError) {
  return Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
}

/**
 * Maps anything a handler throws to what the client sees. Known ConnectErrors pass through; database outages become
 * UNAVAILABLE so clients retry; anything else is INTERNAL without internals leaking to the client.
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return sendable(err);
  if (isDependencyOutage(err)) return unavailable("MongoDB");
  return new ConnectError("internal error", Code.Internal);
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * An error whose message can travel in grpc-message: no lone surrogate, which cannot be percent-encoded (connect-es
 * then failed to answer the call at all), and clipped, for errors raised outside the constructors above (a health
 * check naming a huge service, say). Details are bounded where they are built.
 */
function sendable(err: ConnectError): ConnectError {
  const message = clip(err.rawMessage.replace(loneSurrogate, "\uFFFD"), maxMessageText);
  return message === err.rawMessage ? err : new ConnectError(message, err.code, err.metadata, err.details as never, err.cause);
}

function duplicateCode(code: unknown, message: string): boolean {
  return code === 11000 || (code === 1 && /duplicate/i.test(message));
}

/**
 * A duplicate-key error from MongoDB (11000) or FerretDB, which reports some of them with code 1; for a bulk write,
 * one whose every write error is a duplicate key.
 */
export function isDuplicateKey(err: unknown): boolean {
  if (err instanceof MongoBulkWriteError) {
    const errors = writeErrorsOf(err);
    return errors.length > 0 && errors.every((e) => duplicateCode(e.code, e.errmsg ?? ""));
  }
  return err instanceof MongoError && duplicateCode(err.code, err.message);
}

export function throwIfInvalid(violations: Violation[]): void {
  if (violations.length > 0) throw invalidArgument(violations);
}

// Authenticates every call except health and reflection, which load balancers and grpcurl use without a key.
// It also maps whatever a handler throws through the one error mapper and logs failures.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { timingSafeEqual } from "node:crypto";
import { toConnectError, unauthenticated } from "../errors.js";
import { ErrorReason } from "../gen/sightline/v1/errors_pb.js";
import type { Logger } from "../log.js";
import { hashSecret, lookupApiKey } from "../store/api-keys.js";
import type { Store } from "../store/db.js";
import { principalKey, type Principal } from "./principal.js";

const publicServicePrefixes = ["grpc.health.", "grpc.reflection."];

function bearer(header: string | null): string | undefined {
  if (header === null) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

async function authenticate(store: Store, adminHash: Buffer, authorization: string | null): Promise<Principal> {
  const secret = bearer(authorization);
  if (secret === undefined) {
    throw unauthenticated(ErrorReason.API_KEY_MISSING, "send the API key as `authorization: Bearer <key>`");
  }
  if (timingSafeEqual(hashSecret(secret), adminHash)) return { kind: "admin" };
  const found = await lookupApiKey(store, secret);
  if (found.status === "revoked") throw unauthenticated(ErrorReason.API_KEY_REVOKED, "the API key was revoked");
  if (found.status === "unknown") throw unauthenticated(ErrorReason.API_KEY_INVALID, "the API key is not valid");
  return { kind: "project", project: found.project };
}

export function authInterceptor(store: Store, adminKey: string, log: Logger): Interceptor {
  const adminHash = hashSecret(adminKey);
  return (next) => async (req) => {
    const procedure = `${req.service.typeName}/${req.method.name}`;
    const started = performance.now();
    try {
      if (!publicServicePrefixes.some((p) => req.service.typeName.startsWith(p))) {
        req.contextValues.set(principalKey, await authenticate(store, adminHash, req.header.get("authorization")));
      }
      const res = await next(req);
      if (!res.stream) return res;
      // Streaming responses fail while they are read, after this function has returned: map those errors too.
      return { ...res, message: mapStreamErrors(res.message, (err) => report(procedure, started, err, req.signal)) };
    } catch (err) {
      throw report(procedure, started, err, req.signal);
    }
  };

  function report(procedure: string, started: number, err: unknown, signal: AbortSignal): ConnectError {
    // The one error mapper, also for the reason a call was left with: every status sent is one a client can read.
    const mapped = toConnectError(leftByClient(err, signal) ?? err);
    const fields = { procedure, code: mapped.code, ms: Math.round(performance.now() - started) };
    if (mapped.code === Code.Internal) log.error("call failed", { ...fields, error: err });
    else log.debug("call refused", { ...fields, message: mapped.rawMessage });
    return mapped;
  }
}

/**
 * A call its client left (cancelled, or reset its stream) fails wherever the server next touches the stream, with a
 * Node error such as "The stream has been destroyed" rather than a status. That is the client's doing, not an
 * internal failure: it ends with the reason the call was aborted (CANCELED for a reset), and is not logged as an error.
 */
function leftByClient(err: unknown, signal: AbortSignal): ConnectError | undefined {
  if (err instanceof ConnectError || !signal.aborted) return undefined;
  return signal.reason instanceof ConnectError ? signal.reason : new ConnectError("the client left the call", Code.Canceled);
}

async function* mapStreamErrors<T>(messages: AsyncIterable<T>, map: (err: unknown) => ConnectError): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (err) {
    throw map(err);
  }
}

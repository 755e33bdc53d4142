// A stream the server resets (RST_STREAM) should fail with the gRPC code for its HTTP/2 error code, as gRPC's HTTP/2
// mapping has it and as grpc-js, grpc-go and grpcio report it. connect-node maps the codes too, but only when the
// stream's `close` comes first; Node emits `error` (ERR_HTTP2_STREAM_ERROR) before `close` for any code other than
// NO_ERROR and CANCEL, and connect-node then reports INTERNAL. The server resets a stream whose client took no
// response data with ENHANCE_YOUR_CALM (docs/operations.md), which clients must see as RESOURCE_EXHAUSTED.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/** gRPC's mapping of RST_STREAM codes (doc/PROTOCOL-HTTP2.md); every other code stays INTERNAL. */
const resetCodes: Record<string, Code> = {
  NGHTTP2_REFUSED_STREAM: Code.Unavailable,
  NGHTTP2_CANCEL: Code.Canceled,
  NGHTTP2_ENHANCE_YOUR_CALM: Code.ResourceExhausted,
  NGHTTP2_INADEQUATE_SECURITY: Code.PermissionDenied,
};

function resetCodeOf(err: unknown): Code | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code !== "ERR_HTTP2_STREAM_ERROR") continue;
    const name = /error code (NGHTTP2_[A-Z_]+)/.exec(e.message)?.[1];
    return name === undefined ? undefined : resetCodes[name];
  }
  return undefined;
}

function mapped(err: unknown): unknown {
  if (!(err instanceof ConnectError) || err.code !== Code.Internal) return err;
  const code = resetCodeOf(err.cause ?? err);
  // A reset carries no status, so no details either.
  return code === undefined ? err : new ConnectError(err.rawMessage, code, err.metadata, undefined, err.cause);
}

/** Re-codes a reset stream's failure, whether it comes with the response or while its messages are read. */
export const resetCodeInterceptor: Interceptor = (next) => async (req) => {
  try {
    const res = await next(req);
    if (!res.stream) return res;
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        try {
          yield* messages;
        } catch (err) {
          throw mapped(err);
        }
      })(),
    };
  } catch (err) {
    throw mapped(err);
  }
};

// connect-node's request handler for Node's HTTP servers, with one difference: every call gets an answer. When a
// call's handler pipeline fails outside the handler (connect-node writing the response), connect-node logs to the
// console and leaves the stream open, so the client waits for its own deadline, or forever without one. The fuzz
// suite found a way in: gRPC or gRPC-Web with JSON, where connect-es quotes a value it cannot decode in the error
// message, and a lone surrogate in that value makes its percent-encoding of grpc-message throw (URIError).
import { Code, ConnectError, createConnectRouter, createContextKey, createContextValues, type ConnectRouter, type ConnectRouterOptions } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import http2 from "node:http2";
import type { IncomingMessage, ServerResponse } from "node:http";

type NodeRequest = http2.Http2ServerRequest | IncomingMessage;
type NodeResponse = http2.Http2ServerResponse | ServerResponse;

/**
 * The signal connect-node aborts when the call's HTTP exchange is over (the HTTP/2 stream closed, the HTTP/1.1
 * response closed): with a ConnectError when it ended in a reset (RST_STREAM CANCEL gives CANCELED), without one when
 * it closed cleanly. The handler's signal cannot tell this: connect-es aborts it itself as soon as the handler is done.
 */
export const exchangeEndKey = createContextKey<AbortSignal | undefined>(undefined, { description: "end of the call's HTTP exchange" });

export interface NodeAdapterOptions extends ConnectRouterOptions {
  routes: (router: ConnectRouter) => void;
  /** Told about each call answered here instead of by connect-node, with the failure. */
  onAbandoned: (procedure: string, answered: Code, error: unknown) => void;
}

const connectNames: Partial<Record<Code, [string, number]>> = {
  [Code.InvalidArgument]: ["invalid_argument", 400],
  [Code.Internal]: ["internal", 500],
};

/** Answers a call with `code` in the protocol its content type names, if nothing of the answer has gone out yet. */
function answer(req: NodeRequest, res: NodeResponse, code: Code, message: string): void {
  if (res.writableEnded || res.destroyed) return;
  const stream = (res as http2.Http2ServerResponse).stream as http2.ServerHttp2Stream | undefined;
  if (res.headersSent) {
    // Part of a response is out: no status can follow it cleanly, so reset the stream (gRPC clients read INTERNAL).
    if (stream !== undefined) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    else res.destroy();
    return;
  }
  const contentType = String(req.headers["content-type"] ?? "");
  const [name, httpStatus] = connectNames[code] ?? ["internal", 500];
  if (/^application\/grpc/.test(contentType)) {
    // Trailers-only: the status in the one header block.
    res.writeHead(200, { "content-type": contentType, "grpc-status": String(code), "grpc-message": encodeURIComponent(message) });
    res.end();
  } else if (/^application\/connect\+/.test(contentType)) {
    const json = Buffer.from(JSON.stringify({ error: { code: name, message } }));
    const envelope = Buffer.alloc(5 + json.length);
    envelope[0] = 0x02;
    envelope.writeUInt32BE(json.length, 1);
    json.copy(envelope, 5);
    res.writeHead(200, { "content-type": contentType });
    res.end(envelope);
  } else {
    res.writeHead(httpStatus, { "content-type": "application/json" });
    res.end(JSON.stringify({ code: name, message }));
  }
}

export function nodeAdapter(options: NodeAdapterOptions): (req: NodeRequest, res: NodeResponse) => void {
  const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli], ...options });
  options.routes(router);
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  return (req, res) => {
    const handler = handlers.get((req.url ?? "").split("?", 2)[0]!);
    if (handler === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    const procedure = `${handler.service.typeName}/${handler.method.name}`;
    const contextValues = createContextValues();
    const uReq = universalRequestFromNodeRequest(req as never, res as never, undefined, contextValues);
    contextValues.set(exchangeEndKey, uReq.signal);
    handler(uReq)
      .then((uRes) => universalResponseToNodeResponse(uRes, res as never))
      .catch((reason: unknown) => {
        // The client went away: there is no one to answer.
        if (ConnectError.from(reason).code === Code.Aborted) return;
        // Handlers' own errors reach the client through the auth interceptor, with well-formed messages; what fails
        // to encode here is connect-es's message for a request it could not decode, which is INVALID_ARGUMENT.
        const code = reason instanceof URIError ? Code.InvalidArgument : Code.Internal;
        answer(req, res, code, code === Code.InvalidArgument ? "the request does not decode: it holds text that is not valid Unicode" : "internal error");
        options.onAbandoned(procedure, code, reason);
      });
  };
}

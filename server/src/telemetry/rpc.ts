// RPC metrics under the names of the gRPC ecosystem (go-grpc-prometheus, grpc-ecosystem/go-grpc-middleware), so
// their dashboards and alerts apply as they are, plus the number of streams open now.
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { exchangeEndKey } from "../node-adapter.js";

const grpcTypes: Record<DescMethod["methodKind"], string> = {
  unary: "unary",
  client_streaming: "client_stream",
  server_streaming: "server_stream",
  bidi_streaming: "bidi_stream",
};

/** The Prometheus defaults, extended to half an hour because a Stream or an Upload may stay open that long. */
const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];

type MethodLabel = "grpc_service" | "grpc_method" | "grpc_type";
type MethodLabels = Record<MethodLabel, string>;
const methodLabelNames: MethodLabel[] = ["grpc_service", "grpc_method", "grpc_type"];

/** Code names as gRPC's other implementations spell them (`codes.Code.String()` in Go). */
function codeName(code: Code | undefined): string {
  return code === undefined ? "OK" : Code[code];
}

function methodLabels(method: DescMethod): MethodLabels {
  return { grpc_service: method.parent.typeName, grpc_method: method.name, grpc_type: grpcTypes[method.methodKind] };
}

/**
 * The status a call ended with, as its client saw it. Once the call's signal is aborted before the end (the client
 * reset the stream, the deadline passed, the server is shutting down), the client no longer gets what the handler
 * says: a handler reading a reset Stream even sees a clean end of input and returns normally. The abort's reason
 * then decides: its status when it carries one (DEADLINE_EXCEEDED, UNAVAILABLE, CANCELED for an RST_STREAM CANCEL),
 * else CANCELED, as gRPC servers count a peer that went away. Otherwise the handler's error, which the auth
 * interceptor (inside this one) has mapped to the status sent, or OK; an OK is final only once the exchange is over
 * (see `settle`).
 */
function statusOf(signal: AbortSignal, error?: unknown): Code | undefined {
  if (signal.aborted) return signal.reason instanceof ConnectError ? signal.reason.code : Code.Canceled;
  if (error === undefined) return undefined;
  return error instanceof ConnectError ? error.code : Code.Internal;
}

/**
 * Reports `code` as the call's end, but a call its handler completed (OK) only when its HTTP exchange is over, with
 * the code of the reset that ended it if one did. A handler can complete before the client's reset arrives: Node's
 * HTTP/2 client (connect-node's, grpc-js's) cancels a call by ending its request stream first and sending RST_STREAM
 * CANCEL only after that write completes, often milliseconds later, so the handler reads a clean end of input and
 * returns while the reset is still on its way. Without the exchange's signal (a call not served by the node
 * adapter), the handler's completion is final.
 */
function settle(code: Code | undefined, exchange: AbortSignal | undefined, report: (code: Code | undefined) => void): void {
  if (code !== undefined || exchange === undefined || exchange.aborted) {
    report(code);
    return;
  }
  exchange.addEventListener("abort", () => report(exchange.reason instanceof ConnectError ? exchange.reason.code : undefined), { once: true });
}

/**
 * Wraps responses so the end of the call, whichever way it comes, is reported exactly once: the last response
 * pulled, an error raised while producing one, or the transport giving up on the rest.
 */
function observeResponses<T>(source: AsyncIterable<T>, signal: AbortSignal, onMessage: () => void, onEnd: (code: Code | undefined) => void): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const it = source[Symbol.asyncIterator]();
      let ended = false;
      const end = (code: Code | undefined) => {
        if (ended) return;
        ended = true;
        onEnd(code);
      };
      return {
        async next() {
          try {
            const result = await it.next();
            if (result.done === true) end(statusOf(signal));
            else onMessage();
            return result;
          } catch (err) {
            end(statusOf(signal, err));
            throw err;
          }
        },
        // The transport stopped pulling: it has aborted the signal already, with the write error as reason if any.
        async return(value?: unknown) {
          end(statusOf(signal) ?? Code.Canceled);
          return it.return === undefined ? { done: true, value: undefined } : it.return(value);
        },
        async throw(err?: unknown) {
          end(statusOf(signal, err) ?? Code.Canceled);
          if (it.throw === undefined) throw err;
          return it.throw(err);
        },
      };
    },
  };
}

async function* countRequests<T>(source: AsyncIterable<T>, onMessage: () => void): AsyncIterable<T> {
  for await (const message of source) {
    onMessage();
    yield message;
  }
}

/**
 * Counts and times every call that reaches a handler, streaming ones until their last response, and a call that
 * completes until its HTTP exchange is over (`settle`), by service, method, type and status code. It must be the
 * outermost interceptor, so that authentication refusals are counted and the codes are those the auth interceptor
 * mapped errors to. `services` are listed so that every method reports zeros from the start, which lets rate() see
 * the first call.
 */
export function rpcMetricsInterceptor(registry: Registry, services: readonly DescService[]): Interceptor {
  const registers = [registry];
  const started = new Counter({ name: "grpc_server_started_total", help: "RPCs started on the server.", labelNames: methodLabelNames, registers });
  const handled = new Counter({
    name: "grpc_server_handled_total",
    help: "RPCs completed on the server, by status code; a stream counts when it ends.",
    labelNames: [...methodLabelNames, "grpc_code"],
    registers,
  });
  const handling = new Histogram({
    name: "grpc_server_handling_seconds",
    help: "Time from the start of an RPC to its status, by status code; for streams, until the stream ends.",
    labelNames: [...methodLabelNames, "grpc_code"],
    buckets: durationBuckets,
    registers,
  });
  const received = new Counter({ name: "grpc_server_msg_received_total", help: "Request messages received by handlers.", labelNames: methodLabelNames, registers });
  const sent = new Counter({ name: "grpc_server_msg_sent_total", help: "Response messages sent by handlers.", labelNames: methodLabelNames, registers });
  const open = new Gauge({
    name: "sightline_open_streams",
    help: "Streaming RPCs (client, server or bidirectional) in progress.",
    labelNames: ["grpc_service", "grpc_method"],
    registers,
  });

  for (const service of services) {
    for (const method of service.methods) {
      started.inc(methodLabels(method), 0);
      if (method.methodKind !== "unary") open.set({ grpc_service: service.typeName, grpc_method: method.name }, 0);
    }
  }

  return (next) => async (req) => {
    const labels = methodLabels(req.method);
    const streamLabels = { grpc_service: labels.grpc_service, grpc_method: labels.grpc_method };
    const startedAt = performance.now();
    started.inc(labels);
    if (req.stream) open.inc(streamLabels);
    const exchange = req.contextValues.get(exchangeEndKey);
    const finish = (code: Code | undefined) =>
      settle(code, exchange, (ended) => {
        const withCode = { ...labels, grpc_code: codeName(ended) };
        handled.inc(withCode);
        handling.observe(withCode, (performance.now() - startedAt) / 1000);
        if (req.stream) open.dec(streamLabels);
      });
    const receivedOne = () => received.inc(labels);
    const sentOne = () => sent.inc(labels);

    let res: Awaited<ReturnType<typeof next>>;
    try {
      if (req.stream) {
        res = await next({ ...req, message: countRequests(req.message, receivedOne) });
      } else {
        receivedOne();
        res = await next(req);
      }
    } catch (err) {
      finish(statusOf(req.signal, err));
      throw err;
    }
    if (!res.stream) {
      const code = statusOf(req.signal);
      if (code === undefined) sentOne();
      finish(code);
      return res;
    }
    return { ...res, message: observeResponses(res.message, req.signal, sentOne, finish) };
  };
}

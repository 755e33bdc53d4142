// One port for every protocol. Without TLS it speaks HTTP/2 with prior knowledge (h2c) only: Node's HTTP/2 session
// reads the socket's native handle directly, so a sniffed first chunk cannot be handed back, and wrapping the socket
// in a JS stream to allow it would slow every call. With TLS, ALPN also admits HTTP/1.1 for browsers and curl.
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import type net from "node:net";
import type { TlsConfig } from "./config.js";
import { applyRequestDeadline } from "./request-deadline.js";

type Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

export interface ListenOptions {
  host: string;
  port: number;
  tls: TlsConfig | undefined;
  /** Advertised as SETTINGS_MAX_CONCURRENT_STREAMS: calls one connection may have open at once. */
  maxStreamsPerConnection: number;
  /** A response that has had data waiting, with none of it taken by the client, for this long is reset. */
  sendTimeoutMs: number;
  /** Told about each response reset for a client that took none of it. */
  onSendTimeout?: (path: string, stalledMs: number) => void;
}

export interface Listener {
  /** Stops accepting connections and asks every open one to finish its calls and go away. */
  drain(): void;
  /** Resolves when every call has finished; connections still open then are closed. */
  closed(): Promise<void>;
  /** Cuts whatever is still open. */
  destroy(): void;
  port(): number;
}

// Raised from the 64 KiB default so a single stream is not capped at one window per round trip.
const windowBytes = 8 * 1024 * 1024;

/**
 * One call's outgoing side, watched for a client that stops taking responses: once the client's HTTP/2 flow-control
 * window is used up, writes queue in the stream, connect-node waits for them to drain, and the handler waits on it.
 * Bounded memory, but the call would hang for as long as the client keeps the connection open.
 */
interface Call {
  path: string;
  /** The HTTP/2 stream, or for HTTP/1.1 (TLS and ALPN only) the response itself. */
  out: { writableLength: number; destroyed: boolean };
  finished(): boolean;
  reset(): void;
  /** Bytes waiting at the previous sweep. */
  waiting: number;
  /** The last sweep that saw nothing waiting or some of it taken. */
  lastProgress: number;
  drained: boolean;
}

function callOf(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): Call {
  // With allowHTTP1 an HTTP/1.1 request arrives as http.IncomingMessage and http.ServerResponse, without a stream.
  const stream = res.stream as http2.ServerHttp2Stream | undefined;
  const now = Date.now();
  if (stream !== undefined) {
    return {
      path: req.url,
      out: stream,
      finished: () => stream.closed || stream.destroyed,
      // ENHANCE_YOUR_CALM is what gRPC clients report as RESOURCE_EXHAUSTED; no status could get through anyway,
      // since trailers queue behind the data the client is not taking.
      reset: () => stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM),
      waiting: 0,
      lastProgress: now,
      drained: false,
    };
  }
  const h1 = res as unknown as { writableLength: number; destroyed: boolean; writableFinished: boolean; destroy(): void };
  return {
    path: req.url,
    out: h1,
    finished: () => h1.destroyed || h1.writableFinished,
    reset: () => h1.destroy(),
    waiting: 0,
    lastProgress: now,
    drained: false,
  };
}

export async function listen(options: ListenOptions, rawHandler: Handler): Promise<Listener> {
  const { host, port, tls, sendTimeoutMs } = options;
  const settings: http2.Settings = { initialWindowSize: windowBytes, maxConcurrentStreams: options.maxStreamsPerConnection };
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<net.Socket>();
  // Calls are tracked rather than sessions awaited: a client may keep its side of a finished call open (after a
  // refused oversized message, say), and Node then never reports the call finished nor the session closed.
  // A call is over once its HTTP/2 stream is closed, which happens when the response trailers have gone out.
  const calls = new Map<http2.Http2ServerResponse, Call>();
  const handler: Handler = (req, res) => {
    const call = callOf(req, res);
    calls.set(res, call);
    const emitter = (res.stream ?? res) as NodeJS.EventEmitter;
    emitter.once("close", () => calls.delete(res));
    // Once per call, not per write: connect-node waits for this event whenever a write fills the buffer.
    emitter.on("drain", () => (call.drained = true));
    applyRequestDeadline(req);
    rawHandler(req, res);
  };
  const callsInFlight = () => {
    for (const [res, call] of calls) if (call.finished()) calls.delete(res);
    return calls.size;
  };
  // One sweep for all calls, so a write costs nothing extra. A call whose queued bytes neither drained nor shrank
  // between sweeps made no progress; one that made none for sendTimeoutMs is reset. Time this process itself was
  // stalled (a late sweep: nothing could be sent then) does not count against the client.
  const sweepMs = Math.min(1000, Math.max(100, Math.floor(sendTimeoutMs / 10)));
  let lastSweep = Date.now();
  const sweep = setInterval(() => {
    const now = Date.now();
    const stalled = Math.max(0, now - lastSweep - 2 * sweepMs);
    lastSweep = now;
    for (const [res, call] of calls) {
      if (call.finished()) {
        calls.delete(res);
        continue;
      }
      const waiting = call.out.writableLength;
      if (waiting === 0 || waiting < call.waiting || call.drained) call.lastProgress = now;
      else call.lastProgress += stalled;
      call.waiting = waiting;
      call.drained = false;
      if (waiting > 0 && now - call.lastProgress >= sendTimeoutMs) {
        calls.delete(res);
        options.onSendTimeout?.(call.path, now - call.lastProgress);
        call.reset();
      }
    }
  }, sweepMs);
  sweep.unref();
  const onSession = (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    session.once("localSettings", () => session.setLocalWindowSize(windowBytes));
  };

  const server =
    tls === undefined
      ? http2.createServer({ settings }, handler)
      : http2.createSecureServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), allowHTTP1: true, settings }, handler);
  server.on("session", onSession);
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });

  const destroy = () => {
    clearInterval(sweep);
    for (const session of sessions) session.destroy();
    for (const socket of sockets) socket.destroy();
  };
  return {
    port() {
      const address = server.address();
      return typeof address === "object" && address !== null ? address.port : port;
    },
    drain() {
      server.close();
      for (const session of sessions) session.close();
    },
    async closed() {
      // The server's own close event waits for every connection, which an idle client may hold open forever.
      while (callsInFlight() > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      destroy();
    },
    destroy,
  };
}

// One port for every protocol. Without TLS it speaks HTTP/2 with prior knowledge (h2c) only: Node's HTTP/2 session
// reads the socket's native handle directly, so a sniffed first chunk cannot be handed back, and wrapping the socket
// in a JS stream to allow it would slow every call. With TLS, ALPN also admits HTTP/1.1 for browsers and curl.
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import type net from "node:net";
import type { TlsConfig } from "./config.js";
import { applyRequestDeadline } from "./request-deadline.js";
import { watchSends, type SendTimeoutOptions } from "./send-watch.js";

type Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

export interface ListenOptions extends SendTimeoutOptions {
  host: string;
  port: number;
  tls: TlsConfig | undefined;
  /** Advertised as SETTINGS_MAX_CONCURRENT_STREAMS: calls one connection may have open at once. */
  maxStreamsPerConnection: number;
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

export async function listen(options: ListenOptions, rawHandler: Handler): Promise<Listener> {
  const { host, port, tls } = options;
  const settings: http2.Settings = { initialWindowSize: windowBytes, maxConcurrentStreams: options.maxStreamsPerConnection };
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<net.Socket>();
  const sends = watchSends(options);
  const handler: Handler = (req, res) => {
    sends.track(req, res);
    applyRequestDeadline(req);
    rawHandler(req, res);
  };
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
    sends.stop();
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
      while (sends.inFlight() > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      destroy();
    },
    destroy,
  };
}

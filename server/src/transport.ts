// One port for every protocol. Without TLS it speaks HTTP/2 with prior knowledge (h2c) only: Node's HTTP/2 session
// reads the socket's native handle directly, so a sniffed first chunk cannot be handed back, and wrapping the socket
// in a JS stream to allow it would slow every call. With TLS, ALPN also admits HTTP/1.1 for browsers and curl.
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import type net from "node:net";
import type { TlsConfig } from "./config.js";

type Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

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
const http2Settings: http2.Settings = { initialWindowSize: windowBytes, maxConcurrentStreams: 1000 };

export async function listen(host: string, port: number, tls: TlsConfig | undefined, rawHandler: Handler): Promise<Listener> {
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<net.Socket>();
  // Calls are tracked rather than sessions awaited: a client may keep its side of a finished call open (after a
  // refused oversized message, say), and Node then never reports the call finished nor the session closed.
  // A call is over once its HTTP/2 stream is closed, which happens when the response trailers have gone out.
  const calls = new Set<http2.Http2ServerResponse>();
  const handler: Handler = (req, res) => {
    calls.add(res);
    res.stream.once("close", () => calls.delete(res));
    rawHandler(req, res);
  };
  const callsInFlight = () => {
    for (const res of calls) if (res.stream.closed || res.stream.destroyed) calls.delete(res);
    return calls.size;
  };
  const onSession = (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    session.once("localSettings", () => session.setLocalWindowSize(windowBytes));
  };

  const server =
    tls === undefined
      ? http2.createServer({ settings: http2Settings }, handler)
      : http2.createSecureServer(
          { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), allowHTTP1: true, settings: http2Settings },
          handler,
        );
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

// One port for every protocol. Without TLS it speaks HTTP/2 with prior knowledge (h2c) only: Node's HTTP/2 session
// reads the socket's native handle directly, so a sniffed first chunk cannot be handed back, and wrapping the socket
// in a JS stream to allow it would slow every call. With TLS, ALPN also admits HTTP/1.1 for browsers and curl.
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import type { TlsConfig } from "./config.js";

type Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

export interface Listener {
  /** Stops accepting connections and asks every open one to finish its calls and go away. */
  drain(): void;
  /** Resolves when every connection has closed. */
  closed(): Promise<void>;
  /** Cuts whatever is still open. */
  destroy(): void;
  port(): number;
}

// Raised from the 64 KiB default so a single stream is not capped at one window per round trip.
const windowBytes = 8 * 1024 * 1024;
const http2Settings: http2.Settings = { initialWindowSize: windowBytes, maxConcurrentStreams: 1000 };

function widenWindow(session: http2.ServerHttp2Session): void {
  session.once("localSettings", () => session.setLocalWindowSize(windowBytes));
}

export async function listen(host: string, port: number, tls: TlsConfig | undefined, handler: Handler): Promise<Listener> {
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<net.Socket>();
  const track = (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    widenWindow(session);
  };

  let outer: net.Server;
  if (tls !== undefined) {
    const secure = http2.createSecureServer(
      { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), allowHTTP1: true, settings: http2Settings },
      handler,
    );
    secure.on("session", track);
    outer = secure;
  } else {
    const h2 = http2.createServer({ settings: http2Settings }, handler);
    h2.on("session", track);
    outer = h2;
  }
  outer.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    outer.once("error", reject);
    outer.listen(port, host, () => {
      outer.off("error", reject);
      resolve();
    });
  });
  const closedOuter = new Promise<void>((resolve) => outer.once("close", () => resolve()));

  return {
    port() {
      const address = outer.address();
      return typeof address === "object" && address !== null ? address.port : port;
    },
    drain() {
      outer.close();
      for (const session of sessions) session.close();
    },
    async closed() {
      await closedOuter;
      // Each HTTP/2 session closes its socket once its last stream ends after GOAWAY.
      while (sockets.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    },
    destroy() {
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    },
  };
}

// The console port: plain HTTP/1.1, because without TLS the main port speaks h2c only and no browser speaks h2c. It
// serves the console's files and, through the same connect-node handler as the main port (same routes, same
// interceptors, so the same API keys), the Connect and gRPC-Web protocols the console calls. gRPC itself needs
// HTTP/2 and stays on the main port.
import http from "node:http";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { defaultConsoleDir, loadConsoleFiles, withConsoleFiles, type ConsoleFiles } from "./files.js";

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface ConsoleListener {
  port(): number;
  /** Stops accepting connections; idle keep-alive connections are closed, calls in flight go on. */
  drain(): void;
  /** Resolves once no call is in flight, then closes what is still open. */
  closed(): Promise<void>;
  /** Cuts whatever is still open. */
  destroy(): void;
}

export interface ConsoleListenOptions {
  host: string;
  port: number;
  /** A response whose queued bytes the client takes none of for this long is cut (as on the main port). */
  sendTimeoutMs: number;
  onSendTimeout?: (path: string, stalledMs: number) => void;
}

/** The console's files, or undefined (and a warning) when they were never built. */
export function openConsoleFiles(dir: string, log: Logger): ConsoleFiles | undefined {
  const site = loadConsoleFiles(dir);
  if (site === undefined) log.warn("the web console is not built; run `npm run build:console`", { consoleDir: dir });
  return site;
}

function notBuilt(next: Handler): Handler {
  return (req, res) => {
    if (req.method === "GET" && (req.url === "/" || req.url === "/index.html")) {
      res.writeHead(503, { "content-type": "text/plain; charset=utf-8" });
      res.end("The web console is not built: run `npm run build:console` and restart the server.\n");
      return;
    }
    next(req, res);
  };
}

interface InFlight {
  path: string;
  waiting: number;
  lastProgress: number;
}

export async function listenConsole(options: ConsoleListenOptions, site: ConsoleFiles | undefined, rpc: Handler): Promise<ConsoleListener> {
  const handler = site === undefined ? notBuilt(rpc) : withConsoleFiles(site, rpc);
  const inFlight = new Map<http.ServerResponse, InFlight>();
  const server = http.createServer((req, res) => {
    inFlight.set(res, { path: req.url ?? "", waiting: 0, lastProgress: Date.now() });
    res.once("close", () => inFlight.delete(res));
    handler(req, res);
  });
  // A stalled reader of a server stream (WatchJob, ReadRecords) would otherwise hold its call open for as long as it
  // keeps the connection: connect-node waits for the socket to drain before writing more.
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [res, call] of inFlight) {
        const waiting = res.writableLength;
        if (waiting === 0 || waiting < call.waiting) call.lastProgress = now;
        call.waiting = waiting;
        if (waiting > 0 && now - call.lastProgress >= options.sendTimeoutMs) {
          inFlight.delete(res);
          options.onSendTimeout?.(call.path, now - call.lastProgress);
          res.destroy();
        }
      }
    },
    Math.min(1000, Math.max(100, Math.floor(options.sendTimeoutMs / 10))),
  );
  sweep.unref();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const destroy = () => {
    clearInterval(sweep);
    server.closeAllConnections();
  };
  return {
    port() {
      const address = server.address();
      return typeof address === "object" && address !== null ? address.port : options.port;
    },
    drain() {
      server.close();
      server.closeIdleConnections();
    },
    async closed() {
      while (inFlight.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      destroy();
    },
    destroy,
  };
}

/**
 * The console's files when something serves them: the console port, or with TLS the main port too (ALPN admits
 * HTTP/1.1 there). Undefined otherwise, or when never built.
 */
export function consoleFilesFor(config: Pick<Config, "tls" | "console">, log: Logger): ConsoleFiles | undefined {
  if (config.console.port === undefined && config.tls === undefined) return undefined;
  const dir = config.console.dir ?? defaultConsoleDir();
  if (config.console.port !== undefined) return openConsoleFiles(dir, log);
  return loadConsoleFiles(dir);
}

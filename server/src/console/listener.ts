// The console port: plain HTTP/1.1, because without TLS the main port speaks h2c only and no browser speaks h2c. It
// serves the console's files and, through the same connect-node handler as the main port (same routes, same
// interceptors, so the same API keys), the Connect and gRPC-Web protocols the console calls. gRPC itself needs
// HTTP/2 and stays on the main port.
import http from "node:http";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { applyRequestDeadline } from "../request-deadline.js";
import { watchSends, type SendTimeoutOptions } from "../send-watch.js";
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

/** The send timeout is the main port's: a stalled reader of a server stream (WatchJob, ReadRecords) is cut. */
export interface ConsoleListenOptions extends SendTimeoutOptions {
  host: string;
  port: number;
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

export async function listenConsole(options: ConsoleListenOptions, site: ConsoleFiles | undefined, rpc: Handler): Promise<ConsoleListener> {
  const handler = site === undefined ? notBuilt(rpc) : withConsoleFiles(site, rpc);
  const sends = watchSends(options);
  const server = http.createServer((req, res) => {
    sends.track(req, res);
    applyRequestDeadline(req);
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const destroy = () => {
    sends.stop();
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
      while (sends.inFlight() > 0) await new Promise((resolve) => setTimeout(resolve, 50));
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

// Serves the exposition: as one route in front of the gRPC handler on the main port (h2c, or HTTP/1.1 and HTTP/2
// with TLS), and on an optional plain HTTP/1.1 port, because Prometheus cannot scrape HTTP/2 without TLS.
import http from "node:http";
import type { Registry } from "prom-client";

export const metricsPath = "/metrics";

/** What a scrape needs of a request and a response; both HTTP/1.1 and HTTP/2 compatibility objects have it. */
export interface ScrapeRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
}
export interface ScrapeResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body: string): unknown;
}

function isMetricsPath(url: string | undefined): boolean {
  if (url === undefined) return false;
  const query = url.indexOf("?");
  return (query === -1 ? url : url.slice(0, query)) === metricsPath;
}

async function answerScrape(registry: Registry, req: ScrapeRequest, res: ScrapeResponse): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
    res.end("use GET\n");
    return;
  }
  let body: string;
  try {
    body = await registry.metrics();
  } catch (err) {
    res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
    res.end(`could not collect metrics: ${err instanceof Error ? err.message : String(err)}\n`);
    return;
  }
  res.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" });
  res.end(req.method === "HEAD" ? "" : body);
}

/**
 * Answers GET /metrics itself and hands every other request to `next`. gRPC paths always hold a service name and a
 * method (`/pkg.Service/Method`), so no RPC can be shadowed. Like health, it needs no API key: the exposition holds
 * only counts and timings, labelled by method, status code, data kind, row error reason, queue and command names.
 */
export function withMetricsRoute<Q extends ScrapeRequest, S extends ScrapeResponse>(registry: Registry, next: (req: Q, res: S) => void): (req: Q, res: S) => void {
  return (req, res) => {
    if (isMetricsPath(req.url)) void answerScrape(registry, req, res);
    else next(req, res);
  };
}

export interface MetricsListener {
  port(): number;
  close(): Promise<void>;
}

/** A plain HTTP/1.1 listener that serves /metrics and nothing else. */
export async function listenMetrics(host: string, port: number, registry: Registry): Promise<MetricsListener> {
  const server = http.createServer(
    withMetricsRoute(registry, (_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end(`only ${metricsPath} is served here\n`);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port() {
      const address = server.address();
      return typeof address === "object" && address !== null ? address.port : port;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Scrapers keep their connections alive between scrapes; without this, close() would wait for them.
      server.closeAllConnections();
      await closed;
    },
  };
}

// The console's API clients: the same generated service descriptors as every TypeScript client, over the Connect
// protocol through fetch, to the origin that served the page. @connectrpc/connect-web is not a dependency; its
// transport is the Connect protocol's transport from @connectrpc/connect plus a fetch client, which is all this is.
import { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import type { UniversalClientFn } from "@connectrpc/connect/protocol";
import { createTransport } from "@connectrpc/connect/protocol-connect";
import { AdminService } from "../../../clients/ts/src/gen/sightline/v1/admin_service_pb.js";
import { CatalogService } from "../../../clients/ts/src/gen/sightline/v1/catalog_service_pb.js";
import { IngestService } from "../../../clients/ts/src/gen/sightline/v1/ingest_service_pb.js";
import { MonitoringService } from "../../../clients/ts/src/gen/sightline/v1/monitoring_service_pb.js";

export interface Api {
  admin: Client<typeof AdminService>;
  catalog: Client<typeof CatalogService>;
  ingest: Client<typeof IngestService>;
  monitoring: Client<typeof MonitoringService>;
}

async function concat(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array<ArrayBuffer>> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of chunks) {
    parts.push(part);
    size += part.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

async function* chunksOf(body: ReadableStream<Uint8Array> | null): AsyncGenerator<Uint8Array> {
  if (body === null) return;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * The console makes only unary and server-streaming calls, whose request is one message, so the body is sent whole:
 * browsers refuse a streamed request body without `duplex: "half"`, and over HTTP/1.1 they refuse it altogether.
 * Responses stream, which server streaming (WatchJob, ReadRecords) needs.
 */
const fetchClient: UniversalClientFn = async (req) => {
  const body = req.body === undefined ? undefined : await concat(req.body);
  const res = await fetch(req.url, { method: req.method, headers: req.header, body, signal: req.signal ?? null, credentials: "omit" });
  // The browser sends Accept-Encoding on its own, so the server gzips large unary responses, and fetch hands back the
  // body already decoded. Left in place, these headers would make the transport look for a codec it does not have,
  // and hold the decoded body to the encoded length.
  const header = new Headers(res.headers);
  if (header.has("content-encoding")) {
    header.delete("content-encoding");
    header.delete("content-length");
  }
  return { status: res.status, header, body: chunksOf(res.body), trailer: new Headers() };
};

function bearer(key: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${key}`);
    return next(req);
  };
}

/** Calls refused for the key itself end the session; the page sees the error as well. */
function onUnauthenticated(signOut: () => void): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.Unauthenticated) signOut();
      throw err;
    }
  };
}

export function createApi(key: string, signOut: () => void): Api {
  const transport: Transport = createTransport({
    httpClient: fetchClient,
    baseUrl: window.location.origin,
    useBinaryFormat: true,
    interceptors: [onUnauthenticated(signOut), bearer(key)],
    // Message compression would need a codec in the bundle; the browser already takes gzip at the HTTP level.
    acceptCompression: [],
    sendCompression: null,
    compressMinBytes: 1024,
    readMaxBytes: 0xffffffff,
    writeMaxBytes: 0xffffffff,
  });
  return {
    admin: createClient(AdminService, transport),
    catalog: createClient(CatalogService, transport),
    ingest: createClient(IngestService, transport),
    monitoring: createClient(MonitoringService, transport),
  };
}

/** `PermissionDenied: the API key …`: what a failed call shows the user. */
export function describeError(err: unknown): string {
  const e = ConnectError.from(err);
  return `${Code[e.code]}: ${e.rawMessage}`;
}

export function errorCode(err: unknown): string {
  return Code[ConnectError.from(err).code] ?? "Unknown";
}

// The built web console (server/console, built by `npm run build:console` into dist/console), served as static files.
// Everything is read into memory once at start: the build is about a hundred kilobytes, a request then never touches
// the file system (so no path can escape the directory), and a rebuild while the server runs cannot hand one page
// load files from two different builds.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

interface StaticFile {
  body: Buffer;
  /** Only for text types big enough to gain from it. */
  gzip: Buffer | undefined;
  contentType: string;
  etag: string;
  /** Vite puts a content hash in every asset name under assets/, so those never change under the same URL. */
  immutable: boolean;
}

export interface ConsoleFiles {
  dir: string;
  /** Files by URL path; "/" is index.html. */
  files: ReadonlyMap<string, StaticFile>;
}

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * The console talks only to this origin, runs only its own bundled script, renders data only as text (never as
 * HTML), and is never framed. Styles it computes go through the CSSOM, which style-src does not restrict.
 */
const securityHeaders: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/**
 * dist/console of this checkout: the compiled server runs from dist/server/src/console, and tsx runs the sources from
 * server/src/console; both are tried so either way finds the same build.
 */
export function defaultConsoleDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const compiled = path.resolve(here, "../../../console");
  const sources = path.resolve(here, "../../../dist/console");
  return existsSync(path.join(compiled, "index.html")) ? compiled : sources;
}

function walk(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walk(full, `${prefix}${name}/`));
    else out.push(`${prefix}${name}`);
  }
  return out;
}

/** Undefined when the directory holds no index.html, that is when the console was never built. */
export function loadConsoleFiles(dir: string): ConsoleFiles | undefined {
  if (!existsSync(path.join(dir, "index.html"))) return undefined;
  const files = new Map<string, StaticFile>();
  for (const relative of walk(dir)) {
    const contentType = contentTypes[path.extname(relative)];
    // Source maps and anything unexpected stay unserved.
    if (contentType === undefined) continue;
    const body = readFileSync(path.join(dir, relative));
    const compressible = contentType.startsWith("text/") || contentType === "image/svg+xml" || contentType === "application/json";
    files.set(`/${relative}`, {
      body,
      gzip: compressible && body.length > 1024 ? gzipSync(body, { level: 9 }) : undefined,
      contentType,
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
      immutable: relative.startsWith("assets/"),
    });
  }
  const index = files.get("/index.html");
  if (index !== undefined) files.set("/", index);
  return { dir, files };
}

/** What serving a file needs of a request and a response; HTTP/1.1 and HTTP/2 compatibility objects both have it. */
export interface FileRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: Record<string, string | string[] | undefined>;
}
export interface FileResponse {
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  end(): unknown;
  end(body: Uint8Array): unknown;
}

function header(req: FileRequest, name: string): string {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(",") : (value ?? "");
}

/**
 * Answers GET and HEAD for the console's files and hands every other request to `next`. RPC paths always name a
 * package-qualified service (`/sightline.v1.CatalogService/…`) while the console's are `/`, `/index.html` and
 * `/assets/…`, so no RPC, Connect GET requests included, can be shadowed.
 */
export function withConsoleFiles<Q extends FileRequest, S extends FileResponse>(site: ConsoleFiles, next: (req: Q, res: S) => void): (req: Q, res: S) => void {
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return next(req, res);
    const url = req.url ?? "/";
    const query = url.indexOf("?");
    const file = site.files.get(query === -1 ? url : url.slice(0, query));
    if (file === undefined) return next(req, res);
    const headers: Record<string, string | number> = {
      ...securityHeaders,
      "content-type": file.contentType,
      etag: file.etag,
      vary: "accept-encoding",
      // index.html names the current build's assets, so it is revalidated on every load.
      "cache-control": file.immutable ? "public, max-age=31536000, immutable" : "no-cache",
    };
    if (header(req, "if-none-match").split(",").some((tag) => tag.trim() === file.etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const gzip = file.gzip !== undefined && /\bgzip\b/.test(header(req, "accept-encoding"));
    const body = gzip ? file.gzip! : file.body;
    if (gzip) headers["content-encoding"] = "gzip";
    headers["content-length"] = body.length;
    res.writeHead(200, headers);
    if (req.method === "HEAD") res.end();
    else res.end(body);
  };
}

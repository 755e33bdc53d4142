// A bare HTTP/2 (h2c) client for sending exactly the bytes a fuzz input holds and reading back exactly what the
// server answers: status, headers, body and trailers, with a hard deadline so a hung call is seen as a hang.
import http2 from "node:http2";

const writePiece = 256 * 1024;

export interface RawRequest {
  path: string;
  headers: Record<string, string>;
  /** Body chunks, written in order; the stream is ended after the last unless `keepOpen`. */
  body: Uint8Array[];
  /** Leaves the request stream open after the body (the server must still answer, e.g. on a deadline). */
  keepOpen?: boolean;
  /** Cancels the call (RST_STREAM CANCEL) this long after sending it, as a client that gives up does. */
  cancelAfterMs?: number;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  trailers: Record<string, string>;
  /** The HTTP/2 stream was reset rather than ended, with this code. */
  rstCode: number | undefined;
  /** This client cancelled the call before the answer was complete: there is no status to judge. */
  cancelled: boolean;
  /** What the client's stream reported, if it ended in an error (for telling which side reset it). */
  streamError: string | undefined;
  ms: number;
}

export class Hang extends Error {
  constructor(readonly ms: number) {
    super(`no complete answer within ${ms} ms`);
  }
}

function flatten(headers: http2.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(", ") : String(v);
  }
  return out;
}

/** A small pool of h2c sessions to one server, reconnected when one fails. */
export class H2Pool {
  private sessions: (http2.ClientHttp2Session | undefined)[];
  private next = 0;

  constructor(
    private readonly url: string,
    size: number,
  ) {
    this.sessions = new Array<http2.ClientHttp2Session | undefined>(size).fill(undefined);
  }

  private session(): http2.ClientHttp2Session {
    const i = this.next++ % this.sessions.length;
    let s = this.sessions[i];
    if (s === undefined || s.closed || s.destroyed) {
      // Node's client counts queued outgoing data against maxSessionMemory (10 MiB by default) and, once over it,
      // resets every new stream of the session with ENHANCE_YOUR_CALM on its own: a fuzz input larger than that
      // would otherwise poison the client's session, and its failures would look like the server's.
      s = http2.connect(this.url, { maxSessionMemory: 512, settings: { initialWindowSize: 8 * 1024 * 1024 } });
      s.on("error", () => undefined);
      // A session the server sent GOAWAY on is replaced on next use.
      s.on("goaway", () => {
        if (this.sessions[i] === s) this.sessions[i] = undefined;
      });
      this.sessions[i] = s;
    }
    return s;
  }

  /** Sends one request and resolves with the whole answer, or rejects with Hang after `deadlineMs`. */
  send(req: RawRequest, deadlineMs: number): Promise<RawResponse> {
    const started = performance.now();
    return new Promise<RawResponse>((resolve, reject) => {
      let stream: http2.ClientHttp2Stream;
      try {
        stream = this.session().request({ ":method": "POST", ":path": req.path, ...req.headers }, { endStream: false });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      let status = 0;
      let headers: Record<string, string> = {};
      let trailers: Record<string, string> = {};
      const chunks: Buffer[] = [];
      let settled = false;
      let cancelled = false;
      let streamError: string | undefined;
      const cancelTimer =
        req.cancelAfterMs === undefined
          ? undefined
          : setTimeout(() => {
              if (settled || stream.closed) return;
              cancelled = true;
              stream.close(http2.constants.NGHTTP2_CANCEL);
            }, req.cancelAfterMs);
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(new Hang(deadlineMs));
      }, deadlineMs);
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(cancelTimer);
        const rst = stream.rstCode;
        if (err !== undefined && status === 0 && (rst === undefined || rst === 0) && !cancelled) {
          reject(err);
          return;
        }
        resolve({
          status,
          headers,
          body: Buffer.concat(chunks),
          trailers,
          rstCode: rst !== undefined && rst !== 0 ? rst : undefined,
          cancelled,
          streamError,
          ms: performance.now() - started,
        });
      };
      stream.on("response", (h) => {
        status = Number(h[":status"] ?? 0);
        headers = flatten(h);
      });
      stream.on("trailers", (t) => {
        trailers = flatten(t);
      });
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("error", (err) => {
        streamError = `${(err as { code?: string }).code ?? ""} ${err.message}`;
        finish(err);
      });
      stream.on("frameError", (type: number, code: number) => {
        streamError = `frameError type ${type} code ${code}`;
      });
      stream.on("close", () => finish());
      // The server ending its side is the whole answer, even while our side is still open (a request never ended, or
      // cut short by an early answer): then our side is cancelled, so the stream closes. Only then: a client that
      // resets every stream looks like an HTTP/2 Rapid Reset attack, and nghttp2 ends its connection (GOAWAY
      // INTERNAL_ERROR) once the resets pass its rate limit.
      let requestEnded = false;
      stream.on("end", () => {
        finish();
        if (!stream.closed && !requestEnded) stream.close(http2.constants.NGHTTP2_CANCEL);
      });
      void (async () => {
        for (const whole of req.body) {
          // Large chunks go out in pieces, with backpressure, so little is ever queued in the session.
          for (let at = 0; at < whole.length || (at === 0 && whole.length === 0); at += writePiece) {
            if (stream.destroyed || settled) return;
            if (!stream.write(whole.subarray(at, at + writePiece))) {
              await new Promise<void>((r) => {
                const done = () => {
                  stream.off("drain", done);
                  stream.off("close", done);
                  r();
                };
                stream.on("drain", done);
                stream.on("close", done);
              });
            }
            if (whole.length === 0) break;
          }
        }
        if (!req.keepOpen && !stream.destroyed) {
          requestEnded = true;
          stream.end();
        }
      })().catch(() => undefined);
    });
  }

  close(): void {
    for (const s of this.sessions) s?.close();
    this.sessions.fill(undefined);
  }
}

// A call's deadline covers reading its request too. connect-node starts the deadline's clock when a call arrives, but
// only handlers watch it, and a handler starts once connect-node has read the request (all of it, for unary and
// server-streaming methods) or waits on its next message: a client that sent a deadline and then neither finished nor
// cancelled its request held the call open for good, with no status ever sent. Here every read of the request body
// races the deadline, so such a call ends with DEADLINE_EXCEEDED through connect-node's own error path, in whatever
// protocol the call speaks.
import { Code, ConnectError } from "@connectrpc/connect";
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";

const grpcUnitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
/** setTimeout's ceiling. A longer deadline is above any SIGHTLINE_MAX_TIMEOUT_MS, and connect-node refuses the call. */
const maxTimerMs = 2 ** 31 - 1;

/** The deadline a request carries, in the header of its protocol and the format connect-node accepts. */
export function requestDeadlineMs(headers: IncomingHttpHeaders): number | undefined {
  const grpc = String(headers["content-type"] ?? "").startsWith("application/grpc");
  const raw = headers[grpc ? "grpc-timeout" : "connect-timeout-ms"];
  if (typeof raw !== "string") return undefined;
  const match = grpc ? /^(\d{1,8})([HMSmun])$/.exec(raw) : /^(\d{1,10})$/.exec(raw);
  // A malformed value is connect-node's to refuse.
  if (match === null) return undefined;
  const ms = Number(match[1]) * (grpc ? grpcUnitMs[match[2]!]! : 1);
  return ms <= maxTimerMs ? ms : undefined;
}

/** Makes reads of `req`'s body fail with DEADLINE_EXCEEDED once the deadline it carries has passed. */
export function applyRequestDeadline(req: Readable & { headers: IncomingHttpHeaders }): void {
  const ms = requestDeadlineMs(req.headers);
  if (ms === undefined) return;
  const deadline = Date.now() + ms;
  const read = req[Symbol.asyncIterator].bind(req);
  let timer: NodeJS.Timeout | undefined;
  let expired: ConnectError | undefined;
  // The reads waiting when the deadline passes; each leaves the set when it settles, so a long stream keeps none.
  const waiting = new Set<(err: ConnectError) => void>();
  const stop = () => clearTimeout(timer);
  req.once("end", stop);
  req.once("close", stop);
  Object.defineProperty(req, Symbol.asyncIterator, {
    configurable: true,
    value() {
      const it = read();
      timer ??= setTimeout(() => {
        expired = new ConnectError("the deadline passed while the request was still being received", Code.DeadlineExceeded);
        for (const reject of waiting) reject(expired);
        waiting.clear();
      }, Math.max(0, deadline - Date.now()));
      const wrapped: AsyncIterableIterator<unknown> = {
        next: () => {
          if (expired !== undefined) return Promise.reject(expired);
          return new Promise<IteratorResult<unknown>>((resolve, reject) => {
            waiting.add(reject);
            it.next().then(
              (result) => {
                waiting.delete(reject);
                resolve(result);
              },
              (err: unknown) => {
                waiting.delete(reject);
                reject(err);
              },
            );
          });
        },
        return: async (value?: unknown) => {
          stop();
          return (await it.return?.(value)) ?? { done: true, value };
        },
        [Symbol.asyncIterator]: () => wrapped,
      };
      return wrapped;
    },
  });
}

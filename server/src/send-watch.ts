// The send timeout, for every port: a call whose client stops taking its response would otherwise stay open for as
// long as the client keeps the connection. Once the client's HTTP/2 flow-control window is used up (or, over HTTP/1.1,
// the socket's buffers are full), writes queue, connect-node waits for them to drain, and the handler waits on it:
// bounded memory, but no end. A call that made no progress for sendTimeoutMs is cut instead.
import type http from "node:http";
import http2 from "node:http2";

export interface SendTimeoutOptions {
  /** A response that has had data waiting, with none of it taken by the client, for this long is reset. */
  sendTimeoutMs: number;
  /** Told about each response reset for a client that took none of it. */
  onSendTimeout?: (path: string, stalledMs: number) => void;
}

/** An HTTP/2 response, or an HTTP/1.1 one (the console port, or ALPN on the main port, where it has no stream). */
type Response = http2.Http2ServerResponse | http.ServerResponse;

export interface SendWatch {
  /** Watches the call until its response closes. */
  track(req: { url?: string }, res: Response): void;
  /** Calls not finished yet. */
  inFlight(): number;
  /** Stops the sweep; calls are no longer reset. */
  stop(): void;
}

/** One call's outgoing side. */
interface Call {
  path: string;
  /** The HTTP/2 stream, or for HTTP/1.1 the response itself: what queues the bytes and says when they drained. */
  out: NodeJS.EventEmitter & { writableLength: number };
  finished(): boolean;
  reset(): void;
  /** Bytes waiting at the previous sweep. */
  waiting: number;
  /** The last sweep that saw nothing waiting or some of it taken. */
  lastProgress: number;
  drained: boolean;
}

/** How a call's response queues bytes, says it is over, and is cut. */
type Outgoing = Pick<Call, "out" | "finished" | "reset">;

function outgoingOf(res: Response): Outgoing {
  // With allowHTTP1 an HTTP/1.1 request arrives as http.ServerResponse, typed as HTTP/2's but without a stream.
  const stream = (res as { stream?: http2.ServerHttp2Stream }).stream;
  if (stream !== undefined) {
    return {
      out: stream,
      finished: () => stream.closed || stream.destroyed,
      // ENHANCE_YOUR_CALM is what gRPC clients report as RESOURCE_EXHAUSTED; no status could get through anyway,
      // since trailers queue behind the data the client is not taking.
      reset: () => stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM),
    };
  }
  const h1 = res as http.ServerResponse;
  return {
    out: h1,
    finished: () => h1.destroyed || h1.writableFinished,
    // HTTP/1.1 has no way to end one response early but closing its connection.
    reset: () => h1.destroy(),
  };
}

export function watchSends(options: SendTimeoutOptions): SendWatch {
  const { sendTimeoutMs } = options;
  // Calls are tracked rather than sessions or sockets awaited: a client may keep its side of a finished call open
  // (after a refused oversized message, say), and Node then never reports the call finished nor the session closed.
  // An HTTP/2 call is over once its stream is closed, which happens when the response trailers have gone out.
  const calls = new Map<Response, Call>();
  // One sweep for all calls, so a write costs nothing extra. A call whose queued bytes neither drained nor shrank
  // between sweeps made no progress; one that made none for sendTimeoutMs is reset. Time this process itself was
  // stalled (a late sweep: nothing could be sent then) does not count against the client.
  const sweepMs = Math.min(1000, Math.max(100, Math.floor(sendTimeoutMs / 10)));
  let lastSweep = Date.now();
  const sweep = setInterval(() => {
    const now = Date.now();
    const stalled = Math.max(0, now - lastSweep - 2 * sweepMs);
    lastSweep = now;
    for (const [res, call] of calls) {
      if (call.finished()) {
        calls.delete(res);
        continue;
      }
      const waiting = call.out.writableLength;
      if (waiting === 0 || waiting < call.waiting || call.drained) call.lastProgress = now;
      else call.lastProgress += stalled;
      call.waiting = waiting;
      call.drained = false;
      if (waiting > 0 && now - call.lastProgress >= sendTimeoutMs) {
        calls.delete(res);
        options.onSendTimeout?.(call.path, now - call.lastProgress);
        call.reset();
      }
    }
  }, sweepMs);
  sweep.unref();
  return {
    track(req, res) {
      const call: Call = { path: req.url ?? "", ...outgoingOf(res), waiting: 0, lastProgress: Date.now(), drained: false };
      calls.set(res, call);
      call.out.once("close", () => calls.delete(res));
      // Once per call, not per write: connect-node waits for this event whenever a write fills the buffer.
      call.out.on("drain", () => (call.drained = true));
    },
    inFlight() {
      for (const [res, call] of calls) if (call.finished()) calls.delete(res);
      return calls.size;
    },
    stop() {
      clearInterval(sweep);
    },
  };
}

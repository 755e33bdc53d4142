// A call this client cancels should reach the server as gRPC's HTTP/2 mapping has it, and as grpc-go and grpcio send
// it: RST_STREAM CANCEL, with nothing before it. Node's Http2Stream.close(NGHTTP2_CANCEL), which connect-node calls
// when a call's signal is aborted, first ends the request side (an empty DATA frame with END_STREAM) and holds the
// reset back until that write has gone out, often milliseconds later. In between, the server reads a request stream
// that ended normally: a Stream or Upload whose batches are all answered completes with OK before the reset arrives,
// and the server counts a call its client abandoned as a success (test/integration/metrics.test.ts).
import http2 from "node:http2";
import { Http2SessionManager } from "@connectrpc/connect-node";

/** connect-node's HTTP/2 session manager, whose streams send no END_STREAM when they are closed with an error code. */
export class ResetOnCancelSessionManager extends Http2SessionManager {
  override async request(...args: Parameters<Http2SessionManager["request"]>): Promise<http2.ClientHttp2Stream> {
    const stream = await super.request(...args);
    const close = stream.close.bind(stream);
    stream.close = (code?: number, callback?: () => void) => {
      // close() ends the writable side if it is still open, and that end writes END_STREAM from _final: without it,
      // the end only settles the Writable, and the reset is the only frame the server gets.
      if (code !== undefined && code !== http2.constants.NGHTTP2_NO_ERROR && !stream.writableEnded) stream._final = (done) => done();
      close(code, callback);
    };
    return stream;
  }
}

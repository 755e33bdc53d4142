// The three protocols on the wire: how a call's messages are framed into a request, and whether an answer is a
// well-formed one. "Well-formed" follows the specs: gRPC and gRPC-Web answer 200 with a grpc-status (trailers, a
// trailers-only header block, or gRPC-Web's trailer frame) holding a valid code and decodable messages; Connect unary
// answers 200 with a decodable message or an error status whose JSON body names a valid code that maps to that
// status; Connect streaming answers 200 with envelopes ending in one end-of-stream envelope. HTTP-level refusals are
// allowed only where the specs allow them: 404 for a path that is no method, 415 for a content type the protocol
// does not define for that method.
import { fromBinary, fromJson, type DescMessage, type DescMethod, type JsonValue } from "@bufbuild/protobuf";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import type { RawRequest, RawResponse } from "./h2.js";

export type Protocol = "grpc" | "grpc-web" | "connect" | "connect-stream";
export type Codec = "proto" | "json";

export const grpcCodes = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

/** Connect's code names and the HTTP status each maps to (connectrpc.com/docs/protocol, error codes). */
const connectCodes: Record<string, number> = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
  unauthenticated: 401,
};

function connectCodeLabel(code: string): string {
  return code === "canceled" ? "CANCELLED" : code.toUpperCase();
}

const contentTypes: Record<Protocol, Record<Codec, string>> = {
  grpc: { proto: "application/grpc+proto", json: "application/grpc+json" },
  "grpc-web": { proto: "application/grpc-web+proto", json: "application/grpc-web+json" },
  connect: { proto: "application/proto", json: "application/json" },
  "connect-stream": { proto: "application/connect+proto", json: "application/connect+json" },
};

/** Content types each protocol defines, for deciding whether a 415 was allowed. */
const definedTypes: Record<Protocol, RegExp> = {
  grpc: /^application\/grpc(\+(proto|json))?$/,
  "grpc-web": /^application\/grpc-web(\+(proto|json))?$/,
  connect: /^application\/(proto|json)(;\s*charset=utf-8)?$/i,
  "connect-stream": /^application\/connect\+(proto|json)$/,
};

export function frame(flags: number, payload: Uint8Array, declaredLength = payload.length): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = flags;
  out.writeUInt32BE(declaredLength >>> 0, 1);
  out.set(payload, 5);
  return out;
}

export interface Call extends RawRequest {
  protocol: Protocol;
  /** The method the path names, if it names one. */
  method: DescMethod | undefined;
}

/** A request carrying `messages` (already serialized) the ordinary way for the protocol. */
export function encodeCall(protocol: Protocol, codec: Codec, method: DescMethod, messages: Uint8Array[], apiKey: string | undefined): Call {
  const headers: Record<string, string> = { "content-type": contentTypes[protocol][codec] };
  if (apiKey !== undefined) headers.authorization = `Bearer ${apiKey}`;
  if (protocol === "grpc") headers.te = "trailers";
  if (protocol === "grpc-web") headers["x-grpc-web"] = "1";
  if (protocol === "connect") headers["connect-protocol-version"] = "1";
  // A watch runs until its job ends, and no worker runs here: a deadline is part of calling it properly.
  if (method.methodKind === "server_streaming" && /^Watch/.test(method.name)) {
    if (protocol === "connect" || protocol === "connect-stream") headers["connect-timeout-ms"] = "800";
    else headers["grpc-timeout"] = "800m";
  }
  const body = protocol === "connect" ? [messages[0] ?? new Uint8Array(0)] : messages.map((m) => frame(0, m));
  return { protocol, method, path: `/${method.parent.typeName}/${method.name}`, headers, body };
}

/** What one answer came to: a status label for the counts, and a problem if it was not well-formed. */
export interface Verdict {
  label: string;
  problem?: string;
  /** The status message, when the answer carried one. */
  message?: string;
}

function grpcMessage(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

interface Frame {
  flags: number;
  payload: Buffer;
}

function readFrames(body: Buffer): { frames: Frame[]; error?: string } {
  const frames: Frame[] = [];
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 5) return { frames, error: `a frame header of ${body.length - at} bytes` };
    const flags = body[at]!;
    const len = body.readUInt32BE(at + 1);
    if (body.length - at - 5 < len) return { frames, error: `a frame declaring ${len} bytes with ${body.length - at - 5} left` };
    frames.push({ flags, payload: body.subarray(at + 5, at + 5 + len) });
    at += 5 + len;
  }
  return { frames };
}

function decompress(encoding: string | undefined, payload: Buffer): Buffer {
  if (encoding === "gzip") return gunzipSync(payload);
  if (encoding === "br") return brotliDecompressSync(payload);
  throw new Error(`a compressed frame with encoding ${encoding ?? "none"}`);
}

function decodeMessage(desc: DescMessage, codec: Codec, payload: Buffer): string | undefined {
  try {
    if (codec === "json") fromJson(desc, JSON.parse(payload.toString("utf8")) as JsonValue);
    else fromBinary(desc, payload);
    return undefined;
  } catch (err) {
    return `response message does not decode as ${desc.typeName}: ${String(err)}`;
  }
}

function codecOf(contentType: string | undefined): Codec {
  return contentType !== undefined && /json/.test(contentType) ? "json" : "proto";
}

/**
 * What is wrong with a successful streamed answer's data frames, gRPC's and Connect's alike: more or fewer than one
 * for a method that answers once, a compressed frame that does not decompress, or a message that does not decode.
 */
function okMessagesProblem(method: DescMethod, codec: Codec, encoding: string | undefined, frames: readonly Frame[]): string | undefined {
  if ((method.methodKind === "unary" || method.methodKind === "client_streaming") && frames.length !== 1) {
    return `OK with ${frames.length} messages for a single-response method`;
  }
  for (const f of frames) {
    let payload = f.payload;
    if ((f.flags & 0x01) !== 0) {
      try {
        payload = decompress(encoding, payload);
      } catch (err) {
        return String(err);
      }
    }
    const problem = decodeMessage(method.output, codec, payload);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function grpcStatusLabel(raw: string | undefined): { label?: string; problem?: string } {
  if (raw === undefined) return { problem: "no grpc-status" };
  if (!/^\d+$/.test(raw) || Number(raw) > 16) return { problem: `grpc-status "${raw}" is not a status code` };
  return { label: grpcCodes[Number(raw)]! };
}

function httpRefusal(call: Call, res: RawResponse): Verdict {
  const ct = call.headers["content-type"] ?? "";
  const label = `HTTP_${res.status}`;
  if (res.status === 404 && call.method === undefined) return { label };
  if (res.status === 415 && (!definedTypes[call.protocol].test(ct) || protocolMismatch(call))) return { label };
  return { label, problem: `HTTP ${res.status} where the protocol calls for 200 and a status` };
}

/** A Connect unary request to a streaming method, or a streaming one to a unary method. */
function protocolMismatch(call: Call): boolean {
  if (call.method === undefined) return false;
  const unary = call.method.methodKind === "unary";
  if (call.protocol === "connect") return !unary;
  if (call.protocol === "connect-stream") return unary;
  return false;
}

function judgeGrpc(call: Call, res: RawResponse): Verdict {
  if (res.status !== 200) return httpRefusal(call, res);
  const ct = res.headers["content-type"] ?? "";
  const web = call.protocol === "grpc-web";
  if (!(web ? /^application\/grpc-web/ : /^application\/grpc/).test(ct)) return { label: "MALFORMED", problem: `content-type "${ct}" on a 200` };
  const { frames, error } = readFrames(res.body);
  if (error !== undefined) return { label: "MALFORMED", problem: `response body: ${error}` };
  let statusRaw = res.trailers["grpc-status"] ?? res.headers["grpc-status"];
  let grpcTrailerMessage: string | undefined;
  const dataFrames = frames;
  if (web) {
    const trailerFrames = frames.filter((f) => (f.flags & 0x80) !== 0);
    if (trailerFrames.length > 1) return { label: "MALFORMED", problem: "more than one gRPC-Web trailer frame" };
    if (trailerFrames.length === 1) {
      if (frames[frames.length - 1] !== trailerFrames[0]) return { label: "MALFORMED", problem: "gRPC-Web trailer frame is not last" };
      // A compressed response compresses its trailer frame too (flags 0x81).
      let payload = trailerFrames[0]!.payload;
      if ((trailerFrames[0]!.flags & 0x01) !== 0) {
        try {
          payload = decompress(res.headers["grpc-encoding"], payload);
        } catch (err) {
          return { label: "MALFORMED", problem: `gRPC-Web trailer frame: ${String(err)}` };
        }
      }
      const text = payload.toString("latin1");
      const trailers: Record<string, string> = {};
      for (const line of text.split("\r\n")) {
        if (line === "") continue;
        const colon = line.indexOf(":");
        if (colon <= 0) return { label: "MALFORMED", problem: `gRPC-Web trailer line "${line}"` };
        trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      statusRaw = trailers["grpc-status"] ?? res.headers["grpc-status"];
      grpcTrailerMessage = trailers["grpc-message"];
      dataFrames.splice(dataFrames.indexOf(trailerFrames[0]!), 1);
    }
  }
  const status = grpcStatusLabel(statusRaw);
  if (status.problem !== undefined) return { label: "MALFORMED", problem: status.problem + (res.rstCode !== undefined ? ` (stream reset ${res.rstCode})` : "") };
  if (status.label === "OK" && call.method !== undefined) {
    const problem = okMessagesProblem(call.method, codecOf(ct), res.headers["grpc-encoding"], dataFrames);
    if (problem !== undefined) return { label: "MALFORMED", problem };
  }
  return { label: status.label!, message: grpcMessage(grpcTrailerMessage ?? res.trailers["grpc-message"] ?? res.headers["grpc-message"]) };
}

function parseConnectError(json: unknown): { code?: string; problem?: string } {
  if (typeof json !== "object" || json === null) return { problem: "error body is not a JSON object" };
  const code = (json as { code?: unknown }).code;
  if (typeof code !== "string" || !(code in connectCodes)) return { problem: `error code ${JSON.stringify(code)} is not a Connect code` };
  const message = (json as { message?: unknown }).message;
  if (message !== undefined && typeof message !== "string") return { problem: "error message is not a string" };
  return { code };
}

function judgeConnectUnary(call: Call, res: RawResponse): Verdict {
  const ct = res.headers["content-type"] ?? "";
  // Success and error bodies alike are compressed when the client accepts it.
  let body = res.body;
  const encoding = res.headers["content-encoding"];
  if (encoding !== undefined && encoding !== "identity") {
    try {
      body = decompress(encoding, body);
    } catch (err) {
      return { label: "MALFORMED", problem: `HTTP ${res.status} body: ${String(err)}` };
    }
  }
  if (res.status === 200) {
    if (!/^application\/(proto|json)/.test(ct)) return { label: "MALFORMED", problem: `content-type "${ct}" on a 200` };
    if (call.method === undefined) return { label: "OK" };
    const problem = decodeMessage(call.method.output, codecOf(ct), body);
    return problem === undefined ? { label: "OK" } : { label: "MALFORMED", problem };
  }
  if (res.status === 404 && call.method === undefined) return { label: "HTTP_404" };
  if (res.status === 415) return httpRefusal(call, res);
  if (!/^application\/json/.test(ct)) return { label: `HTTP_${res.status}`, problem: `HTTP ${res.status} without a JSON error body` };
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    return { label: `HTTP_${res.status}`, problem: "error body is not JSON" };
  }
  const { code, problem } = parseConnectError(json);
  if (problem !== undefined) return { label: `HTTP_${res.status}`, problem };
  if (connectCodes[code!] !== res.status) return { label: connectCodeLabel(code!), problem: `code ${code} sent with HTTP ${res.status}, not ${connectCodes[code!]}` };
  return { label: connectCodeLabel(code!), message: (json as { message?: string }).message };
}

function judgeConnectStream(call: Call, res: RawResponse): Verdict {
  if (res.status !== 200) return httpRefusal(call, res);
  const ct = res.headers["content-type"] ?? "";
  if (!/^application\/connect\+(proto|json)/.test(ct)) return { label: "MALFORMED", problem: `content-type "${ct}" on a 200` };
  const { frames, error } = readFrames(res.body);
  if (error !== undefined) return { label: "MALFORMED", problem: `response body: ${error}` };
  const end = frames[frames.length - 1];
  if (end === undefined || (end.flags & 0x02) === 0) return { label: "MALFORMED", problem: "no end-of-stream envelope" };
  if (frames.slice(0, -1).some((f) => (f.flags & 0x02) !== 0)) return { label: "MALFORMED", problem: "end-of-stream envelope before the last" };
  let json: unknown;
  try {
    const payload = (end.flags & 0x01) !== 0 ? decompress(res.headers["connect-content-encoding"], end.payload) : end.payload;
    json = JSON.parse(payload.toString("utf8"));
  } catch {
    return { label: "MALFORMED", problem: "end-of-stream envelope is not JSON" };
  }
  if (typeof json !== "object" || json === null) return { label: "MALFORMED", problem: "end-of-stream envelope is not an object" };
  const err = (json as { error?: unknown }).error;
  if (err !== undefined) {
    const { code, problem } = parseConnectError(err);
    if (problem !== undefined) return { label: "MALFORMED", problem };
    return { label: connectCodeLabel(code!), message: (err as { message?: string }).message };
  }
  if (call.method !== undefined) {
    const problem = okMessagesProblem(call.method, codecOf(ct), res.headers["connect-content-encoding"], frames.slice(0, -1));
    if (problem !== undefined) return { label: "MALFORMED", problem };
  }
  return { label: "OK" };
}

/** The protocol a request speaks is the one its content type names, whatever the sender meant. */
function protocolOf(contentType: string): Protocol | undefined {
  const ct = contentType.toLowerCase();
  if (/^application\/grpc-web/.test(ct)) return "grpc-web";
  if (/^application\/grpc/.test(ct)) return "grpc";
  if (/^application\/connect\+/.test(ct)) return "connect-stream";
  if (/^application\/(proto|json)/.test(ct)) return "connect";
  return undefined;
}

export function judge(sent: Call, res: RawResponse): Verdict {
  // The client gave up on purpose: what the server does next shows in its log and its health, not in an answer.
  if (res.cancelled) return { label: "CLIENT_CANCELLED" };
  // A stream reset before any answer: gRPC and Connect clients map RST_STREAM codes to statuses, but from this
  // server every call must end with a status of its own.
  if (res.status === 0 && res.rstCode !== undefined) {
    return { label: `RST_${res.rstCode}`, problem: `stream reset with HTTP/2 error ${res.rstCode} and no status${res.streamError === undefined ? "" : ` (${res.streamError})`}` };
  }
  const protocol = protocolOf(sent.headers["content-type"] ?? "");
  if (protocol === undefined) {
    // No protocol at all: only a refusal of the path or the content type fits.
    if ((res.status === 404 && sent.method === undefined) || res.status === 415) return { label: `HTTP_${res.status}` };
    return { label: `HTTP_${res.status}`, problem: `HTTP ${res.status} for a content type no protocol defines` };
  }
  const call = { ...sent, protocol };
  switch (call.protocol) {
    case "grpc":
    case "grpc-web":
      return judgeGrpc(call, res);
    case "connect":
      return judgeConnectUnary(call, res);
    case "connect-stream":
      return judgeConnectStream(call, res);
  }
}

/** The protocols a method can be called with: Connect unary only for unary methods, Connect streaming otherwise. */
export function protocolsFor(method: DescMethod): Protocol[] {
  return method.methodKind === "unary" ? ["grpc", "grpc-web", "connect"] : ["grpc", "grpc-web", "connect-stream"];
}

// Raw-frame inputs: a properly encoded call, then its framing, headers or body damaged the way a broken or hostile
// client would: length prefixes that lie, compression flags without an encoding, truncated envelopes, JSON that is
// not quite JSON, paths that name nothing, deadlines in the wrong format.
import { toJson, type DescMethod, type JsonValue } from "@bufbuild/protobuf";
import { gzipSync } from "node:zlib";
import type { Prng } from "./prng.js";
import { frame, type Call, type Codec, type Protocol } from "./protocols.js";

/** A gzip member that inflates to far more than the 16 MiB message limit. */
let bombCache: Buffer | undefined;
function gzipBomb(): Buffer {
  bombCache ??= gzipSync(Buffer.alloc(40 * 1024 * 1024), { level: 9 });
  return bombCache;
}

/** Random JSON and JSON damage; string values come from `names` (never a protected name, nor for destructive RPCs a
 * name the fuzz inputs need). */
function jsonFuzz(rng: Prng, names: readonly string[]) {
function randomJson(rng: Prng, depth = 0): JsonValue {
  const kind = rng.int(depth > 3 ? 5 : 8);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1.5, 1e308, -2147483649, 4294967296, 9007199254740993, 1e-320]);
    case 3:
      return rng.pick(["", "NaN", "Infinity", "-Infinity", "1e400", "18446744073709551616", "-9223372036854775809", "0x10", "AAAA", "!!", "\ud800", "2024-13-45T99:00:00Z", "1.5s", "FIELD_TYPE_DOUBLE", "DATA_KIND_NOPE"]);
    case 4:
      return rng.pick(["project", ...names]);
    case 5:
    case 6: {
      const keys = ["project", "collection", "name", "target", "batch", "recordIds", "record_ids", "columns", "doubles", "values", "nullMask", "pageSize", "page_size", "schema", "fields", "split", "production", "model", "header", "startTime", "kinds", "@type", "__proto__", "constructor", "sequence"];
      const obj: Record<string, JsonValue> = {};
      for (let i = rng.int(5); i >= 0; i--) obj[rng.pick(keys)] = randomJson(rng, depth + 1);
      return obj;
    }
    default:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1));
  }
}

/** Replaces one value somewhere in a JSON document with something of another type, or breaks an object. */
function mutateJsonValue(rng: Prng, value: JsonValue, depth = 0): JsonValue {
  if (depth > 0 && rng.chance(0.3)) return randomJson(rng, depth);
  if (Array.isArray(value)) {
    if (value.length === 0 || rng.chance(0.2)) return [...value, randomJson(rng, depth + 1)];
    const i = rng.int(value.length);
    const copy = [...value];
    copy[i] = mutateJsonValue(rng, copy[i]!, depth + 1);
    return copy;
  }
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value);
    const copy: Record<string, JsonValue> = { ...value };
    if (keys.length === 0 || rng.chance(0.2)) {
      copy[rng.pick(["zzz", "project", "batch", "target", "recordIds", "pageSize", "header", "$typeName"])] = randomJson(rng, depth + 1);
      return copy;
    }
    const key = rng.pick(keys);
    if (rng.chance(0.15)) {
      delete copy[key];
      return copy;
    }
    copy[key] = mutateJsonValue(rng, copy[key]!, depth + 1);
    return copy;
  }
  return randomJson(rng, depth);
}
return { randomJson: () => randomJson(rng), mutateJsonValue: (v: JsonValue) => mutateJsonValue(rng, v) };
}

function textDamage(rng: Prng, text: string): Buffer {
  const op = rng.int(9);
  switch (op) {
    case 0:
      return Buffer.from(text.slice(0, rng.int(text.length + 1)));
    case 1:
      return Buffer.from(`\ufeff${text}`);
    case 2:
      return Buffer.concat([Buffer.from(text), Buffer.from([0xff, 0xfe, 0xc3])]);
    case 3:
      return Buffer.from(text.replace(/}$/, ",}"));
    case 4:
      return Buffer.from("[".repeat(rng.pick([100, 5000, 100_000])) + "]".repeat(rng.chance(0.5) ? 0 : 100));
    case 5:
      return Buffer.from(`{"project":"a","project":${JSON.stringify(text)}}`);
    case 6: {
      const buf = Buffer.from(text);
      if (buf.length > 0) buf[rng.int(buf.length)] = rng.pick([0x00, 0x22, 0x5c, 0x7b, 0xc0, 0xff]);
      return buf;
    }
    case 7:
      return Buffer.from(`{"nested":${"{\"a\":".repeat(2000)}1${"}".repeat(2000)}}`);
    default:
      return Buffer.from(text + " ".repeat(rng.int(3)) + (rng.chance(0.5) ? "garbage" : "\u0000"));
  }
}

const contentTypeVariants: Record<Protocol, string[]> = {
  grpc: ["application/grpc", "application/grpc+json", "application/grpc+xml", "application/grpc; charset=utf-8", "APPLICATION/GRPC", "text/plain", "", "application/grpc-web-text", "application/json"],
  "grpc-web": ["application/grpc-web", "application/grpc-web-text", "application/grpc-web+json", "application/grpc-web+thrift", "application/grpc", "text/html"],
  connect: ["application/json; charset=utf-8", "application/json; charset=latin1", "application/proto", "application/xml", "application/connect+proto", "text/json", "", "multipart/form-data"],
  "connect-stream": ["application/connect+json", "application/connect+proto", "application/connect+xml", "application/proto", "application/connect"],
};

const timeoutVariants = {
  grpc: ["", "1", "99999999999H", "-1S", "1X", "1n", "0n", "00000001S", "1.5S", "100000000S", "1 S", "9999999H"],
  connect: ["", "abc", "-1", "99999999999", "1", "0", "1.5", "0x10", "10000000000000"],
};

const authVariants = (key: string) => [undefined, "Bearer", "Bearer ", "Bearer x", `Basic ${key}`, `bearer ${key}`, `Bearer ${key} extra`, `Bearer ${"k".repeat(8000)}`, `Bearer  ${key}`, `Bearer ${key}\t`, "Bearer sl_abc.def", "Bearer admin-"];

export function pathVariants(method: DescMethod): string[] {
  const svc = method.parent.typeName;
  return [
    `/${svc}/${method.name}Nope`,
    `/${svc}/${method.name.toLowerCase()}`,
    `/${svc}/${method.name}/`,
    `//${svc}/${method.name}`,
    `/${svc}/`,
    "/",
    `/${svc}`,
    `/${svc.toLowerCase()}/${method.name}`,
    `/${svc}/${method.name}?x=1`,
    `/${svc}/%2e%2e/${method.name}`,
    `/sightline.v2.${method.parent.name}/${method.name}`,
    `/${svc}/${method.name}%00`,
  ];
}

export interface RawInput {
  call: Call;
  op: string;
}

/** Damages a properly encoded call; `messages` are the call's serialized messages, `codec` their encoding. */
export function damageCall(rng: Prng, base: Call, method: DescMethod, messages: Uint8Array[], codec: Codec, apiKey: string, names: readonly string[]): RawInput {
  const json = jsonFuzz(rng, names);
  const call: Call = { ...base, headers: { ...base.headers }, body: [...base.body] };
  const framed = call.protocol !== "connect";
  const compressionHeader = call.protocol === "connect-stream" ? "connect-content-encoding" : call.protocol === "connect" ? "content-encoding" : "grpc-encoding";
  const ops: string[] = [];
  const headerOp = () => {
    const op = rng.int(6);
    switch (op) {
      case 0:
        call.headers["content-type"] = rng.pick(contentTypeVariants[call.protocol]);
        return "content-type";
      case 1:
        if (call.protocol === "connect" || call.protocol === "connect-stream") call.headers["connect-timeout-ms"] = rng.pick(timeoutVariants.connect);
        else call.headers["grpc-timeout"] = rng.pick(timeoutVariants.grpc);
        return "timeout";
      case 2: {
        const auth = rng.pick(authVariants(apiKey));
        if (auth === undefined) delete call.headers.authorization;
        else call.headers.authorization = auth;
        return "authorization";
      }
      case 3:
        if (call.protocol === "connect") call.headers["connect-protocol-version"] = rng.pick(["2", "", "1.0", "0"]);
        else if (call.protocol === "grpc") delete call.headers.te;
        else call.headers["x-user-agent"] = "\u00ff".repeat(3);
        return "protocol-header";
      case 4:
        call.headers[rng.pick(["x-meta-bin", "grpc-trace-bin", "x-custom"])] = rng.pick(["!!!not-base64", "", "a".repeat(8192), "AAAA====", "=="]);
        return "metadata";
      default:
        call.headers[rng.chance(0.5) ? "grpc-accept-encoding" : call.protocol.startsWith("connect") ? "accept-encoding" : "grpc-accept-encoding"] = rng.pick(["gzip", "br", "zzz", "gzip, br", "identity"]);
        return "accept-encoding";
    }
  };
  const bodyOp = () => {
    const first = messages[0] ?? new Uint8Array(0);
    if (!framed) {
      // Connect unary: the body is the message itself.
      const op = rng.int(7);
      if (codec === "json" || op < 3) {
        let text: string;
        try {
          text = codec === "json" ? Buffer.from(first).toString("utf8") : JSON.stringify(toJson(method.input, { $typeName: method.input.typeName } as never));
        } catch {
          text = "{}";
        }
        call.headers["content-type"] = "application/json";
        if (rng.chance(0.5)) {
          let doc: JsonValue;
          try {
            doc = JSON.parse(text) as JsonValue;
          } catch {
            doc = {};
          }
          call.body = [Buffer.from(JSON.stringify(rng.chance(0.2) ? json.randomJson() : json.mutateJsonValue(doc)))];
          return "json-value";
        }
        call.body = [textDamage(rng, text)];
        return "json-text";
      }
      if (op === 3) {
        call.headers["content-encoding"] = "gzip";
        call.body = [rng.chance(0.5) ? Buffer.from(first) : gzipBomb()];
        return "gzip-bad-or-bomb";
      }
      if (op === 4) {
        call.headers["content-encoding"] = rng.pick(["gzip", "br"]);
        call.body = [call.headers["content-encoding"] === "gzip" ? gzipSync(first) : Buffer.from(first)];
        return "compressed";
      }
      call.body = [rng.bytes(rng.int(200))];
      return "random-body";
    }
    const op = rng.int(17);
    switch (op) {
      case 16:
        // The client gives up part way, as a real one does on its own deadline or shutdown.
        call.cancelAfterMs = rng.pick([0, 1, 5, 20, 80]);
        return "cancel";
      case 0:
        call.body = [frame(0, first, Math.max(0, first.length - rng.range(1, 10)))];
        return "len-short";
      case 1:
        call.body = [frame(0, first, first.length + rng.range(1, 100))];
        return "len-long";
      case 2:
        call.body = [frame(0, first, rng.pick([0xffffffff, 16 * 1024 * 1024 + 1, 0x80000000, 0x7fffffff]))];
        return "len-huge";
      case 3:
        delete call.headers[compressionHeader];
        call.body = messages.map((m) => frame(1, m));
        return "compressed-without-encoding";
      case 4:
        call.headers[compressionHeader] = "gzip";
        call.body = [frame(1, rng.chance(0.5) ? first : gzipBomb())];
        return "gzip-garbage-or-bomb";
      case 5:
        call.headers[compressionHeader] = "gzip";
        call.body = messages.map((m) => frame(1, gzipSync(m)));
        return "gzip-valid";
      case 6:
        call.body = messages.map((m) => frame(rng.u32() & 0xff, m));
        return "flags-random";
      case 7:
        call.body = [...messages.map((m) => frame(0, m)), frame(call.protocol === "connect-stream" ? 0x02 : 0x80, Buffer.from(rng.chance(0.5) ? "{}" : "grpc-status: 0\r\n"))];
        return "end-flag-frame";
      case 8: {
        // Valid frames cut into many small writes: must still work.
        const whole = Buffer.concat(messages.map((m) => frame(0, m)));
        call.body = [];
        for (let at = 0; at < whole.length; ) {
          const n = rng.range(1, 7);
          call.body.push(whole.subarray(at, at + n));
          at += n;
        }
        return "split-writes";
      }
      case 9:
        call.body = [frame(0, first).subarray(0, rng.range(1, 4))];
        return "truncated-prefix";
      case 10:
        call.body = [...messages.map((m) => frame(0, m)), frame(0, first), frame(0, first)];
        return "extra-frames";
      case 11:
        call.body = [];
        return "no-frames";
      case 12:
        call.body = [frame(0, new Uint8Array(0)), ...messages.map((m) => frame(0, m))];
        return "empty-frame-first";
      case 13:
        call.body = [...messages.map((m) => frame(0, m)), rng.bytes(rng.range(1, 12))];
        return "trailing-garbage";
      case 14:
        // Never ends the request: only the deadline it carries can end the call (set below, once the headers are final).
        call.keepOpen = true;
        return "open-with-deadline";
      default: {
        const whole = Buffer.concat(messages.map((m) => frame(0, m)));
        call.body = [whole.subarray(0, rng.int(whole.length + 1))];
        return "truncated-body";
      }
    }
  };
  const which = rng.weighted([
    [5, "body"],
    [3, "header"],
    [1, "path"],
    [1, "both"],
  ] as const);
  if (which === "body" || which === "both") ops.push(bodyOp());
  if (which === "header" || which === "both") ops.push(headerOp());
  if (which === "path") {
    call.path = rng.pick(pathVariants(method));
    call.method = undefined;
    ops.push("path");
  }
  // A request left open, or a watch (which runs as long as its job does), ends only by its deadline: give it one in
  // both protocols' headers, since a changed content type may have changed the protocol the server reads it in.
  if (call.keepOpen === true || (/^Watch/.test(method.name) && call.method !== undefined)) {
    call.headers["grpc-timeout"] = "700m";
    call.headers["connect-timeout-ms"] = "700";
  }
  return { call, op: ops.join("+") };
}

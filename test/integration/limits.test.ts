// Every configurable limit against a real server started with small values: what each refuses, with which status,
// and that what is just within it passes. Message sizes and deadlines go through all three protocols, schema limits
// through two gRPC stacks, HTTP/2 stream limits and stalled clients through raw node:http2 sessions and sockets, and
// node:http on the console port.
import { create, toBinary, toJsonString, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../clients/ts/src/gen/google/rpc/error_details_pb.js";
import {
  AdminService,
  batchRows,
  CatalogService,
  createSightlineClient,
  FieldKind,
  FieldSchema,
  FieldType,
  IngestService,
  ModelMode,
  RowErrorReason,
  ScoreType,
  SplitType,
  toRecordBatch,
  type BatchInput,
  type Protocol,
  type SightlineClient,
  type StreamRequest,
  type StreamResponse,
  type TargetInit,
} from "../../clients/ts/src/index.js";
import { ReadRecordsRequestSchema, StreamRequestSchema } from "../../clients/ts/src/gen/sightline/v1/ingest_service_pb.js";
import { ArtifactFormat } from "../../clients/ts/src/gen/sightline/v1/model_service_pb.js";
import { isolation, startServerProcess, type ServerHandle } from "../harness/processes.js";
import { connectCaller, expectFailure, grpcJsCaller, type RpcCaller } from "../harness/rpc.js";

const limits = {
  SIGHTLINE_MAX_MESSAGE_BYTES: "16384",
  SIGHTLINE_MAX_ROWS_PER_BATCH: "6",
  SIGHTLINE_MAX_STRING_BYTES: "3000",
  SIGHTLINE_MAX_SCHEMA_FIELDS: "5",
  SIGHTLINE_MAX_CATEGORIES: "3",
  SIGHTLINE_MAX_STREAMS_PER_CONNECTION: "2",
  SIGHTLINE_STREAM_IDLE_TIMEOUT_MS: "1500",
  SIGHTLINE_STREAM_SEND_TIMEOUT_MS: "1500",
  // Above the harness's grpc-js deadlines (30 s unary, 60 s streaming), below connect's default of none.
  SIGHTLINE_MAX_TIMEOUT_MS: "45000",
  SIGHTLINE_CONSOLE_PORT: "0",
};
const idleMs = 1500;
const sendMs = 1500;

const P = "limits";
const C = "c";
const protocols: Protocol[] = ["grpc", "grpc-web", "connect"];
const fields = [
  { name: "note", kind: FieldKind.EXTRA, type: FieldType.STRING, nullable: true },
  { name: "n", kind: FieldKind.FEATURE, type: FieldType.INT64, nullable: true },
  { name: "cat", kind: FieldKind.FEATURE, type: FieldType.CATEGORICAL, nullable: true, categories: ["a", "b", "c"] },
];

const iso = isolation("limits");
let server: ServerHandle;
let client: SightlineClient;
let consolePort: number;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const split = (name: string): TargetInit => ({ project: P, collection: C, destination: { case: "split", value: name } });
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const notes = (prefix: string, n: number, bytes: number): BatchInput => ({ recordIds: ids(prefix, n), columns: { note: ids(prefix, n).map(() => "x".repeat(bytes)) } });
const counts = (prefix: string, n: number): BatchInput => ({ recordIds: ids(prefix, n), columns: { n: ids(prefix, n).map((_, i) => BigInt(i)) } });

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail, but it succeeded");
}

async function stored(target: TargetInit, recordIds: string[]): Promise<string[]> {
  const found: string[] = [];
  for await (const batch of client.readRecords({ target, recordIds })) for (const row of batchRows(batch)) found.push(row.recordId);
  return found.sort();
}

async function* streamRequests(target: TargetInit, batches: BatchInput[], then?: Promise<unknown>): AsyncGenerator<StreamRequest> {
  yield create(StreamRequestSchema, { message: { case: "header", value: target } });
  for (const [i, batch] of batches.entries()) {
    yield create(StreamRequestSchema, { message: { case: "batch", value: { sequence: BigInt(i + 1), batch: toRecordBatch(batch) } } });
  }
  if (then !== undefined) await then;
}

// ---------------------------------------------------------------------------------------------------------------------
// Raw HTTP/2: gRPC framing by hand, to be a client that reads slowly or not at all.

function envelope(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + bytes.length);
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
}

function grpcHeaders(path: string, apiKey?: string): http2.OutgoingHttpHeaders {
  return {
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }),
  };
}

/** Splits gRPC envelopes off a byte stream. */
class Envelopes {
  private pending = Buffer.alloc(0);
  readonly messages: Buffer[] = [];
  push(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 5) {
      const length = this.pending.readUInt32BE(1);
      if (this.pending.length < 5 + length) break;
      this.messages.push(this.pending.subarray(5, 5 + length));
      this.pending = this.pending.subarray(5 + length);
    }
  }
}

async function connectRaw(url: string, settings: http2.Settings = {}): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(url, { settings });
  session.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    session.once("remoteSettings", () => resolve());
    session.once("error", reject);
  });
  return session;
}

/**
 * Resolves when the call ends: with its trailers once they come (the server may leave the stream half open after
 * them while the client's side is open), or with the RST_STREAM code when the stream is reset.
 */
function ending(stream: http2.ClientHttp2Stream): Promise<{ rstCode: number; trailers: http2.IncomingHttpHeaders | undefined; at: number }> {
  stream.on("error", () => undefined);
  return new Promise((resolve) => {
    stream.once("trailers", (trailers) => resolve({ rstCode: 0, trailers, at: Date.now() }));
    stream.once("close", () => resolve({ rstCode: stream.rstCode ?? 0, trailers: undefined, at: Date.now() }));
  });
}

async function healthCheck(session: http2.ClientHttp2Session): Promise<string | undefined> {
  const stream = session.request(grpcHeaders("/grpc.health.v1.Health/Check"));
  stream.end(envelope(new Uint8Array()));
  stream.resume();
  return (await ending(stream)).trailers?.["grpc-status"] as string | undefined;
}

// ---------------------------------------------------------------------------------------------------------------------

beforeAll(async () => {
  server = await startServerProcess(iso, limits);
  consolePort = (JSON.parse(await server.waitForLine(/"msg":"listening"/)) as { consolePort: number }).consolePort;
  client = createSightlineClient({ url: server.url, apiKey: iso.adminKey });
  await client.admin.createProject({ project: { name: P } });
  await client.catalog.createDataCollection({ collection: { project: P, name: C, schema: { recordIdColumn: "id", fields } } });
  for (const name of ["size", "rows", "strings", "idle", "send", "console"]) {
    await client.catalog.createSplit({ split: { project: P, collection: C, name, type: SplitType.TRAIN } });
  }
});
afterAll(async () => {
  await server?.stop();
});

describe("SIGHTLINE_MAX_MESSAGE_BYTES (16384): RESOURCE_EXHAUSTED", () => {
  const target = split("size");

  it.each(protocols)("refuses a request over it through %s and writes nothing; one just under passes", async (protocol) => {
    const pc = createSightlineClient({ url: server.url, apiKey: iso.adminKey, protocol });
    // Six 3000-byte strings make a message of about 18 KB; five, about 15 KB.
    const over = await failure(pc.put(target, notes(`${protocol}-over-`, 6, 3000)));
    expect(over.code).toBe(Code.ResourceExhausted);
    expect((await pc.put(target, notes(`${protocol}-under-`, 5, 3000))).rowsAccepted).toBe(5n);
    expect(await stored(target, ids(`${protocol}-over-`, 6))).toEqual([]);
    expect(await stored(target, ids(`${protocol}-under-`, 5))).toEqual(ids(`${protocol}-under-`, 5));
  });

  it("refuses a streamed message over it: the call fails and nothing of that message is written", async () => {
    const over = await failure(client.upload(target, [notes("up-a-", 2, 10), notes("up-b-", 6, 3000)]));
    expect(over.code).toBe(Code.ResourceExhausted);
    expect(await stored(target, ids("up-b-", 6))).toEqual([]);
    const stream = await failure((async () => {
      for await (const _ of client.ingest.stream(streamRequests(target, [notes("st-b-", 6, 3000)]))) void _;
    })());
    expect(stream.code).toBe(Code.ResourceExhausted);
    expect(await stored(target, ids("st-b-", 6))).toEqual([]);
  });

  it("refuses a response over it; a smaller batch_size reads the same records", async () => {
    // grpc-under- and connect-under- hold five 3000-byte rows each: ten rows are about 30 KB in one message.
    const recordIds = [...ids("grpc-under-", 5), ...ids("connect-under-", 5)];
    const big = await failure((async () => {
      for await (const _ of client.readRecords({ target, recordIds, batchSize: 10 })) void _;
    })());
    expect(big.code).toBe(Code.ResourceExhausted);
    expect(big.rawMessage).toMatch(/16384/);
    let rows = 0;
    for await (const batch of client.readRecords({ target, recordIds, batchSize: 5 })) rows += batch.recordIds.length;
    expect(rows).toBe(10);
  });
});

describe("SIGHTLINE_MAX_ROWS_PER_BATCH (6): the batch is refused, INVALID_ARGUMENT", () => {
  const target = split("rows");

  it("refuses 7 rows and takes 6, through Put, Upload and Stream", async () => {
    const put = await failure(client.put(target, counts("put7-", 7)));
    expect(put.code).toBe(Code.InvalidArgument);
    expect(put.findDetails(ErrorInfoSchema)[0]?.reason).toBe("INVALID_ARGUMENT");
    expect(put.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => [v.field, v.description])).toEqual([
      ["batch.record_ids", expect.stringMatching(/holds 7 rows; the limit is 6/)],
    ]);
    expect((await client.put(target, counts("put6-", 6))).rowsAccepted).toBe(6n);

    const upload = await failure(client.upload(target, [counts("up6-", 6), counts("up7-", 7)]));
    expect(upload.code).toBe(Code.InvalidArgument);
    expect(upload.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toEqual(["batches[1].record_ids"]);

    const acks: StreamResponse[] = [];
    for await (const ack of client.ingest.stream(streamRequests(target, [counts("st7-", 7), counts("st6-", 6)]))) acks.push(ack);
    expect(acks.map((a) => [a.sequence, a.error?.code, a.error?.violations.map((v) => v.field), a.summary?.rowsAccepted])).toEqual([
      [1n, Code.InvalidArgument, ["batch.record_ids"], 0n],
      [2n, undefined, undefined, 6n],
    ]);

    expect(await stored(target, [...ids("put7-", 7), ...ids("up7-", 7), ...ids("st7-", 7)])).toEqual([]);
    expect(await stored(target, [...ids("put6-", 6), ...ids("up6-", 6), ...ids("st6-", 6)])).toHaveLength(18);
  });
});

describe("SIGHTLINE_MAX_STRING_BYTES (3000): the row is rejected, STRING_TOO_LONG", () => {
  const target = split("strings");
  // 1500 'é' are 3000 bytes of UTF-8 in 1500 characters: the limit counts bytes.
  const input: BatchInput = { recordIds: ids("s-", 3), columns: { note: ["é".repeat(1500), "é".repeat(1500) + "a", "a".repeat(3000)] } };

  it.each(["upload", "stream"] as const)("through %s, the other rows land", async (way) => {
    const prefixed: BatchInput = { ...input, recordIds: input.recordIds.map((id) => `${way}-${id}`) };
    const summary =
      way === "upload"
        ? await client.upload(target, [prefixed])
        : await (async () => {
            const acks: StreamResponse[] = [];
            for await (const ack of client.ingest.stream(streamRequests(target, [prefixed]))) acks.push(ack);
            return acks[0]!.summary!;
          })();
    expect(summary.rowsAccepted).toBe(2n);
    expect(summary.rowErrors.map((e) => [Number(e.row), e.field, RowErrorReason[e.reason]])).toEqual([[1, "note", "STRING_TOO_LONG"]]);
    expect(await stored(target, prefixed.recordIds)).toEqual([`${way}-s-0`, `${way}-s-2`]);
  });
});

describe("SIGHTLINE_MAX_SCHEMA_FIELDS (5) and SIGHTLINE_MAX_CATEGORIES (3): INVALID_ARGUMENT with a field violation", () => {
  let callers: RpcCaller[];
  beforeAll(() => {
    callers = [connectCaller(server.url), grpcJsCaller(server.address)];
  });
  afterAll(() => {
    for (const c of callers) c.close();
  });
  type FieldInit = MessageInitShape<typeof FieldSchema>;
  const doubles = (n: number, from = 0): FieldInit[] => Array.from({ length: n }, (_, i) => ({ name: `f${from + i}`, kind: FieldKind.FEATURE, type: FieldType.DOUBLE, nullable: true }));
  const categorical = (name: string, n: number): FieldInit => ({ name, kind: FieldKind.FEATURE, type: FieldType.CATEGORICAL, nullable: true, categories: ["a", "b", "c", "d"].slice(0, n) });

  it.each([0, 1])("CreateDataCollection refuses 6 fields and 4 categories, takes 5 and 3 (stack %i)", async (stack) => {
    const rpc = callers[stack]!;
    const name = `create${stack}`;
    const createWith = (schemaFields: FieldInit[]) =>
      rpc.unary(CatalogService.method.createDataCollection, { collection: { project: P, name, schema: { recordIdColumn: "id", fields: schemaFields } } }, iso.adminKey);

    const tooMany = await expectFailure(createWith(doubles(6)), Code.InvalidArgument);
    expect(tooMany.errorInfo?.reason).toBe("INVALID_ARGUMENT");
    expect(tooMany.badRequest?.fieldViolations.map((v) => [v.field, v.description])).toEqual([
      ["collection.schema.fields", "holds 6 fields; at most 5 (SIGHTLINE_MAX_SCHEMA_FIELDS)"],
    ]);
    const tooManyCategories = await expectFailure(createWith([...doubles(2), categorical("cat", 4)]), Code.InvalidArgument);
    expect(tooManyCategories.errorInfo?.reason).toBe("INVALID_ARGUMENT");
    expect(tooManyCategories.badRequest?.fieldViolations.map((v) => [v.field, v.description])).toEqual([
      ["collection.schema.fields[2].categories", "holds 4 categories; at most 3 (SIGHTLINE_MAX_CATEGORIES)"],
    ]);
    const created = await rpc.unary(CatalogService.method.createDataCollection, {
      collection: { project: P, name, schema: { recordIdColumn: "id", fields: [...doubles(4), categorical("cat", 3)] } },
    }, iso.adminKey);
    expect(created.collection?.schema?.fields).toHaveLength(5);
  });

  it.each([0, 1])("UpdateSchema refuses growing past either limit and changes nothing (stack %i)", async (stack) => {
    const rpc = callers[stack]!;
    const name = `update${stack}`;
    const base = [...doubles(3), categorical("cat", 3)];
    await rpc.unary(CatalogService.method.createDataCollection, { collection: { project: P, name, schema: { recordIdColumn: "id", fields: base } } }, iso.adminKey);
    const update = (schemaFields: FieldInit[]) =>
      rpc.unary(CatalogService.method.updateSchema, { project: P, collection: name, schema: { recordIdColumn: "id", fields: schemaFields }, expectedSchemaVersion: 1n }, iso.adminKey);

    const sixth = await expectFailure(update([...base, ...doubles(2, 10)]), Code.InvalidArgument);
    expect(sixth.badRequest?.fieldViolations.map((v) => v.field)).toEqual(["schema.fields"]);
    const fourth = await expectFailure(update([...base, categorical("more", 4)]), Code.InvalidArgument);
    expect(fourth.badRequest?.fieldViolations.map((v) => v.field)).toEqual(["schema.fields[4].categories"]);
    const unchanged = await rpc.unary(CatalogService.method.getDataCollection, { project: P, name }, iso.adminKey);
    expect(unchanged.collection?.schemaVersion).toBe(1n);
    expect(unchanged.collection?.schema?.fields).toHaveLength(4);
    const grown = await update([...base, categorical("more", 3)]);
    expect(grown.collection?.schemaVersion).toBe(2n);
  });
});

describe("SIGHTLINE_MAX_TIMEOUT_MS (45000): a longer deadline is INVALID_ARGUMENT, not clamped", () => {
  it.each(protocols)("through %s", async (protocol) => {
    const pc = createSightlineClient({ url: server.url, apiKey: iso.adminKey, protocol });
    const refused = await failure(pc.admin.listProjects({}, { timeoutMs: 50_000 }));
    expect(refused.code).toBe(Code.InvalidArgument);
    expect(refused.rawMessage).toMatch(/timeout 50000ms must be <= 45000/);
    const streamed = await failure((async () => {
      for await (const _ of pc.ingest.readRecords({ target: split("size") }, { timeoutMs: 50_000 })) void _;
    })());
    expect(streamed.code).toBe(Code.InvalidArgument);
    expect((await pc.admin.listProjects({}, { timeoutMs: 40_000 })).projects.map((p) => p.name)).toContain(P);
  });

  it("refuses grpc-js's 60 s client-streaming deadline and takes its 30 s unary one", async () => {
    const rpc = grpcJsCaller(server.address);
    try {
      const refused = await expectFailure(
        rpc.clientStreaming(IngestService.method.upload, [{ message: { case: "header", value: split("size") } }], iso.adminKey),
        Code.InvalidArgument,
      );
      expect(refused.message).toMatch(/timeout \d+ms must be .* 45000/);
      expect((await rpc.unary(AdminService.method.getProject, { name: P }, iso.adminKey)).project?.name).toBe(P);
    } finally {
      rpc.close();
    }
  });
});

describe("SIGHTLINE_MAX_STREAMS_PER_CONNECTION (2): HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS", () => {
  it("is advertised in the server's SETTINGS, and a conforming client queues the third call until one ends", async () => {
    const session = await connectRaw(server.url);
    try {
      expect(session.remoteSettings.maxConcurrentStreams).toBe(2);
      const responded: number[] = [];
      const watches = [0, 1, 2].map((i) => {
        const stream = session.request(grpcHeaders("/grpc.health.v1.Health/Watch"));
        stream.on("error", () => undefined);
        stream.on("response", () => responded.push(i));
        // A server-streaming call: the request, then the client's side is done; the server's stays open.
        stream.end(envelope(new Uint8Array()));
        stream.resume();
        return stream;
      });
      await sleep(1000);
      expect(responded.sort()).toEqual([0, 1]);
      watches[0]!.close(http2.constants.NGHTTP2_CANCEL);
      for (let waited = 0; responded.length < 3 && waited < 5000; waited += 50) await sleep(50);
      expect(responded).toEqual([0, 1, 2]);
      for (const w of watches) w.close(http2.constants.NGHTTP2_CANCEL);
    } finally {
      session.destroy();
    }
  });

  /** A client that ignores the limit: hand-made frames on a plain socket. */
  function rawFrame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
    const header = Buffer.alloc(9);
    header.writeUIntBE(payload.length, 0, 3);
    header[3] = type;
    header[4] = flags;
    header.writeUInt32BE(streamId, 5);
    return Buffer.concat([header, payload]);
  }
  /** HPACK "literal without indexing", name by static-table index (below 15) or as a literal (index 0). */
  function literal(index: number, value: string, name?: string): Buffer {
    const parts = [Buffer.from([index])];
    if (name !== undefined) parts.push(Buffer.from([name.length]), Buffer.from(name));
    return Buffer.concat([...parts, Buffer.from([value.length]), Buffer.from(value)]);
  }
  const watchHeaders = Buffer.concat([
    Buffer.from([0x83, 0x86]), // :method POST, :scheme http
    literal(0x04, "/grpc.health.v1.Health/Watch"), // :path
    literal(0x01, "127.0.0.1"), // :authority
    literal(0x00, "application/grpc", "content-type"),
    literal(0x00, "trailers", "te"),
  ]);
  interface Frame {
    type: number;
    flags: number;
    streamId: number;
    payload: Buffer;
  }
  async function rawSession(): Promise<{ socket: net.Socket; frames: Frame[] }> {
    const socket = net.connect(server.port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.on("error", () => undefined);
    const frames: Frame[] = [];
    let pending = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 9 && pending.length >= 9 + pending.readUIntBE(0, 3)) {
        const length = pending.readUIntBE(0, 3);
        frames.push({ type: pending[3]!, flags: pending[4]!, streamId: pending.readUInt32BE(5) & 0x7fffffff, payload: pending.subarray(9, 9 + length) });
        pending = pending.subarray(9 + length);
      }
    });
    socket.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    socket.write(rawFrame(0x4, 0, 0)); // our (empty) SETTINGS
    for (let waited = 0; !frames.some((f) => f.type === 0x4 && f.flags === 0) && waited < 5000; waited += 20) await sleep(20);
    return { socket, frames };
  }
  const DATA = 0x0;
  const END_STREAM = 0x1;
  const HEADERS = 0x1;
  const RST_STREAM = 0x3;
  const GOAWAY = 0x7;
  const END_HEADERS = 0x4;

  it("resets a stream opened beyond it with REFUSED_STREAM while the client has not acknowledged the SETTINGS", async () => {
    const { socket, frames } = await rawSession();
    try {
      for (const id of [1, 3, 5]) socket.write(rawFrame(HEADERS, END_HEADERS, id, watchHeaders));
      for (const id of [1, 3]) socket.write(rawFrame(DATA, END_STREAM, id, envelope(new Uint8Array())));
      for (let waited = 0; frames.filter((f) => f.type === HEADERS).length < 2 && waited < 5000; waited += 20) await sleep(20);
      const resets = frames.filter((f) => f.type === RST_STREAM).map((f) => [f.streamId, f.payload.readUInt32BE(0)]);
      expect(resets).toEqual([[5, http2.constants.NGHTTP2_REFUSED_STREAM]]);
      expect(frames.filter((f) => f.type === HEADERS).map((f) => f.streamId).sort()).toEqual([1, 3]);
      expect(frames.some((f) => f.type === GOAWAY)).toBe(false);
    } finally {
      socket.destroy();
    }
  });

  it("ends the connection (GOAWAY, INTERNAL_ERROR) of a client that exceeds it after acknowledging it; others go on", async () => {
    const { socket, frames } = await rawSession();
    try {
      socket.write(rawFrame(0x4, 0x1, 0)); // SETTINGS ACK
      await sleep(100);
      for (const id of [1, 3, 5]) socket.write(rawFrame(HEADERS, END_HEADERS, id, watchHeaders));
      for (let waited = 0; !frames.some((f) => f.type === GOAWAY) && waited < 5000; waited += 20) await sleep(20);
      const goaway = frames.find((f) => f.type === GOAWAY);
      expect(goaway?.payload.readUInt32BE(4)).toBe(http2.constants.NGHTTP2_INTERNAL_ERROR);
    } finally {
      socket.destroy();
    }
    expect((await client.admin.getProject({ name: P })).project?.name).toBe(P);
  });
});

describe("SIGHTLINE_STREAM_IDLE_TIMEOUT_MS (1500): DEADLINE_EXCEEDED, what came before stays", () => {
  const target = split("idle");

  it("ends an Upload that goes quiet, after writing the batches it sent", async () => {
    let release!: () => void;
    const quiet = new Promise<void>((r) => (release = r));
    const started = Date.now();
    try {
      const err = await failure(client.ingest.upload((async function* () {
        yield { message: { case: "header" as const, value: split("idle") } };
        yield { message: { case: "batch" as const, value: toRecordBatch(counts("up-", 3)) } };
        await quiet;
      })()));
      expect(err.code).toBe(Code.DeadlineExceeded);
      expect(err.rawMessage).toBe("the client sent nothing for 1500 ms (SIGHTLINE_STREAM_IDLE_TIMEOUT_MS); the batch received is written");
      expect(Date.now() - started).toBeGreaterThanOrEqual(idleMs);
    } finally {
      release();
    }
    expect(await stored(target, ids("up-", 3))).toEqual(ids("up-", 3));
  });

  it("ends a Stream that goes quiet once its acks are out; the acked batch stays", async () => {
    let release!: () => void;
    const quiet = new Promise<void>((r) => (release = r));
    const acks: StreamResponse[] = [];
    let ackedAt = 0;
    try {
      const err = await failure((async () => {
        for await (const ack of client.ingest.stream(streamRequests(target, [counts("st-", 4)], quiet))) {
          acks.push(ack);
          ackedAt = Date.now();
        }
      })());
      expect(err.code).toBe(Code.DeadlineExceeded);
      expect(err.rawMessage).toMatch(/sent nothing for 1500 ms \(SIGHTLINE_STREAM_IDLE_TIMEOUT_MS\); every batch received before is acked/);
      // The clock starts when the last ack is out, not when the batch arrived.
      expect(Date.now() - ackedAt).toBeGreaterThanOrEqual(idleMs - 100);
    } finally {
      release();
    }
    expect(acks.map((a) => [a.sequence, a.summary?.rowsAccepted])).toEqual([[1n, 4n]]);
    expect(await stored(target, ids("st-", 4))).toEqual(ids("st-", 4));
  });

  it("ends a Stream whose header never comes, writing nothing", async () => {
    const session = await connectRaw(server.url);
    try {
      const started = Date.now();
      const stream = session.request(grpcHeaders("/sightline.v1.IngestService/Stream", iso.adminKey), { endStream: false });
      stream.resume();
      const { trailers, at } = await ending(stream);
      expect(trailers?.["grpc-status"]).toBe(String(Code.DeadlineExceeded));
      expect(at - started).toBeGreaterThanOrEqual(idleMs);
      expect(decodeURIComponent(String(trailers?.["grpc-message"]))).toMatch(/SIGHTLINE_STREAM_IDLE_TIMEOUT_MS\); nothing was written/);
    } finally {
      session.destroy();
    }
  });

  it("ends an UploadModelArtifact that goes quiet after its header, storing nothing", async () => {
    await client.catalog.createModel({
      model: { project: P, collection: C, name: "idle-model", mode: ModelMode.DATA_AND_MODEL, scoreType: ScoreType.REGRESSION, predictionFields: [{ name: "yhat", type: FieldType.DOUBLE }] },
    });
    let release!: () => void;
    const quiet = new Promise<void>((r) => (release = r));
    const started = Date.now();
    try {
      const err = await failure(client.models.uploadModelArtifact((async function* () {
        yield { part: { case: "header" as const, value: { project: P, collection: C, model: "idle-model", format: ArtifactFormat.ONNX, sizeBytes: 1000n, sha256: "0".repeat(64) } } };
        yield { part: { case: "chunk" as const, value: new Uint8Array(10) } };
        await quiet;
      })()));
      expect(err.code).toBe(Code.DeadlineExceeded);
      expect(err.rawMessage).toBe("the client sent nothing for 1500 ms (SIGHTLINE_STREAM_IDLE_TIMEOUT_MS); nothing was stored");
      expect(Date.now() - started).toBeGreaterThanOrEqual(idleMs);
    } finally {
      release();
    }
    // The model has no artifact: FAILED_PRECONDITION (ARTIFACT_MISSING).
    const missing = await failure(client.models.getModelArtifact({ project: P, collection: C, model: "idle-model" }));
    expect(missing.code).toBe(Code.FailedPrecondition);
  });

  it.each(["upload", "stream"] as const)("never ends a %s that sends more often than that, however long it runs", async (way) => {
    const n = 7;
    const batch = (i: number) => toRecordBatch(counts(`${way}-paced${i}-`, 1));
    async function* pacedStream(): AsyncGenerator<StreamRequest> {
      yield create(StreamRequestSchema, { message: { case: "header", value: target } });
      for (let i = 0; i < n; i++) {
        await sleep(idleMs / 2);
        yield create(StreamRequestSchema, { message: { case: "batch", value: { sequence: BigInt(i + 1), batch: batch(i) } } });
      }
    }
    async function* pacedUpload() {
      yield { message: { case: "header" as const, value: target } };
      for (let i = 0; i < n; i++) {
        await sleep(idleMs / 2);
        yield { message: { case: "batch" as const, value: batch(i) } };
      }
    }
    const started = Date.now();
    if (way === "upload") {
      const response = await client.ingest.upload(pacedUpload());
      expect(response.summary?.rowsAccepted).toBe(BigInt(n));
    } else {
      const acks: StreamResponse[] = [];
      for await (const ack of client.ingest.stream(pacedStream())) acks.push(ack);
      expect(acks.map((a) => a.summary?.rowsAccepted)).toEqual(Array.from({ length: n }, () => 1n));
    }
    // Well past the idle timeout in all.
    expect(Date.now() - started).toBeGreaterThan(idleMs * 2);
  });
});

describe("SIGHTLINE_STREAM_SEND_TIMEOUT_MS (1500): a client that takes no responses is reset with ENHANCE_YOUR_CALM", () => {
  const streamPath = "/sightline.v1.IngestService/Stream";
  const batchMessage = (i: number) =>
    envelope(toBinary(StreamRequestSchema, create(StreamRequestSchema, { message: { case: "batch", value: { sequence: BigInt(i), batch: toRecordBatch(counts(`send${i}-`, 2)) } } })));

  it("resets a Stream whose acks are never read, while its connection and the server go on serving", async () => {
    // A receive window of 16 bytes: the client takes next to nothing, as one that never reads soon does.
    const session = await connectRaw(server.url, { initialWindowSize: 16 });
    try {
      const stream = session.request(grpcHeaders(streamPath, iso.adminKey), { endStream: false });
      stream.pause();
      const closed = ending(stream);
      const started = Date.now();
      stream.write(envelope(toBinary(StreamRequestSchema, create(StreamRequestSchema, { message: { case: "header", value: split("send") } }))));
      // It keeps sending (so the idle rule does not apply) and never reads an ack.
      let sent = 0;
      const sender = setInterval(() => {
        if (!stream.closed) stream.write(batchMessage(++sent));
      }, 200);
      try {
        await sleep(sendMs / 2);
        // Other calls on the same connection, and on others, are served meanwhile.
        expect(await healthCheck(session)).toBe("0");
        expect((await client.admin.getProject({ name: P })).project?.name).toBe(P);
        const { rstCode, at } = await closed;
        expect(rstCode).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
        expect(at - started).toBeGreaterThanOrEqual(sendMs - 200);
        expect(at - started).toBeLessThan(sendMs + 5000);
      } finally {
        clearInterval(sender);
      }
      expect(await healthCheck(session)).toBe("0");
      await server.waitForLine(/"msg":"reset a stream whose client took no response data".*IngestService\/Stream/, 5000);
      // The batches it sent were written: only their acks were lost.
      expect(await stored(split("send"), ids("send1-", 2))).toEqual(ids("send1-", 2));
    } finally {
      session.destroy();
    }
  });

  it("keeps a reader that is slow but steady, however long the call takes", async () => {
    // 40 rows of 2500 bytes, one per message: about 100 KB, taken 4 KB at a time every 250 ms (about 6 s).
    const rows = 40;
    const batches = Array.from({ length: rows / 5 }, (_, b) => b);
    await client.upload(split("send"), batches.map((b) => notes(`slow${b}-`, 5, 2500)));
    const session = await connectRaw(server.url, { initialWindowSize: 4096 });
    try {
      const request = create(ReadRecordsRequestSchema, { target: split("send"), batchSize: 1, recordIds: batches.flatMap((b) => ids(`slow${b}-`, 5)) });
      const stream = session.request(grpcHeaders("/sightline.v1.IngestService/ReadRecords", iso.adminKey));
      stream.end(envelope(toBinary(ReadRecordsRequestSchema, request)));
      stream.pause();
      const closed = ending(stream);
      const envelopes = new Envelopes();
      const started = Date.now();
      let done = false;
      void closed.then(() => (done = true));
      const readBuffered = () => {
        for (let chunk = stream.read() as Buffer | null; chunk !== null; chunk = stream.read() as Buffer | null) envelopes.push(chunk);
      };
      // 4 KB every 250 ms: what is left stays in the client's buffer, so its window reopens by what was read.
      while (!done) {
        await sleep(250);
        const chunk = stream.read(4096) as Buffer | null;
        if (chunk !== null) envelopes.push(chunk);
      }
      readBuffered(); // the trailers come after the last data, which is buffered by then
      const { rstCode, trailers } = await closed;
      expect(rstCode).toBe(0);
      expect({ ...trailers }).toMatchObject({ "grpc-status": "0" });
      expect(envelopes.messages).toHaveLength(rows);
      // It took well over the timeout, with data waiting all along: only the reads moved it.
      expect(Date.now() - started).toBeGreaterThan(sendMs * 2);
    } finally {
      session.destroy();
    }
  });
});

describe("deadlines on the console port", () => {
  it("ends a call whose request never finishes with deadline_exceeded when its deadline passes", async () => {
    const req = http.request({
      host: "127.0.0.1",
      port: consolePort,
      method: "POST",
      path: "/sightline.v1.AdminService/GetProject",
      // A body announced longer than what is sent: the server waits for the rest.
      headers: { "content-type": "application/json", "content-length": "100", "connect-timeout-ms": "1000", authorization: `Bearer ${iso.adminKey}` },
      agent: false,
    });
    req.on("error", () => undefined);
    const started = Date.now();
    req.write('{"name":');
    const res = await new Promise<http.IncomingMessage>((resolve) => req.once("response", resolve));
    const body = await new Promise<string>((resolve) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.once("end", () => resolve(text));
    });
    req.destroy();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((JSON.parse(body) as { code: string }).code).toBe("deadline_exceeded");
  });
});

describe("SIGHTLINE_STREAM_SEND_TIMEOUT_MS (1500) on the console port: an HTTP/1.1 client that takes no responses is cut", () => {
  it("closes the connection of a ReadRecords reader that stopped reading, while the server goes on serving", async () => {
    // About 6 MB of rows, in messages within SIGHTLINE_MAX_MESSAGE_BYTES: more than loopback's socket buffers hold
    // (about 4 MB), so the server's writes queue once the client stops reading.
    const rows = 2400;
    await client.upload(split("console"), Array.from({ length: rows / 5 }, (_, b) => notes(`console${b}-`, 5, 2500)));
    const request = create(ReadRecordsRequestSchema, { target: split("console"), batchSize: 5 });
    const req = http.request({
      host: "127.0.0.1",
      port: consolePort,
      method: "POST",
      path: "/sightline.v1.IngestService/ReadRecords",
      headers: { "content-type": "application/connect+json", authorization: `Bearer ${iso.adminKey}` },
      agent: false,
    });
    req.on("error", () => undefined);
    const started = Date.now();
    req.end(envelope(Buffer.from(toJsonString(ReadRecordsRequestSchema, request))));
    const res = await new Promise<http.IncomingMessage>((resolve) => req.once("response", resolve));
    expect(res.statusCode).toBe(200);
    res.on("error", () => undefined);
    // Nothing reads it: the response's buffer fills, Node stops reading the socket, then the kernel's buffers fill.
    // A paused client sees no close, so the server's log says when the cut came.
    const line = await server.waitForLine(/"msg":"cut a console response whose client took no data".*IngestService\/ReadRecords/, sendMs + 15_000);
    const at = Date.now();
    expect((JSON.parse(line) as { stalledMs: number }).stalledMs).toBeGreaterThanOrEqual(sendMs);
    expect(at - started).toBeGreaterThanOrEqual(sendMs);
    expect(at - started).toBeLessThan(sendMs + 15_000);
    // Once read, what the kernel still held comes, then the connection ends mid-response.
    const closed = new Promise((resolve) => res.once("close", resolve));
    res.resume();
    await closed;
    expect(res.complete).toBe(false);

    const after = await fetch(`http://127.0.0.1:${consolePort}/sightline.v1.AdminService/GetProject`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${iso.adminKey}` },
      body: JSON.stringify({ name: P }),
    });
    expect(after.status).toBe(200);
    expect(((await after.json()) as { project?: { name?: string } }).project?.name).toBe(P);
    expect((await client.admin.getProject({ name: P })).project?.name).toBe(P);
  });
});

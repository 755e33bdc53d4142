// Two independent gRPC stacks behind one small interface, so every case runs through both: connect-es (the
// project's own client) and @grpc/grpc-js (a second implementation that decodes details itself). Both make all four
// kinds of call: unary, client streaming, server streaming and bidirectional streaming.
import {
  create,
  createRegistry,
  fromBinary,
  toBinary,
  type DescMessage,
  type DescMethod,
  type DescMethodBiDiStreaming,
  type DescMethodClientStreaming,
  type DescMethodServerStreaming,
  type DescMethodUnary,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { createTransport } from "../../clients/ts/src/index.js";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  PreconditionFailureSchema,
  ResourceInfoSchema,
  type BadRequest,
  type ErrorInfo,
  type PreconditionFailure,
} from "../../server/src/gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../server/src/gen/google/rpc/status_pb.js";

const detailRegistry = createRegistry(BadRequestSchema, ErrorInfoSchema, PreconditionFailureSchema, ResourceInfoSchema);

/** A failed call, as either stack reports it. */
export class RpcFailure extends Error {
  constructor(
    readonly code: Code,
    message: string,
    readonly errorInfo: ErrorInfo | undefined,
    readonly badRequest: BadRequest | undefined,
    readonly preconditionFailure: PreconditionFailure | undefined,
  ) {
    super(`${Code[code]}: ${message}`);
  }
}

/** What a streaming call sends: a list, or messages produced as the call goes. */
export type Requests<I extends DescMessage> = Iterable<MessageInitShape<I>> | AsyncIterable<MessageInitShape<I>>;

export interface RpcCaller {
  readonly name: string;
  unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    request: MessageInitShape<I>,
    apiKey?: string,
  ): Promise<MessageShape<O>>;
  /** Sends the requests (stopping early if the server answers first) and resolves with the one response. */
  clientStreaming<I extends DescMessage, O extends DescMessage>(
    method: DescMethodClientStreaming<I, O>,
    requests: Requests<I>,
    apiKey?: string,
  ): Promise<MessageShape<O>>;
  /** Resolves with every response once the server ends the call with OK. */
  serverStreaming<I extends DescMessage, O extends DescMessage>(
    method: DescMethodServerStreaming<I, O>,
    request: MessageInitShape<I>,
    apiKey?: string,
  ): Promise<MessageShape<O>[]>;
  /** Sends the requests, and resolves with every response once the server ends the call with OK. */
  bidiStreaming<I extends DescMessage, O extends DescMessage>(
    method: DescMethodBiDiStreaming<I, O>,
    requests: Requests<I>,
    apiKey?: string,
  ): Promise<MessageShape<O>[]>;
  close(): void;
}

/** The name callers used when only grpc-js could client-stream. */
export type GrpcJsCaller = RpcCaller;

async function* asAsync<T>(items: Iterable<T> | AsyncIterable<T>): AsyncGenerator<T> {
  yield* items;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

export function connectCaller(url: string): RpcCaller {
  /** Calls the method on a fresh client, whose transport carries only this call's key, and maps its failure. */
  async function invoke<T>(method: DescMethod, apiKey: string | undefined, send: (fn: (input: unknown) => unknown) => Promise<T>): Promise<T> {
    const client = createClient(method.parent, createTransport({ url, apiKey, protocol: "grpc" })) as unknown as Record<string, (input: unknown) => unknown>;
    try {
      return await send(client[method.localName]!);
    } catch (err) {
      const e = ConnectError.from(err);
      throw new RpcFailure(e.code, e.rawMessage, e.findDetails(ErrorInfoSchema)[0], e.findDetails(BadRequestSchema)[0], e.findDetails(PreconditionFailureSchema)[0]);
    }
  }
  return {
    name: "connect-es",
    unary: (method, request, apiKey) => invoke(method, apiKey, async (fn) => (await fn(request)) as MessageShape<typeof method.output>),
    clientStreaming: (method, requests, apiKey) => invoke(method, apiKey, async (fn) => (await fn(asAsync(requests))) as MessageShape<typeof method.output>),
    serverStreaming: (method, request, apiKey) => invoke(method, apiKey, (fn) => collect(fn(request) as AsyncIterable<MessageShape<typeof method.output>>)),
    bidiStreaming: (method, requests, apiKey) => invoke(method, apiKey, (fn) => collect(fn(asAsync(requests)) as AsyncIterable<MessageShape<typeof method.output>>)),
    close() {},
  };
}

function decodeGrpcJsError(err: grpc.ServiceError): RpcFailure {
  const raw = err.metadata?.get("grpc-status-details-bin")[0];
  let info: ErrorInfo | undefined;
  let bad: BadRequest | undefined;
  let pre: PreconditionFailure | undefined;
  if (raw instanceof Buffer) {
    const status = fromBinary(StatusSchema, raw);
    for (const any of status.details) {
      const msg = anyUnpack(any, detailRegistry);
      if (msg?.$typeName === "google.rpc.ErrorInfo") info = msg as ErrorInfo;
      if (msg?.$typeName === "google.rpc.BadRequest") bad = msg as BadRequest;
      if (msg?.$typeName === "google.rpc.PreconditionFailure") pre = msg as PreconditionFailure;
    }
  }
  return new RpcFailure(err.code as number as Code, err.details, info, bad, pre);
}

export function grpcJsCaller(address: string, credentials = grpc.credentials.createInsecure()): RpcCaller {
  const client = new grpc.Client(address, credentials, { "grpc.max_receive_message_length": 64 * 1024 * 1024 });
  const metadataFor = (apiKey: string | undefined) => {
    const metadata = new grpc.Metadata();
    if (apiKey !== undefined) metadata.set("authorization", `Bearer ${apiKey}`);
    return metadata;
  };
  const path = (method: DescMethod) => `/${method.parent.typeName}/${method.name}`;
  const serialize = (method: DescMethod) => (value: MessageInitShape<DescMessage>) => Buffer.from(toBinary(method.input, create(method.input, value)));
  const deadline = (ms: number): grpc.CallOptions => ({ deadline: Date.now() + ms });

  /** Writes the requests with backpressure, and stops once the call has ended (a refusal can come before the end). */
  function feed<T>(call: grpc.ClientWritableStream<T>, requests: Iterable<T> | AsyncIterable<T>, ended: () => boolean, fail: (err: unknown) => void): void {
    void (async () => {
      for await (const request of requests) {
        if (ended()) return;
        if (!call.write(request)) await new Promise((r) => call.once("drain", r));
      }
      if (!ended()) call.end();
    })().catch((err: unknown) => {
      call.cancel();
      fail(err);
    });
  }

  /** Every response of a call that streams them; a status other than OK rejects. */
  function responses<O>(call: grpc.ClientReadableStream<O>, onEnd: () => void = () => undefined): Promise<O[]> {
    return new Promise((resolve, reject) => {
      const all: O[] = [];
      call.on("data", (message: O) => all.push(message));
      call.on("error", (err: grpc.ServiceError) => {
        onEnd();
        reject(decodeGrpcJsError(err));
      });
      call.on("end", () => {
        onEnd();
        resolve(all);
      });
    });
  }

  return {
    name: "grpc-js",
    unary(method, request, apiKey) {
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(path(method), serialize(method), (bytes: Buffer) => fromBinary(method.output, bytes), request, metadataFor(apiKey), deadline(30_000), (err, value) =>
          err ? reject(decodeGrpcJsError(err)) : resolve(value!),
        );
      });
    },
    clientStreaming(method, requests, apiKey) {
      return new Promise((resolve, reject) => {
        let ended = false;
        const call = client.makeClientStreamRequest(path(method), serialize(method), (bytes: Buffer) => fromBinary(method.output, bytes), metadataFor(apiKey), deadline(60_000), (err, value) => {
          ended = true;
          if (err) reject(decodeGrpcJsError(err));
          else resolve(value!);
        });
        feed(call, requests, () => ended, reject);
      });
    },
    serverStreaming(method, request, apiKey) {
      return responses(client.makeServerStreamRequest(path(method), serialize(method), (bytes: Buffer) => fromBinary(method.output, bytes), request, metadataFor(apiKey), deadline(60_000)));
    },
    bidiStreaming(method, requests, apiKey) {
      let ended = false;
      const call = client.makeBidiStreamRequest(path(method), serialize(method), (bytes: Buffer) => fromBinary(method.output, bytes), metadataFor(apiKey), deadline(60_000));
      return new Promise((resolve, reject) => {
        responses(call, () => (ended = true)).then(resolve, reject);
        feed(call, requests, () => ended, reject);
      });
    },
    close() {
      client.close();
    },
  };
}

/** Runs `call` expecting a failure with `code`, returning it for further assertions. */
export async function expectFailure(call: Promise<unknown>, code: Code): Promise<RpcFailure> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof RpcFailure)) throw err;
    if (err.code !== code) throw new Error(`expected ${Code[code]}, got ${err.message}`);
    return err;
  }
  throw new Error(`expected ${Code[code]}, but the call succeeded`);
}

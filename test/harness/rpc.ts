// Two independent gRPC stacks behind one small interface, so every catalog case runs through both:
// connect-es (the project's own client) and @grpc/grpc-js (a second implementation that decodes details itself).
import { fromBinary, toBinary, type DescMessage, type DescMethodClientStreaming, type DescMethodUnary, type MessageInitShape, type MessageShape, create, createRegistry } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { createTransport } from "../../clients/ts/src/index.js";
import { createClient } from "@connectrpc/connect";
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

export interface RpcCaller {
  readonly name: string;
  unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    request: MessageInitShape<I>,
    apiKey?: string,
  ): Promise<MessageShape<O>>;
  close(): void;
}

export function connectCaller(url: string): RpcCaller {
  return {
    name: "connect-es",
    async unary(method, request, apiKey) {
      const transport = createTransport({ url, apiKey, protocol: "grpc" });
      const client = createClient(method.parent, transport) as unknown as Record<string, (r: unknown) => Promise<unknown>>;
      try {
        return (await client[method.localName]!(request)) as MessageShape<typeof method.output>;
      } catch (err) {
        const e = ConnectError.from(err);
        throw new RpcFailure(
          e.code,
          e.rawMessage,
          e.findDetails(ErrorInfoSchema)[0],
          e.findDetails(BadRequestSchema)[0],
          e.findDetails(PreconditionFailureSchema)[0],
        );
      }
    },
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

/** grpc-js can also client-stream, for the ingestion interop tests. */
export interface GrpcJsCaller extends RpcCaller {
  clientStreaming<I extends DescMessage, O extends DescMessage>(
    method: DescMethodClientStreaming<I, O>,
    requests: Iterable<MessageInitShape<I>> | AsyncIterable<MessageInitShape<I>>,
    apiKey?: string,
  ): Promise<MessageShape<O>>;
}

export function grpcJsCaller(address: string, credentials = grpc.credentials.createInsecure()): GrpcJsCaller {
  const client = new grpc.Client(address, credentials, { "grpc.max_receive_message_length": 64 * 1024 * 1024 });
  const metadataFor = (apiKey: string | undefined) => {
    const metadata = new grpc.Metadata();
    if (apiKey !== undefined) metadata.set("authorization", `Bearer ${apiKey}`);
    return metadata;
  };
  return {
    name: "grpc-js",
    clientStreaming(method, requests, apiKey) {
      const path = `/${method.parent.typeName}/${method.name}`;
      return new Promise((resolve, reject) => {
        let done = false;
        const call = client.makeClientStreamRequest(
          path,
          (value: MessageInitShape<typeof method.input>) => Buffer.from(toBinary(method.input, create(method.input, value))),
          (bytes: Buffer) => fromBinary(method.output, bytes),
          metadataFor(apiKey),
          { deadline: Date.now() + 60_000 },
          (err, value) => {
            done = true;
            if (err) reject(decodeGrpcJsError(err));
            else resolve(value!);
          },
        );
        // Writes respect backpressure, and stop once the server has answered (a refusal can come before the end).
        void (async () => {
          for await (const request of requests) {
            if (done) return;
            if (!call.write(request)) await new Promise((r) => call.once("drain", r));
          }
          if (!done) call.end();
        })().catch((err: unknown) => {
          call.cancel();
          reject(err);
        });
      });
    },
    unary(method, request, apiKey) {
      const metadata = metadataFor(apiKey);
      const path = `/${method.parent.typeName}/${method.name}`;
      return new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          path,
          (value: MessageInitShape<typeof method.input>) => Buffer.from(toBinary(method.input, create(method.input, value))),
          (bytes: Buffer) => fromBinary(method.output, bytes),
          request,
          metadata,
          { deadline: Date.now() + 30_000 },
          (err, value) => (err ? reject(decodeGrpcJsError(err)) : resolve(value!)),
        );
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

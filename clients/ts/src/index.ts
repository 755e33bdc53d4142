// The TypeScript client: typed service clients over gRPC, gRPC-Web or the Connect protocol, with the API key sent
// on every call.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { AdminService } from "./gen/sightline/v1/admin_service_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CatalogService } from "./gen/sightline/v1/catalog_service_pb.js";
import { IngestService, type ReadRecordsRequestSchema } from "./gen/sightline/v1/ingest_service_pb.js";
import { JobState, MonitoringService, type WatchJobResponse } from "./gen/sightline/v1/monitoring_service_pb.js";
import { ArtifactFormat, ModelService, type ModelArtifact } from "./gen/sightline/v1/model_service_pb.js";
export type { StreamRequest, StreamResponse, UploadRequest, ReadRecordsRequest } from "./gen/sightline/v1/ingest_service_pb.js";
import type { RecordBatch, TargetSchema, WriteSummary } from "./gen/sightline/v1/records_pb.js";
import { toRecordBatch, type BatchInput } from "./batch.js";
import { StreamWriter, type StreamWriterOptions } from "./stream-writer.js";
import { ResetOnCancelSessionManager } from "./cancel-reset.js";
import { resetCodeInterceptor } from "./reset-codes.js";

export * from "./gen/sightline/v1/resources_pb.js";
export * from "./gen/sightline/v1/errors_pb.js";
export * from "./gen/sightline/v1/records_pb.js";
export * from "./gen/sightline/v1/monitoring_service_pb.js";
export * from "./gen/sightline/v1/model_service_pb.js";
export { AdminService, CatalogService, IngestService };
export { batchRows, toColumn, toRecordBatch, type BatchInput, type Cell, type RowObject } from "./batch.js";
export { StreamWriter, type StreamWriterOptions } from "./stream-writer.js";

export type TargetInit = MessageInitShape<typeof TargetSchema>;

/** The model an artifact is for. */
export interface ArtifactTarget {
  project: string;
  collection: string;
  model: string;
}

export interface UploadArtifactOptions {
  /** Bytes per streamed message; default 1 MiB. */
  chunkSize?: number;
}

/** Bytes per message of an artifact upload by default. */
export const defaultArtifactChunkSize = 1024 * 1024;

export type Protocol = "grpc" | "grpc-web" | "connect";

export interface ClientOptions {
  /** For example `http://127.0.0.1:50051`, or `https://…` for TLS. */
  url: string;
  apiKey?: string;
  /** Default "grpc". */
  protocol?: Protocol;
  /** PEM of a CA to trust for TLS, beside the system's. */
  ca?: string | Buffer;
}

export interface SightlineClient {
  admin: Client<typeof AdminService>;
  catalog: Client<typeof CatalogService>;
  ingest: Client<typeof IngestService>;
  monitoring: Client<typeof MonitoringService>;
  /** Model artifacts, and the ComputePredictions and ComputeInfluences jobs (follow them with waitForJob). */
  models: Client<typeof ModelService>;
  transport: Transport;
  /**
   * Follows a job to its end; resolves with its last status, completed or failed. A completed monitoring refresh
   * carries `result`, a completed ComputePredictions or ComputeInfluences job `computeResult`.
   */
  waitForJob(jobId: string, onStatus?: (status: WatchJobResponse) => void): Promise<WatchJobResponse>;
  /** Client-streams batches to Upload and returns the summary. */
  upload(target: TargetInit, batches: Iterable<BatchInput | RecordBatch> | AsyncIterable<BatchInput | RecordBatch>): Promise<WriteSummary>;
  /** One small batch through the unary Put. */
  put(target: TargetInit, batch: BatchInput | RecordBatch): Promise<WriteSummary>;
  /** A real-time writer over Stream; close() waits for every ack. */
  streamWriter(target: TargetInit, options?: StreamWriterOptions): StreamWriter;
  /** The joined records of a target, batch by batch. */
  readRecords(request: MessageInitShape<typeof ReadRecordsRequestSchema>): AsyncIterable<RecordBatch>;
  /**
   * Uploads an ONNX artifact, its bytes or the path of its file, as the model's next version: the header with its
   * size and SHA-256, then the bytes in chunks. A file is read twice, a chunk at a time (for the digest, then to send
   * it), so memory stays bounded. Resolves with what the server stored.
   */
  uploadModelArtifact(target: ArtifactTarget, artifact: Uint8Array | string, options?: UploadArtifactOptions): Promise<ModelArtifact>;
}

function apiKeyInterceptor(apiKey: string): Interceptor {
  return (next) => (req) => {
    req.header.set("authorization", `Bearer ${apiKey}`);
    return next(req);
  };
}

export function createTransport(options: ClientOptions): Transport {
  const interceptors = [resetCodeInterceptor, ...(options.apiKey === undefined ? [] : [apiKeyInterceptor(options.apiKey)])];
  const nodeOptions = options.ca === undefined ? {} : { ca: options.ca };
  // Cancelled calls reach the server as a reset alone (cancel-reset.ts).
  const sessionManager = new ResetOnCancelSessionManager(options.url, undefined, nodeOptions);
  const common = { baseUrl: options.url, interceptors, sessionManager };
  switch (options.protocol ?? "grpc") {
    case "grpc":
      return createGrpcTransport(common);
    case "grpc-web":
      return createGrpcWebTransport({ ...common, httpVersion: "2" });
    case "connect":
      return createConnectTransport({ ...common, httpVersion: "2" });
  }
}

function chunkSizeOf(options: UploadArtifactOptions | undefined): number {
  const size = options?.chunkSize ?? defaultArtifactChunkSize;
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`chunkSize must be a positive integer, not ${size}`);
  return size;
}

async function* artifactChunks(artifact: Uint8Array | string, chunkSize: number): AsyncGenerator<Uint8Array> {
  if (typeof artifact !== "string") {
    for (let start = 0; start < artifact.length; start += chunkSize) yield artifact.subarray(start, start + chunkSize);
    return;
  }
  for await (const chunk of createReadStream(artifact, { highWaterMark: chunkSize })) yield chunk as Buffer;
}

async function artifactDigest(artifact: Uint8Array | string, chunkSize: number): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of artifactChunks(artifact, chunkSize)) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest("hex") };
}

async function* artifactMessages(target: ArtifactTarget, artifact: Uint8Array | string, chunkSize: number, digest: { size: number; sha256: string }) {
  const header = { ...target, format: ArtifactFormat.ONNX, sizeBytes: BigInt(digest.size), sha256: digest.sha256 };
  yield { part: { case: "header" as const, value: header } };
  for await (const chunk of artifactChunks(artifact, chunkSize)) yield { part: { case: "chunk" as const, value: chunk } };
}

async function* uploadMessages(target: TargetInit, batches: Iterable<BatchInput | RecordBatch> | AsyncIterable<BatchInput | RecordBatch>) {
  yield { message: { case: "header" as const, value: target } };
  for await (const batch of batches) yield { message: { case: "batch" as const, value: toRecordBatch(batch) } };
}

export function createSightlineClient(options: ClientOptions): SightlineClient {
  const transport = createTransport(options);
  const ingest = createClient(IngestService, transport);
  const monitoring = createClient(MonitoringService, transport);
  const models = createClient(ModelService, transport);
  return {
    admin: createClient(AdminService, transport),
    catalog: createClient(CatalogService, transport),
    ingest,
    monitoring,
    models,
    async waitForJob(jobId, onStatus) {
      let last: WatchJobResponse | undefined;
      for await (const status of monitoring.watchJob({ jobId })) {
        onStatus?.(status);
        last = status;
      }
      if (last === undefined || (last.state !== JobState.COMPLETED && last.state !== JobState.FAILED)) {
        throw new Error(`the watch of job ${jobId} ended before the job did`);
      }
      return last;
    },
    transport,
    async upload(target, batches) {
      const response = await ingest.upload(uploadMessages(target, batches));
      return response.summary!;
    },
    async put(target, batch) {
      return (await ingest.put({ target, batch: toRecordBatch(batch) })).summary!;
    },
    streamWriter(target, writerOptions) {
      return new StreamWriter(ingest, target, writerOptions);
    },
    async *readRecords(request) {
      for await (const response of ingest.readRecords(request)) if (response.batch !== undefined) yield response.batch;
    },
    async uploadModelArtifact(target, artifact, uploadOptions) {
      const chunkSize = chunkSizeOf(uploadOptions);
      const digest = await artifactDigest(artifact, chunkSize);
      const response = await models.uploadModelArtifact(artifactMessages(target, artifact, chunkSize, digest));
      return response.artifact!;
    },
  };
}

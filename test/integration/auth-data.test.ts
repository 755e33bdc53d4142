// The authentication matrix for the data services (test/harness/auth-matrix.ts runs it; AdminService and
// CatalogService are in auth.test.ts): every IngestService, MonitoringService and ModelService RPC, streaming ones
// included, through connect-es and grpc-js, with no key, garbage keys, a revoked key, the wrong project's key and the
// right key. A worker runs, so the jobs the right keys queue really run; denied calls are checked to have written no
// record, stored no artifact version and queued no job (read from Redis itself).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { batchRows, toRecordBatch, type BatchInput } from "../../clients/ts/src/index.js";
import { CatalogService } from "../../server/src/gen/sightline/v1/catalog_service_pb.js";
import { ErrorReason } from "../../server/src/gen/sightline/v1/errors_pb.js";
import { IngestService } from "../../server/src/gen/sightline/v1/ingest_service_pb.js";
import { ArtifactFormat, ModelService, type UploadModelArtifactRequestSchema } from "../../server/src/gen/sightline/v1/model_service_pb.js";
import { JobState, MonitoringService, type WatchJobResponse } from "../../server/src/gen/sightline/v1/monitoring_service_pb.js";
import { DataKind, type TargetSchema, type WriteSummary } from "../../server/src/gen/sightline/v1/records_pb.js";
import { FieldKind, FieldType, InfluenceAlgorithm, ModelMode, ScoreType, SplitType } from "../../server/src/gen/sightline/v1/resources_pb.js";
import { describeAuthMatrix, expectRefusal, rowBuilders, type Ctx, type Row } from "../harness/auth-matrix.js";
import { isolation, startServerProcess, startWorkerProcess, type ChildHandle, type ServerHandle } from "../harness/processes.js";

const ingest = IngestService.method;
const monitoring = MonitoringService.method;
const models = ModelService.method;
const catalog = CatalogService.method;

const referenceDir = new URL("../reference/influence/", import.meta.url);
const reference = JSON.parse(readFileSync(new URL("influence-cases.json", referenceDir), "utf8")) as {
  features: string[];
  background: number[][];
  explain: number[][];
  cases: { name: string; ortScore: number[] }[];
};
const onnx = readFileSync(new URL("logreg.onnx", referenceDir));
const onnxSha256 = createHash("sha256").update(onnx).digest("hex");
const logregScores = reference.cases.find((c) => c.name === "logreg")!.ortScore;
/** Rows of the splits the compute calls work on: the first few rows the reference explains. */
const explainRows = 5;
const hour = 3_600_000;
const t0 = Date.UTC(2025, 0, 6, 9);

const iso = isolation("authdata");
let server: ServerHandle | undefined;
let worker: ChildHandle | undefined;
let redis: Redis | undefined;
let queues: Record<"monitoring" | "compute" | "computeChunks", Queue> | undefined;

beforeAll(async () => {
  server = await startServerProcess(iso);
  worker = await startWorkerProcess(iso);
  redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
  const queue = (name: string) => new Queue(name, { connection: redis!, prefix: iso.queuePrefix });
  queues = { monitoring: queue("monitoring"), compute: queue("compute"), computeChunks: queue("compute-chunk") };
});
afterAll(async () => {
  await Promise.all(Object.values(queues ?? {}).map((q) => q.close()));
  redis?.disconnect();
  await worker?.stop();
  await server?.stop();
});

/** The jobs of a project in a queue, in any state (finished jobs are kept a day), optionally by job name. */
async function jobsOf(queue: keyof NonNullable<typeof queues>, project: string, name?: string): Promise<number> {
  const jobs = await queues![queue].getJobs();
  return jobs.filter((j) => (j.data as { project?: string }).project === project && (name === undefined || j.name === name)).length;
}

function featureBatch(ids: string[], rows: number[][], eventTimes?: number[]): BatchInput {
  return {
    recordIds: ids,
    ...(eventTimes === undefined ? {} : { eventTimes }),
    columns: Object.fromEntries(reference.features.map((f, j) => [f, rows.map((r) => r[j]!)])),
  };
}

/** Three production rows with event times, their IDs named after the row's RPC. */
function productionRows(prefix: string) {
  const ids = [0, 1, 2].map((i) => `${prefix}-${i}`);
  return { ids, batch: toRecordBatch(featureBatch(ids, reference.explain.slice(0, 3), [t0, t0 + hour, t0 + 2 * hour])) };
}

function artifactRequests(project: string, model: string): MessageInitShape<typeof UploadModelArtifactRequestSchema>[] {
  const header = { project, collection: "c", model, format: ArtifactFormat.ONNX, sizeBytes: BigInt(onnx.length), sha256: onnxSha256 };
  const chunks = [];
  for (let i = 0; i < onnx.length; i += 256) chunks.push({ part: { case: "chunk" as const, value: onnx.subarray(i, i + 256) } });
  return [{ part: { case: "header", value: header } }, ...chunks];
}

function buildRows(ctx: Ctx): Row[] {
  const row = rowBuilders(ctx);
  const as = ctx.adminKey;
  const target = (destination: MessageInitShape<typeof TargetSchema>["destination"], model = ""): MessageInitShape<typeof TargetSchema> => ({
    project: ctx.a,
    collection: "c",
    destination,
    model,
  });
  const production = () => target({ case: "production", value: true });
  /** The rows of `ids` that exist, read with the admin key, with their features (and a model's kinds). */
  const read = async (destination: MessageInitShape<typeof TargetSchema>["destination"], ids: string[], kinds: DataKind[] = [DataKind.FEATURES], model = "") => {
    const responses = await ctx.rpc.serverStreaming(ingest.readRecords, { target: target(destination, model), recordIds: ids, kinds }, as);
    return responses.flatMap((r) => batchRows(r.batch!));
  };
  const expectWritten = async (ids: string[]) => {
    const rows = await read({ case: "production", value: true }, ids);
    expect(rows.map((r) => r.recordId).sort()).toEqual(ids);
    rows.forEach((r) => expect(r.columns.f0).toBe(reference.explain[Number(r.recordId.split("-").pop())]![0]));
  };
  const expectNoneWritten = async (ids: string[]) => expect(await read({ case: "production", value: true }, ids)).toEqual([]);
  /** Follows a job with `key` to its end; it must complete. */
  const finish = async (jobId: string, key: string): Promise<WatchJobResponse> => {
    const statuses = await ctx.rpc.serverStreaming(monitoring.watchJob, { jobId }, key);
    const last = statuses.at(-1)!;
    expect(last.state, last.message).toBe(JobState.COMPLETED);
    return last;
  };
  const artifactMissing = () =>
    expectRefusal(ctx.rpc.unary(models.getModelArtifact, { project: ctx.a, collection: "c", model: "fresh" }, as), Code.FailedPrecondition, ErrorReason.ARTIFACT_MISSING);
  const split = (name: string) => ({ case: "split" as const, value: name });
  const explainIds = (s: string) => Array.from({ length: explainRows }, (_, i) => `${s}-${i}`);

  /** A write row's common part: its three production rows; denied, none of them exists; allowed, all do. */
  const writing = (prefix: string) => {
    const { ids, batch } = productionRows(prefix);
    return {
      batch,
      access: "project" as const,
      unchanged: () => expectNoneWritten(ids),
      async written(summary: WriteSummary | undefined) {
        expect(summary?.rowsAccepted).toBe(3n);
        await expectWritten(ids);
      },
    };
  };
  const upload = writing("up");
  const stream = writing("st");
  const put = writing("put");
  const header = () => ({ message: { case: "header" as const, value: production() } });
  let refreshesBefore = -1;
  let watched = "";
  const computesBefore = { predictions: -1, influences: -1 };
  /** A compute row: nothing queued or written by the denied calls; the right key's job runs and writes every record. */
  const compute = (kind: "predictions" | "influences", check: (rows: ReturnType<typeof batchRows>) => void) => {
    const computed = () => read(split(kind), explainIds(kind), [kind === "predictions" ? DataKind.PREDICTIONS : DataKind.INFLUENCES], "m");
    return {
      access: "project" as const,
      request: () => ({ project: ctx.a, collection: "c", model: "m", scope: split(kind) }),
      async setup() {
        computesBefore[kind] = await jobsOf("compute", ctx.a, kind);
      },
      async unchanged() {
        expect(await jobsOf("compute", ctx.a, kind)).toBe(computesBefore[kind]);
        expect(await jobsOf("computeChunks", ctx.a, kind)).toBe(0);
        // The records exist (with their features); a kind a record lacks reads as nulls.
        const rows = await computed();
        expect(rows.map((r) => r.recordId)).toEqual(explainIds(kind));
        expect(rows.flatMap((r) => Object.values(r[kind])).every((v) => v === null)).toBe(true);
      },
      async check(res: { jobId: string }, key: string) {
        expect(res.jobId).toMatch(/^compute:/);
        expect(await jobsOf("compute", ctx.a, kind)).toBe(computesBefore[kind] + 1);
        const done = await finish(res.jobId, key);
        expect(done.computeResult?.written).toBe(BigInt(explainRows));
        const rows = await computed();
        expect(rows.map((r) => r.recordId)).toEqual(explainIds(kind));
        check(rows);
      },
    };
  };

  return [
    // ---- IngestService ----
    row.clientStreaming(ingest.upload, {
      ...upload,
      requests: () => [header(), { message: { case: "batch" as const, value: upload.batch } }],
      check: (res) => upload.written(res.summary),
    }),
    row.bidiStreaming(ingest.stream, {
      ...stream,
      requests: () => [header(), { message: { case: "batch" as const, value: { sequence: 7n, batch: stream.batch } } }],
      async check(acks) {
        expect(acks.map((a) => [a.sequence, a.error])).toEqual([[7n, undefined]]);
        await stream.written(acks[0]!.summary);
      },
    }),
    row.unary(ingest.put, {
      ...put,
      request: () => ({ target: production(), batch: put.batch }),
      check: (res) => put.written(res.summary),
    }),
    row.serverStreaming(ingest.readRecords, {
      access: "project",
      adminToo: true,
      request: () => ({ target: target(split("base")), recordIds: ["b-0", "b-39"], kinds: [DataKind.FEATURES] }),
      check(responses) {
        const rows = responses.flatMap((r) => batchRows(r.batch!));
        expect(rows.map((r) => r.recordId).sort()).toEqual(["b-0", "b-39"]);
        for (const r of rows) expect(reference.features.map((f) => r.columns[f])).toEqual(reference.background[Number(r.recordId.slice(2))]);
      },
    }),

    // ---- MonitoringService ----
    row.unary(monitoring.refreshMonitoring, {
      access: "project",
      request: () => ({ project: ctx.a, collection: "c", model: "m", full: true }),
      async setup() {
        refreshesBefore = await jobsOf("monitoring", ctx.a, "refresh");
      },
      async unchanged() {
        expect(await jobsOf("monitoring", ctx.a, "refresh")).toBe(refreshesBefore);
      },
      async check(res, key) {
        expect(res.jobId).toMatch(/^monitoring:/);
        expect(await jobsOf("monitoring", ctx.a, "refresh")).toBe(refreshesBefore + 1);
        const done = await finish(res.jobId, key);
        expect(done.result?.full).toBe(true);
        expect(done.result?.splits).toBeGreaterThan(0n);
      },
    }),
    row.serverStreaming(monitoring.watchJob, {
      access: "project",
      adminToo: true,
      foreignRefusal: { code: Code.NotFound, reason: ErrorReason.NOT_FOUND, why: "as for a job that does not exist: job IDs name no project" },
      async setup() {
        watched = (await ctx.rpc.unary(monitoring.refreshMonitoring, { project: ctx.a, collection: "c", model: "m" }, as)).jobId;
      },
      request: () => ({ jobId: watched }),
      check(statuses) {
        expect(statuses.every((s) => s.jobId === watched)).toBe(true);
        const last = statuses.at(-1)!;
        expect(last.state, last.message).toBe(JobState.COMPLETED);
        expect(last.progress).toBe(100);
        expect(last.result).toBeDefined();
      },
    }),
    row.unary(monitoring.getMonitoring, {
      access: "project",
      adminToo: true,
      request: () => ({ project: ctx.a, collection: "c", model: "m", splits: ["base"] }),
      check(res) {
        expect(res.lastRunTime).toBeDefined();
        expect(res.splits.map((s) => s.split)).toEqual(["base"]);
        expect(res.splits[0]!.result?.counts?.records).toBe(BigInt(reference.background.length));
      },
    }),

    // ---- ModelService ----
    row.clientStreaming(models.uploadModelArtifact, {
      access: "project",
      requests: () => artifactRequests(ctx.a, "fresh"),
      unchanged: artifactMissing,
      async check(res) {
        expect(res.artifact?.version).toBe(1n);
        expect(res.artifact?.sha256).toBe(onnxSha256);
        const stored = (await ctx.rpc.unary(models.getModelArtifact, { project: ctx.a, collection: "c", model: "fresh" }, as)).artifact;
        expect(stored?.version).toBe(1n);
        expect(stored?.sizeBytes).toBe(BigInt(onnx.length));
      },
    }),
    row.unary(models.getModelArtifact, {
      access: "project",
      adminToo: true,
      request: () => ({ project: ctx.a, collection: "c", model: "m" }),
      check(res) {
        expect(res.artifact?.version).toBe(1n);
        expect(res.artifact?.sha256).toBe(onnxSha256);
        expect(res.artifact?.inputs).toEqual(["float_input"]);
        expect(res.artifact?.influenceAlgorithm).toBe(InfluenceAlgorithm.KERNEL_SHAP);
      },
    }),
    row.unary(
      models.computePredictions,
      compute("predictions", (rows) => rows.forEach((r) => expect(Math.abs((r.predictions.score as number) - logregScores[Number(r.recordId.split("-")[1])]!)).toBeLessThanOrEqual(1e-6))),
    ),
    row.unary(
      models.computeInfluences,
      compute("influences", (rows) => rows.forEach((r) => reference.features.forEach((f) => expect(typeof r.influences[f]).toBe("number")))),
    ),
  ];
}

describeAuthMatrix("auth-data.test.ts", () => server!, iso.adminKey, {
  rows: buildRows,
  async prepare(ctx) {
    const as = ctx.adminKey;
    const fields = reference.features.map((name) => ({ name, kind: FieldKind.FEATURE, type: FieldType.DOUBLE, nullable: true }));
    await ctx.rpc.unary(catalog.createDataCollection, { collection: { project: ctx.a, name: "c", schema: { recordIdColumn: "id", timestampColumn: "ts", fields } } }, as);
    for (const [name, baseline] of [["base", true], ["predictions", false], ["influences", false]] as const) {
      await ctx.rpc.unary(catalog.createSplit, { split: { project: ctx.a, collection: "c", name, type: baseline ? SplitType.TRAIN : SplitType.TEST, baseline } }, as);
    }
    const put = (split: string, ids: string[], rows: number[][]) =>
      ctx.rpc.unary(ingest.put, { target: { project: ctx.a, collection: "c", destination: { case: "split", value: split } }, batch: toRecordBatch(featureBatch(ids, rows)) }, as);
    await put("base", reference.background.map((_, i) => `b-${i}`), reference.background);
    for (const s of ["predictions", "influences"]) await put(s, Array.from({ length: explainRows }, (_, i) => `${s}-${i}`), reference.explain.slice(0, explainRows));
    for (const name of ["m", "fresh"]) {
      await ctx.rpc.unary(
        catalog.createModel,
        { model: { project: ctx.a, collection: "c", name, scoreType: ScoreType.PROBITS, mode: ModelMode.DATA_AND_MODEL, predictionFields: [{ name: "score", type: FieldType.DOUBLE }] } },
        as,
      );
    }
    // The artifact the read and compute rows use, and one monitoring run for GetMonitoring to read.
    await ctx.rpc.clientStreaming(models.uploadModelArtifact, artifactRequests(ctx.a, "m"), as);
    const { jobId } = await ctx.rpc.unary(monitoring.refreshMonitoring, { project: ctx.a, collection: "c", model: "m" }, as);
    expect((await ctx.rpc.serverStreaming(monitoring.watchJob, { jobId }, as)).at(-1)?.state).toBe(JobState.COMPLETED);
  },
  more(ctx) {
    it("another project's key learns nothing about what exists: unknown targets are PERMISSION_DENIED, unknown jobs NOT_FOUND like foreign ones", async () => {
      const denied = (call: Promise<unknown>) => expectRefusal(call, Code.PermissionDenied, ErrorReason.PERMISSION_DENIED);
      const ghost = { project: ctx.a, collection: "ghost", destination: { case: "production" as const, value: true } };
      await denied(ctx.rpc.unary(ingest.put, { target: ghost, batch: productionRows("ghost").batch }, ctx.keyB));
      await denied(ctx.rpc.clientStreaming(ingest.upload, [{ message: { case: "header", value: { ...ghost, project: "ghost" } } }], ctx.keyB));
      await denied(ctx.rpc.bidiStreaming(ingest.stream, [{ message: { case: "header", value: ghost } }], ctx.keyB));
      await denied(ctx.rpc.serverStreaming(ingest.readRecords, { target: ghost }, ctx.keyB));
      await denied(ctx.rpc.unary(monitoring.getMonitoring, { project: ctx.a, collection: "c", model: "ghost" }, ctx.keyB));
      await denied(ctx.rpc.unary(monitoring.refreshMonitoring, { project: "ghost", collection: "c", model: "m" }, ctx.keyB));
      await denied(ctx.rpc.unary(models.getModelArtifact, { project: ctx.a, collection: "ghost", model: "m" }, ctx.keyB));
      await denied(ctx.rpc.unary(models.computeInfluences, { project: ctx.a, collection: "c", model: "ghost", scope: { case: "split", value: "base" } }, ctx.keyB));
      await denied(ctx.rpc.clientStreaming(models.uploadModelArtifact, artifactRequests(ctx.a, "ghost"), ctx.keyB));
      // A job of project a, and a job that does not exist, look the same to project b's key.
      const { jobId } = await ctx.rpc.unary(monitoring.refreshMonitoring, { project: ctx.a, collection: "c", model: "m" }, ctx.adminKey);
      const notFound = (id: string) => expectRefusal(ctx.rpc.serverStreaming(monitoring.watchJob, { jobId: id }, ctx.keyB), Code.NotFound, ErrorReason.NOT_FOUND);
      await notFound(jobId);
      await notFound("monitoring:999999999");
      await notFound("compute:999999999");
    });
  },
});

import { create } from "@bufbuild/protobuf";
import { timestampFromDate, timestampMs } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { authorizeProject } from "../auth/principal.js";
import { checkInfluenceOptionValues } from "../catalog/model.js";
import { checkResourceNames } from "../catalog/names.js";
import { failedPrecondition, invalidArgument, notFound, throwIfInvalid, type Violation } from "../errors.js";
import { ErrorReason } from "../gen/sightline/v1/errors_pb.js";
import {
  ArtifactFormat,
  ComputeInfluencesResponseSchema,
  ComputePredictionsResponseSchema,
  GetModelArtifactResponseSchema,
  ModelArtifactSchema,
  ModelService,
  UploadModelArtifactResponseSchema,
  type ComputeInfluencesRequest,
  type ComputePredictionsRequest,
} from "../gen/sightline/v1/model_service_pb.js";
import { TargetSchema } from "../gen/sightline/v1/records_pb.js";
import { FieldKind, InfluenceAlgorithm, ModelMode, ScoreType } from "../gen/sightline/v1/resources_pb.js";
import { splitTarget, targetKey } from "../ingest/layout.js";
import { ArtifactError, loadArtifact } from "../influence/load-artifact.js";
import { resolveInfluenceOptions, type ComputeJobData } from "../jobs/compute-spec.js";
import { computeQueueName } from "../jobs/queues.js";
import { findArtifact, saveArtifact, type ArtifactDoc } from "../store/artifacts.js";
import { findCollection } from "../store/collections.js";
import { docId, type ModelDoc, type Store } from "../store/db.js";
import { resolveTarget } from "../store/records.js";
import { receiveBytes, receiveHeader } from "./artifact-upload.js";
import { IdleWatch, watchedIterator } from "./stream-idle.js";
import type { RpcDeps } from "./deps.js";
import { publicJobId, redisCall } from "./jobs.js";

function artifactMessage(project: string, collection: string, model: string, doc: ArtifactDoc) {
  return create(ModelArtifactSchema, {
    project,
    collection,
    model,
    version: BigInt(doc.version),
    format: doc.format,
    sizeBytes: BigInt(doc.sizeBytes),
    sha256: doc.sha256,
    uploadTime: timestampFromDate(doc.uploadTime),
    inputs: doc.inputs,
    outputs: doc.outputs,
    influenceAlgorithm: doc.influenceAlgorithm,
    producer: doc.producer,
  });
}

async function computableModel(store: Store, project: string, collection: string, name: string): Promise<ModelDoc> {
  await findCollection(store, project, collection);
  const model = await store.models.findOne({ _id: docId(project, collection, name) });
  if (model === null) throw notFound("model", name);
  if (model.mode !== ModelMode.DATA_AND_MODEL) {
    throw failedPrecondition(ErrorReason.MODEL_MODE, [
      { type: "MODEL_MODE", subject: `model "${name}"`, description: "is DATA_ONLY: its predictions and influences are sent, not computed; create a DATA_AND_MODEL model to upload an artifact" },
    ]);
  }
  return model;
}

async function artifactOf(store: Store, model: ModelDoc, version: bigint): Promise<ArtifactDoc> {
  const doc = await findArtifact(store, model._id, Number(version));
  if (doc !== null) return doc;
  if (version > 0n) throw notFound("artifact version", `${model.name} v${version}`);
  throw failedPrecondition(ErrorReason.ARTIFACT_MISSING, [{ type: "ARTIFACT_MISSING", subject: `model "${model.name}"`, description: "has no artifact yet: upload one with UploadModelArtifact" }]);
}

type ComputeRequest = ComputePredictionsRequest | ComputeInfluencesRequest;

function computeChecks(req: ComputeRequest): Violation[] {
  const names: Record<string, string> = { project: req.project, collection: req.collection, model: req.model };
  if (req.scope.case === "split") names.split = req.scope.value;
  const violations = checkResourceNames(names);
  if (req.scope.case === undefined) violations.push({ field: "scope", description: "must name a split or a production range" });
  if (req.artifactVersion < 0n) violations.push({ field: "artifact_version", description: "must be 0 (the latest) or a version" });
  const range = req.scope.case === "production" ? req.scope.value : undefined;
  if (range?.start !== undefined && range.end !== undefined && timestampMs(range.start) >= timestampMs(range.end)) {
    violations.push({ field: "production.end", description: "must be after production.start" });
  }
  return violations;
}

/** Everything a compute request needs checked before it is queued: names, mode, artifact, and a writable target. */
async function prepareCompute(store: Store, req: ComputeRequest, ctx: HandlerContext) {
  authorizeProject(ctx, req.project);
  throwIfInvalid(computeChecks(req));
  const model = await computableModel(store, req.project, req.collection, req.model);
  const artifact = await artifactOf(store, model, req.artifactVersion);
  const destination = req.scope.case === "split" ? { case: "split" as const, value: req.scope.value } : { case: "production" as const, value: true };
  const target = await resolveTarget(store, create(TargetSchema, { project: req.project, collection: req.collection, model: req.model, destination }), "write");
  const range = req.scope.case === "production" ? req.scope.value : undefined;
  const data: ComputeJobData = {
    kind: "predictions",
    project: req.project,
    collection: req.collection,
    model: req.model,
    split: target.split,
    artifactVersion: artifact.version,
    options: undefined,
    startMs: range?.start === undefined ? undefined : timestampMs(range.start),
    endMs: range?.end === undefined ? undefined : timestampMs(range.end),
    chunks: undefined,
  };
  return { model, artifact, target, data };
}

function baselineMissing(description: string) {
  return failedPrecondition(ErrorReason.BASELINE_MISSING, [{ type: "BASELINE_MISSING", subject: "baseline split", description }]);
}

export function registerModels(router: ConnectRouter, { store, queues, config, influencesOnIngest }: RpcDeps): void {
  router.service(ModelService, {
    async uploadModelArtifact(requests, ctx) {
      // An upload that stalls would hold its buffer (up to SIGHTLINE_MAX_ARTIFACT_BYTES) until its deadline.
      const idle = new IdleWatch(config.ingest.streamIdleTimeoutMs, () => "nothing was stored");
      const iterator = watchedIterator(requests[Symbol.asyncIterator](), idle);
      const receive = async () => {
        const header = await receiveHeader(iterator, config.compute.maxArtifactBytes);
        authorizeProject(ctx, header.project);
        const collection = await findCollection(store, header.project, header.collection);
        const model = await computableModel(store, header.project, header.collection, header.model);
        return { header, collection, model, bytes: await receiveBytes(iterator, header) };
      };
      const { header, collection, model, bytes } = await receive().finally(() => idle.close());
      let loaded;
      try {
        loaded = await loadArtifact(bytes, collection.fields, model, { intraOpThreads: config.compute.intraOpThreads });
      } catch (err) {
        if (!(err instanceof ArtifactError)) throw err;
        if (err.kind === "invalid") throw invalidArgument([{ field: "chunk", description: err.message }], undefined, ErrorReason.ARTIFACT_INVALID);
        throw failedPrecondition(ErrorReason.ARTIFACT_MISMATCH, err.problems);
      }
      await loaded.runner.release();
      const doc = await saveArtifact(store, header.project, header.collection, header.model, bytes, {
        format: ArtifactFormat.ONNX,
        sizeBytes: bytes.length,
        sha256: header.sha256,
        inputs: loaded.onnx.graph.inputs.filter((i) => !loaded.onnx.graph.initializers.includes(i.name)).map((i) => i.name),
        outputs: loaded.onnx.graph.outputs.map((o) => o.name),
        influenceAlgorithm: loaded.defaultAlgorithm,
        producer: loaded.onnx.producerName,
      });
      influencesOnIngest.forget(collection._id);
      return create(UploadModelArtifactResponseSchema, { artifact: artifactMessage(header.project, header.collection, header.model, doc) });
    },

    async getModelArtifact(req, ctx) {
      authorizeProject(ctx, req.project);
      throwIfInvalid(checkResourceNames({ project: req.project, collection: req.collection, model: req.model }));
      const model = await computableModel(store, req.project, req.collection, req.model);
      const doc = await artifactOf(store, model, req.version);
      return create(GetModelArtifactResponseSchema, { artifact: artifactMessage(req.project, req.collection, req.model, doc) });
    },

    async computePredictions(req, ctx) {
      const { data } = await prepareCompute(store, req, ctx);
      const id = await redisCall(() => queues.requestCompute(data));
      return create(ComputePredictionsResponseSchema, { jobId: publicJobId(computeQueueName, id) });
    },

    async computeInfluences(req, ctx) {
      const { model, artifact, target, data } = await prepareCompute(store, req, ctx);
      if (req.options !== undefined) throwIfInvalid(checkInfluenceOptionValues("options", req.options));
      if (model.scoreType === ScoreType.CLASSIFICATION) {
        throw failedPrecondition(ErrorReason.ARTIFACT_MISMATCH, [{ type: "ARTIFACT_MISMATCH", subject: `model "${model.name}"`, description: "is CLASSIFICATION: it has no score for influences to explain" }]);
      }
      const features = target.collection.fields.filter((f) => f.kind === FieldKind.FEATURE).length;
      const options = resolveInfluenceOptions(req.options, model.influenceOptions, artifact.influenceAlgorithm, features);
      if (options.algorithm === InfluenceAlgorithm.TREE_SHAP && artifact.influenceAlgorithm !== InfluenceAlgorithm.TREE_SHAP) {
        throw failedPrecondition(ErrorReason.ARTIFACT_MISMATCH, [
          { type: "ARTIFACT_MISMATCH", subject: "options.algorithm", description: "TREE_SHAP needs a tree ensemble whose raw output is the model's score; this artifact takes KERNEL_SHAP" },
        ]);
      }
      const baseline = target.collection.baselineSplit;
      if (baseline === "") throw baselineMissing("the collection has none: set one with SetBaselineSplit");
      const baselineKey = targetKey(req.project, req.collection, splitTarget(baseline));
      if ((await store.records.countDocuments({ ct: baselineKey, f: { $exists: true } }, { limit: 1 })) === 0) {
        throw baselineMissing(`split "${baseline}" holds no records with features to draw the background from`);
      }
      const id = await redisCall(() => queues.requestCompute({ ...data, kind: "influences", options }));
      return create(ComputeInfluencesResponseSchema, { jobId: publicJobId(computeQueueName, id) });
    },
  });
}

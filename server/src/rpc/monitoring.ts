import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import type { Job, Queue } from "bullmq";
import { authorizeProject, mayReach } from "../auth/principal.js";
import { checkResourceNames } from "../catalog/names.js";
import { invalidArgument, notFound, throwIfInvalid, unavailable, type Violation } from "../errors.js";
import { FieldKind, ScoreType } from "../gen/sightline/v1/resources_pb.js";
import {
  GetMonitoringResponseSchema,
  Granularity,
  JobState,
  MonitoringRunResultSchema,
  MonitoringService,
  RefreshMonitoringResponseSchema,
  WatchJobResponseSchema,
  type GetMonitoringRequest,
  type WatchJobResponse,
} from "../gen/sightline/v1/monitoring_service_pb.js";
import { productionTarget, splitTarget, targetKey } from "../ingest/layout.js";
import type { JobProgress } from "../jobs/monitoring.js";
import type { MonitoringRunResult } from "../jobs/monitoring-run.js";
import { monitoringQueueName } from "../jobs/queues.js";
import { dayStart } from "../monitoring/buckets.js";
import { binaryMetricNames, regressionMetricNames } from "../monitoring/report.js";
import { findMarks } from "../store/bucket-marks.js";
import { findCollection } from "../store/collections.js";
import { docId } from "../store/db.js";
import { findResults, readState, resultId, type MonitoringResultDoc } from "../store/monitoring-results.js";
import { publicJobId, redisCall, watchJob } from "./jobs.js";
import { bucketMessage, type IngestCounts } from "./monitoring-messages.js";
import type { RpcDeps } from "./deps.js";

function requestChecks(req: GetMonitoringRequest): Violation[] {
  const violations = checkResourceNames({ project: req.project, collection: req.collection, model: req.model });
  if (Granularity[req.granularity] === undefined) violations.push({ field: "granularity", description: "must be HOUR or DAY" });
  if (req.startTime !== undefined && req.endTime !== undefined && timestampMs(req.startTime) >= timestampMs(req.endTime)) {
    violations.push({ field: "end_time", description: "must be after start_time" });
  }
  return violations;
}

/** Ingestion counts per bucket start, from the hour marks; a day sums its hours. */
function ingestCountsByBucket(marks: Awaited<ReturnType<typeof findMarks>>, day: boolean): Map<number, IngestCounts> {
  const counts = new Map<number, IngestCounts>();
  for (const m of marks) {
    if (m.h === null) continue;
    const start = day ? dayStart(m.h.getTime()) : m.h.getTime();
    const c = counts.get(start) ?? { rejected: new Map<string, number>(), overwritten: 0 };
    for (const [reason, n] of Object.entries(m.r ?? {})) c.rejected.set(reason, (c.rejected.get(reason) ?? 0) + n);
    c.overwritten += m.o ?? 0;
    counts.set(start, c);
  }
  return counts;
}

function splitIngestCounts(mark: Awaited<ReturnType<typeof findMarks>>[number] | undefined): IngestCounts | undefined {
  if (mark === undefined) return undefined;
  return { rejected: new Map(Object.entries(mark.r ?? {})), overwritten: mark.o ?? 0 };
}

export function registerMonitoring(router: ConnectRouter, { store, queues }: RpcDeps): void {
  router.service(MonitoringService, {
    async refreshMonitoring(req, ctx) {
      authorizeProject(ctx, req.project);
      throwIfInvalid(checkResourceNames({ project: req.project, collection: req.collection, model: req.model }));
      await findCollection(store, req.project, req.collection);
      if ((await store.models.countDocuments({ _id: docId(req.project, req.collection, req.model) }, { limit: 1 })) === 0) {
        throw notFound("model", req.model);
      }
      const id = await redisCall(() => queues.requestMonitoring({ project: req.project, collection: req.collection, model: req.model, full: req.full }));
      return create(RefreshMonitoringResponseSchema, { jobId: publicJobId(monitoringQueueName, id) });
    },

    watchJob(req, ctx) {
      return watchJob(queues, req.jobId, ctx);
    },

    async getMonitoring(req, ctx) {
      authorizeProject(ctx, req.project);
      throwIfInvalid(requestChecks(req));
      const collection = await findCollection(store, req.project, req.collection);
      const modelKey = docId(req.project, req.collection, req.model);
      const model = await store.models.findOne({ _id: modelKey });
      if (model === null) throw notFound("model", req.model);

      const known = model.scoreType === ScoreType.REGRESSION ? regressionMetricNames : binaryMetricNames;
      const fieldNames = new Set([...collection.fields.filter((f) => f.kind === FieldKind.FEATURE).map((f) => f.name), model.predictionFields[0]?.name ?? ""]);
      const violations: Violation[] = [];
      req.metrics.forEach((m, i) => {
        if (!(known as readonly string[]).includes(m)) violations.push({ field: `metrics[${i}]`, description: `is not a metric of this model; one of ${known.join(", ")}` });
      });
      req.fields.forEach((f, i) => {
        if (!fieldNames.has(f)) violations.push({ field: `fields[${i}]`, description: "is neither a feature of the collection nor the model's score field" });
      });
      const splitNames = (await store.splits.find({ project: req.project, collection: req.collection }, { projection: { name: 1 } }).toArray()).map((s) => s.name);
      const wantAllSplits = req.splits.includes("*");
      req.splits.forEach((s, i) => {
        if (s !== "*" && !splitNames.includes(s)) violations.push({ field: `splits[${i}]`, description: `is not a split of the collection` });
      });
      throwIfInvalid(violations);

      const filter = { metrics: new Set(req.metrics), fields: new Set(req.fields) };
      const day = req.granularity === Granularity.DAY;
      const granularity = day ? Granularity.DAY : Granularity.HOUR;
      const startMs = req.startTime === undefined ? undefined : timestampMs(req.startTime);
      const endMs = req.endTime === undefined ? undefined : timestampMs(req.endTime);

      const results = new Map<number, MonitoringResultDoc>();
      for await (const doc of findResults(store, modelKey, day ? "d" : "h", startMs, endMs)) {
        if (doc.report.counts.records > 0) results.set(doc.t!.getTime(), doc);
      }
      const productionKey = targetKey(req.project, req.collection, productionTarget);
      const ingest = ingestCountsByBucket(await findMarks(store, productionKey), day);
      const starts = new Set(results.keys());
      for (const [start, c] of ingest) {
        const inRange = (startMs === undefined || start >= startMs) && (endMs === undefined || start < endMs);
        if (inRange && (c.rejected.size > 0 || c.overwritten > 0)) starts.add(start);
      }
      const buckets = [...starts]
        .sort((a, b) => a - b)
        .map((start) => {
          const doc = results.get(start);
          return bucketMessage(doc?.report, { startMs: start, granularity, computedAt: doc?.at }, filter, ingest.get(start));
        });

      // Each split named once, however often it was asked for: two reads per split.
      const wantedSplits = wantAllSplits ? splitNames : [...new Set(req.splits)];
      const splits = [];
      for (const name of wantedSplits) {
        const doc = await store.monitoringResults.findOne({ _id: resultId(modelKey, "s", name) });
        if (doc === null) continue;
        const mark = (await findMarks(store, targetKey(req.project, req.collection, splitTarget(name))))[0];
        splits.push({ split: name, result: bucketMessage(doc.report, { startMs: undefined, granularity: Granularity.UNSPECIFIED, computedAt: doc.at }, filter, splitIngestCounts(mark)) });
      }
      const state = await readState(store, modelKey);
      return create(GetMonitoringResponseSchema, {
        buckets,
        splits,
        ...(state === null ? {} : { lastRunTime: timestampFromMs(state.lastRun.getTime()) }),
      });
    },
  });
}

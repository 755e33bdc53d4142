// Jobs as clients see them: public job IDs that name their queue, a job's status as a WatchJobResponse, and the watch
// loop. Every RPC that queues work returns one of these IDs, and MonitoringService.WatchJob follows any of them.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { Job, Queue } from "bullmq";
import { mayReach } from "../auth/principal.js";
import { invalidArgument, notFound, unavailable } from "../errors.js";
import { ComputeRunResultSchema, JobState, MonitoringRunResultSchema, WatchJobResponseSchema, type WatchJobResponse } from "../gen/sightline/v1/monitoring_service_pb.js";
import type { ComputeRunResult } from "../jobs/compute-spec.js";
import type { JobProgress } from "../jobs/monitoring.js";
import type { MonitoringRunResult } from "../jobs/monitoring-run.js";
import { computeQueueName, monitoringQueueName, type Queues } from "../jobs/queues.js";

/** How often WatchJob looks at the job: progress is coarse (a day, a split or a chunk per step), so a few times a second. */
const watchPollMs = 250;

/** Job IDs name their queue, so one WatchJob serves every queue: `<queue>:<BullMQ job ID>`. */
export function publicJobId(queue: string, id: string): string {
  return `${queue}:${id}`;
}

function parseJobId(jobId: string): { queue: string; id: string } | undefined {
  const colon = jobId.indexOf(":");
  if (colon <= 0 || colon === jobId.length - 1) return undefined;
  return { queue: jobId.slice(0, colon), id: jobId.slice(colon + 1) };
}

/** Redis calls fail fast when it is away; the client hears UNAVAILABLE and retries. */
export async function redisCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    throw unavailable("Redis");
  }
}

const jobStates: Record<string, JobState> = {
  waiting: JobState.WAITING,
  "waiting-children": JobState.WAITING,
  prioritized: JobState.WAITING,
  active: JobState.ACTIVE,
  completed: JobState.COMPLETED,
  failed: JobState.FAILED,
  delayed: JobState.DELAYED,
};

type WatchedJob = Job<{ project?: string }, MonitoringRunResult | ComputeRunResult>;

function isComputeResult(r: MonitoringRunResult | ComputeRunResult): r is ComputeRunResult {
  return "chunks" in r;
}

async function jobStatus(publicId: string, job: WatchedJob): Promise<WatchJobResponse> {
  const bullState = await job.getState();
  let state = jobStates[bullState] ?? JobState.UNSPECIFIED;
  const progress = typeof job.progress === "object" && job.progress !== null ? (job.progress as Partial<JobProgress>) : {};
  let percent = progress.percent ?? 0;
  let message = progress.message ?? "";
  if (bullState === "waiting-children") {
    // A compute request waits on its chunks: it is working, and its progress is theirs.
    const counts = await job.getDependenciesCount({ processed: true, unprocessed: true });
    const done = counts.processed ?? 0;
    const total = done + (counts.unprocessed ?? 0);
    state = JobState.ACTIVE;
    percent = total === 0 ? 0 : (100 * done) / total;
    message = `${done} of ${total} chunks done`;
  }
  const status = create(WatchJobResponseSchema, {
    jobId: publicId,
    state,
    progress: state === JobState.COMPLETED ? 100 : percent,
    message: state === JobState.FAILED ? job.failedReason : state === JobState.COMPLETED ? "done" : message,
    attempts: job.attemptsMade + (bullState === "active" ? 1 : 0),
  });
  const r = job.returnvalue;
  if (state === JobState.COMPLETED && r !== null && r !== undefined) {
    if (isComputeResult(r)) {
      status.computeResult = create(ComputeRunResultSchema, {
        records: BigInt(r.records),
        written: BigInt(r.written),
        rejected: BigInt(r.rejected),
        chunks: BigInt(r.chunks),
        artifactVersion: BigInt(r.artifactVersion),
        algorithm: r.algorithm,
        exact: r.exact,
        baseValue: r.base,
      });
    } else {
      status.result = create(MonitoringRunResultSchema, { hours: BigInt(r.hours), days: BigInt(r.days), splits: BigInt(r.splits), recordsRead: BigInt(r.recordsRead), full: r.full });
    }
  }
  return status;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Yields the job's status whenever it changes, until it completes or fails. */
export async function* watchJob(queues: Queues, jobId: string, ctx: HandlerContext): AsyncGenerator<WatchJobResponse> {
  const queuesByName: Record<string, Queue> = {
    [monitoringQueueName]: queues.monitoring as unknown as Queue,
    [computeQueueName]: queues.compute as unknown as Queue,
  };
  const parsed = parseJobId(jobId);
  const queue = parsed === undefined ? undefined : queuesByName[parsed.queue];
  if (parsed === undefined || queue === undefined) {
    throw invalidArgument([{ field: "job_id", description: "is not a job ID this service returned" }]);
  }
  let last = "";
  while (!ctx.signal.aborted) {
    const job = (await redisCall(() => queue.getJob(parsed.id))) as WatchedJob | undefined;
    // A job is only visible to keys of the project it works on: to any other key it does not exist.
    if (job === undefined || !mayReach(ctx, job.data.project ?? "")) throw notFound("job", jobId);
    const status = await redisCall(() => jobStatus(jobId, job));
    // The state is read after the job: one that ended in between is read again, so its end comes with its result.
    if ((status.state === JobState.COMPLETED || status.state === JobState.FAILED) && job.finishedOn === undefined) continue;
    const key = `${status.state}|${status.progress}|${status.message}|${status.attempts}`;
    if (key !== last) {
      last = key;
      yield status;
    }
    if (status.state === JobState.COMPLETED || status.state === JobState.FAILED) return;
    await sleep(watchPollMs, ctx.signal);
  }
  // Cancelled by the client (who no longer listens) or cut by a server shutdown: say so, so clients watch again.
  throw new ConnectError("the watch ended before the job did; watch again", Code.Unavailable);
}

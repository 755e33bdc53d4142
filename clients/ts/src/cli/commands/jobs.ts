// `sightline jobs watch JOB_ID`: follows a job to its end, redrawn in place on a terminal, a line per change when piped.
import type { Command } from "commander";
import { JobState, WatchJobResponseSchema, type SightlineClient, type WatchJobResponse } from "../../index.js";
import { CliError } from "../failure.js";
import { LiveLine } from "../live-line.js";
import { nameOf } from "../names.js";
import { messageJson, out, printJson, styleFor } from "../output.js";
import { openSession, type GlobalOptions } from "../session.js";
import { act } from "./action.js";

function statusText(s: WatchJobResponse): string {
  const message = s.message === "" ? "" : `  ${s.message}`;
  return `job ${s.jobId}  ${nameOf(JobState, s.state)}  ${s.progress.toFixed(0)}%${s.attempts > 1 ? `  attempt ${s.attempts}` : ""}${message}`;
}

function resultText(s: WatchJobResponse): string | undefined {
  if (s.result !== undefined) {
    const r = s.result;
    return `recomputed ${r.hours} hour and ${r.days} day buckets and ${r.splits} splits from ${r.recordsRead} records${r.full ? " (full)" : ""}`;
  }
  if (s.computeResult !== undefined) {
    const r = s.computeResult;
    return `${r.written} of ${r.records} records written, ${r.rejected} rejected, in ${r.chunks} chunks (artifact v${r.artifactVersion})`;
  }
  return undefined;
}

/** Follows the job; the live line goes to stderr, so stdout carries only the outcome. Throws if the job failed. */
export async function watchJob(client: SightlineClient, jobId: string, quietWhenPiped: boolean): Promise<WatchJobResponse> {
  const stderr = process.stderr;
  const live = new LiveLine(stderr, stderr.isTTY === true ? "bar" : quietWhenPiped ? "off" : "lines", stderr.isTTY === true ? 100 : 0);
  let last: WatchJobResponse;
  try {
    last = await client.waitForJob(jobId, (s) => live.update(statusText(s)));
  } catch (e) {
    live.clear();
    throw e;
  }
  const style = styleFor(stderr);
  const done = statusText(last);
  live.finish(last.state === JobState.COMPLETED ? style.green(done) : style.red(done));
  if (last.state === JobState.FAILED) throw new CliError(`job ${jobId} failed: ${last.message}`);
  return last;
}

export function registerJobs(program: Command): void {
  const jobs = program.command("jobs").description("background jobs: monitoring refreshes, prediction and influence computations");
  jobs
    .command("watch")
    .description("follow a job's progress until it completes or fails (exit status 1 if it fails)")
    .argument("<job-id>")
    .action(
      act(async (jobId: string, o: GlobalOptions) => {
        const { client } = await openSession(o);
        const last = await watchJob(client, jobId, o.json === true);
        if (o.json === true) return printJson(messageJson(WatchJobResponseSchema, last));
        const result = resultText(last);
        out.line(`job ${jobId} ${out.style.green("completed")}${result === undefined ? "" : `: ${result}`}`);
      }),
    );
}

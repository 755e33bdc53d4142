// Jobs with live progress: WatchJob is a server stream, which the Connect protocol carries over HTTP/1.1 as one
// chunked response, so each state change shows as it happens. There is no job listing RPC: the page follows the
// jobs started from this tab, and any job ID pasted in.
import { JobState, type WatchJobResponse } from "../../../../clients/ts/src/gen/sightline/v1/monitoring_service_pb.js";
import { h, replaceChildren, section } from "../dom.js";
import { enumName, num } from "../format.js";
import type { PageContext } from "../main.js";
import { href } from "../router.js";
import { sessionJobs } from "../session.js";
import { errorBox } from "./common.js";

function resultText(s: WatchJobResponse): string {
  if (s.result !== undefined) {
    const r = s.result;
    return `${num(r.hours)} hours, ${num(r.days)} days, ${num(r.splits)} splits recomputed from ${num(r.recordsRead)} records${r.full ? " (full)" : ""}`;
  }
  if (s.computeResult !== undefined) {
    const r = s.computeResult;
    return `${num(r.written)} of ${num(r.records)} records written in ${num(r.chunks)} chunks, ${num(r.rejected)} rejected`;
  }
  return s.message;
}

/** A live row for one job; `onDone` runs once it completed. */
export function jobProgress(ctx: PageContext, jobId: string, label: string, onDone?: () => void): HTMLElement {
  const state = h("span", { className: "state", "data-state": "" }, "connecting…");
  const bar = h("progress", { max: 100, value: 0 });
  const detail = h("span", { className: "muted" });
  const row = h("div", { className: "job", "data-job": jobId }, h("div", {}, h("strong", {}, label), " ", h("code", {}, jobId)), h("div", { className: "job-line" }, state, bar, detail));
  const update = (s: WatchJobResponse) => {
    const name = enumName(JobState, s.state);
    state.textContent = name;
    state.setAttribute("data-state", name);
    bar.value = s.progress;
    row.setAttribute("data-progress", String(s.progress));
    detail.textContent = `${num(s.progress)}% · attempt ${s.attempts}${resultText(s) === "" ? "" : ` · ${resultText(s)}`}`;
  };
  void (async () => {
    let last: WatchJobResponse | undefined;
    try {
      for await (const s of ctx.api.monitoring.watchJob({ jobId }, { signal: ctx.signal })) {
        last = s;
        update(s);
      }
      if (last?.state === JobState.COMPLETED) onDone?.();
    } catch (err) {
      // Leaving the page cancels the stream; that is not a failure to show.
      if (ctx.signal.aborted) return;
      row.append(errorBox(err));
    }
  })();
  return row;
}

export async function renderJobs(ctx: PageContext, route: { watch: string }): Promise<void> {
  ctx.root.append(h("h1", {}, "Jobs"));
  const input = h("input", { type: "search", name: "jobId", placeholder: "job ID, for example monitoring:42", required: true, "aria-label": "job ID", value: route.watch });
  const form = h("form", { className: "inline" }, input, h("button", { type: "submit" }, "Watch"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = href({ page: "jobs", watch: input.value.trim() });
  });
  const list = h("div", { className: "jobs" });
  const jobs = sessionJobs().filter((j) => j.id !== route.watch);
  if (route.watch !== "") list.append(jobProgress(ctx, route.watch, "watched job"));
  for (const j of jobs) list.append(jobProgress(ctx, j.id, j.label));
  if (route.watch === "" && jobs.length === 0) replaceChildren(list, h("p", { className: "muted" }, "No jobs started from this tab yet. Start one with “Refresh monitoring” on a model."));
  ctx.root.append(section("Watch a job", form), section("Jobs of this tab", list));
}

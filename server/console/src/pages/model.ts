// One model: performance over time as charts, drift per field as a heat map, data quality, and its splits, all from
// GetMonitoring, per hour or per day.
import type { GetMonitoringResponse, MetricValue, MonitoringBucket } from "../../../../clients/ts/src/gen/sightline/v1/monitoring_service_pb.js";
import { Granularity as ApiGranularity } from "../../../../clients/ts/src/gen/sightline/v1/monitoring_service_pb.js";
import { ModelMode, ScoreType, type Model } from "../../../../clients/ts/src/gen/sightline/v1/resources_pb.js";
import { lineChart, type Series } from "../charts.js";
import { h, section, table } from "../dom.js";
import { dateTime, enumName, ms, num, percent } from "../format.js";
import { driftHeatmap } from "../heatmap.js";
import type { PageContext } from "../main.js";
import { href, type Granularity } from "../router.js";
import { rememberJob } from "../session.js";
import { breadcrumbs, errorBox } from "./common.js";
import { jobProgress } from "./jobs.js";

type Params = { project: string; collection: string; model: string; granularity: Granularity };

function value(values: MetricValue[], name: string): number | null {
  return values.find((v) => v.name === name)?.value ?? null;
}

/** Names in the order they first appear, across buckets that may each lack some. */
function unionOf(lists: string[][]): string[] {
  const seen = new Set<string>();
  for (const list of lists) for (const name of list) seen.add(name);
  return [...seen];
}

function granularityToggle(p: Params): HTMLElement {
  const option = (g: Granularity, label: string) =>
    h("a", { href: href({ ...p, page: "model", granularity: g }), className: g === p.granularity ? "on" : "", "aria-current": g === p.granularity ? "page" : null, "data-granularity": g }, label);
  return h("div", { className: "toggle", role: "group", "aria-label": "bucket size" }, option("hour", "Hour"), option("day", "Day"));
}

function chartsSection(buckets: MonitoringBucket[]): { section: HTMLElement; draw(): void } {
  const xs = buckets.map((b) => ms(b.startTime) ?? 0);
  const counts = lineChart("counts", "records, predictions, labelled", xs, [
    { label: "records", values: buckets.map((b) => Number(b.counts?.records ?? 0)) },
    { label: "predictions", values: buckets.map((b) => Number(b.counts?.predictions ?? 0)) },
    { label: "labelled", values: buckets.map((b) => Number(b.counts?.labelled ?? 0)) },
  ]);
  const metrics = unionOf(buckets.map((b) => b.performance.map((m) => m.name)));
  const charts = [counts, ...metrics.map((name) => lineChart(name, name, xs, [{ label: name, values: buckets.map((b) => value(b.performance, name)) } satisfies Series]))];
  const grid = h("div", { className: "charts", "data-metrics": metrics.length }, ...charts.map((c) => c.figure));
  return {
    section: section("Performance", metrics.length === 0 ? h("p", { className: "muted" }, "No labelled predictions yet: performance needs labels.") : null, grid),
    draw() {
      for (const c of charts) c.draw(Math.max(240, c.figure.clientWidth - 4));
    },
  };
}

function driftSection(buckets: MonitoringBucket[], granularity: Granularity): HTMLElement {
  const fields = unionOf(buckets.map((b) => b.drift.map((d) => d.field)));
  const byBucket = new Map(buckets.map((b) => [ms(b.startTime) ?? 0, b]));
  const heat = driftHeatmap(fields, [...byBucket.keys()], granularity, (field, t) => {
    const d = byBucket.get(t)?.drift.find((x) => x.field === field);
    if (d === undefined) return undefined;
    const psi = d.statistics.find((s) => s.name === "psi");
    return { psi: psi?.value, reason: psi?.undefinedReason ?? "no PSI" };
  });
  return section("Drift against the baseline (PSI)", fields.length === 0 ? h("p", { className: "muted" }, "No drift yet: drift needs a baseline split.") : heat);
}

function qualitySection(buckets: MonitoringBucket[]): HTMLElement {
  const totals = new Map<string, { count: number; missing: number; outOfRange: number; unseen: number }>();
  for (const b of buckets) {
    for (const q of b.quality) {
      const t = totals.get(q.field) ?? { count: 0, missing: 0, outOfRange: 0, unseen: 0 };
      t.count += Number(q.count);
      t.missing += Number(q.missing);
      t.outOfRange += Number(q.outOfRange);
      t.unseen += Number(q.unseen);
      totals.set(q.field, t);
    }
  }
  const rate = (n: number, of: number) => (of === 0 ? undefined : n / of);
  const rows = [...totals].map(([field, t]) =>
    h(
      "tr",
      { "data-field": field },
      h("th", { scope: "row" }, field),
      h("td", {}, num(t.count)),
      h("td", { "data-missing": t.missing }, num(t.missing)),
      h("td", {}, percent(rate(t.missing, t.count))),
      h("td", {}, num(t.outOfRange)),
      h("td", {}, num(t.unseen)),
    ),
  );
  return section(
    "Data quality",
    h("p", { className: "muted" }, "Totals over the buckets shown."),
    rows.length === 0 ? h("p", { className: "muted" }, "No quality figures yet.") : table(["field", "records", "missing", "missing rate", "out of range", "unseen categories"], rows, { className: "quality" }),
  );
}

function splitsSection(res: GetMonitoringResponse): HTMLElement | null {
  if (res.splits.length === 0) return null;
  const metrics = unionOf(res.splits.map((s) => s.result?.performance.map((m) => m.name) ?? []));
  return section(
    "Splits",
    table(
      ["split", "records", "labelled", ...metrics],
      res.splits.map((s) =>
        h(
          "tr",
          { "data-split": s.split },
          h("th", { scope: "row" }, s.split),
          h("td", {}, num(s.result?.counts?.records)),
          h("td", {}, num(s.result?.counts?.labelled)),
          ...metrics.map((m) => h("td", {}, num(value(s.result?.performance ?? [], m)))),
        ),
      ),
    ),
  );
}

function refreshControl(ctx: PageContext, p: Params): HTMLElement {
  const status = h("div", { className: "job-slot" });
  const button = h("button", { type: "button", "data-action": "refresh" }, "Refresh monitoring");
  button.addEventListener("click", () => {
    button.disabled = true;
    ctx.api.monitoring.refreshMonitoring({ project: p.project, collection: p.collection, model: p.model }, { signal: ctx.signal }).then(
      ({ jobId }) => {
        const label = `refresh monitoring of ${p.collection}/${p.model}`;
        rememberJob({ id: jobId, label, startedMs: Date.now() });
        status.replaceChildren(
          jobProgress(ctx, jobId, label, () => {
            // The page redraws on request rather than at once, so the finished job stays in view.
            status.append(h("button", { type: "button", "data-action": "reload", onclick: () => window.dispatchEvent(new HashChangeEvent("hashchange")) }, "Show the new results"));
          }),
        );
      },
      (err: unknown) => {
        button.disabled = false;
        status.replaceChildren(errorBox(err));
      },
    );
  });
  return h("div", { className: "refresh" }, button, status);
}

function modelSummary(model: Model | undefined): string {
  if (model === undefined) return "";
  const threshold = model.decisionThreshold === undefined ? "" : `, threshold ${model.decisionThreshold}`;
  return `${enumName(ScoreType, model.scoreType)}, ${enumName(ModelMode, model.mode)}, label ${model.labelField || "–"}${threshold}`;
}

export async function renderModel(ctx: PageContext, p: Params): Promise<void> {
  const opts = { signal: ctx.signal };
  ctx.root.append(
    breadcrumbs(["Projects", href({ page: "projects" })], p.project, [p.collection, href({ page: "collection", project: p.project, collection: p.collection })], p.model),
    h("h1", {}, p.model),
  );
  let model: Model | undefined;
  let res: GetMonitoringResponse;
  try {
    const granularity = p.granularity === "day" ? ApiGranularity.DAY : ApiGranularity.HOUR;
    [{ model }, res] = await Promise.all([
      ctx.api.catalog.getModel({ project: p.project, collection: p.collection, name: p.model }, opts),
      ctx.api.monitoring.getMonitoring({ project: p.project, collection: p.collection, model: p.model, granularity, splits: ["*"] }, opts),
    ]);
  } catch (err) {
    ctx.root.append(errorBox(err));
    return;
  }
  const buckets = res.buckets;
  ctx.root.append(
    h("p", { className: "muted" }, modelSummary(model)),
    h(
      "div",
      { className: "toolbar" },
      granularityToggle(p),
      h("span", { className: "muted", "data-buckets": buckets.length }, `${buckets.length} ${p.granularity} buckets; last run ${dateTime(res.lastRunTime)}`),
      refreshControl(ctx, p),
    ),
  );
  if (buckets.length === 0) {
    ctx.root.append(section("Performance", h("p", { className: "muted", "data-empty": "buckets" }, "No production buckets yet. Refresh monitoring once production data is in.")));
  } else {
    const charts = chartsSection(buckets);
    ctx.root.append(charts.section);
    charts.draw();
    ctx.root.append(driftSection(buckets, p.granularity), qualitySection(buckets));
  }
  const splits = splitsSection(res);
  if (splits !== null) ctx.root.append(splits);
}

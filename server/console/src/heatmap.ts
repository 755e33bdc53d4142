// Drift per field over time as a table grid: one row per field, one cell per bucket, colored by PSI. A table keeps
// every value reachable as text (title, data-psi) for screen readers and tests, where a canvas would not.
import { h } from "./dom.js";
import { bucketLabel, num } from "./format.js";
import type { Granularity } from "./router.js";

export interface DriftCell {
  psi: number | undefined;
  /** Why PSI is undefined, when the statistic came back without a value. */
  reason: string;
}

/** Conventional PSI reading: under 0.1 stable, 0.1 to 0.25 some shift, above 0.25 a major shift. */
export function psiColor(psi: number): string {
  const t = Math.min(psi / 0.5, 1);
  // Green through amber to red.
  const hue = 130 - 130 * t;
  return `hsl(${hue.toFixed(0)} 70% ${(88 - 38 * t).toFixed(0)}%)`;
}

export function driftHeatmap(fields: string[], bucketsMs: number[], granularity: Granularity, cell: (field: string, bucket: number) => DriftCell | undefined): HTMLElement {
  const head = h("tr", {}, h("th", { scope: "col" }, "field"), ...bucketsMs.map((t) => h("th", { scope: "col", className: "bucket" }, bucketLabel(t, granularity))));
  const rows = fields.map((field) =>
    h(
      "tr",
      { "data-field": field },
      h("th", { scope: "row" }, field),
      ...bucketsMs.map((t) => {
        const c = cell(field, t);
        const iso = new Date(t).toISOString();
        if (c === undefined || c.psi === undefined) {
          const why = c === undefined ? "no data" : c.reason || "undefined";
          return h("td", { className: "cell empty", "data-field": field, "data-bucket": iso, "data-psi": "", title: `${field} @ ${iso}: ${why}` });
        }
        return h(
          "td",
          { className: "cell", "data-field": field, "data-bucket": iso, "data-psi": String(c.psi), title: `${field} @ ${iso}: PSI ${num(c.psi)}`, style: `background:${psiColor(c.psi)}` },
          num(c.psi),
        );
      }),
    ),
  );
  const legend = h(
    "p",
    { className: "legend" },
    "PSI: ",
    h("span", { className: "swatch", style: `background:${psiColor(0)}` }),
    " 0 stable · ",
    h("span", { className: "swatch", style: `background:${psiColor(0.1)}` }),
    " 0.1 · ",
    h("span", { className: "swatch", style: `background:${psiColor(0.25)}` }),
    " 0.25 major shift · ",
    h("span", { className: "swatch", style: `background:${psiColor(0.5)}` }),
    " ≥ 0.5",
  );
  return h("div", { className: "heatmap", "data-buckets": bucketsMs.length, "data-fields": fields.length }, h("table", {}, h("thead", {}, head), h("tbody", {}, ...rows)), legend);
}

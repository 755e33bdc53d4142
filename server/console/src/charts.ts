// Time-series charts with uPlot (about 20 kB gzipped, canvas-drawn). Each chart's figure carries the number of
// points it plots (data-points), so the browser tests can compare it with the buckets the API returned.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { h } from "./dom.js";

export interface Series {
  label: string;
  /** One per x; null leaves a gap (a metric undefined in that bucket). */
  values: (number | null)[];
}

const palette = ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed"];

/**
 * A small line chart over bucket start times (milliseconds). The figure must be in the document before `draw()`:
 * uPlot measures its legend there.
 */
export function lineChart(name: string, title: string, xsMs: number[], series: Series[]): { figure: HTMLElement; draw(width: number): uPlot } {
  const figure = h("figure", { className: "chart", "data-chart": name, "data-points": xsMs.length }, h("figcaption", {}, title));
  const draw = (width: number) =>
    new uPlot(
      {
        width,
        height: 170,
        // Buckets are UTC hours and days, so the axis reads UTC too.
        tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"),
        cursor: { drag: { x: false, y: false } },
        // One series is named by the caption; several need the legend, which also shows values under the cursor.
        legend: { show: series.length > 1 },
        scales: { x: { time: true } },
        axes: [{ stroke: "#555", grid: { stroke: "#eee" } }, { stroke: "#555", grid: { stroke: "#eee" }, size: 56 }],
        series: [
          {},
          ...series.map((s, i) => ({
            label: s.label,
            stroke: palette[i % palette.length],
            width: 2,
            // One bucket is one point: without markers a single-bucket series would draw nothing.
            points: { show: true, size: 6 },
            spanGaps: false,
          })),
        ],
      },
      [xsMs.map((t) => t / 1000), ...series.map((s) => s.values)],
      figure,
    );
  return { figure, draw };
}

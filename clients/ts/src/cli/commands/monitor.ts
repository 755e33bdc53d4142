// `sightline monitor`: a model's metric series over a time range, as a table (or JSON), optionally after a refresh.
import type { Command } from "commander";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { GetMonitoringResponseSchema, Granularity, type MetricValue, type MonitoringBucket } from "../../index.js";
import { err, formatCount, formatTime, messageJson, out, printJson, printTable } from "../output.js";
import { parseEnum } from "../names.js";
import { openSession, type GlobalOptions } from "../session.js";
import { act } from "./action.js";
import { isoTime } from "./args.js";
import { watchJob } from "./jobs.js";

interface MonitorOptions extends GlobalOptions {
  collection: string;
  model: string;
  from?: Date;
  to?: Date;
  granularity: string;
  metrics?: string;
  drift?: boolean;
  refresh?: boolean;
}

function valueText(v: MetricValue | undefined): string {
  if (v === undefined) return "";
  return v.value === undefined ? "n/a" : Number(v.value.toPrecision(4)).toString();
}

function startText(b: MonitoringBucket): string {
  return b.startTime === undefined ? "" : formatTime(timestampDate(b.startTime));
}

function printSeries(buckets: MonitoringBucket[], drift: boolean): void {
  const metrics = [...new Set(buckets.flatMap((b) => b.performance.map((m) => m.name)))];
  printTable(
    ["start", "records", "predictions", "labelled", ...metrics],
    buckets.map((b) => [
      startText(b),
      formatCount(b.counts?.records ?? 0n),
      formatCount(b.counts?.predictions ?? 0n),
      formatCount(b.counts?.labelled ?? 0n),
      ...metrics.map((name) => valueText(b.performance.find((m) => m.name === name))),
    ]),
    new Set(Array.from({ length: metrics.length + 3 }, (_, i) => i + 1)),
  );
  if (!drift) return;
  const fields = [...new Set(buckets.flatMap((b) => b.drift.map((d) => d.field)))];
  out.line();
  out.line(out.style.bold("Drift (PSI against the baseline split)"));
  printTable(
    ["start", ...fields],
    buckets.map((b) => [startText(b), ...fields.map((f) => valueText(b.drift.find((d) => d.field === f)?.statistics.find((s) => s.name === "psi")))]),
    new Set(Array.from({ length: fields.length }, (_, i) => i + 1)),
  );
}

export function registerMonitor(program: Command): void {
  program
    .command("monitor")
    .description("a model's performance per hour or day of event time (and drift with --drift)")
    .requiredOption("-c, --collection <name>", "the data collection")
    .requiredOption("--model <name>", "the model")
    .option("--from <time>", "first bucket start, ISO 8601 (a time without a zone is UTC)", isoTime)
    .option("--to <time>", "end of the range (exclusive), ISO 8601", isoTime)
    .option("--granularity <unit>", "hour or day", "hour")
    .option("--metrics <names>", "performance metrics to show, comma-separated (default: all)")
    .option("--drift", "also show each field's PSI per bucket")
    .option("--refresh", "queue a refresh of the model's buckets and wait for it first")
    .action(
      act(async (o: MonitorOptions) => {
        const granularity = parseEnum(Granularity, o.granularity, "--granularity");
        const session = await openSession(o);
        const project = await session.project();
        const { client } = session;
        if (o.refresh === true) {
          const { jobId } = await client.monitoring.refreshMonitoring({ project, collection: o.collection, model: o.model });
          if (process.stderr.isTTY === true) err.line(err.style.dim(`refresh queued as job ${jobId}`));
          await watchJob(client, jobId, true);
        }
        const r = await client.monitoring.getMonitoring({
          project,
          collection: o.collection,
          model: o.model,
          granularity,
          startTime: o.from === undefined ? undefined : timestampFromDate(o.from),
          endTime: o.to === undefined ? undefined : timestampFromDate(o.to),
          metrics: o.metrics === undefined ? [] : o.metrics.split(",").map((s) => s.trim()),
        });
        if (o.json === true) return printJson(messageJson(GetMonitoringResponseSchema, r));
        if (r.lastRunTime === undefined) out.line(out.style.yellow("the model's monitoring has not run yet (try --refresh)"));
        printSeries(r.buckets, o.drift === true);
      }),
    );
}

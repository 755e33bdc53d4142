// Stored monitoring results as the messages GetMonitoring returns, filtered to the metrics and fields asked for.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  DriftSource,
  Granularity,
  MonitoringBucketSchema,
  type MonitoringBucket,
} from "../gen/sightline/v1/monitoring_service_pb.js";
import type { BucketReport, MetricEntry } from "../monitoring/report.js";

export interface BucketFilter {
  /** Empty for every metric. */
  metrics: ReadonlySet<string>;
  /** Empty for every field. */
  fields: ReadonlySet<string>;
}

/** Ingestion's counts of one bucket, from its marks. */
export interface IngestCounts {
  rejected: Map<string, number>;
  overwritten: number;
}

function metric(e: MetricEntry) {
  return e.value === null ? { name: e.name, undefinedReason: e.reason } : { name: e.name, value: e.value };
}

const emptyReport: BucketReport = {
  counts: { records: 0, predictions: 0, labelled: 0, labelRate: null, unusableLabels: 0, zeroLabels: 0 },
  performance: [],
  confusion: null,
  drift: [],
  quality: [],
};

export function bucketMessage(
  report: BucketReport | undefined,
  bucket: { startMs: number | undefined; granularity: Granularity; computedAt: Date | undefined },
  filter: BucketFilter,
  ingest: IngestCounts | undefined,
): MonitoringBucket {
  const r = report ?? emptyReport;
  const wantField = (name: string) => filter.fields.size === 0 || filter.fields.has(name);
  const init: MessageInitShape<typeof MonitoringBucketSchema> = {
    granularity: bucket.granularity,
    counts: {
      records: BigInt(r.counts.records),
      predictions: BigInt(r.counts.predictions),
      labelled: BigInt(r.counts.labelled),
      ...(r.counts.labelRate === null ? {} : { labelRate: r.counts.labelRate }),
      unusableLabels: BigInt(r.counts.unusableLabels),
      zeroLabels: BigInt(r.counts.zeroLabels),
    },
    performance: r.performance.filter((m) => filter.metrics.size === 0 || filter.metrics.has(m.name)).map(metric),
    drift: r.drift
      .filter((d) => wantField(d.field))
      .map((d) => ({
        field: d.field,
        source: d.source === "feature" ? DriftSource.FEATURE : DriftSource.PREDICTION,
        statistics: d.statistics.map(metric),
        baselineCount: BigInt(d.baselineCount),
        currentCount: BigInt(d.currentCount),
      })),
    quality: r.quality
      .filter((q) => wantField(q.field))
      .map((q) => ({
        field: q.field,
        count: BigInt(q.count),
        missing: BigInt(q.missing),
        rates: q.rates.map(metric),
        outOfRange: BigInt(q.outOfRange),
        unseen: BigInt(q.unseen),
      })),
    rejectedRows: [...(ingest?.rejected ?? new Map<string, number>())].sort(([a], [b]) => a.localeCompare(b)).map(([reason, count]) => ({ reason, count: BigInt(count) })),
    overwrittenRecords: BigInt(ingest?.overwritten ?? 0),
  };
  if (r.confusion !== null) {
    const c = r.confusion;
    init.confusion = {
      trueNegatives: BigInt(c.trueNegatives),
      falsePositives: BigInt(c.falsePositives),
      falseNegatives: BigInt(c.falseNegatives),
      truePositives: BigInt(c.truePositives),
    };
  }
  if (bucket.startMs !== undefined) init.startTime = timestampFromMs(bucket.startMs);
  if (bucket.computedAt !== undefined) init.computeTime = timestampFromMs(bucket.computedAt.getTime());
  return create(MonitoringBucketSchema, init);
}


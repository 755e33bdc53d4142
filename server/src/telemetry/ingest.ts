// Rows that the three ways in (Put, Upload, Stream) wrote, by data kind and outcome.
import { Counter, type Registry } from "prom-client";
import { DataKind, RowErrorReason } from "../gen/sightline/v1/records_pb.js";

/** What a written batch reports; the shape PreparedBatch has, kept minimal so this module depends on no handler. */
export interface WrittenBatch {
  rows: number;
  kinds: readonly DataKind[];
  errors: readonly { reason: RowErrorReason }[];
}

const countedKinds = [DataKind.FEATURES, DataKind.LABELS, DataKind.EXTRA, DataKind.PREDICTIONS, DataKind.INFLUENCES];

function kindLabel(kind: DataKind): string {
  return (DataKind[kind] ?? String(kind)).toLowerCase();
}

export class IngestMetrics {
  private readonly rows: Counter<"kind" | "outcome" | "reason">;

  constructor(registry: Registry) {
    this.rows = new Counter({
      name: "sightline_ingest_rows_total",
      help: "Rows of written batches, per data kind they carried: accepted, or rejected with the row error reason.",
      labelNames: ["kind", "outcome", "reason"],
      registers: [registry],
    });
    for (const kind of countedKinds) this.rows.inc({ kind: kindLabel(kind), outcome: "accepted", reason: "" }, 0);
  }

  /**
   * Counts a batch once its accepted rows are durable. Its rejected rows are counted then too: a batch whose write
   * failed is sent again by the client, and counting its rejections twice would overstate them. A row counts once
   * per kind it carries, as in the WriteSummary's per-kind counts.
   */
  written(batch: WrittenBatch): void {
    const accepted = batch.rows - batch.errors.length;
    const rejected = new Map<string, number>();
    for (const error of batch.errors) {
      const reason = RowErrorReason[error.reason] ?? String(error.reason);
      rejected.set(reason, (rejected.get(reason) ?? 0) + 1);
    }
    for (const kind of batch.kinds) {
      const label = kindLabel(kind);
      if (accepted > 0) this.rows.inc({ kind: label, outcome: "accepted", reason: "" }, accepted);
      for (const [reason, count] of rejected) this.rows.inc({ kind: label, outcome: "rejected", reason }, count);
    }
  }
}

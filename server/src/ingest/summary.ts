// Counts what a call wrote: rows and kinds accepted and rejected, and the first row errors.
import { create } from "@bufbuild/protobuf";
import { KindCountSchema, RowErrorSchema, WriteSummarySchema, type DataKind, type RowError, type WriteSummary } from "../gen/sightline/v1/records_pb.js";
import type { RowErrorInit } from "./rows.js";

export class SummaryBuilder {
  private received = 0;
  private accepted = 0;
  private rejected = 0;
  private batches = 0;
  private readonly kinds = new Map<DataKind, { accepted: number; rejected: number }>();
  private readonly errors: RowError[] = [];

  constructor(private readonly maxRowErrors: number) {}

  add(batch: bigint, rows: number, kinds: DataKind[], errors: RowErrorInit[]): void {
    this.batches += 1;
    this.received += rows;
    this.rejected += errors.length;
    this.accepted += rows - errors.length;
    for (const kind of kinds) {
      const count = this.kinds.get(kind) ?? { accepted: 0, rejected: 0 };
      count.accepted += rows - errors.length;
      count.rejected += errors.length;
      this.kinds.set(kind, count);
    }
    for (const error of errors) {
      if (this.errors.length >= this.maxRowErrors) break;
      this.errors.push(create(RowErrorSchema, { ...error, batch }));
    }
  }

  build(): WriteSummary {
    return create(WriteSummarySchema, {
      rowsReceived: BigInt(this.received),
      rowsAccepted: BigInt(this.accepted),
      rowsRejected: BigInt(this.rejected),
      batches: BigInt(this.batches),
      kinds: [...this.kinds].map(([kind, c]) => create(KindCountSchema, { kind, accepted: BigInt(c.accepted), rejected: BigInt(c.rejected) })),
      rowErrors: this.errors,
    });
  }
}

import { describe, expect, it } from "vitest";
import { toRecordBatch } from "../../clients/ts/src/batch.js";
import { batchBytes } from "../../server/src/ingest/batch-bytes.js";
import { StreamWindow } from "../../server/src/rpc/stream-window.js";

const never = () => new Promise<void>(() => undefined);

describe("StreamWindow", () => {
  it("is full at its batch capacity", () => {
    const w = new StreamWindow<void>(3);
    for (let i = 0; i < 3; i++) {
      expect(w.full).toBe(false);
      w.add(new Set([`r${i}`]), never);
    }
    expect(w.full).toBe(true);
    w.shift();
    expect(w.full).toBe(false);
  });

  it("is full once the batches in flight hold its byte capacity, and always takes one batch", () => {
    const w = new StreamWindow<void>(100, 1000);
    w.add(new Set(["big"]), never, 5000);
    expect(w.full).toBe(true);
    w.shift();
    expect(w.bytes).toBe(0);
    expect(w.full).toBe(false);
    w.add(new Set(["a"]), never, 600);
    expect(w.full).toBe(false);
    w.add(new Set(["b"]), never, 400);
    expect(w.full).toBe(true);
    expect(w.bytes).toBe(1000);
    w.shift();
    expect([w.full, w.bytes, w.size]).toEqual([false, 400, 1]);
  });

  it("starts a batch sharing a record ID only after the earlier one settles, and others at once", async () => {
    const w = new StreamWindow<string>(10);
    const order: string[] = [];
    let release!: () => void;
    w.add(new Set(["x"]), () => new Promise<string>((r) => (release = () => r("first"))).then((v) => (order.push(v), v)));
    w.add(new Set(["x", "y"]), async () => (order.push("second"), "second"));
    w.add(new Set(["z"]), async () => (order.push("other"), "other"));
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual(["other"]);
    release();
    await w.shift()!.done;
    await w.shift()!.done;
    expect(order).toEqual(["other", "first", "second"]);
  });
});

describe("batchBytes", () => {
  it("grows with the rows and the width of string values", () => {
    const rows = (n: number, text: string) =>
      toRecordBatch({
        recordIds: Array.from({ length: n }, (_, i) => `id-${i}`),
        columns: { f: Array.from({ length: n }, () => 1.5), s: Array.from({ length: n }, () => text) },
      });
    const small = batchBytes(rows(1, "a"));
    const many = batchBytes(rows(1000, "a"));
    const wide = batchBytes(rows(1000, "a".repeat(1000)));
    expect(small).toBeLessThan(400);
    expect(many).toBeGreaterThan(1000 * (8 + 8 + 9));
    expect(wide - many).toBe(1000 * 999);
  });
});

// The lease bookkeeping alone, with the mark writes recorded in memory: what is written when, and what a write may rely
// on. That monitoring misses nothing with leases in use is shown against a real server in
// test/integration/mark-leases.test.ts.
import { describe, expect, it } from "vitest";
import { MarkLeases, type MarkLeaseOptions } from "../../server/src/store/mark-leases.js";

interface MarkWrite {
  ct: string;
  hours: number[];
  until: number;
  at: number;
}

function recorder(fail: () => boolean = () => false, delayMs = 0) {
  const writes: MarkWrite[] = [];
  const write = async (ct: string, hours: number[], until: Date) => {
    const at = Date.now();
    await new Promise((r) => setTimeout(r, delayMs));
    if (fail()) throw new Error("mark write failed");
    writes.push({ ct, hours: [...hours], until: until.getTime(), at });
  };
  return { writes, write };
}

const options: MarkLeaseOptions = { leaseMs: 1000, minRemainingMs: 200, renewBelowMs: 700, maxLeases: 50, maxHoursPerWrite: 4 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("mark leases", () => {
  it("writes an hour's mark once, ahead of the writes, and lets later writes rely on it until it runs low", async () => {
    const { writes, write } = recorder();
    const leases = new MarkLeases(write, options);
    const before = Date.now();
    const first = await leases.lease("ct", 1, [3600_000, 7200_000]);
    expect(writes).toHaveLength(1);
    expect(writes[0]!.hours.sort()).toEqual([3600_000, 7200_000]);
    expect(writes[0]!.until).toBeGreaterThanOrEqual(before + options.leaseMs);
    expect(first.get(3600_000)).toBe(writes[0]!.until);
    for (let i = 0; i < 20; i++) {
      const again = await leases.lease("ct", 1, [3600_000]);
      expect(again.get(3600_000)).toBe(writes[0]!.until);
    }
    expect(writes).toHaveLength(1);
  });

  it("renews a lease in use in the background before it runs low, so a steady writer never waits for one", async () => {
    const { writes, write } = recorder(() => false, 20);
    const leases = new MarkLeases(write, options);
    await leases.lease("ct", 1, [0]);
    for (let t = 0; t < 1500; t += 25) {
      const knownBefore = new Set(writes.map((w) => w.until));
      const started = Date.now();
      const got = await leases.lease("ct", 1, [0]);
      // Handed a lease whose mark was already written: this call waited for no mark write.
      expect(knownBefore.has(got.get(0)!)).toBe(true);
      // Whatever a write is handed had at least the minimum left when it asked.
      expect(got.get(0)! - started).toBeGreaterThanOrEqual(options.minRemainingMs);
      await sleep(25);
    }
    // About one renewal per (leaseMs - renewBelowMs).
    expect(writes.length).toBeGreaterThanOrEqual(3);
    expect(writes.length).toBeLessThanOrEqual(10);
    for (let i = 1; i < writes.length; i++) expect(writes[i]!.until).toBeGreaterThan(writes[i - 1]!.until);
  });

  it("takes a new lease after one ran out, and keeps targets, hours and generations apart", async () => {
    const { writes, write } = recorder();
    const leases = new MarkLeases(write, options);
    await leases.lease("ct", 1, [0]);
    await leases.lease("ct", 2, [0]);
    await leases.lease("other", 1, [0]);
    await leases.lease("ct", 1, [3600_000]);
    expect(writes.map((w) => `${w.ct}:${w.hours.join()}`)).toEqual(["ct:0", "ct:0", "other:0", "ct:3600000"]);
    await sleep(options.leaseMs - options.minRemainingMs + 20);
    await leases.lease("ct", 1, [0]);
    expect(writes).toHaveLength(5);
  });

  it("shares one mark write among writes that arrive while it is in flight", async () => {
    const { writes, write } = recorder(() => false, 50);
    const leases = new MarkLeases(write, options);
    const got = await Promise.all(Array.from({ length: 10 }, () => leases.lease("ct", 1, [0])));
    expect(writes).toHaveLength(1);
    for (const g of got) expect(g.get(0)).toBe(writes[0]!.until);
  });

  it("leases nothing for a write over the hour limit, and holds no more leases than its bound", async () => {
    const { writes, write } = recorder();
    const leases = new MarkLeases(write, options);
    expect((await leases.lease("ct", 1, [0, 1, 2, 3, 4])).size).toBe(0);
    expect(writes).toHaveLength(0);
    for (let i = 0; i < 200; i++) await leases.lease("ct", 1, [i * 3600_000]);
    expect(leases.size).toBeLessThanOrEqual(options.maxLeases);
  });

  it("fails a write that needed a new mark when the mark write fails, and then takes one afresh", async () => {
    let failing = true;
    const { writes, write } = recorder(() => failing);
    const leases = new MarkLeases(write, options);
    await expect(leases.lease("ct", 1, [0])).rejects.toThrow("mark write failed");
    failing = false;
    const got = await leases.lease("ct", 1, [0]);
    expect(writes).toHaveLength(1);
    expect(got.get(0)).toBe(writes[0]!.until);
  });

  it("a failed renewal leaves the old lease to run out without failing anyone", async () => {
    let failing = false;
    const { writes, write } = recorder(() => failing);
    const leases = new MarkLeases(write, options);
    const first = await leases.lease("ct", 1, [0]);
    failing = true;
    await sleep(options.leaseMs - options.renewBelowMs + 20);
    // This one triggers the renewal, which fails; the lease it is handed is the old one.
    expect((await leases.lease("ct", 1, [0])).get(0)).toBe(first.get(0));
    await sleep(options.leaseMs);
    await expect(leases.lease("ct", 1, [0])).rejects.toThrow("mark write failed");
    expect(writes).toHaveLength(1);
  });
});

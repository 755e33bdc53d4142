// The demo that `npm start` prints runs through the public API against a real server.
import { afterAll, beforeAll, expect, it } from "vitest";
import { runDemo } from "../../server/dev/demo.js";
import { isolation, startServerProcess, startWorkerProcess, type ChildHandle, type ServerHandle } from "../harness/processes.js";

const iso = isolation("demo");
let server: ServerHandle;
let worker: ChildHandle;
beforeAll(async () => {
  server = await startServerProcess(iso);
  worker = await startWorkerProcess(iso);
});
afterAll(async () => {
  await worker?.stop();
  await server?.stop();
});

it("creates the demo catalog and sends real data, and again from scratch on a second run", async () => {
  for (let run = 0; run < 2; run++) {
    const demo = await runDemo(server.url, iso.adminKey);
    expect(demo.apiKey).toMatch(/^slk_/);
    expect(demo.lines.find((l) => l.startsWith("split       train"))).toContain("baseline");
    expect(demo.lines.some((l) => l.startsWith("model       default-risk: PROBITS, DATA_ONLY, threshold 0.35"))).toBe(true);
    expect(demo.lines.some((l) => /^refused {5}removing a field: FailedPrecondition/.test(l))).toBe(true);
    // Real data: 100 iris flowers uploaded, 50 streamed, 40 labelled late, one bad row refused, stats from the worker.
    expect(demo.lines).toContain("upload      iris train split: 100 rows accepted, 0 rejected");
    expect(demo.lines).toContain("stream      iris production: 50 predictions, one per message, 50 acked as durable");
    expect(demo.lines).toContain("put         late labels by record ID: 40 of 50 production flowers");
    expect(demo.lines.find((l) => l.startsWith("rejected"))).toMatch(/flower-999: petal_length -1 is outside \[0, 10\]/);
    expect(demo.lines).toContain("stats       split train: 100 records (features 100, labels 100, extra 100; virginica: predictions 0)");
    expect(demo.lines).toContain("stats       production: 50 records (features 50, labels 40, extra 0; virginica: predictions 50)");
    expect(demo.lines).toContain("stats       production labelled fraction 0.80");
    expect(demo.lines.find((l) => l.startsWith("monitor     job"))).toMatch(/^monitor {5}job monitoring:\S+: \d+ hours and \d+ days computed/);
    const days = demo.lines.filter((l) => /^monitor {5}\d{4}-\d\d-\d\d: /.test(l)).map((l) => /: (\d+) predictions, (\d+) labelled/.exec(l)!);
    expect(days.reduce((n, m) => n + Number(m[1]), 0)).toBe(50);
    expect(days.reduce((n, m) => n + Number(m[2]), 0)).toBe(40);
  }
});

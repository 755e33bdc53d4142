// The demo that `npm start` prints runs through the public API against a real server.
import { afterAll, beforeAll, expect, it } from "vitest";
import { runDemo } from "../../server/dev/demo.js";
import { isolation, startServerProcess, type ServerHandle } from "../harness/processes.js";

const iso = isolation("demo");
let server: ServerHandle;
beforeAll(async () => {
  server = await startServerProcess(iso);
});
afterAll(async () => server?.stop());

it("creates the demo catalog, and again from scratch on a second run", async () => {
  for (let run = 0; run < 2; run++) {
    const demo = await runDemo(server.url, iso.adminKey);
    expect(demo.apiKey).toMatch(/^slk_/);
    expect(demo.lines.find((l) => l.startsWith("split       train"))).toContain("baseline");
    expect(demo.lines.some((l) => l.startsWith("model       default-risk: PROBITS, DATA_ONLY, threshold 0.35"))).toBe(true);
    expect(demo.lines.at(-1)).toMatch(/^refused {5}removing a field: FailedPrecondition/);
  }
});

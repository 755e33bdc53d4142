// The web console in a real browser (Debian's chromium through playwright-core) against a real server and worker:
// the server's HTTP/1.1 console port serves the built app (npm run build:console) and the Connect protocol it calls.
// Data goes in through the TypeScript client over gRPC; what the pages show is compared with what the API returns.
import { mkdirSync, statSync } from "node:fs";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AdminService,
  createSightlineClient,
  FieldKind,
  FieldType,
  Granularity,
  JobState,
  ModelMode,
  ScoreType,
  SplitType,
  type BatchInput,
  type GetMonitoringResponse,
  type SightlineClient,
} from "../../clients/ts/src/index.js";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../server/src/gen/grpc/health/v1/health_pb.js";
import { isolation, startServerProcess, startWorkerProcess, type ChildHandle, type ServerHandle } from "../harness/processes.js";
import { httpsGet, selfSignedCert, type SelfSignedCert } from "../harness/tls.js";

const P = "console";
const OTHER = "elsewhere";
const C = "loans";
const M = "clf";
const hourMs = 3_600_000;
// Six hours across a UTC midnight: six hour buckets, two day buckets.
const firstHour = Date.UTC(2026, 0, 1, 21);
const hours = 6;
const perHour = 30;
const withoutPredictions = 10;
const productionRecords = hours * perHour + 1 + withoutPredictions;
const baselineRecords = 200;
const lookupId = "lookup-1";
const screenshots = new URL("../../.dev/screenshots/", import.meta.url).pathname;

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** `count` rows; `shift` moves income and the segment mix, so later hours drift further from the baseline. */
function rows(prefix: string, count: number, seed: number, shift: number, times?: (i: number) => number): BatchInput {
  const next = seeded(seed);
  const ids: string[] = [];
  const income: number[] = [];
  const age: bigint[] = [];
  const segment: string[] = [];
  const region: string[] = [];
  const defaulted: boolean[] = [];
  const score: number[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(`${prefix}-${i}`);
    income.push(Math.round(30_000 + next() * 60_000 + shift * 9_000));
    age.push(BigInt(20 + Math.floor(next() * 50)));
    segment.push(next() < 0.2 + shift * 0.12 ? "c" : next() < 0.5 ? "a" : "b");
    region.push(next() < 0.5 ? "north" : "south");
    const p = Math.round(next() * 1000) / 1000;
    score.push(p);
    defaulted.push(next() < p);
  }
  return {
    recordIds: ids,
    ...(times === undefined ? {} : { eventTimes: ids.map((_, i) => times(i)) }),
    columns: { income, age, segment, region, defaulted },
    predictions: { score },
  };
}

async function seed(client: SightlineClient): Promise<string> {
  await client.admin.createProject({ project: { name: P, displayName: "Console demo" } });
  await client.admin.createProject({ project: { name: OTHER } });
  await client.catalog.createDataCollection({
    collection: {
      project: P,
      name: C,
      schema: {
        recordIdColumn: "id",
        timestampColumn: "ts",
        fields: [
          { name: "income", kind: FieldKind.FEATURE, type: FieldType.DOUBLE, range: { min: 0 } },
          { name: "age", kind: FieldKind.FEATURE, type: FieldType.INT64 },
          { name: "segment", kind: FieldKind.FEATURE, type: FieldType.CATEGORICAL, categories: ["a", "b", "c"] },
          { name: "region", kind: FieldKind.EXTRA, type: FieldType.STRING, nullable: true },
          { name: "defaulted", kind: FieldKind.LABEL, type: FieldType.BOOL, nullable: true },
        ],
      },
    },
  });
  await client.catalog.createSplit({ split: { project: P, collection: C, name: "train", type: SplitType.TRAIN } });
  await client.catalog.setBaselineSplit({ project: P, collection: C, name: "train" });
  await client.catalog.createModel({
    model: {
      project: P,
      collection: C,
      name: M,
      scoreType: ScoreType.PROBITS,
      mode: ModelMode.DATA_ONLY,
      predictionFields: [{ name: "score", type: FieldType.DOUBLE }],
      labelField: "defaulted",
    },
  });
  const train = await client.upload({ project: P, collection: C, destination: { case: "split", value: "train" }, model: M }, [rows("t", baselineRecords, 1, 0)]);
  expect(train.rowErrors).toEqual([]);
  const production = { project: P, collection: C, destination: { case: "production" as const, value: true as const }, model: M };
  const batches = Array.from({ length: hours }, (_, h) => rows(`h${h}`, perHour, 10 + h, h, (i) => firstHour + h * hourMs + i * 60_000));
  const summary = await client.upload(production, batches);
  expect(summary.rowErrors).toEqual([]);
  // Features without predictions: completeness below 100%.
  const bare = rows("bare", withoutPredictions, 99, 0, (i) => firstHour + i * 60_000);
  delete bare.predictions;
  expect((await client.upload({ ...production, model: "" }, [bare])).rowErrors).toEqual([]);
  // The lookup record: features, extra data and the prediction first, the label later, joined by ID.
  const first = await client.put(production, {
    recordIds: [lookupId],
    eventTimes: [firstHour + 2 * hourMs + 30 * 60_000],
    columns: { income: [51_234.5], age: [42n], segment: ["b"], region: ["north"] },
    predictions: { score: [0.8125] },
  });
  expect(first.rowErrors).toEqual([]);
  expect((await client.put({ ...production, model: "" }, { recordIds: [lookupId], columns: { defaulted: [true] } })).rowErrors).toEqual([]);
  const { jobId } = await client.monitoring.refreshMonitoring({ project: P, collection: C, model: M });
  const done = await client.waitForJob(jobId);
  expect(done.state, done.message).toBe(JobState.COMPLETED);
  return jobId;
}

/** Waits for the statistics job to have counted every production record written above. */
async function statsCounted(client: SightlineClient): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { stats } = await client.catalog.getCollectionStats({ project: P, collection: C });
    const modelStats = stats?.targets.find((t) => t.production)?.models.find((m) => m.model === M);
    if (stats !== undefined && Number(stats.productionRecords) === productionRecords && modelStats !== undefined) return;
    expect(Date.now(), "the statistics job counts the production records").toBeLessThan(deadline);
    await new Promise((r) => setTimeout(r, 300));
  }
}

function psiOf(res: GetMonitoringResponse): Map<string, string> {
  const out = new Map<string, string>();
  for (const b of res.buckets) {
    const at = new Date(timestampMs(b.startTime!)).toISOString();
    for (const d of b.drift) {
      const psi = d.statistics.find((s) => s.name === "psi")?.value;
      out.set(`${d.field}@${at}`, psi === undefined ? "" : String(psi));
    }
  }
  return out;
}

describe("web console", () => {
  const iso = isolation("console");
  let server: ServerHandle;
  let worker: ChildHandle;
  let client: SightlineClient;
  let consoleUrl: string;
  let projectKey: string;
  let otherKey: string;
  let setupJobId: string;
  let browser: Browser;
  let page: Page;
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];
  const saved: string[] = [];

  async function ready(name: string): Promise<void> {
    await page.waitForSelector(`.page[data-page="${name}"][data-ready="true"]`);
  }

  async function shot(name: string): Promise<void> {
    const path = `${screenshots}${name}.png`;
    await page.screenshot({ path, fullPage: true });
    saved.push(path);
  }

  async function signIn(key: string): Promise<void> {
    await page.goto(`${consoleUrl}#/login`);
    await page.fill('input[name="apiKey"]', key);
    await page.click('form.login button[type="submit"]');
  }

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    // A short grace period, for the shutdown test at the end.
    server = await startServerProcess(iso, { SIGHTLINE_CONSOLE_PORT: "0", SIGHTLINE_SHUTDOWN_GRACE_MS: "2000" });
    const listening = JSON.parse(await server.waitForLine(/"msg":"listening"/)) as { consolePort?: number };
    expect(listening.consolePort, "the listening line names the console port").toBeTypeOf("number");
    consoleUrl = `http://127.0.0.1:${listening.consolePort}/`;
    worker = await startWorkerProcess(iso, { SIGHTLINE_STATS_INTERVAL_MS: "1000" });
    client = createSightlineClient({ url: server.url, apiKey: iso.adminKey });
    setupJobId = await seed(client);
    projectKey = (await client.admin.createApiKey({ project: P, displayName: "console test" })).secret;
    otherKey = (await client.admin.createApiKey({ project: OTHER })).secret;
    await statsCounted(client);
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    page.on("console", (msg) => {
      if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
    });
    page.on("pageerror", (err) => pageErrors.push(err.message));
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    await server?.stop();
    if (saved.length > 0) process.stdout.write(`console screenshots:\n${saved.map((p) => `  ${p}`).join("\n")}\n`);
  });

  it("serves the built console over HTTP/1.1 with caching and security headers", async () => {
    const index = await fetch(consoleUrl);
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(index.headers.get("cache-control")).toBe("no-cache");
    expect(index.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await index.text();
    const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script, html).toBeDefined();
    const asset = await fetch(new URL(script!, consoleUrl), { headers: { "accept-encoding": "gzip" } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-encoding")).toBe("gzip");
    expect(asset.headers.get("cache-control")).toContain("immutable");
    const etag = asset.headers.get("etag")!;
    expect((await fetch(new URL(script!, consoleUrl), { headers: { "if-none-match": etag } })).status).toBe(304);
    expect((await fetch(new URL("/assets/nope.js", consoleUrl))).status).toBe(404);
    // Only the build's own files: nothing outside the directory is reachable.
    expect((await fetch(new URL("/../package.json", consoleUrl))).status).toBe(404);
  });

  it("answers the Connect protocol and gRPC-Web on the console port with the main port's authentication", async () => {
    const call = (key?: string) =>
      fetch(new URL("/sightline.v1.AdminService/ListProjects", consoleUrl), {
        method: "POST",
        headers: { "content-type": "application/json", ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) },
        body: "{}",
      });
    const anonymous = await call();
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { code: string }).code).toBe("unauthenticated");
    const own = await call(projectKey);
    expect(own.status).toBe(200);
    expect(((await own.json()) as { projects: { name: string }[] }).projects.map((p) => p.name)).toEqual([P]);
    const grpcWeb = createClient(AdminService, createGrpcWebTransport({ baseUrl: consoleUrl, httpVersion: "1.1" }));
    const other = await grpcWeb.listProjects({}, { headers: { authorization: `Bearer ${otherKey}` } });
    expect(other.projects.map((p) => p.name)).toEqual([OTHER]);
    const noKey = await grpcWeb.listProjects({}).catch((e: unknown) => e);
    expect(noKey).toBeInstanceOf(ConnectError);
    expect((noKey as ConnectError).code).toBe(Code.Unauthenticated);
  });

  it("refuses a wrong key at sign-in and keeps the key for the tab only", async () => {
    await page.goto(consoleUrl);
    // Without a key every page leads to sign-in.
    await page.waitForSelector('.page[data-page="login"] input[name="apiKey"]');
    await shot("console-login");
    await signIn("not-a-key");
    await page.waitForSelector('.page[data-page="login"] .error[data-code="Unauthenticated"]');
    expect(await page.evaluate(() => sessionStorage.getItem("sightline.apiKey"))).toBeNull();
  });

  it("signs in with a project key and lists the project's collections", async () => {
    await signIn(projectKey);
    await ready("projects");
    expect(await page.evaluate(() => sessionStorage.getItem("sightline.apiKey"))).toBe(projectKey);
    expect(await page.locator("[data-project]").evaluateAll((els) => els.map((e) => e.getAttribute("data-project")))).toEqual([P]);
    await page.waitForSelector(`[data-project="${P}"] a[data-collection="${C}"]`);
    await shot("console-projects");
  });

  it("shows the schema, per-kind counts from GetCollectionStats and completeness per model", async () => {
    await page.click(`a[data-collection="${C}"]`);
    await ready("collection");
    expect(await page.locator("table.schema tr[data-field]").evaluateAll((els) => els.map((e) => e.getAttribute("data-field")))).toEqual([
      "income",
      "age",
      "segment",
      "region",
      "defaulted",
    ]);
    expect(await page.textContent('table.schema tr[data-field="segment"]')).toContain("a, b, c");
    const cell = (target: string, kind: string) => page.textContent(`table.stats tr[data-target="${target}"] td[data-kind="${kind}"]`);
    expect(await cell("production", "RECORDS")).toBe(String(productionRecords));
    expect(await cell("production", "FEATURES")).toBe(String(productionRecords));
    // Every production record has a label, the lookup record's from a later call than its features.
    expect(await cell("production", "LABELS")).toBe(String(productionRecords));
    expect(await cell("production", "EXTRA")).toBe(String(productionRecords));
    expect(await cell("split:train", "FEATURES")).toBe(String(baselineRecords));
    const completeness = page.locator(`table.completeness tr[data-target="production"][data-model="${M}"]`);
    expect(await completeness.locator("td[data-kind=PREDICTIONS]").textContent()).toBe(String(productionRecords - withoutPredictions));
    expect(await completeness.locator("td[data-missing]").getAttribute("data-missing")).toBe(String(withoutPredictions));
    expect(await completeness.locator("td[data-completeness]").getAttribute("data-completeness")).toBe(((productionRecords - withoutPredictions) / productionRecords).toFixed(4));
    await shot("console-collection");
  });

  it("charts the model's performance per hour and per day from GetMonitoring", async () => {
    const hourly = await client.monitoring.getMonitoring({ project: P, collection: C, model: M, granularity: Granularity.HOUR, splits: ["*"] });
    const daily = await client.monitoring.getMonitoring({ project: P, collection: C, model: M, granularity: Granularity.DAY, splits: ["*"] });
    expect(hourly.buckets.length).toBe(hours);
    expect(daily.buckets.length).toBe(2);
    const metrics = [...new Set(hourly.buckets.flatMap((b) => b.performance.map((m) => m.name)))];
    expect(metrics).toContain("roc_auc");

    await page.click(`a[data-model="${M}"]`);
    await page.waitForSelector('.page[data-ready="true"] a[data-granularity="hour"][aria-current="page"]');
    const figures = page.locator("figure.chart");
    expect(await figures.evaluateAll((els) => els.map((e) => e.getAttribute("data-chart")))).toEqual(["counts", ...metrics]);
    for (const points of await figures.evaluateAll((els) => els.map((e) => e.getAttribute("data-points")))) expect(points).toBe(String(hours));
    // uPlot drew each chart on a canvas of the figure's width.
    const canvases = await page.locator("figure.chart canvas").evaluateAll((els) => els.map((c) => (c as HTMLCanvasElement).width));
    expect(canvases.length).toBe(metrics.length + 1);
    for (const width of canvases) expect(width).toBeGreaterThan(200);
    expect(await page.getAttribute("[data-buckets]", "data-buckets")).toBe(String(hours));
    await shot("console-model");
    await page.screenshot({ path: `${screenshots}console-model-top.png` });
    saved.push(`${screenshots}console-model-top.png`);

    await page.click('a[data-granularity="day"]');
    await page.waitForSelector('.page[data-ready="true"] a[data-granularity="day"][aria-current="page"]');
    for (const points of await page.locator("figure.chart").evaluateAll((els) => els.map((e) => e.getAttribute("data-points")))) expect(points).toBe(String(daily.buckets.length));
    expect(await page.locator("figure.chart canvas").count()).toBe(metrics.length + 1);

    await page.click('a[data-granularity="hour"]');
    await page.waitForSelector('.page[data-ready="true"] a[data-granularity="hour"][aria-current="page"]');
    expect(await page.getAttribute('figure[data-chart="counts"]', "data-points")).toBe(String(hours));
  });

  it("draws drift as a heat map with one cell per field and bucket, colored by PSI", async () => {
    const hourly = await client.monitoring.getMonitoring({ project: P, collection: C, model: M, granularity: Granularity.HOUR });
    const expected = psiOf(hourly);
    const fields = [...new Set(hourly.buckets.flatMap((b) => b.drift.map((d) => d.field)))];
    expect(fields).toEqual(expect.arrayContaining(["income", "age", "segment", "score"]));
    const heat = page.locator(".heatmap");
    expect(await heat.getAttribute("data-fields")).toBe(String(fields.length));
    expect(await heat.getAttribute("data-buckets")).toBe(String(hours));
    const cells = await page.locator(".heatmap td.cell").evaluateAll((els) =>
      els.map((e) => ({ key: `${e.getAttribute("data-field")}@${e.getAttribute("data-bucket")}`, psi: e.getAttribute("data-psi"), color: (e as HTMLElement).style.backgroundColor })),
    );
    expect(cells.length).toBe(fields.length * hours);
    expect(new Map(cells.map((c) => [c.key, c.psi]))).toEqual(expected);
    // Cells with a value are colored, and a larger shift reads as a different color.
    const income = cells.filter((c) => c.key.startsWith("income@") && c.psi !== "");
    expect(income.length).toBe(hours);
    for (const c of income) expect(c.color).not.toBe("");
    expect(new Set(income.map((c) => c.color)).size).toBeGreaterThan(1);
    // Data quality lists every field with figures.
    const quality = new Set(hourly.buckets.flatMap((b) => b.quality.map((q) => q.field)));
    expect(new Set(await page.locator("table.quality tr[data-field]").evaluateAll((els) => els.map((e) => e.getAttribute("data-field"))))).toEqual(quality);
    await page.locator(".heatmap").screenshot({ path: `${screenshots}console-drift.png` });
    saved.push(`${screenshots}console-drift.png`);
  });

  it("follows a refresh job live with WatchJob, on the model page and the jobs page", async () => {
    await page.click('button[data-action="refresh"]');
    const row = page.locator(".job-slot .job[data-job]");
    await row.waitFor();
    const jobId = await row.getAttribute("data-job");
    expect(jobId).toMatch(/^monitoring:/);
    await page.waitForSelector(`.job-slot .job[data-job="${jobId}"][data-progress="100"] .state[data-state="COMPLETED"]`, { timeout: 60_000 });
    await page.click('a[href="#/jobs"]');
    await ready("jobs");
    await page.waitForSelector(`.job[data-job="${jobId}"] .state[data-state="COMPLETED"]`);
    // Any job by ID: the one the test's own client started before the browser came in.
    await page.fill('input[name="jobId"]', setupJobId);
    await page.click('form.inline button[type="submit"]');
    await page.waitForSelector(`.job[data-job="${setupJobId}"] .state[data-state="COMPLETED"]`);
    expect(await page.textContent(`.job[data-job="${setupJobId}"]`)).toContain("recomputed");
    await shot("console-jobs");
    // An ID that names no job is reported, not left spinning.
    await page.goto(`${consoleUrl}#/jobs?watch=monitoring:999999`);
    await page.waitForSelector('.job[data-job="monitoring:999999"] .error[data-code="NotFound"]');
  });

  it("looks a record up by ID and shows every kind joined", async () => {
    await page.goto(`${consoleUrl}#/p/${P}/c/${C}`);
    await ready("collection");
    await page.fill('form[data-form="lookup"] input[name="recordId"]', lookupId);
    await page.click('form[data-form="lookup"] button[type="submit"]');
    await ready("record");
    const target = page.locator('[data-target="production"]');
    const kind = (k: string, model?: string) => target.locator(`section[data-kind="${k}"]${model === undefined ? "" : `[data-model="${model}"]`}`);
    const value = (k: string, field: string, model?: string) => kind(k, model).locator(`tr[data-field="${field}"] td`).textContent();
    expect(await kind("FEATURES").getAttribute("data-present")).toBe("true");
    expect(await value("FEATURES", "income")).toBe("51,234.5");
    expect(await value("FEATURES", "age")).toBe("42");
    expect(await value("FEATURES", "segment")).toBe("b");
    expect(await value("EXTRA", "region")).toBe("north");
    // The label came in a later call than the features; the lookup joins them.
    expect(await kind("LABELS").getAttribute("data-present")).toBe("true");
    expect(await value("LABELS", "defaulted")).toBe("true");
    expect(await kind("PREDICTIONS", M).getAttribute("data-present")).toBe("true");
    expect(await value("PREDICTIONS", "score", M)).toBe("0.8125");
    // No influences were sent for it.
    expect(await kind("INFLUENCES", M).getAttribute("data-present")).toBe("false");
    // Production only: the train split has no such ID.
    expect(await page.getAttribute("[data-found]", "data-found")).toBe("1");
    await shot("console-record");
    await page.fill('form[data-form="lookup"] input[name="recordId"]', "no-such-record");
    await page.click('form[data-form="lookup"] button[type="submit"]');
    await page.waitForSelector('.page[data-ready="true"] [data-found="0"]');
  });

  it("a key of another project sees only its own project and is refused this one", async () => {
    await page.click('button[data-action="sign-out"]');
    await page.waitForSelector('.page[data-page="login"]');
    expect(await page.evaluate(() => sessionStorage.getItem("sightline.apiKey"))).toBeNull();
    await signIn(otherKey);
    await ready("projects");
    expect(await page.locator("[data-project]").evaluateAll((els) => els.map((e) => e.getAttribute("data-project")))).toEqual([OTHER]);
    expect(await page.locator(`a[data-collection]`).count()).toBe(0);
    expect(await page.textContent("#nav .key")).toBe(`key ${otherKey.split(".")[0]}`);
    for (const path of [`#/p/${P}/c/${C}`, `#/p/${P}/c/${C}/m/${M}?g=hour`, `#/p/${P}/c/${C}/records?id=${lookupId}`]) {
      await page.goto(`${consoleUrl}${path}`);
      await page.waitForSelector('.page[data-ready="true"] .error[data-code="PermissionDenied"]');
      expect(await page.locator("figure.chart, .heatmap, section[data-kind]").count(), path).toBe(0);
    }
  });

  it("ran without Content-Security-Policy violations or script errors", () => {
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
    for (const path of saved) expect(statSync(path).size, path).toBeGreaterThan(1000);
  });

  it("drains calls on the console port at shutdown, then cuts them when the grace period ends", async () => {
    await browser.close();
    const health = createClient(Health, createConnectTransport({ baseUrl: consoleUrl, httpVersion: "1.1" }));
    const seen: Serving[] = [];
    // A watch of an unknown service stays open until cancelled (health watches of known services end at a drain):
    // it holds the console port busy through the whole grace period.
    const watching = (async () => {
      for await (const res of health.watch({ service: "no.such.Service" })) {
        seen.push(res.status);
        server.process.kill("SIGTERM");
      }
    })().then(
      () => undefined,
      (err: unknown) => ConnectError.from(err),
    );
    const started = Date.now();
    const [ended, code] = await Promise.all([watching, server.exited]);
    const took = Date.now() - started;
    expect(code).toBe(0);
    expect(seen).toEqual([Serving.SERVICE_UNKNOWN]);
    if (ended !== undefined) expect(Code[ended.code]).toBe(Code[Code.Unavailable]);
    // The server waited for the console call for its 2 s grace period (not the default 10 s), then cut it.
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(8000);
    expect(server.lines.some((l) => l.includes("grace period over"))).toBe(true);
  });
});

describe("web console on the main port with TLS", () => {
  const iso = isolation("consoletls");
  let tls: SelfSignedCert;
  let server: ServerHandle;
  let browser: Browser;

  beforeAll(async () => {
    tls = await selfSignedCert("console");
    // No console port: with TLS, ALPN admits browsers on the main port.
    server = await startServerProcess(iso, tls.env);
    await createSightlineClient({ url: server.url, apiKey: iso.adminKey, ca: tls.ca }).admin.createProject({ project: { name: "tls" } });
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await tls?.remove();
  });

  it("serves the console over HTTPS/1.1 next to gRPC", async () => {
    const res = await httpsGet(server.port, "/", tls.ca);
    expect(res.version).toBe("1.1");
    expect(res.status).toBe(200);
    expect(res.contentType).toBe("text/html; charset=utf-8");
    expect(res.body).toContain('<main id="app">');
  });

  it("works in a browser, which signs in and lists projects over the TLS port", async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(`https://127.0.0.1:${server.port}/#/login`);
    await page.fill('input[name="apiKey"]', iso.adminKey);
    await page.click('form.login button[type="submit"]');
    await page.waitForSelector('.page[data-page="projects"][data-ready="true"]');
    expect(await page.locator("[data-project]").evaluateAll((els) => els.map((e) => e.getAttribute("data-project")))).toEqual(["tls"]);
    // The admin key is not a project key: nothing of it is shown.
    expect(await page.textContent("#nav .key")).toBe("signed in");
    await context.close();
  });
});

// Prometheus metrics of real server and worker processes: /metrics over h2c on the main port and over HTTP/1.1 on
// the metrics ports, a strictly valid exposition, counters that move by exactly the traffic sent, histograms whose
// buckets agree, queue depths read at scrape time, and a scrape that still answers while Redis hangs.
import http from "node:http";
import http2 from "node:http2";
import { Code } from "@connectrpc/connect";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  createSightlineClient,
  FieldKind,
  FieldType,
  RowErrorReason,
  SplitType,
  toRecordBatch,
  type BatchInput,
  type SightlineClient,
  type StreamResponse,
  type TargetInit,
} from "../../clients/ts/src/index.js";
import type { ComputeChunkData } from "../../server/src/jobs/compute-spec.js";
import { computeChunkQueueName } from "../../server/src/jobs/queues.js";
import { queueReadTimeoutMs, queueStates } from "../../server/src/telemetry/queues.js";
import { parseExposition, Scrape, type Labels } from "../harness/exposition.js";
import { isolation, startServerProcess, startWorkerProcess, type ChildHandle, type ServerHandle } from "../harness/processes.js";
import { startPrivateRedis, type PrivateRedis } from "../harness/redis.js";
import { httpsGet, selfSignedCert, type SelfSignedCert } from "../harness/tls.js";
import { eventually } from "../harness/eventually.js";

// Customer identifiers: none of them may appear anywhere in an exposition.
const P = "acme-quiet-proj";
const C = "payroll-hidden";
const SPLIT = "train";
const target: TargetInit = { project: P, collection: C, destination: { case: "split", value: SPLIT } };
const queueNames = ["collection-stats", "monitoring", "compute", "compute-chunk"];

interface Response {
  status: number;
  contentType: string;
  body: string;
}

/** GET over HTTP/2 with prior knowledge (h2c): what `curl --http2-prior-knowledge` does. */
async function getH2c(port: number, path: string): Promise<Response> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    return await new Promise<Response>((resolve, reject) => {
      session.once("error", reject);
      const req = session.request({ ":method": "GET", ":path": path });
      req.once("error", reject);
      req.once("response", (headers) => {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (chunk: string) => (body += chunk));
        req.once("end", () => resolve({ status: Number(headers[":status"]), contentType: String(headers["content-type"]), body }));
      });
      req.end();
    });
  } finally {
    session.close();
  }
}

/** A plain HTTP/1.1 request, as Prometheus makes it. */
async function getHttp1(port: number, path: string, method = "GET"): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method, agent: false }, (res) => {
      if (res.httpVersion !== "1.1") reject(new Error(`answered over HTTP/${res.httpVersion}`));
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.once("end", () => resolve({ status: res.statusCode ?? 0, contentType: res.headers["content-type"] ?? "", body }));
    });
    req.once("error", reject);
    req.end();
  });
}

function expectExposition(res: Response): Scrape {
  expect(res.status).toBe(200);
  expect(res.contentType).toMatch(/^text\/plain; version=0\.0\.4(;|$)/);
  // Labels carry method names, codes, kinds, reasons, queues and commands, never customer names.
  expect(res.body).not.toContain(P);
  expect(res.body).not.toContain(C);
  return Scrape.parse(res.body);
}

async function scrapeH2c(port: number): Promise<Scrape> {
  return expectExposition(await getH2c(port, "/metrics"));
}

async function scrapeHttp1(port: number): Promise<Scrape> {
  return expectExposition(await getHttp1(port, "/metrics"));
}

function metricsPortOf(child: ChildHandle): Promise<number> {
  return child.waitForLine(/"msg":"metrics listening"/).then((line) => (JSON.parse(line) as { metricsPort: number }).metricsPort);
}

/** How much each listed series moved between two scrapes. */
function deltas(before: Scrape, after: Scrape, sample: string, series: Labels[]): number[] {
  return series.map((labels) => after.value(sample, labels) - before.value(sample, labels));
}

function rpc(service: string, method: string, type: string): Labels {
  return { grpc_service: `sightline.v1.${service}`, grpc_method: method, grpc_type: type };
}

// ---------------------------------------------------------------------------------------------------------------------

describe("the exposition reader refuses what Prometheus would", () => {
  const valid = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 2\n";
  it("accepts a well-formed family", () => {
    expect(parseExposition(valid).get("a_total")!.samples).toEqual([{ name: "a_total", labels: { x: "1" }, value: 2 }]);
  });
  it("reads special values as Go's ParseFloat does, in any case", () => {
    const text = '# HELP g G.\n# TYPE g gauge\ng{v="a"} Nan\ng{v="b"} +Inf\ng{v="c"} -inf\ng{v="d"} 1.5e-3 1700000000000\n';
    expect(parseExposition(text).get("g")!.samples.map((s) => s.value)).toEqual([NaN, Infinity, -Infinity, 0.0015]);
  });
  it.each([
    ["no final newline", valid.slice(0, -1)],
    ["a number Go cannot parse", "# HELP a A.\n# TYPE a gauge\na 1.2.3\n"],
    ["a sample without TYPE", "a 1\n"],
    ["a bad label escape", '# HELP a A.\n# TYPE a gauge\na{x="\\q"} 1\n'],
    ["an unquoted label value", "# HELP a A.\n# TYPE a gauge\na{x=1} 1\n"],
    ["a non-number value", "# HELP a A.\n# TYPE a gauge\na one\n"],
    ["a duplicate series", "# HELP a A.\n# TYPE a gauge\na 1\na 2\n"],
    ["a family split in two groups", "# HELP a A.\n# TYPE a gauge\na 1\n# HELP b B.\n# TYPE b gauge\nb 1\n# HELP a A.\n"],
    ["a negative counter", "# HELP a_total A.\n# TYPE a_total counter\na_total -1\n"],
    ["a sample of another family", "# HELP a A.\n# TYPE a gauge\nb 1\n"],
    [
      "a histogram whose +Inf bucket is not its count",
      '# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n',
    ],
    ["a histogram whose buckets are not cumulative", '# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ["a histogram without _sum", '# HELP h H.\n# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\n'],
  ])("refuses %s", (_, text) => {
    expect(() => parseExposition(text)).toThrow();
  });
});

describe("server and worker metrics", () => {
  const iso = isolation("metrics");
  let server: ServerHandle;
  let worker: ChildHandle;
  let serverMetricsPort: number;
  let workerMetricsPort: number;
  let client: SightlineClient;

  beforeAll(async () => {
    [server, worker] = await Promise.all([
      startServerProcess(iso, { SIGHTLINE_METRICS_PORT: "0" }),
      startWorkerProcess(iso, { SIGHTLINE_WORKER_METRICS_PORT: "0", SIGHTLINE_STATS_INTERVAL_MS: "86400000" }),
    ]);
    [serverMetricsPort, workerMetricsPort] = await Promise.all([metricsPortOf(server), metricsPortOf(worker)]);
    client = createSightlineClient({ url: server.url, apiKey: iso.adminKey });
    await client.admin.createProject({ project: { name: P } });
    await client.catalog.createDataCollection({
      collection: {
        project: P,
        name: C,
        schema: {
          recordIdColumn: "id",
          timestampColumn: "ts",
          fields: [
            { name: "age", kind: FieldKind.FEATURE, type: FieldType.INT64, range: { min: 0, max: 130 } },
            { name: "repaid", kind: FieldKind.LABEL, type: FieldType.BOOL },
          ],
        },
      },
    });
    await client.catalog.createSplit({ split: { project: P, collection: C, name: SPLIT, type: SplitType.TRAIN } });
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), worker?.stop()]);
  });

  it("serves the same valid exposition on the main port (h2c, no API key) and the HTTP/1.1 port", async () => {
    const [h2c, http1] = await Promise.all([scrapeH2c(server.port), scrapeHttp1(serverMetricsPort)]);
    for (const scrape of [h2c, http1]) {
      expect([...scrape.families.keys()].sort()).toEqual([...h2c.families.keys()].sort());
      expect(scrape.family("grpc_server_handled_total").type).toBe("counter");
      expect(scrape.family("grpc_server_handling_seconds").type).toBe("histogram");
      expect(scrape.family("sightline_ingest_rows_total").type).toBe("counter");
      expect(scrape.family("sightline_open_streams").type).toBe("gauge");
      expect(scrape.family("sightline_mongodb_command_duration_seconds").type).toBe("histogram");
      expect(scrape.family("process_cpu_user_seconds_total").type).toBe("counter");
      expect(scrape.family("nodejs_eventloop_lag_seconds").type).toBe("gauge");
      // Every method reports from the start; every streaming method has an open-stream gauge at 0.
      expect(scrape.value("grpc_server_started_total", rpc("IngestService", "Put", "unary"))).toBe(0);
      expect(scrape.samples("grpc_server_started_total", { grpc_method: "Put" })).toHaveLength(1);
      for (const method of ["Upload", "Stream", "ReadRecords"]) {
        expect(scrape.samples("sightline_open_streams", { grpc_service: "sightline.v1.IngestService", grpc_method: method })).toHaveLength(1);
      }
    }
    // The setup's own calls were counted.
    expect(http1.value("grpc_server_handled_total", { ...rpc("AdminService", "CreateProject", "unary"), grpc_code: "OK" })).toBe(1);
  });

  it("reads the queue depths of every queue and state from Redis at scrape time", async () => {
    const scrape = await scrapeHttp1(serverMetricsPort);
    expect(scrape.value("sightline_queue_up", {})).toBe(1);
    for (const queue of queueNames) {
      for (const state of queueStates) {
        const series = scrape.samples("sightline_queue_jobs", { queue, state });
        expect(series, `${queue}/${state}`).toHaveLength(1);
        expect(series[0]!.value).toBeGreaterThanOrEqual(0);
      }
    }
    expect(scrape.samples("sightline_queue_jobs")).toHaveLength(queueNames.length * queueStates.length);
  });

  it("counts exactly the calls, messages and rows sent, and an open stream while it is open", async () => {
    const before = await scrapeH2c(server.port);

    // Unary: one success, one NOT_FOUND, one refused for want of a key.
    await client.catalog.getDataCollection({ project: P, name: C });
    await expect(client.catalog.getDataCollection({ project: P, name: "absent" })).rejects.toMatchObject({ code: Code.NotFound });
    const anonymous = createSightlineClient({ url: server.url });
    await expect(anonymous.admin.listProjects({})).rejects.toMatchObject({ code: Code.Unauthenticated });

    // Upload: two batches, three rows of the first out of range.
    const ages = [30, 40, 500, 50, 60, 700, 70, 900, 20, 25];
    const first: BatchInput = { recordIds: ages.map((_, i) => `u${i}`), columns: { age: ages.map(BigInt) } };
    const second: BatchInput = { recordIds: ["u10", "u11", "u12", "u13"], columns: { age: [1n, 2n, 3n, 4n] } };
    const summary = await client.upload(target, [first, second]);
    expect([summary.rowsAccepted, summary.rowsRejected]).toEqual([11n, 3n]);
    expect(summary.rowErrors.map((e) => e.reason)).toEqual([RowErrorReason.OUT_OF_RANGE, RowErrorReason.OUT_OF_RANGE, RowErrorReason.OUT_OF_RANGE]);

    // Stream: three batches of two label rows; scraped while the stream is open, after its first ack.
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    const labels = (from: number) => toRecordBatch({ recordIds: [`s${from}`, `s${from + 1}`], columns: { repaid: [true, false] } });
    async function* requests() {
      yield { message: { case: "header" as const, value: target } };
      yield { message: { case: "batch" as const, value: { sequence: 1n, batch: labels(0) } } };
      await released;
      yield { message: { case: "batch" as const, value: { sequence: 2n, batch: labels(2) } } };
      yield { message: { case: "batch" as const, value: { sequence: 3n, batch: labels(4) } } };
    }
    const acks: StreamResponse[] = [];
    let during: Scrape | undefined;
    for await (const ack of client.ingest.stream(requests())) {
      acks.push(ack);
      if (acks.length === 1) {
        during = await scrapeH2c(server.port);
        release();
      }
    }
    expect(acks.map((a) => [a.sequence, a.summary?.rowsAccepted, a.error])).toEqual([
      [1n, 2n, undefined],
      [2n, 2n, undefined],
      [3n, 2n, undefined],
    ]);
    const ingestStreams = { grpc_service: "sightline.v1.IngestService" };
    expect(during!.value("sightline_open_streams", { ...ingestStreams, grpc_method: "Stream" })).toBe(1);
    expect(during!.sum("sightline_open_streams")).toBe(1);

    // A server stream: one response of the 17 records.
    let read = 0;
    for await (const batch of client.readRecords({ target, batchSize: 100 })) read += batch.recordIds.length;
    expect(read).toBe(17);

    const after = await scrapeH2c(server.port);
    expect(after.sum("sightline_open_streams")).toBe(0);

    const calls = [
      { ...rpc("CatalogService", "GetDataCollection", "unary"), grpc_code: "OK" },
      { ...rpc("CatalogService", "GetDataCollection", "unary"), grpc_code: "NotFound" },
      { ...rpc("AdminService", "ListProjects", "unary"), grpc_code: "Unauthenticated" },
      { ...rpc("IngestService", "Upload", "client_stream"), grpc_code: "OK" },
      { ...rpc("IngestService", "Stream", "bidi_stream"), grpc_code: "OK" },
      { ...rpc("IngestService", "ReadRecords", "server_stream"), grpc_code: "OK" },
    ];
    expect(deltas(before, after, "grpc_server_handled_total", calls)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(after.sum("grpc_server_handled_total") - before.sum("grpc_server_handled_total")).toBe(6);
    expect(deltas(before, after, "grpc_server_handling_seconds_count", calls)).toEqual([1, 1, 1, 1, 1, 1]);
    for (const labels of calls) {
      const took = after.value("grpc_server_handling_seconds_sum", labels) - before.value("grpc_server_handling_seconds_sum", labels);
      expect(took, JSON.stringify(labels)).toBeGreaterThan(0);
      expect(took, JSON.stringify(labels)).toBeLessThan(60);
    }
    expect(after.sum("grpc_server_started_total") - before.sum("grpc_server_started_total")).toBe(6);

    const methods = [
      rpc("CatalogService", "GetDataCollection", "unary"),
      rpc("AdminService", "ListProjects", "unary"),
      rpc("IngestService", "Upload", "client_stream"),
      rpc("IngestService", "Stream", "bidi_stream"),
      rpc("IngestService", "ReadRecords", "server_stream"),
    ];
    // Header + batches in; one summary out of Upload, one ack per batch out of Stream, nothing out of a failure.
    expect(deltas(before, after, "grpc_server_msg_received_total", methods)).toEqual([2, 1, 3, 4, 1]);
    expect(deltas(before, after, "grpc_server_msg_sent_total", methods)).toEqual([1, 0, 1, 3, 1]);

    const rows = [
      { kind: "features", outcome: "accepted", reason: "" },
      { kind: "features", outcome: "rejected", reason: "OUT_OF_RANGE" },
      { kind: "labels", outcome: "accepted", reason: "" },
    ];
    expect(deltas(before, after, "sightline_ingest_rows_total", rows)).toEqual([11, 3, 6]);
    expect(after.sum("sightline_ingest_rows_total") - before.sum("sightline_ingest_rows_total")).toBe(20);

    // The writes and reads went through MongoDB, and the driver's timings were recorded.
    const commands = (s: Scrape, command: string) => s.sum("sightline_mongodb_command_duration_seconds_count", { command, outcome: "succeeded" });
    expect(commands(after, "insert") - commands(before, "insert")).toBeGreaterThan(0);
    expect(commands(after, "find") - commands(before, "find")).toBeGreaterThan(0);
  });

  // Node's HTTP/2 client used to cancel with END_STREAM first and RST_STREAM CANCEL milliseconds later, so the server
  // could finish this Stream (its one batch acked) as OK before the reset came: the client now sends the reset alone
  // (clients/ts/src/cancel-reset.ts), and the server settles a call's code only when its HTTP/2 stream has closed.
  it("counts a stream the client abandons as CANCELED, and closes it", async () => {
    const labels = { ...rpc("IngestService", "Stream", "bidi_stream"), grpc_code: "Canceled" };
    const before = await scrapeH2c(server.port);
    const abort = new AbortController();
    async function* requests() {
      yield { message: { case: "header" as const, value: target } };
      yield { message: { case: "batch" as const, value: { sequence: 1n, batch: toRecordBatch({ recordIds: ["c0"], columns: { repaid: [true] } }) } } };
      await new Promise<never>(() => undefined); // never ends: only the abort does
    }
    const acks: StreamResponse[] = [];
    await expect(
      (async () => {
        for await (const ack of client.ingest.stream(requests(), { signal: abort.signal })) {
          acks.push(ack);
          abort.abort();
        }
      })(),
    ).rejects.toMatchObject({ code: Code.Canceled });
    expect(acks).toHaveLength(1);
    const after = await eventually("the abandoned stream to be counted", async () => {
      const scrape = await scrapeH2c(server.port);
      return scrape.sum("grpc_server_handled_total") > before.sum("grpc_server_handled_total") ? scrape : undefined;
    });
    expect(deltas(before, after, "grpc_server_handled_total", [labels])).toEqual([1]);
    expect(after.sum("grpc_server_handled_total") - before.sum("grpc_server_handled_total")).toBe(1);
    expect(after.sum("sightline_open_streams")).toBe(0);
  });

  it("answers only GET and HEAD at /metrics, and only /metrics on the metrics port", async () => {
    expect((await getHttp1(serverMetricsPort, "/metrics", "POST")).status).toBe(405);
    const head = await getHttp1(serverMetricsPort, "/metrics", "HEAD");
    expect([head.status, head.body]).toEqual([200, ""]);
    expect((await getHttp1(serverMetricsPort, "/")).status).toBe(404);
    expect((await getHttp1(serverMetricsPort, "/metricsx")).status).toBe(404);
    expect((await getH2c(server.port, "/metrics?x=1")).status).toBe(200);
  });

  it("has the worker time the jobs it runs and count its failures on its own port", async () => {
    const before = await scrapeHttp1(workerMetricsPort);
    expect(before.family("sightline_job_duration_seconds").type).toBe("histogram");
    expect(before.family("sightline_mongodb_command_duration_seconds").type).toBe("histogram");
    expect(before.family("process_resident_memory_bytes").type).toBe("gauge");
    // Queue depths belong to the server; the worker reports none, so nothing is counted twice.
    expect(before.families.has("sightline_queue_jobs")).toBe(false);
    const completedBefore = before.value("sightline_job_duration_seconds_count", { queue: "collection-stats", outcome: "completed" });

    // A recount job runs after every Upload.
    await client.upload(target, [{ recordIds: ["w0"], columns: { age: [5n] } }]);
    const recounted = await eventually("a completed statistics job", async () => {
      const scrape = await scrapeHttp1(workerMetricsPort);
      return scrape.value("sightline_job_duration_seconds_count", { queue: "collection-stats", outcome: "completed" }) > completedBefore ? scrape : undefined;
    });
    expect(recounted.value("sightline_job_duration_seconds_sum", { queue: "collection-stats", outcome: "completed" })).toBeGreaterThan(0);

    // A chunk for a model that does not exist fails unrecoverably: one final failure, timed as failed.
    const connection = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
    const queue = new Queue<ComputeChunkData>(computeChunkQueueName, { connection, prefix: iso.queuePrefix });
    try {
      const data: ComputeChunkData = { kind: "predictions", project: "nobody", collection: "nothing", model: "none", split: "s", artifactVersion: 1, options: undefined, recordIds: ["x"] };
      await queue.add("predictions", data, { attempts: 3, removeOnFail: true });
    } finally {
      await queue.close();
      connection.disconnect();
    }
    const failed = await eventually("a failed chunk job", async () => {
      const scrape = await scrapeHttp1(workerMetricsPort);
      return scrape.value("sightline_job_failures_total", { queue: "compute-chunk", final: "true" }) > 0 ? scrape : undefined;
    });
    expect(deltas(before, failed, "sightline_job_failures_total", [
      { queue: "compute-chunk", final: "true" },
      { queue: "compute-chunk", final: "false" },
    ])).toEqual([1, 0]);
    expect(deltas(before, failed, "sightline_job_duration_seconds_count", [{ queue: "compute-chunk", outcome: "failed" }])).toEqual([1]);
  });
});

describe("a scrape while Redis hangs", () => {
  let redis: PrivateRedis;
  let server: ServerHandle;
  let metricsPort: number;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    server = await startServerProcess(isolation("metricsredis"), { REDIS_URL: redis.url, SIGHTLINE_METRICS_PORT: "0" });
    metricsPort = await metricsPortOf(server);
  });
  afterAll(async () => {
    redis?.resume();
    await server?.stop();
    await redis?.stop();
  });

  it("answers within the queue timeout without the depths, then reads them again once Redis is back", async () => {
    expect((await scrapeHttp1(metricsPort)).value("sightline_queue_up", {})).toBe(1);

    redis.pause();
    const started = Date.now();
    const hung = await scrapeHttp1(metricsPort);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(queueReadTimeoutMs - 50);
    expect(took).toBeLessThan(queueReadTimeoutMs + 3000);
    expect(hung.value("sightline_queue_up", {})).toBe(0);
    expect(hung.samples("sightline_queue_jobs")).toEqual([]);
    // The rest of the exposition is unaffected.
    expect(hung.samples("process_cpu_user_seconds_total")).toHaveLength(1);

    redis.resume();
    const back = await eventually("queue depths again", async () => {
      const scrape = await scrapeHttp1(metricsPort);
      return scrape.value("sightline_queue_up", {}) === 1 ? scrape : undefined;
    });
    expect(back.samples("sightline_queue_jobs")).toHaveLength(queueNames.length * queueStates.length);
  });
});

describe("the main port with TLS", () => {
  let tls: SelfSignedCert;
  let server: ServerHandle;

  beforeAll(async () => {
    tls = await selfSignedCert("metrics");
    server = await startServerProcess(isolation("metricstls"), tls.env);
  });
  afterAll(async () => {
    await server?.stop();
    await tls?.remove();
  });

  it("serves /metrics over HTTPS/1.1, as Prometheus scrapes with scheme: https", async () => {
    const res = await httpsGet(server.port, "/metrics", tls.ca);
    expect(res.version).toBe("1.1");
    expect(expectExposition(res).value("sightline_queue_up", {})).toBe(1);
  });
});

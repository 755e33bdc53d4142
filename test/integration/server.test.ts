// The server as a process: reflection through grpcurl, health that follows Redis, graceful shutdown, message limits,
// configuration errors, and the statistics job running in a separate worker process.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTransport } from "../../clients/ts/src/index.js";
import { HealthCheckResponse_ServingStatus as Serving, Health } from "../../server/src/gen/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../../server/src/gen/grpc/reflection/v1/reflection_pb.js";
import { AdminService } from "../../server/src/gen/sightline/v1/admin_service_pb.js";
import { CatalogService } from "../../server/src/gen/sightline/v1/catalog_service_pb.js";
import { FieldKind, FieldType } from "../../server/src/gen/sightline/v1/resources_pb.js";
import { creditSchema, modelInit, splitInit } from "../harness/fixtures.js";
import { baseEnv, isolation, startServerProcess, startWorkerProcess, type ServerHandle } from "../harness/processes.js";
import { startPrivateRedis } from "../harness/redis.js";
import { connectCaller, expectFailure } from "../harness/rpc.js";

const run = promisify(execFile);
const grpcurl = new URL("../../.dev/bin/grpcurl", import.meta.url).pathname;

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}${last === undefined ? "" : `: ${String(last)}`}`);
}

/** A request stream the test feeds by hand, to keep a bidirectional call open across a SIGTERM. */
function pushable<T>() {
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const iterable: AsyncIterable<T> = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) yield next;
        else if (ended) return;
        else await new Promise<void>((r) => (wake = r));
      }
    },
  };
  return {
    iterable,
    push(value: T) {
      queue.push(value);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
  };
}

describe("reflection through grpcurl", () => {
  const iso = isolation("grpcurl");
  let server: ServerHandle;
  beforeAll(async () => {
    server = await startServerProcess(iso);
  });
  afterAll(async () => server?.stop());

  it("is installed by the bootstrap script", () => {
    expect(existsSync(grpcurl)).toBe(true);
  });

  it("lists the services", async () => {
    const { stdout } = await run(grpcurl, ["-plaintext", server.address, "list"]);
    expect(stdout.split("\n").filter(Boolean)).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "sightline.v1.AdminService",
      "sightline.v1.CatalogService",
      "sightline.v1.IngestService",
      "sightline.v1.ModelService",
      "sightline.v1.MonitoringService",
    ]);
  });

  it("describes a service and a message", async () => {
    const service = await run(grpcurl, ["-plaintext", server.address, "describe", "sightline.v1.CatalogService"]);
    expect(service.stdout).toContain("rpc UpdateSchema ( .sightline.v1.UpdateSchemaRequest ) returns ( .sightline.v1.UpdateSchemaResponse );");
    const message = await run(grpcurl, ["-plaintext", server.address, "describe", "sightline.v1.Field"]);
    expect(message.stdout).toContain(".sightline.v1.FieldKind kind = 2;");
  });

  it("makes real calls, with error details decoded", async () => {
    const auth = ["-H", `authorization: Bearer ${iso.adminKey}`];
    const made = await run(grpcurl, ["-plaintext", ...auth, "-d", '{"project":{"name":"from-grpcurl"}}', server.address, "sightline.v1.AdminService/CreateProject"]);
    expect(JSON.parse(made.stdout).project.name).toBe("from-grpcurl");
    const failed = await run(grpcurl, ["-plaintext", ...auth, "-d", '{"project":{"name":"Bad Name"}}', server.address, "sightline.v1.AdminService/CreateProject"]).catch(
      (err: { stdout: string; stderr: string }) => err,
    );
    expect(failed.stderr).toContain("Code: InvalidArgument");
    expect(failed.stderr).toContain('"field": "project.name"');
  });
});

describe("health follows Redis", () => {
  it("turns NOT_SERVING when Redis stops and SERVING when it is back", async () => {
    const redis = await startPrivateRedis();
    const server = await startServerProcess(isolation("health"), { REDIS_URL: redis.url });
    try {
      const health = createClient(Health, createTransport({ url: server.url }));
      expect((await health.check({})).status).toBe(Serving.SERVING);
      expect((await health.check({ service: "sightline.v1.CatalogService" })).status).toBe(Serving.SERVING);
      const unknown = await health.check({ service: "no.such.Service" }).catch((e: unknown) => ConnectError.from(e));
      expect(unknown instanceof ConnectError && unknown.code).toBe(Code.NotFound);

      await redis.stop();
      await eventually("NOT_SERVING", async () => ((await health.check({})).status === Serving.NOT_SERVING ? true : undefined));
      await redis.start();
      await eventually("SERVING again", async () => ((await health.check({})).status === Serving.SERVING ? true : undefined));
    } finally {
      await server.stop();
      await redis.stop();
    }
  });
});

describe("graceful shutdown", () => {
  it("lets an in-flight call finish after SIGTERM and refuses new ones", async () => {
    const server = await startServerProcess(isolation("shutdown"), { SIGHTLINE_SHUTDOWN_GRACE_MS: "15000" });
    const reflection = createClient(ServerReflection, createTransport({ url: server.url }));
    const requests = pushable<{ messageRequest: { case: "listServices"; value: string } }>();
    const responses = reflection.serverReflectionInfo(requests.iterable)[Symbol.asyncIterator]();
    requests.push({ messageRequest: { case: "listServices", value: "" } });
    const first = await responses.next();
    expect(first.done).toBe(false);

    server.process.kill("SIGTERM");
    await server.waitForLine(/"msg":"shutting down"/);

    // The open call still gets answers after the signal.
    requests.push({ messageRequest: { case: "listServices", value: "" } });
    const second = await responses.next();
    expect(second.done).toBe(false);
    expect(second.value?.messageResponse.case).toBe("listServicesResponse");

    // A new connection is refused while the old call drains.
    const fresh = createClient(AdminService, createTransport({ url: server.url, apiKey: "x".repeat(20) }));
    const refused = await fresh.listProjects({}).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(refused?.code).toBe(Code.Unavailable);
    expect(server.process.exitCode).toBeNull();

    requests.end();
    expect((await responses.next()).done).toBe(true);
    expect(await server.exited).toBe(0);
    expect(server.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  });
});

describe("limits and configuration", () => {
  it("refuses a message over the size limit with RESOURCE_EXHAUSTED and writes nothing", async () => {
    const iso = isolation("limits");
    const server = await startServerProcess(iso, { SIGHTLINE_MAX_MESSAGE_BYTES: "65536" });
    try {
      const rpc = connectCaller(server.url);
      await rpc.unary(AdminService.method.createProject, { project: { name: "big" } }, iso.adminKey);
      const fields = Array.from({ length: 800 }, (_, i) => ({
        name: `feature_${i}_${"x".repeat(90)}`,
        kind: FieldKind.FEATURE,
        type: FieldType.DOUBLE,
      }));
      await expectFailure(
        rpc.unary(CatalogService.method.createDataCollection, { collection: { project: "big", name: "huge", schema: { recordIdColumn: "id", fields } } }, iso.adminKey),
        Code.ResourceExhausted,
      );
      const listed = await rpc.unary(CatalogService.method.listDataCollections, { project: "big" }, iso.adminKey);
      expect(listed.collections).toHaveLength(0);
    } finally {
      await server.stop();
    }
  });

  it("stops at start with one line naming a bad variable", async () => {
    const env = baseEnv(isolation("config"), { SIGHTLINE_PORT: "not-a-port" });
    const result = await run(process.execPath, ["dist/server/src/main.js"], { env: { ...env, PATH: process.env.PATH }, cwd: new URL("../..", import.meta.url).pathname }).catch(
      (err: { code: number; stderr: string }) => err,
    );
    expect("code" in result && result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain("SIGHTLINE_PORT");
  });
});

describe("collection statistics job", () => {
  it("runs in a worker process and its result is visible through the API", async () => {
    const iso = isolation("statsjob");
    const server = await startServerProcess(iso);
    const rpc = connectCaller(server.url);
    try {
      const key = iso.adminKey;
      await rpc.unary(AdminService.method.createProject, { project: { name: "stats" } }, key);
      await rpc.unary(CatalogService.method.createDataCollection, { collection: { project: "stats", name: "c", schema: creditSchema() } }, key);
      await rpc.unary(CatalogService.method.createSplit, { split: splitInit("stats", "c", "train", true) }, key);
      await rpc.unary(CatalogService.method.createSplit, { split: splitInit("stats", "c", "test") }, key);
      await rpc.unary(CatalogService.method.createModel, { model: modelInit("stats", "c", "m") }, key);
      // No worker runs yet: the server itself never computes statistics.
      const before = await rpc.unary(CatalogService.method.getCollectionStats, { project: "stats", collection: "c" }, key);
      expect(before.stats).toBeUndefined();

      const worker = await startWorkerProcess(iso, { SIGHTLINE_STATS_INTERVAL_MS: "1000" });
      try {
        const stats = await eventually("statistics", async () => {
          const got = await rpc.unary(CatalogService.method.getCollectionStats, { project: "stats", collection: "c" }, key);
          return got.stats?.modelCount === 1n ? got.stats : undefined;
        });
        expect(stats.splitCount).toBe(2n);
        expect(stats.fieldCount).toBe(BigInt(creditSchema().fields.length));
        expect(stats.splits.map((s) => s.split).sort()).toEqual(["test", "train"]);

        // The scheduled sweep picks up later changes too.
        await rpc.unary(CatalogService.method.createSplit, { split: splitInit("stats", "c", "validation") }, key);
        await eventually("a recount", async () => {
          const got = await rpc.unary(CatalogService.method.getCollectionStats, { project: "stats", collection: "c" }, key);
          return got.stats?.splitCount === 3n ? true : undefined;
        });
      } finally {
        expect(await worker.stop()).toBe(0);
      }
    } finally {
      rpc.close();
      await server.stop();
    }
  });
});

// One server process for a benchmark run, in its own database on the dev services (started if missing).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { MongoClient } from "mongodb";
import { fileURLToPath } from "node:url";
import { newRunTag, staleRunDatabase } from "../server/dev/run-tags.js";
import { ensureServices, ferretdbServerEnv, type DevServices } from "../server/dev/services.js";

export const root = fileURLToPath(new URL("..", import.meta.url));

export interface BenchServer {
  services: DevServices;
  child: ChildProcess;
  port: number;
  database: string;
  adminKey: string;
  /** The server's peak resident memory so far. */
  peakRssMiB(): number;
}

/**
 * Drops what benchmarks killed before their teardown left behind: databases of a bench that started over six hours
 * ago, and those named before names carried their start time. Left alone, they held gigabytes in the shared dev
 * PostgreSQL, and every later run paid for them.
 */
async function dropStaleBenchDatabases(mongodbUrl: string): Promise<void> {
  const client = new MongoClient(mongodbUrl, { serverSelectionTimeoutMS: 5000 });
  try {
    const { databases } = await client.db("admin").admin().listDatabases({ nameOnly: true });
    for (const { name } of databases) {
      if (staleRunDatabase(name, "bench_") || /^bench_[0-9a-f]{6}$/.test(name)) await client.db(name).dropDatabase();
    }
  } finally {
    await client.close();
  }
}

export async function startBenchServer(): Promise<BenchServer> {
  const services = await ensureServices({ log: () => undefined });
  await dropStaleBenchDatabases(services.mongodbUrl);
  const database = `bench_${newRunTag()}_server`;
  const adminKey = `bench-${randomBytes(16).toString("hex")}`;
  const env = {
    ...process.env,
    ...ferretdbServerEnv,
    MONGODB_URL: services.mongodbUrl,
    REDIS_URL: services.redisUrl,
    MONGODB_DATABASE: database,
    SIGHTLINE_ADMIN_KEY: adminKey,
    SIGHTLINE_PORT: "0",
    SIGHTLINE_LOG_LEVEL: "info",
    SIGHTLINE_QUEUE_PREFIX: `{${database}}`,
  };
  const child = spawn(process.execPath, ["dist/server/src/main.js"], { cwd: root, env, stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (l) => l.includes('"msg":"listening"') && resolve(l));
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
  const port = (JSON.parse(line) as { port: number }).port;
  const peakRssMiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? NaN) / 1024;
  return { services, child, port, database, adminKey, peakRssMiB };
}

// One server process for a benchmark run, in its own database on the dev services (started if missing).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
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

export async function startBenchServer(): Promise<BenchServer> {
  const services = await ensureServices({ log: () => undefined });
  const database = `bench_${randomBytes(3).toString("hex")}`;
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

// A private PostgreSQL + FerretDB + Redis set for tests that stop, kill or restart them, so the shared dev services
// (.dev/services.json, used at the same time by other test files and by benchmarks) are never touched. The set lives
// under its own temporary root with its own data directories and ports, is started by server/dev/services.ts from
// the binaries this checkout already built (.dev/bin), and is removed by close(), which every user calls in afterAll.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ensureServices,
  pgBinDir,
  servicesStatus,
  startService,
  stopService,
  stopServices,
  type Options,
  type ServiceName,
} from "../../server/dev/services.js";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface PrivateServices {
  root: string;
  mongodbUrl: string;
  redisUrl: string;
  /** Environment for server and worker processes that should use this set instead of the shared one. */
  env: Record<string, string>;
  /** Stops a service the way an operator would (SIGINT for PostgreSQL, SIGTERM otherwise); its port is kept. */
  stop(name: ServiceName): Promise<void>;
  /** SIGKILLs a service: no shutdown of its own. */
  kill(name: ServiceName): Promise<void>;
  /** Starts a stopped or killed service again, on its old port, and waits until it answers. */
  start(name: ServiceName): Promise<void>;
  /** The service's pid, as recorded. */
  pid(name: ServiceName): Promise<number>;
  /** Runs one SQL statement in FerretDB's PostgreSQL database; returns psql's unaligned rows, one per line. */
  sql(statement: string): string;
  /** Stops everything and deletes the root. Safe to call twice, and after a failed start. */
  close(): Promise<void>;
  /** What services.ts reported: starts, stops, ports. For diagnosing a failed test. */
  log: string[];
}

export interface PrivateServicesOptions {
  /** Redis with an fsynced append-only file, so a restart keeps its jobs (see services.ts). */
  redisAppendOnly?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/**
 * Free ports below the kernel's ephemeral range. A service restarted on its old port must find it free, and a port
 * from the ephemeral range (what listening on port 0 gives) can be taken meanwhile by any outgoing connection on the
 * machine, failing the restart (startService refuses a port taken while the service was down).
 */
async function stablePorts(count: number): Promise<number[]> {
  let low = 32768;
  try {
    low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || low;
  } catch {
    // not Linux: keep the usual lower bound
  }
  const ports: number[] = [];
  for (let tries = 0; ports.length < count; tries++) {
    if (tries > 1000) throw new Error("no free ports below the ephemeral range");
    const port = 10_000 + Math.floor(Math.random() * Math.max(1000, low - 10_000));
    if (port < low && !ports.includes(port) && (await portFree(port))) ports.push(port);
  }
  return ports;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

export async function startPrivateServices(label: string, options: PrivateServicesOptions = {}): Promise<PrivateServices> {
  const root = mkdtempSync(join(tmpdir(), `sightline-${label}-`));
  // PostgreSQL runs as the "postgres" user when the tests run as root: it must be able to reach its data directory.
  chmodSync(root, 0o755);
  const lines: string[] = [];
  const opts: Options = {
    root,
    binDir: join(repoRoot, ".dev", "bin"),
    ignoreEnv: true,
    redisAppendOnly: options.redisAppendOnly ?? false,
    log: (line) => lines.push(line),
  };
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      await stopServices(undefined, { ...opts, forget: true });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
  try {
    // A stopped record keeps its port for the next start (see services.ts): seed one per service.
    const [pgPort, ferretPort, redisPort] = await stablePorts(3);
    mkdirSync(join(root, ".dev"), { recursive: true });
    const seed = { postgres: { pid: 0, port: pgPort, url: "" }, ferretdb: { pid: 0, port: ferretPort, url: "" }, redis: { pid: 0, port: redisPort, url: "" } };
    writeFileSync(join(root, ".dev", "services.json"), JSON.stringify(seed));
    const services = await ensureServices(opts);
    const ports: Record<ServiceName, number> = { postgres: pgPort!, ferretdb: ferretPort!, redis: redisPort! };
    for (const s of await servicesStatus(opts)) {
      if (s.port !== ports[s.name]) throw new Error(`${s.name} started on port ${s.port}, not the ${ports[s.name]} it was given`);
    }
    const pid = async (name: ServiceName) => (await servicesStatus(opts)).find((s) => s.name === name)?.pid ?? 0;
    return {
      root,
      mongodbUrl: services.mongodbUrl,
      redisUrl: services.redisUrl,
      env: { MONGODB_URL: services.mongodbUrl, REDIS_URL: services.redisUrl },
      stop: (name) => stopService(name, opts),
      async kill(name) {
        const target = await pid(name);
        if (!(target > 0) || !alive(target)) return;
        process.kill(target, "SIGKILL");
        for (let i = 0; i < 200 && alive(target); i++) await sleep(25);
      },
      async start(name) {
        const record = await startService(name, opts);
        // Clients hold the old URL: a service that came back elsewhere would leave them waiting for good.
        if (record.port !== ports[name]) throw new Error(`${name} came back on port ${record.port}, not ${ports[name]}`);
      },
      pid,
      sql(statement) {
        const args = ["-h", "127.0.0.1", "-p", String(ports.postgres), "-U", "postgres", "-d", "ferretdb", "-tAc", statement];
        const r = spawnSync(join(pgBinDir(), "psql"), args, { encoding: "utf8" });
        if (r.status !== 0) throw new Error(`psql failed: ${r.stderr.trim()}`);
        return r.stdout.trim();
      },
      close,
      log: lines,
    };
  } catch (err) {
    await close().catch(() => undefined);
    throw new Error(`could not start private services: ${String(err)}\n${lines.join("\n")}`);
  }
}

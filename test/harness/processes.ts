// Runs the real server and worker entry points as child processes, each test file with its own database and
// queue prefix so files can run in parallel against the same FerretDB and Redis.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";
import { ferretdbServerEnv } from "../../server/dev/services.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface Isolation {
  database: string;
  queuePrefix: string;
  adminKey: string;
}

export function isolation(label: string): Isolation {
  // The run's tag first: its teardown drops its own databases and leaves those of runs sharing the services.
  const tag = `${inject("runTag")}_${label.replace(/[^a-z0-9]/gi, "").slice(0, 20)}_${randomBytes(4).toString("hex")}`;
  return { database: `t_${tag}`, queuePrefix: `{t_${tag}}`, adminKey: `admin-${randomBytes(16).toString("hex")}` };
}

export interface ChildHandle {
  process: ChildProcess;
  /** Every stdout/stderr line so far, for assertions and for diagnosing failures. */
  lines: string[];
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

function spawnEntry(entry: string, env: Record<string, string>): ChildHandle {
  const child = spawn(process.execPath, ["--enable-source-maps", `dist/server/src/${entry}.js`], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on("line", (line) => {
      lines.push(line);
      for (const w of waiters) {
        if (w.pattern.test(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const waitForLine = (pattern: RegExp, timeoutMs = 30_000) => {
    const seen = lines.find((l) => pattern.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const fail = (why: string) => {
        waiters.delete(waiter);
        reject(new Error(`${entry}: ${why} waiting for ${pattern}; output:\n${lines.slice(-30).join("\n")}`));
      };
      const timer = setTimeout(() => fail(`nothing within ${timeoutMs} ms`), timeoutMs);
      const waiter = {
        pattern,
        resolve: (line: string) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      waiters.add(waiter);
      void exited.then((code) => {
        if (!waiters.has(waiter)) return;
        clearTimeout(timer);
        fail(`exited with ${code}`);
      });
    });
  };
  return {
    process: child,
    lines,
    waitForLine,
    exited,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export function baseEnv(iso: Isolation, extra: Record<string, string> = {}): Record<string, string> {
  return {
    MONGODB_URL: inject("mongodbUrl"),
    REDIS_URL: inject("redisUrl"),
    MONGODB_DATABASE: iso.database,
    SIGHTLINE_QUEUE_PREFIX: iso.queuePrefix,
    SIGHTLINE_ADMIN_KEY: iso.adminKey,
    SIGHTLINE_LOG_LEVEL: "info",
    ...ferretdbServerEnv,
    ...extra,
  };
}

export interface ServerHandle extends ChildHandle {
  port: number;
  url: string;
  address: string;
}

export async function startServerProcess(iso: Isolation, extra: Record<string, string> = {}): Promise<ServerHandle> {
  const child = spawnEntry("main", baseEnv(iso, { SIGHTLINE_PORT: "0", SIGHTLINE_HEALTH_INTERVAL_MS: "300", ...extra }));
  const line = await child.waitForLine(/"msg":"listening"/);
  const port = (JSON.parse(line) as { port: number }).port;
  const scheme = extra.SIGHTLINE_TLS_CERT_FILE === undefined ? "http" : "https";
  return { ...child, port, url: `${scheme}://127.0.0.1:${port}`, address: `127.0.0.1:${port}` };
}

export async function startWorkerProcess(iso: Isolation, extra: Record<string, string> = {}): Promise<ChildHandle> {
  const child = spawnEntry("worker", baseEnv(iso, extra));
  await child.waitForLine(/"msg":"worker started"/);
  return child;
}

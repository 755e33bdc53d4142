// `npm start`: the services (reused or started), the server and a worker, the demo, and where everything listens.
// The server and worker run in the foreground until Ctrl-C; the services keep running for the next start
// (`npm run services:down` stops them). With SIGHTLINE_START_ONCE=1 it exits after the demo.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { runDemo } from "./demo.js";
import { ensureServices, ferretdbServerEnv } from "./services.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dev = `${root}.dev`;
mkdirSync(`${dev}/logs`, { recursive: true });

function adminKey(): string {
  if (process.env.SIGHTLINE_ADMIN_KEY) return process.env.SIGHTLINE_ADMIN_KEY;
  const file = `${dev}/admin-key`;
  if (!existsSync(file)) writeFileSync(file, `sla_${randomBytes(24).toString("base64url")}\n`, { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

function launch(entry: "main" | "worker", env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const out = openSync(logFile, "a");
  return spawn(process.execPath, ["--enable-source-maps", `dist/server/src/${entry}.js`], { cwd: root, env, stdio: ["ignore", "pipe", out] });
}

/** Resolves with the first stdout line matching `pattern`, copying every line to the log file. */
function firstLine(child: ChildProcess, pattern: RegExp, logFile: string): Promise<string> {
  const log = openSync(logFile, "a");
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      writeFileSync(log, `${line}\n`);
      if (pattern.test(line)) resolve(line);
    });
    child.once("exit", (code) => reject(new Error(`exited with ${code} before it was ready; see ${logFile}`)));
  });
}

const services = await ensureServices();
const key = adminKey();
const env: NodeJS.ProcessEnv = {
  ...(process.env.MONGODB_URL === undefined ? ferretdbServerEnv : {}),
  ...process.env,
  MONGODB_URL: services.mongodbUrl,
  REDIS_URL: services.redisUrl,
  SIGHTLINE_ADMIN_KEY: key,
  // The web console needs an HTTP/1.1 port: browsers cannot speak h2c. Set it empty to turn the console off.
  SIGHTLINE_CONSOLE_PORT: process.env.SIGHTLINE_CONSOLE_PORT ?? "50080",
};
const serverLog = `${dev}/logs/server.log`;
const workerLog = `${dev}/logs/worker.log`;
const server = launch("main", env, serverLog);
const worker = launch("worker", env, workerLog);
const stopAll = () => {
  server.kill("SIGTERM");
  worker.kill("SIGTERM");
};
process.once("SIGINT", stopAll);
process.once("SIGTERM", stopAll);

try {
  const listening = JSON.parse(await firstLine(server, /"msg":"listening"/, serverLog)) as { host: string; port: number; tls: boolean; consolePort?: number };
  await firstLine(worker, /"msg":"worker started"/, workerLog);
  const url = `${listening.tls ? "https" : "http"}://${listening.host}:${listening.port}`;
  const demo = await runDemo(url, key);
  const out = [
    "",
    "Sightline demo",
    ...demo.lines.map((l) => `  ${l}`),
    "",
    "Listening",
    `  gRPC, gRPC-Web, Connect  ${url}  (h2c${listening.tls ? ", TLS" : ""}; health and reflection included)`,
    ...(listening.consolePort === undefined
      ? []
      : [`  web console              http://${listening.host}:${listening.consolePort}/  (HTTP/1.1; sign in with the admin key or a project key)`]),
    `  MongoDB (FerretDB)       ${services.mongodbUrl}`,
    `  Redis                    ${services.redisUrl}`,
    `  admin key                ${key}  (also in .dev/admin-key)`,
    `  logs                     ${serverLog}, ${workerLog}, ${dev}/logs/`,
    "",
    "Try",
    `  .dev/bin/grpcurl -plaintext ${listening.host}:${listening.port} list`,
    `  .dev/bin/grpcurl -plaintext -H 'authorization: Bearer ${demo.apiKey}' -d '{"project":"demo"}' ${listening.host}:${listening.port} sightline.v1.CatalogService/ListDataCollections`,
    "",
  ];
  process.stdout.write(out.join("\n") + "\n");
  if (process.env.SIGHTLINE_START_ONCE === "1") stopAll();
  else process.stdout.write("Server and worker are running; Ctrl-C stops them (the services keep running: npm run services:down).\n");
} catch (err) {
  process.stderr.write(`npm start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  stopAll();
  process.exitCode = 1;
}

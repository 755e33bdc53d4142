// `npm run test:clients`: the Python and Go client suites against real services. Each suite starts its own server
// and worker processes from dist/ (see clients/*/tests); this script provides the databases, installs the Python
// package the way a user would, runs both suites, and prints one plain line per suite.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { MongoClient } from "mongodb";
import { ensureServices, ferretdbServerEnv } from "../../server/dev/services.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const python = `${root}.venv-clients/bin/python`;

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: "inherit" });
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

/** Counts passed and failed tests and subtests in `go test -v` output. */
function goCounts(path: string): { passed: number; failed: number } {
  const text = readFileSync(path, "utf8");
  return { passed: (text.match(/^\s*--- PASS: /gm) ?? []).length, failed: (text.match(/^\s*--- (FAIL|SKIP): /gm) ?? []).length };
}

function pytestCounts(path: string): { passed: number; failed: number } {
  const xml = readFileSync(path, "utf8");
  const suite = /<testsuite [^>]*>/.exec(xml)?.[0] ?? "";
  const attr = (name: string) => Number(new RegExp(`${name}="(\\d+)"`).exec(suite)?.[1] ?? "0");
  return { passed: attr("tests") - attr("failures") - attr("errors") - attr("skipped"), failed: attr("failures") + attr("errors") + attr("skipped") };
}

async function dropTestDatabases(mongodbUrl: string): Promise<void> {
  const client = new MongoClient(mongodbUrl, { serverSelectionTimeoutMS: 5000 });
  try {
    const { databases } = await client.db("admin").admin().listDatabases({ nameOnly: true });
    for (const { name } of databases) if (/^t_(py|go)_/.test(name)) await client.db(name).dropDatabase();
  } finally {
    await client.close();
  }
}

async function main(only: string[]): Promise<number> {
  const services = await ensureServices({ log: (line) => process.stderr.write(`[services] ${line}\n`) });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SIGHTLINE_TEST_MONGODB_URL: services.mongodbUrl,
    SIGHTLINE_TEST_REDIS_URL: services.redisUrl,
    SIGHTLINE_TEST_ROOT: root,
    SIGHTLINE_TEST_NODE: process.execPath,
    SIGHTLINE_TEST_SERVER_ENV: JSON.stringify(ferretdbServerEnv),
  };
  const lines: string[] = [];
  let failed = false;
  try {
    if (only.length === 0 || only.includes("python")) {
      // Installed as a user would (`pip install ./clients/python`), so the suite tests the package, not the tree.
      const install = await run(python, ["-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--force-reinstall", "./clients/python"], root, env);
      if (install !== 0) throw new Error("pip install ./clients/python failed");
      const typed = await run(python, ["-m", "mypy"], `${root}clients/python`, env);
      const report = `${root}.dev/pytest-results.xml`;
      const code = await run(python, ["-m", "pytest", "-p", "no:cacheprovider", `--junitxml=${report}`, "clients/python/tests"], root, env);
      const counts = pytestCounts(report);
      // pytest exits 5 when it collected nothing: that is a failure here, not a pass.
      failed ||= code !== 0 || typed !== 0 || counts.passed === 0;
      lines.push(`python: ${counts.passed} passed, ${counts.failed} failed${typed === 0 ? "" : " (mypy failed)"}`);
    }
    if (only.length === 0 || only.includes("go")) {
      const goDir = `${root}clients/go`;
      const vetted = await run("go", ["vet", "./..."], goDir, env);
      const report = `${root}.dev/go-test.log`;
      const code = await run("bash", ["-c", `set -o pipefail; go test -count=1 -p 1 -v -timeout 15m ./... 2>&1 | tee ${report}`], goDir, env);
      const counts = goCounts(report);
      failed ||= code !== 0 || vetted !== 0 || counts.passed === 0;
      lines.push(`go: ${counts.passed} passed, ${counts.failed} failed${vetted === 0 ? "" : " (go vet failed)"}`);
    }
  } finally {
    await dropTestDatabases(services.mongodbUrl).catch((err: unknown) => process.stderr.write(`[services] could not drop test databases: ${String(err)}\n`));
    await services.stop();
  }
  for (const line of lines) console.log(line);
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`test:clients: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);

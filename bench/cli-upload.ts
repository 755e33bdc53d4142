// The `sightline upload` CLI on wide CSV files of growing size (about 1 KB per row): the CLI's peak resident memory
// (VmHWM, sampled from /proc while it runs) and its throughput, each beside the smallest file's as the baseline, so
// memory that grows with the file shows as a ratio above 1.
//
//   npm run build && npx tsx bench/cli-upload.ts                    # 20 MB, 200 MB and 1 GB
//   npx tsx bench/cli-upload.ts --sizes 20,200 --dir /var/tmp       # MB per file; files are deleted after each run
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { MongoClient } from "mongodb";
import { wideSchemaYaml, writeWideCsv } from "../test/harness/wide-csv.js";
import { root, startBenchServer } from "./bench-server.js";

const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "20,200,1024" },
    dir: { type: "string" },
    "batch-size": { type: "string", default: "5000" },
  },
});
const sizes = args.sizes.split(",").map(Number);
const cli = join(root, "dist/clients/ts/src/cli/main.js");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  peakMiB: number;
  seconds: number;
}

function run(cliArgs: string[], env: Record<string, string>): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, [cli, ...cliArgs], { env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  let peakKiB = 0;
  const sampler = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      if (m !== null) peakKiB = Math.max(peakKiB, Number(m[1]));
    } catch {
      // exited between samples
    }
  }, 20);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearInterval(sampler);
      resolve({ code, stdout, stderr, peakMiB: peakKiB / 1024, seconds: (performance.now() - started) / 1000 });
    }),
  );
}

async function must(cliArgs: string[], env: Record<string, string>): Promise<Run> {
  const r = await run(cliArgs, env);
  if (r.code !== 0) throw new Error(`sightline ${cliArgs.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r;
}

const server = await startBenchServer();
const dir = await mkdtemp(join(args.dir ?? tmpdir(), "sightline-cli-bench-"));
try {
  const url = `http://127.0.0.1:${server.port}`;
  const asAdmin = { SIGHTLINE_URL: url, SIGHTLINE_API_KEY: server.adminKey, SIGHTLINE_PROJECT: "bench" };
  await must(["projects", "create", "bench"], asAdmin);
  const key = (JSON.parse((await must(["keys", "create", "--json"], asAdmin)).stdout) as { secret: string }).secret;
  const env = { SIGHTLINE_URL: url, SIGHTLINE_API_KEY: key };
  await writeFile(join(dir, "wide.yaml"), wideSchemaYaml);
  await must(["collections", "create", "wide", "--schema", join(dir, "wide.yaml")], env);

  console.log(`sightline upload, wide CSV (~1 KB rows), batch size ${args["batch-size"]}; baseline: the ${sizes[0]} MB file`);
  console.log("file MB      rows   peak RSS MiB  (x base)   seconds    rows/s  (x base)    MB/s");
  let base: { peakMiB: number; rowsPerSecond: number } | undefined;
  for (const mb of sizes) {
    const file = join(dir, `wide-${mb}.csv`);
    const rows = await writeWideCsv(file, mb * 1024 * 1024, `w${mb}-`);
    // A split per file, so every run inserts new records rather than overwriting the last run's.
    await must(["splits", "create", `s${mb}`, "-c", "wide"], env);
    const r = await must(["upload", file, "-c", "wide", "--split", `s${mb}`, "--batch-size", args["batch-size"], "--json"], env);
    await rm(file);
    const accepted = (JSON.parse(r.stdout) as { accepted: number }).accepted;
    if (accepted !== rows) throw new Error(`${mb} MB: ${accepted} of ${rows} rows accepted`);
    const rowsPerSecond = rows / r.seconds;
    base ??= { peakMiB: r.peakMiB, rowsPerSecond };
    console.log(
      [
        String(mb).padStart(7),
        String(rows).padStart(9),
        r.peakMiB.toFixed(1).padStart(14),
        `(${(r.peakMiB / base.peakMiB).toFixed(2)})`.padStart(10),
        r.seconds.toFixed(1).padStart(9),
        Math.round(rowsPerSecond).toString().padStart(9),
        `(${(rowsPerSecond / base.rowsPerSecond).toFixed(2)})`.padStart(10),
        (mb / r.seconds).toFixed(2).padStart(7),
      ].join(" "),
    );
  }
  console.log(`server peak RSS ${server.peakRssMiB().toFixed(1)} MiB`);
} finally {
  server.child.kill("SIGTERM");
  await rm(dir, { recursive: true, force: true });
  const mongo = new MongoClient(server.services.mongodbUrl);
  await mongo.db(server.database).dropDatabase().catch(() => undefined);
  await mongo.close();
}

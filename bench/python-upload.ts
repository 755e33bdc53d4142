// Python client benchmark: a DataFrame uploaded with `Client.upload` against the same DataFrame written straight
// into the same database with pymongo `insert_many`, which is what a user might do instead.
//
//   npx tsx bench/python-upload.ts [--rows 1000000]
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { root, startBenchServer } from "./bench-server.js";

const { values: args } = parseArgs({ options: { rows: { type: "string", default: "1000000" } } });
const server = await startBenchServer();
try {
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(`${root}.venv-clients/bin/python`, ["bench/python_upload.py", "--rows", args.rows], {
      cwd: root,
      stdio: "inherit",
      env: {
        ...process.env,
        BENCH_ADDRESS: `127.0.0.1:${server.port}`,
        BENCH_ADMIN_KEY: server.adminKey,
        BENCH_MONGODB_URL: server.services.mongodbUrl,
        BENCH_DATABASE: server.database,
      },
    });
    child.once("error", reject);
    child.once("exit", (c) => resolve(c ?? 1));
  });
  console.log(`server peak RSS                ${server.peakRssMiB().toFixed(0).padStart(10)} MiB`);
  process.exitCode = code;
} finally {
  server.child.kill("SIGTERM");
  await server.services.stop();
}

#!/usr/bin/env node
// The `sightline` command: catalog management, file uploads, statistics, monitoring and jobs, over the TypeScript
// client. Exit status: 0 on success, 2 when an upload had rejected rows, 1 on any failure.
import { Command, CommanderError } from "commander";
import { registerAdmin } from "./commands/admin.js";
import { registerCollections } from "./commands/collections.js";
import { registerJobs } from "./commands/jobs.js";
import { registerLogin } from "./commands/login.js";
import { registerModels } from "./commands/models.js";
import { registerMonitor } from "./commands/monitor.js";
import { registerSplits } from "./commands/splits.js";
import { registerStats } from "./commands/stats.js";
import { registerUpload } from "./commands/upload.js";
import { describeFailure } from "./failure.js";
import { err } from "./output.js";

const program = new Command("sightline")
  .description("Sightline: send model data, manage the catalog, read monitoring")
  .option("--project <name>", "the project (default: SIGHTLINE_PROJECT, the stored one, or the only one the key sees)")
  .option("--json", "print JSON instead of tables")
  .showHelpAfterError("(add --help for usage)")
  .exitOverride();

registerLogin(program);
registerAdmin(program);
registerCollections(program);
registerSplits(program);
registerModels(program);
registerUpload(program);
registerStats(program);
registerMonitor(program);
registerJobs(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander has printed the usage error or the help already.
    process.exitCode = e.exitCode;
  } else {
    err.line(err.style.red(`error: ${describeFailure(e)}`));
    process.exitCode = 1;
  }
}
// An idle HTTP/2 session would keep the process alive for a while; everything is written by now.
process.exit();

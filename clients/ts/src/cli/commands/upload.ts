// `sightline upload FILE`: streams a CSV or Parquet file from disk through the client's Upload, batch by batch, with
// a progress line on a terminal, and ends with the summary and the first row errors.
import { basename } from "node:path";
import type { Command } from "commander";
import type { Model, TargetInit, WriteSummary } from "../../index.js";
import { CliError } from "../failure.js";
import { err } from "../output.js";
import { openSession, type GlobalOptions } from "../session.js";
import { openSource } from "../source/source.js";
import { prepareBatches } from "../upload/batches.js";
import { planUpload } from "../upload/plan.js";
import { UploadProgressLine } from "../upload/progress.js";
import { outcomeOf, printOutcome } from "../upload/report.js";
import { BatchLedger, ProblemLog } from "../upload/row-problems.js";
import { collect, positiveInt } from "./args.js";

interface UploadOptions {
  collection: string;
  split?: string;
  production?: boolean;
  model?: string;
  idColumn?: string;
  timeColumn?: string;
  prediction?: string[];
  influence?: string[];
  influencePrefix?: string;
  batchSize: number;
  maxErrors: number;
  progress?: boolean;
}

/**
 * Batches also close at about 1 MiB of cell data, whatever the row width: far under the server's 16 MiB message
 * limit, and measured (docs/cli.md): with 1 KB rows, 1 MiB batches kept the CLI's peak RSS level from a 20 MB to a
 * 200 MB file, where 5 MiB batches let it drift up by 14% as large buffers fragmented the native heap.
 */
const maxBatchBytes = 1024 * 1024;

/** Exit codes: 0 when every row landed, 2 when some were rejected, 1 when the upload failed. */
export const exitRowsRejected = 2;

async function upload(file: string, o: UploadOptions, global: GlobalOptions): Promise<number> {
  if ((o.split === undefined) === (o.production !== true)) throw new CliError("name exactly one destination: --split NAME or --production");
  const session = await openSession(global);
  const project = await session.project();
  const { client } = session;
  const { collection } = await client.catalog.getDataCollection({ project, name: o.collection });
  let model: Model | undefined;
  if (o.model !== undefined) model = (await client.catalog.getModel({ project, collection: o.collection, name: o.model })).model;
  const source = await openSource(file);
  try {
    const plan = planUpload({
      fileColumns: source.columns,
      schema: collection!.schema!,
      production: o.production === true,
      model,
      flags: { idColumn: o.idColumn, timeColumn: o.timeColumn, predictions: o.prediction ?? [], influences: o.influence ?? [], influencePrefix: o.influencePrefix },
    });
    if (plan.ignored.length > 0) err.line(err.style.dim(`ignoring columns that match no schema field, prediction or influence: ${plan.ignored.join(", ")}`));

    const target: TargetInit = {
      project,
      collection: o.collection,
      destination: o.production === true ? { case: "production", value: true } : { case: "split", value: o.split! },
      model: o.model ?? "",
    };
    const targetName = `${o.collection}/${o.production === true ? "production" : o.split}${o.model === undefined ? "" : ` (model ${o.model})`}`;
    const ledger = new BatchLedger();
    const problems = new ProblemLog(o.maxErrors);
    const counter = { rowsRead: 0 };
    const progress = new UploadProgressLine(basename(file).slice(0, 20), () => source.progress(), o.progress);
    const batches = async function* () {
      for await (const batch of prepareBatches(source.rows(), plan, source.columns.length, { rows: o.batchSize, bytes: maxBatchBytes }, (p) => problems.add(p), counter)) {
        ledger.add(batch.firstRow, batch.skipped);
        progress.update(counter.rowsRead);
        yield batch.input;
      }
    };
    let summary: WriteSummary;
    try {
      summary = await client.upload(target, batches());
    } catch (e) {
      progress.clear();
      err.line(err.style.red(`upload failed after ${counter.rowsRead} rows were read; batches sent before the failure are written`));
      throw e;
    }
    const elapsedMs = progress.elapsedMs();
    progress.finish(counter.rowsRead);
    const outcome = outcomeOf({ file, target: targetName, rowsRead: counter.rowsRead, elapsedMs }, summary, problems, ledger, o.maxErrors);
    printOutcome(outcome, global.json === true);
    return outcome.rejected > 0 ? exitRowsRejected : 0;
  } finally {
    await source.close();
  }
}

export function registerUpload(program: Command): void {
  program
    .command("upload")
    .description("upload a CSV or Parquet file (by extension) to a split or to production, streaming it from disk")
    .argument("<file>", "a .csv or .parquet file")
    .requiredOption("-c, --collection <name>", "the data collection")
    .option("--split <name>", "upload to this pre-production split")
    .option("--production", "upload to the collection's production time series")
    .option("--model <name>", "the model whose predictions and influences the file carries")
    .option("--id-column <column>", "the column holding record IDs (default: the schema's record_id_column)")
    .option("--time-column <column>", "production: the column holding event times (default: the schema's timestamp_column)")
    .option("--prediction <column[=field]>", "read a prediction field from a column (repeatable; default: columns named like the model's prediction fields)", collect)
    .option("--influence <column=feature>", "read a feature's influence from a column (repeatable)", collect)
    .option("--influence-prefix <prefix>", "read each feature's influence from the column <prefix><feature>")
    .option("--batch-size <rows>", "rows per batch", positiveInt, 5000)
    .option("--max-errors <n>", "row errors to show", positiveInt, 20)
    .option("--progress", "show progress even when stderr is not a terminal (a plain line every 10 s)")
    .option("--no-progress", "never show progress")
    .addHelpText("after", "\nExit status: 0 when every row landed, 2 when some rows were rejected, 1 when the upload failed.")
    .action(async (file: string, options: UploadOptions, command: Command) => {
      process.exitCode = await upload(file, options, command.optsWithGlobals<GlobalOptions>());
    });
}

// `sightline stats COLLECTION`: what the statistics job last counted, per split and production, per kind and model.
import type { Command } from "commander";
import { CollectionStatsSchema, DataKind, type CollectionStats, type KindStats } from "../../index.js";
import { timeText } from "../listing.js";
import { formatCount, messageJson, out, printJson, printTable } from "../output.js";
import { openSession, type GlobalOptions } from "../session.js";
import { act } from "./action.js";

function countOf(kinds: KindStats[], kind: DataKind): string {
  return formatCount(kinds.find((k) => k.kind === kind)?.records ?? 0n);
}

export function printStats(collection: string, stats: CollectionStats | undefined): void {
  if (stats === undefined) {
    out.line(`${collection}: no statistics yet (the worker's statistics job has not run for this collection)`);
    return;
  }
  out.line(`${out.style.bold(collection)}  computed ${timeText(stats.computeTime)}`);
  out.line(`  ${stats.splitCount} splits, ${stats.modelCount} models, ${stats.fieldCount} fields`);
  out.line(`  production: ${formatCount(stats.productionRecords)} records, ${(stats.productionLabelledFraction * 100).toFixed(1)}% labelled`);
  out.line();
  printTable(
    ["target", "records", "features", "labels", "extra"],
    stats.targets.map((t) => [t.production ? "production" : t.split, formatCount(t.records), countOf(t.kinds, DataKind.FEATURES), countOf(t.kinds, DataKind.LABELS), countOf(t.kinds, DataKind.EXTRA)]),
    new Set([1, 2, 3, 4]),
  );
  const modelRows = stats.targets.flatMap((t) =>
    t.models.map((m) => [t.production ? "production" : t.split, m.model, countOf(m.kinds, DataKind.PREDICTIONS), countOf(m.kinds, DataKind.INFLUENCES), formatCount(m.recordsWithFeaturesWithoutPredictions)]),
  );
  if (modelRows.length === 0) return;
  out.line();
  printTable(["target", "model", "predictions", "influences", "features without predictions"], modelRows, new Set([2, 3, 4]));
}

export function registerStats(program: Command): void {
  program
    .command("stats")
    .description("record counts of a collection, as the statistics job last computed them")
    .argument("<collection>")
    .action(
      act(async (collection: string, o: GlobalOptions) => {
        const session = await openSession(o);
        const { stats } = await session.client.catalog.getCollectionStats({ project: await session.project(), collection });
        if (o.json === true) return printJson(stats === undefined ? null : messageJson(CollectionStatsSchema, stats));
        printStats(collection, stats);
      }),
    );
}

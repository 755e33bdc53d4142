// `sightline collections …`: data collections and their schemas, and `infer`, which proposes a schema from a file.
import type { Command } from "commander";
import { CollectionStatsSchema, DataCollectionSchema, FieldKind, FieldType, type DataCollection } from "../../index.js";
import { inferSchema } from "../infer.js";
import { listAll, timeText } from "../listing.js";
import { nameOf } from "../names.js";
import { messageJson, out, printFields, printJson, printTable } from "../output.js";
import { documentToYaml, readSchemaFile, schemaToDocument } from "../schema-file.js";
import { openSession, type GlobalOptions } from "../session.js";
import { openSource, type RawValue } from "../source/source.js";
import { act, requireYes } from "./action.js";
import { collect, positiveInt } from "./args.js";
import { printStats } from "./stats.js";

function rangeText(min: number | undefined, max: number | undefined): string {
  return min === undefined && max === undefined ? "" : `[${min ?? "-inf"}, ${max ?? "+inf"}]`;
}

function printCollection(c: DataCollection): void {
  const schema = c.schema!;
  printFields([
    ["name", c.name],
    ["display name", c.displayName],
    ["record id column", schema.recordIdColumn],
    ["timestamp column", schema.timestampColumn],
    ["schema version", String(c.schemaVersion)],
    ["baseline split", c.baselineSplit],
    ["created", timeText(c.createTime)],
  ]);
  out.line();
  printTable(
    ["field", "kind", "type", "nullable", "range", "categories"],
    schema.fields.map((f) => [f.name, nameOf(FieldKind, f.kind), nameOf(FieldType, f.type), f.nullable ? "yes" : "no", rangeText(f.range?.min, f.range?.max), f.categories.join(", ")]),
  );
}

async function sampleRows(file: string, count: number) {
  const source = await openSource(file);
  try {
    const rows: RawValue[][] = [];
    for await (const row of source.rows()) {
      rows.push([...row]);
      if (rows.length >= count) break;
    }
    return { source, rows };
  } finally {
    await source.close();
  }
}

export function registerCollections(program: Command): void {
  const collections = program.command("collections").description("data collections: a schema plus the data that conforms to it");
  collections
    .command("list")
    .description("list the project's collections")
    .action(
      act(async (o) => {
        const session = await openSession(o);
        const project = await session.project();
        const all = await listAll(async (pageToken) => {
          const r = await session.client.catalog.listDataCollections({ project, pageSize: 1000, pageToken });
          return { items: r.collections, next: r.nextPageToken };
        });
        if (o.json === true) return printJson(all.map((c) => messageJson(DataCollectionSchema, c)));
        printTable(
          ["name", "display name", "fields", "schema version", "baseline", "created"],
          all.map((c) => [c.name, c.displayName, String(c.schema?.fields.length ?? 0), String(c.schemaVersion), c.baselineSplit, timeText(c.createTime)]),
          new Set([2, 3]),
        );
      }),
    );
  collections
    .command("get")
    .description("show a collection and its schema")
    .argument("<name>")
    .option("--schema", "print only the schema, in the format `collections create --schema` reads")
    .action(
      act(async (name: string, o: GlobalOptions & { schema?: boolean }) => {
        const session = await openSession(o);
        const { collection } = await session.client.catalog.getDataCollection({ project: await session.project(), name });
        if (o.schema === true) return void process.stdout.write(documentToYaml(schemaToDocument(collection!.schema!)));
        if (o.json === true) return printJson(messageJson(DataCollectionSchema, collection!));
        printCollection(collection!);
      }),
    );
  collections
    .command("create")
    .description("create a collection from a schema file (YAML or JSON; see docs/cli.md)")
    .argument("<name>", "lowercase letters, digits, '-' and '_', starting with a letter")
    .requiredOption("--schema <file>", "the schema, YAML or JSON")
    .option("--display-name <text>", "a human-readable name", "")
    .action(
      act(async (name: string, o: GlobalOptions & { schema: string; displayName: string }) => {
        const schema = await readSchemaFile(o.schema);
        const session = await openSession(o);
        const project = await session.project();
        const { collection } = await session.client.catalog.createDataCollection({ collection: { project, name, displayName: o.displayName, schema } });
        if (o.json === true) return printJson(messageJson(DataCollectionSchema, collection!));
        printCollection(collection!);
      }),
    );
  collections
    .command("delete")
    .description("delete a collection with its splits, models and records")
    .argument("<name>")
    .option("--yes", "confirm the deletion")
    .action(
      act(async (name: string, o: GlobalOptions & { yes?: boolean }) => {
        requireYes(o, `collection "${name}"`);
        const session = await openSession(o);
        await session.client.catalog.deleteDataCollection({ project: await session.project(), name });
        out.line(`deleted collection ${name}`);
      }),
    );
  collections
    .command("stats")
    .description("the record counts the statistics job last computed (same as `sightline stats`)")
    .argument("<name>")
    .action(
      act(async (name: string, o: GlobalOptions) => {
        const session = await openSession(o);
        const { stats } = await session.client.catalog.getCollectionStats({ project: await session.project(), collection: name });
        if (o.json === true) return printJson(stats === undefined ? null : messageJson(CollectionStatsSchema, stats));
        printStats(name, stats);
      }),
    );
  collections
    .command("infer")
    .description("propose a schema (YAML) from the first rows of a CSV or Parquet file; needs no server")
    .argument("<file>", "a .csv or .parquet file")
    .option("--sample-rows <n>", "rows to look at", positiveInt, 1000)
    .option("--max-categories <n>", "a text column with at most this many distinct values becomes categorical", positiveInt, 20)
    .option("--id-column <column>", "the record ID column (default: an id-like column with unique values)")
    .option("--time-column <column>", "the event-time column (default: a time-like column of timestamps)")
    .option("--label <column>", "make this column a label (repeatable)", collect)
    .option("--extra <column>", "make this column extra data (repeatable)", collect)
    .action(
      act(async (file: string, o: GlobalOptions & { sampleRows: number; maxCategories: number; idColumn?: string; timeColumn?: string; label?: string[]; extra?: string[] }) => {
        const { source, rows } = await sampleRows(file, o.sampleRows);
        const doc = inferSchema(source.columns, rows, (c) => source.typeHint(c), {
          idColumn: o.idColumn,
          timeColumn: o.timeColumn,
          labels: o.label ?? [],
          extras: o.extra ?? [],
          maxCategories: o.maxCategories,
        });
        if (o.json === true) return printJson(doc);
        const comment = `Proposed by \`sightline collections infer\` from the first ${rows.length} rows of ${file}.\nCheck the types, kinds (feature, label, extra), nullability and categories before creating the collection.`;
        process.stdout.write(documentToYaml(doc, comment));
      }),
    );
}

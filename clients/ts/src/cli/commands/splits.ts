// `sightline splits …`: the pre-production datasets of a collection.
import type { Command } from "commander";
import { SplitSchema, SplitType, type Split } from "../../index.js";
import { listAll, timeText } from "../listing.js";
import { choicesOf, nameOf, parseEnum } from "../names.js";
import { messageJson, out, printFields, printJson, printTable } from "../output.js";
import { openSession, type GlobalOptions } from "../session.js";
import { act, requireYes } from "./action.js";

type WithCollection = GlobalOptions & { collection: string };

function show(split: Split, json: boolean | undefined): void {
  if (json === true) return printJson(messageJson(SplitSchema, split));
  printFields([
    ["name", split.name],
    ["collection", split.collection],
    ["type", nameOf(SplitType, split.type)],
    ["baseline", split.baseline ? "yes" : "no"],
    ["sealed", split.sealed ? `yes, ${timeText(split.sealTime)}` : "no"],
    ["created", timeText(split.createTime)],
  ]);
}

/** The unary split calls that take (project, collection, name) and return the split. */
function byName(
  name: "getSplit" | "sealSplit" | "setBaselineSplit",
  description: string,
): (splits: Command) => void {
  return (splits) =>
    splits
      .command(name === "getSplit" ? "get" : name === "sealSplit" ? "seal" : "baseline")
      .description(description)
      .argument("<name>")
      .requiredOption("-c, --collection <name>", "the data collection")
      .action(
        act(async (split: string, o: WithCollection) => {
          const session = await openSession(o);
          const r = await session.client.catalog[name]({ project: await session.project(), collection: o.collection, name: split });
          show(r.split!, o.json);
        }),
      );
}

export function registerSplits(program: Command): void {
  const splits = program.command("splits").description("splits: the bounded pre-production datasets of a collection");
  splits
    .command("list")
    .description("list a collection's splits")
    .requiredOption("-c, --collection <name>", "the data collection")
    .action(
      act(async (o: WithCollection) => {
        const session = await openSession(o);
        const project = await session.project();
        const all = await listAll(async (pageToken) => {
          const r = await session.client.catalog.listSplits({ project, collection: o.collection, pageSize: 1000, pageToken });
          return { items: r.splits, next: r.nextPageToken };
        });
        if (o.json === true) return printJson(all.map((s) => messageJson(SplitSchema, s)));
        printTable(
          ["name", "type", "baseline", "sealed", "created"],
          all.map((s) => [s.name, nameOf(SplitType, s.type), s.baseline ? "yes" : "", s.sealed ? "yes" : "", timeText(s.createTime)]),
        );
      }),
    );
  byName("getSplit", "show one split")(splits);
  splits
    .command("create")
    .description("create a split")
    .argument("<name>")
    .requiredOption("-c, --collection <name>", "the data collection")
    .option("--type <type>", `one of ${choicesOf(SplitType).join(", ")}`, "train")
    .option("--baseline", "make it the collection's baseline (the reference for drift and quality)")
    .action(
      act(async (name: string, o: WithCollection & { type: string; baseline?: boolean }) => {
        const type = parseEnum(SplitType, o.type, "--type");
        const session = await openSession(o);
        const project = await session.project();
        const r = await session.client.catalog.createSplit({ split: { project, collection: o.collection, name, type, baseline: o.baseline === true } });
        show(r.split!, o.json);
      }),
    );
  byName("sealSplit", "make a split read-only")(splits);
  byName("setBaselineSplit", "make a split the collection's baseline")(splits);
  splits
    .command("delete")
    .description("delete a split and its records")
    .argument("<name>")
    .requiredOption("-c, --collection <name>", "the data collection")
    .option("--yes", "confirm the deletion")
    .action(
      act(async (name: string, o: WithCollection & { yes?: boolean }) => {
        requireYes(o, `split "${name}"`);
        const session = await openSession(o);
        await session.client.catalog.deleteSplit({ project: await session.project(), collection: o.collection, name });
        out.line(`deleted split ${o.collection}/${name}`);
      }),
    );
}

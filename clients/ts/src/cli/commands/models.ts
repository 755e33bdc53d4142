// `sightline models …`: the models of a collection and how their predictions are read.
import type { Command } from "commander";
import { FieldType, ModelMode, ModelSchema, ScoreType, type Model } from "../../index.js";
import { CliError } from "../failure.js";
import { listAll, timeText } from "../listing.js";
import { choicesOf, nameOf, parseEnum } from "../names.js";
import { messageJson, out, printFields, printJson, printTable } from "../output.js";
import { openSession, type GlobalOptions } from "../session.js";
import { act, requireYes } from "./action.js";
import { collect, finiteNumber } from "./args.js";

type WithCollection = GlobalOptions & { collection: string };

interface CreateOptions extends WithCollection {
  scoreType: string;
  prediction?: string[];
  labelField: string;
  threshold?: number;
  classLabels?: string;
  mode: string;
}

function predictionsText(m: Model): string {
  return m.predictionFields.map((f) => `${f.name}:${nameOf(FieldType, f.type)}`).join(", ");
}

function show(m: Model, json: boolean | undefined): void {
  if (json === true) return printJson(messageJson(ModelSchema, m));
  printFields([
    ["name", m.name],
    ["collection", m.collection],
    ["score type", nameOf(ScoreType, m.scoreType)],
    ["mode", nameOf(ModelMode, m.mode)],
    ["predictions", predictionsText(m)],
    ["label field", m.labelField],
    ["threshold", m.decisionThreshold === undefined ? "" : String(m.decisionThreshold)],
    ["class labels", m.classLabels.join(", ")],
    ["created", timeText(m.createTime)],
  ]);
}

/** `score` or `score:double`; the first prediction field is the score the metrics use. */
function predictionField(spec: string): { name: string; type: FieldType } {
  const at = spec.lastIndexOf(":");
  if (at <= 0) return { name: spec, type: FieldType.DOUBLE };
  return { name: spec.slice(0, at), type: parseEnum(FieldType, spec.slice(at + 1), `--prediction ${spec}: the type`) };
}

export function registerModels(program: Command): void {
  const models = program.command("models").description("models: belong to a collection; their predictions and influences are joined to its records");
  models
    .command("list")
    .description("list a collection's models")
    .requiredOption("-c, --collection <name>", "the data collection")
    .action(
      act(async (o: WithCollection) => {
        const session = await openSession(o);
        const project = await session.project();
        const all = await listAll(async (pageToken) => {
          const r = await session.client.catalog.listModels({ project, collection: o.collection, pageSize: 1000, pageToken });
          return { items: r.models, next: r.nextPageToken };
        });
        if (o.json === true) return printJson(all.map((m) => messageJson(ModelSchema, m)));
        printTable(
          ["name", "score type", "mode", "predictions", "label field", "created"],
          all.map((m) => [m.name, nameOf(ScoreType, m.scoreType), nameOf(ModelMode, m.mode), predictionsText(m), m.labelField, timeText(m.createTime)]),
        );
      }),
    );
  models
    .command("get")
    .description("show one model")
    .argument("<name>")
    .requiredOption("-c, --collection <name>", "the data collection")
    .action(
      act(async (name: string, o: WithCollection) => {
        const session = await openSession(o);
        show((await session.client.catalog.getModel({ project: await session.project(), collection: o.collection, name })).model!, o.json);
      }),
    );
  models
    .command("create")
    .description("create a model")
    .argument("<name>")
    .requiredOption("-c, --collection <name>", "the data collection")
    .requiredOption("--score-type <type>", `one of ${choicesOf(ScoreType).join(", ")}`)
    .option("--prediction <name[:type]>", "a prediction field (repeatable; the first is the score; type default double)", collect)
    .option("--label-field <field>", "the LABEL field the model is judged against", "")
    .option("--threshold <score>", "binary models: a score at or above it predicts the positive class", finiteNumber)
    .option("--class-labels <a,b>", "the class names, comma-separated; for binary models the second is the positive class")
    .option("--mode <mode>", `one of ${choicesOf(ModelMode).join(", ")}`, "data-only")
    .action(
      act(async (name: string, o: CreateOptions) => {
        if (o.prediction === undefined) throw new CliError("a model needs at least one --prediction field");
        const model = {
          name,
          collection: o.collection,
          scoreType: parseEnum(ScoreType, o.scoreType, "--score-type"),
          mode: parseEnum(ModelMode, o.mode, "--mode"),
          predictionFields: o.prediction.map(predictionField),
          labelField: o.labelField,
          decisionThreshold: o.threshold,
          classLabels: o.classLabels === undefined ? [] : o.classLabels.split(",").map((s) => s.trim()),
        };
        const session = await openSession(o);
        const r = await session.client.catalog.createModel({ model: { ...model, project: await session.project() } });
        show(r.model!, o.json);
      }),
    );
  models
    .command("delete")
    .description("delete a model and its predictions and influences")
    .argument("<name>")
    .requiredOption("-c, --collection <name>", "the data collection")
    .option("--yes", "confirm the deletion")
    .action(
      act(async (name: string, o: WithCollection & { yes?: boolean }) => {
        requireYes(o, `model "${name}"`);
        const session = await openSession(o);
        await session.client.catalog.deleteModel({ project: await session.project(), collection: o.collection, name });
        out.line(`deleted model ${o.collection}/${name}`);
      }),
    );
}

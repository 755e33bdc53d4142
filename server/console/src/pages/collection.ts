// A collection: its schema, splits and models, what the statistics job last counted per data kind, and how
// complete each model's predictions are.
import { DataKind } from "../../../../clients/ts/src/gen/sightline/v1/records_pb.js";
import {
  FieldKind,
  FieldType,
  ModelMode,
  ScoreType,
  SplitType,
  type CollectionStats,
  type Field,
  type KindStats,
  type TargetStats,
} from "../../../../clients/ts/src/gen/sightline/v1/resources_pb.js";
import { h, section, table } from "../dom.js";
import { dateTime, enumName, num, percent } from "../format.js";
import type { PageContext } from "../main.js";
import { href } from "../router.js";
import { breadcrumbs, errorBox } from "./common.js";

type Params = { project: string; collection: string };

function fieldDetails(f: Field): string {
  if (f.type === FieldType.CATEGORICAL) return f.categories.join(", ");
  const r = f.range;
  if (r === undefined || (r.min === undefined && r.max === undefined)) return "";
  return `[${r.min ?? "−∞"}, ${r.max ?? "∞"}]`;
}

function targetName(t: TargetStats): string {
  return t.production ? "production" : `split ${t.split}`;
}

function kindCount(kinds: KindStats[], kind: DataKind): bigint {
  return kinds.find((k) => k.kind === kind)?.records ?? 0n;
}

function statsSection(stats: CollectionStats | undefined): HTMLElement[] {
  if (stats === undefined) {
    return [section("Records per kind", h("p", { className: "muted", "data-stats": "pending" }, "The statistics job has not counted this collection yet."))];
  }
  const modelKinds = [DataKind.FEATURES, DataKind.LABELS, DataKind.EXTRA];
  const counts = table(
    ["target", "records", ...modelKinds.map((k) => enumName(DataKind, k).toLowerCase())],
    stats.targets.map((t) =>
      h(
        "tr",
        { "data-target": t.production ? "production" : `split:${t.split}` },
        h("th", { scope: "row" }, targetName(t)),
        h("td", { "data-kind": "RECORDS" }, num(t.records)),
        ...modelKinds.map((k) => h("td", { "data-kind": enumName(DataKind, k) }, num(kindCount(t.kinds, k)))),
      ),
    ),
    { className: "stats" },
  );
  // Completeness: of the records with features, the share that has this model's predictions.
  const rows = stats.targets.flatMap((t) =>
    t.models.map((m) => {
      const features = kindCount(t.kinds, DataKind.FEATURES);
      const missing = m.recordsWithFeaturesWithoutPredictions;
      const share = features === 0n ? undefined : Number(features - missing) / Number(features);
      return h(
        "tr",
        { "data-target": t.production ? "production" : `split:${t.split}`, "data-model": m.model },
        h("th", { scope: "row" }, targetName(t)),
        h("td", {}, m.model),
        h("td", { "data-kind": "PREDICTIONS" }, num(kindCount(m.kinds, DataKind.PREDICTIONS))),
        h("td", { "data-kind": "INFLUENCES" }, num(kindCount(m.kinds, DataKind.INFLUENCES))),
        h("td", { "data-missing": String(missing) }, num(missing)),
        h("td", { "data-completeness": share === undefined ? "" : share.toFixed(4) }, percent(share)),
      );
    }),
  );
  return [
    section(
      "Records per kind",
      h("p", { className: "muted" }, `Counted ${dateTime(stats.computeTime)}; production labelled: ${percent(stats.productionLabelledFraction)}.`),
      counts,
    ),
    section(
      "Completeness per model",
      rows.length === 0
        ? h("p", { className: "muted" }, "No model has data yet.")
        : table(["target", "model", "predictions", "influences", "features without predictions", "complete"], rows, { className: "completeness" }),
    ),
  ];
}

function lookupForm(p: Params): HTMLElement {
  const input = h("input", { type: "search", name: "recordId", placeholder: "record ID", required: true, "aria-label": "record ID" });
  const form = h("form", { className: "inline", "data-form": "lookup" }, input, h("button", { type: "submit" }, "Look up"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value !== "") location.hash = href({ ...p, page: "record", id: input.value });
  });
  return section("Record lookup", h("p", { className: "muted" }, "Every kind of one record, joined, in production and in every split."), form);
}

export async function renderCollection(ctx: PageContext, p: Params): Promise<void> {
  const opts = { signal: ctx.signal };
  ctx.root.append(breadcrumbs(["Projects", href({ page: "projects" })], p.project, p.collection), h("h1", {}, p.collection));
  let results;
  try {
    results = await Promise.all([
      ctx.api.catalog.getDataCollection({ project: p.project, name: p.collection }, opts),
      ctx.api.catalog.listSplits({ ...p, pageSize: 1000 }, opts),
      ctx.api.catalog.listModels({ ...p, pageSize: 1000 }, opts),
      ctx.api.catalog.getCollectionStats(p, opts),
    ]);
  } catch (err) {
    ctx.root.append(errorBox(err));
    return;
  }
  const [{ collection }, { splits }, { models }, { stats }] = results;
  const schema = collection?.schema;
  ctx.root.append(
    lookupForm(p),
    section(
      "Models",
      models.length === 0
        ? h("p", { className: "muted" }, "No models yet.")
        : table(
            ["model", "score type", "mode", "prediction fields", "label field"],
            models.map((m) => [
              h("a", { href: href({ ...p, page: "model", model: m.name, granularity: "hour" }), "data-model": m.name }, m.name),
              enumName(ScoreType, m.scoreType),
              enumName(ModelMode, m.mode),
              m.predictionFields.map((f) => f.name).join(", "),
              m.labelField || "–",
            ]),
          ),
    ),
    ...statsSection(stats),
    section(
      "Schema",
      h(
        "p",
        { className: "muted" },
        `Record ID column ${schema?.recordIdColumn ?? "–"}; timestamp column ${schema?.timestampColumn || "–"}; version ${num(collection?.schemaVersion)}.`,
      ),
      table(
        ["field", "kind", "type", "nullable", "categories or range"],
        (schema?.fields ?? []).map((f) =>
          h(
            "tr",
            { "data-field": f.name },
            h("th", { scope: "row" }, f.name),
            h("td", {}, enumName(FieldKind, f.kind)),
            h("td", {}, enumName(FieldType, f.type)),
            h("td", {}, f.nullable ? "yes" : "no"),
            h("td", {}, fieldDetails(f)),
          ),
        ),
        { className: "schema" },
      ),
    ),
    section(
      "Splits",
      splits.length === 0
        ? h("p", { className: "muted" }, "No splits yet.")
        : table(
            ["split", "type", "baseline", "sealed", "created"],
            splits.map((s) => [s.name, enumName(SplitType, s.type), s.baseline ? "baseline" : "", s.sealed ? "sealed" : "", dateTime(s.createTime)]),
          ),
    ),
  );
}

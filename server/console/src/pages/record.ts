// One record by ID, every kind joined: features, labels and extra data once, predictions and influences per model,
// in production and in each split where the ID exists (ReadRecords with record_ids).
import type { Column, RecordBatch } from "../../../../clients/ts/src/gen/sightline/v1/records_pb.js";
import { DataKind } from "../../../../clients/ts/src/gen/sightline/v1/records_pb.js";
import { FieldKind, FieldType, type Field, type Model } from "../../../../clients/ts/src/gen/sightline/v1/resources_pb.js";
import { h, section, table, type Child } from "../dom.js";
import { enumName, num } from "../format.js";
import type { PageContext } from "../main.js";
import { href } from "../router.js";
import { breadcrumbs, errorBox } from "./common.js";

type Params = { project: string; collection: string; id: string };
type Cell = number | bigint | string | boolean | null;
type Destination = { case: "production"; value: true } | { case: "split"; value: string };

function isNull(col: Column, row: number): boolean {
  const byte = col.nullMask[row >> 3];
  return byte !== undefined && ((byte >> (row & 7)) & 1) === 1;
}

function cellOf(col: Column, row: number): Cell {
  if (isNull(col, row)) return null;
  switch (col.values.case) {
    case "doubles":
      return col.values.value.values[row] ?? null;
    case "int64s":
      return col.values.value.values[row] ?? null;
    case "strings":
      return col.values.value.values[row] ?? null;
    case "bools":
      return col.values.value.values[row] ?? null;
    default:
      return null;
  }
}

function show(cell: Cell, type: FieldType | undefined): Child {
  if (cell === null) return h("span", { className: "null" }, "null");
  if (type === FieldType.TIMESTAMP && typeof cell === "bigint") return new Date(Number(cell)).toISOString();
  if (typeof cell === "number" || typeof cell === "bigint") return num(cell);
  return String(cell);
}

/** One kind's columns for the row, or nothing when the kind has no columns at all. */
function kindSection(title: string, kind: DataKind, columns: Column[], row: number, types: Map<string, FieldType>, model?: string): HTMLElement | null {
  if (columns.length === 0) return null;
  const cells = columns.map((c) => [c.name, cellOf(c, row)] as const);
  const present = cells.some(([, v]) => v !== null);
  const el = h(
    "section",
    { className: `kind${present ? "" : " absent"}`, "data-kind": enumName(DataKind, kind), "data-present": String(present), "data-model": model ?? null },
    h("h3", {}, title, present ? null : h("span", { className: "muted" }, " (not received)")),
    table(
      ["field", "value"],
      cells.map(([name, v]) => h("tr", { "data-field": name }, h("th", { scope: "row" }, name), h("td", {}, show(v, types.get(name))))),
    ),
  );
  return el;
}

async function readOne(ctx: PageContext, p: Params, destination: Destination, model: string, kinds: DataKind[]): Promise<RecordBatch | undefined> {
  for await (const res of ctx.api.ingest.readRecords(
    { target: { project: p.project, collection: p.collection, destination, model }, recordIds: [p.id], kinds, batchSize: 1 },
    { signal: ctx.signal },
  )) {
    if (res.batch !== undefined && res.batch.recordIds.length > 0) return res.batch;
  }
  return undefined;
}

async function targetCard(ctx: PageContext, p: Params, destination: Destination, fields: Field[], models: Model[]): Promise<HTMLElement | null> {
  const base = await readOne(ctx, p, destination, "", [DataKind.FEATURES, DataKind.LABELS, DataKind.EXTRA]);
  if (base === undefined) return null;
  const row = base.recordIds.indexOf(p.id);
  const types = new Map(fields.map((f) => [f.name, f.type]));
  const kindOf = new Map(fields.map((f) => [f.name, f.kind]));
  const byKind = (k: FieldKind) => base.columns.filter((c) => kindOf.get(c.name) === k);
  const eventMs = base.eventTimes?.unixMillis[row];
  const parts: (HTMLElement | null)[] = [
    kindSection("Features", DataKind.FEATURES, byKind(FieldKind.FEATURE), row, types),
    kindSection("Labels", DataKind.LABELS, byKind(FieldKind.LABEL), row, types),
    kindSection("Extra", DataKind.EXTRA, byKind(FieldKind.EXTRA), row, types),
  ];
  for (const m of models) {
    const batch = await readOne(ctx, p, destination, m.name, [DataKind.PREDICTIONS, DataKind.INFLUENCES]);
    if (batch === undefined) continue;
    const r = batch.recordIds.indexOf(p.id);
    const predictionTypes = new Map(m.predictionFields.map((f) => [f.name, f.type]));
    parts.push(
      kindSection(`Predictions of ${m.name}`, DataKind.PREDICTIONS, batch.predictions, r, predictionTypes, m.name),
      // One influence per feature: sent all together or not at all, so an absent set still lists the features.
      kindSection(`Influences of ${m.name}`, DataKind.INFLUENCES, batch.influences, r, new Map(), m.name),
    );
  }
  const name = destination.case === "production" ? "production" : `split ${destination.value}`;
  return section(
    name,
    eventMs === undefined ? null : h("p", { className: "muted" }, `Event time ${new Date(Number(eventMs)).toISOString()}`),
    h("div", { className: "kinds", "data-target": destination.case === "production" ? "production" : `split:${destination.value}` }, ...parts),
  );
}

export async function renderRecord(ctx: PageContext, p: Params): Promise<void> {
  ctx.root.append(
    breadcrumbs(["Projects", href({ page: "projects" })], p.project, [p.collection, href({ page: "collection", project: p.project, collection: p.collection })], "record"),
    h("h1", {}, `Record ${p.id}`),
  );
  const input = h("input", { type: "search", name: "recordId", value: p.id, required: true, "aria-label": "record ID" });
  const form = h("form", { className: "inline", "data-form": "lookup" }, input, h("button", { type: "submit" }, "Look up"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = href({ page: "record", project: p.project, collection: p.collection, id: input.value });
  });
  ctx.root.append(form);
  if (p.id === "") return;
  try {
    const opts = { signal: ctx.signal };
    const [{ collection }, { splits }, { models }] = await Promise.all([
      ctx.api.catalog.getDataCollection({ project: p.project, name: p.collection }, opts),
      ctx.api.catalog.listSplits({ project: p.project, collection: p.collection, pageSize: 1000 }, opts),
      ctx.api.catalog.listModels({ project: p.project, collection: p.collection, pageSize: 1000 }, opts),
    ]);
    const fields = collection?.schema?.fields ?? [];
    const destinations: Destination[] = [{ case: "production", value: true }, ...splits.map((s): Destination => ({ case: "split", value: s.name }))];
    const cards = (await Promise.all(destinations.map((d) => targetCard(ctx, p, d, fields, models)))).filter((c) => c !== null);
    if (cards.length === 0) ctx.root.append(h("p", { className: "muted", "data-found": "0" }, `No record ${p.id} in production or any split.`));
    else ctx.root.append(h("div", { "data-found": cards.length }, ...cards));
  } catch (err) {
    ctx.root.append(errorBox(err));
  }
}

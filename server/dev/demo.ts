// The short demo that `npm start` runs through the public API: a project, a key, a collection with a schema,
// splits and a model, printed as the API returns them.
import { Code, ConnectError } from "@connectrpc/connect";
import {
  createSightlineClient,
  FieldKind,
  FieldType,
  ModelMode,
  ScoreType,
  SplitType,
  type SightlineClient,
} from "../../clients/ts/src/index.js";

export interface DemoResult {
  project: string;
  apiKey: string;
  lines: string[];
}

async function ignoreNotFound(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (err) {
    if (ConnectError.from(err).code !== Code.NotFound) throw err;
  }
}

export async function runDemo(url: string, adminKey: string, project = "demo", ca?: string): Promise<DemoResult> {
  const admin: SightlineClient = createSightlineClient({ url, apiKey: adminKey, ca });
  const lines: string[] = [];
  // The demo starts from scratch each time, so repeated `npm start` runs print the same thing.
  await ignoreNotFound(admin.admin.deleteProject({ name: project }));
  const created = await admin.admin.createProject({ project: { name: project, displayName: "Sightline demo" } });
  lines.push(`project     ${created.project?.name} (${created.project?.displayName})`);
  const key = await admin.admin.createApiKey({ project, displayName: "demo key" });
  lines.push(`api key     ${key.apiKey?.id} (the secret is shown once: ${key.secret})`);

  const client = createSightlineClient({ url, apiKey: key.secret, ca });
  const collection = await client.catalog.createDataCollection({
    collection: {
      project,
      name: "credit",
      displayName: "Credit applications",
      schema: {
        recordIdColumn: "application_id",
        timestampColumn: "decided_at",
        fields: [
          { name: "age", kind: FieldKind.FEATURE, type: FieldType.INT64, range: { min: 18, max: 120 } },
          { name: "income.monthly", kind: FieldKind.FEATURE, type: FieldType.DOUBLE, nullable: true, range: { min: 0 } },
          { name: "employment", kind: FieldKind.FEATURE, type: FieldType.CATEGORICAL, categories: ["employed", "self-employed", "unemployed", "retired"] },
          { name: "defaulted", kind: FieldKind.LABEL, type: FieldType.BOOL, nullable: true },
          { name: "branch", kind: FieldKind.EXTRA, type: FieldType.STRING, nullable: true },
        ],
      },
    },
  });
  const schema = collection.collection?.schema;
  lines.push(`collection  ${collection.collection?.name}: record id "${schema?.recordIdColumn}", time "${schema?.timestampColumn}"`);
  for (const f of schema?.fields ?? []) {
    const extra = f.categories.length > 0 ? ` [${f.categories.join(", ")}]` : f.range ? ` range [${f.range.min ?? "-inf"}, ${f.range.max ?? "+inf"}]` : "";
    lines.push(`              ${f.name.padEnd(16)} ${FieldKind[f.kind].padEnd(8)} ${FieldType[f.type]}${f.nullable ? " nullable" : ""}${extra}`);
  }
  for (const [name, type, baseline] of [
    ["train", SplitType.TRAIN, true],
    ["test", SplitType.TEST, false],
  ] as const) {
    const split = await client.catalog.createSplit({ split: { project, collection: "credit", name, type, baseline } });
    lines.push(`split       ${split.split?.name} (${SplitType[type]}${split.split?.baseline ? ", baseline" : ""})`);
  }
  const sealed = await client.catalog.sealSplit({ project, collection: "credit", name: "train" });
  lines.push(`sealed      ${sealed.split?.name}: read-only from now on`);
  const model = await client.catalog.createModel({
    model: {
      project,
      collection: "credit",
      name: "default-risk",
      scoreType: ScoreType.PROBITS,
      mode: ModelMode.DATA_ONLY,
      predictionFields: [{ name: "p_default", type: FieldType.DOUBLE }],
      labelField: "defaulted",
      decisionThreshold: 0.35,
      classLabels: ["repaid", "defaulted"],
    },
  });
  const m = model.model;
  lines.push(`model       ${m?.name}: ${ScoreType[m?.scoreType ?? 0]}, ${ModelMode[m?.mode ?? 0]}, threshold ${m?.decisionThreshold}, classes [${m?.classLabels.join(", ")}]`);
  try {
    await client.catalog.updateSchema({ project, collection: "credit", schema: { ...schema!, fields: schema!.fields.slice(1) } });
  } catch (err) {
    lines.push(`refused     removing a field: ${Code[ConnectError.from(err).code]}: ${ConnectError.from(err).rawMessage}`);
  }
  return { project, apiKey: key.secret, lines };
}

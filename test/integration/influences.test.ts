// Data-and-model mode end to end against shap and onnxruntime: the models, their ONNX files and the expected values
// come from test/reference/influence_reference.py (committed with its output). Artifacts go in through
// UploadModelArtifact, rows through Upload, predictions and influences come from the worker's jobs, and what
// ReadRecords returns is compared with the reference.
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createClient, type Client } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSightlineClient,
  DataKind,
  ErrorReason,
  FieldKind,
  FieldType,
  InfluenceAlgorithm,
  JobState,
  ModelMode,
  ScoreType,
  SplitType,
  type RecordBatch,
  type SightlineClient,
  type TargetInit,
} from "../../clients/ts/src/index.js";
import { ArtifactFormat, ModelService } from "../../clients/ts/src/gen/sightline/v1/model_service_pb.js";
import { ErrorInfoSchema } from "../../server/src/gen/google/rpc/error_details_pb.js";
import { isolation, startServerProcess, startWorkerProcess, type ChildHandle, type ServerHandle } from "../harness/processes.js";

interface Case {
  name: string;
  scoreType: "PROBITS" | "LOGITS" | "REGRESSION";
  tree: boolean;
  onnxFile: string;
  features?: string[];
  background?: number[][];
  explain?: number[][];
  ortScore: number[];
  structureScore?: number[];
  exactBase: number;
  exactShapley: number[][];
  treeShap?: number[][];
  treeShapBase?: number;
  kernelShap?: number[][];
  kernelShapSettings?: { nsamples: number; enumeratesAll: boolean };
  maxAbsDiff: Record<string, number>;
}
interface Cases {
  features: string[];
  background: number[][];
  explain: number[][];
  cases: Case[];
}

const referenceDir = new URL("../reference/influence/", import.meta.url);
const reference = JSON.parse(readFileSync(new URL("influence-cases.json", referenceDir), "utf8")) as Cases;
const P = "inf";
const scoreTypes = { PROBITS: ScoreType.PROBITS, LOGITS: ScoreType.LOGITS, REGRESSION: ScoreType.REGRESSION } as const;

/** The largest deviations seen, for the closing note. */
const deviations = new Map<string, number>();
function note(what: string, diff: number): void {
  deviations.set(what, Math.max(deviations.get(what) ?? 0, diff));
}

function caseOf(name: string): Case {
  return reference.cases.find((c) => c.name === name)!;
}

function dataOf(c: Case) {
  return { features: c.features ?? reference.features, background: c.background ?? reference.background, explain: c.explain ?? reference.explain };
}

function artifactBytes(c: Case): Uint8Array {
  return readFileSync(new URL(c.onnxFile, referenceDir));
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function* uploadMessages(header: { collection: string; model: string; sizeBytes?: bigint; sha256?: string }, bytes: Uint8Array, chunkSize = 4096) {
  yield {
    part: {
      case: "header" as const,
      value: { project: P, collection: header.collection, model: header.model, format: ArtifactFormat.ONNX, sizeBytes: header.sizeBytes ?? BigInt(bytes.length), sha256: header.sha256 ?? sha256(bytes) },
    },
  };
  for (let i = 0; i < bytes.length; i += chunkSize) yield { part: { case: "chunk" as const, value: bytes.subarray(i, i + chunkSize) } };
}

async function expectFailure(call: Promise<unknown>, code: Code, reason: ErrorReason): Promise<ConnectError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${Code[code]}`).toBeInstanceOf(ConnectError);
  const e = err as ConnectError;
  expect(Code[e.code], e.message).toBe(Code[code]);
  expect(e.findDetails(ErrorInfoSchema)[0]?.reason).toBe(ErrorReason[reason]);
  return e;
}

/** Columns of every batch, by column name, in record order, with their record IDs. */
async function readKind(client: SightlineClient, target: TargetInit, kind: DataKind): Promise<{ ids: string[]; columns: Map<string, number[]> }> {
  const ids: string[] = [];
  const columns = new Map<string, number[]>();
  for await (const batch of client.readRecords({ target, kinds: [kind] })) collect(batch, kind, ids, columns);
  return { ids, columns };
}

function collect(batch: RecordBatch, kind: DataKind, ids: string[], columns: Map<string, number[]>): void {
  const source = kind === DataKind.INFLUENCES ? batch.influences : batch.predictions;
  const start = ids.length;
  ids.push(...batch.recordIds);
  for (const column of source) {
    const values = columns.get(column.name) ?? Array<number>(start).fill(Number.NaN);
    if (column.values.case !== "doubles") throw new Error(`${column.name} is not a DOUBLE column`);
    const nulls = column.nullMask;
    column.values.value.values.forEach((v, i) => values.push(nulls.length > 0 && (nulls[i >> 3]! >> (i & 7)) & 1 ? Number.NaN : v));
    columns.set(column.name, values);
  }
}

/** Values by record ID; a record without the kind (every value null) is left out. */
function rowsById(ids: string[], columns: Map<string, number[]>, names: string[]): Map<string, number[]> {
  const rows = new Map<string, number[]>();
  ids.forEach((id, i) => {
    const values = names.map((n) => columns.get(n)?.[i] ?? Number.NaN);
    if (values.some((v) => !Number.isNaN(v))) rows.set(id, values);
  });
  return rows;
}

function explainId(i: number): string {
  return `x${String(i).padStart(3, "0")}`;
}

describe("influences and predictions against shap and onnxruntime", () => {
  const iso = isolation("influences");
  let server: ServerHandle;
  let worker: ChildHandle;
  let client: SightlineClient;
  let models: Client<typeof ModelService>;
  const jobResults = new Map<string, { base: number | undefined; chunks: number; algorithm: InfluenceAlgorithm; exact: boolean; written: number }>();

  async function createCollection(name: string, features: string[], baseline: number[][] | undefined): Promise<void> {
    await client.catalog.createDataCollection({
      collection: { project: P, name, schema: { recordIdColumn: "id", fields: features.map((f) => ({ name: f, kind: FieldKind.FEATURE, type: FieldType.DOUBLE, nullable: true })) } },
    });
    await client.catalog.createSplit({ split: { project: P, collection: name, name: "explain", type: SplitType.TEST } });
    if (baseline === undefined) return;
    await client.catalog.createSplit({ split: { project: P, collection: name, name: "background", type: SplitType.TRAIN } });
    await client.catalog.setBaselineSplit({ project: P, collection: name, name: "background" });
    await uploadFeatures(name, { case: "split", value: "background" }, baseline, (i) => `b${String(i).padStart(3, "0")}`);
  }

  async function uploadFeatures(collection: string, destination: TargetInit["destination"], rows: number[][], idOf: (i: number) => string, eventTimes?: number[]): Promise<void> {
    const features = collection === "c12" ? caseOf("mlp12").features! : reference.features;
    const summary = await client.upload({ project: P, collection, destination }, [
      {
        recordIds: rows.map((_, i) => idOf(i)),
        ...(eventTimes === undefined ? {} : { eventTimes }),
        columns: Object.fromEntries(features.map((f, j) => [f, rows.map((r) => r[j]!)])),
      },
    ]);
    expect(summary.rowErrors).toEqual([]);
  }

  async function createModel(collection: string, name: string, scoreType: ScoreType, extra: { mode?: ModelMode; onIngest?: boolean } = {}): Promise<void> {
    await client.catalog.createModel({
      model: {
        project: P,
        collection,
        name,
        scoreType,
        mode: extra.mode ?? ModelMode.DATA_AND_MODEL,
        predictionFields: [{ name: "score", type: FieldType.DOUBLE }],
        ...(extra.onIngest === true ? { influenceOptions: { onIngest: true } } : {}),
      },
    });
  }

  async function runJob(jobId: string) {
    const status = await client.waitForJob(jobId);
    expect(status.state, status.message).toBe(JobState.COMPLETED);
    const r = status.computeResult!;
    expect(r).toBeDefined();
    return { base: r.baseValue, chunks: Number(r.chunks), algorithm: r.algorithm, exact: r.exact, written: Number(r.written) };
  }

  beforeAll(async () => {
    server = await startServerProcess(iso);
    // Ten records per chunk, so 25 explained rows make three chunk jobs.
    worker = await startWorkerProcess(iso, { SIGHTLINE_COMPUTE_CHUNK_RECORDS: "10" });
    client = createSightlineClient({ url: server.url, apiKey: iso.adminKey });
    models = createClient(ModelService, client.transport);
    await client.admin.createProject({ project: { name: P } });
    await createCollection("c5", reference.features, reference.background);
    await uploadFeatures("c5", { case: "split", value: "explain" }, reference.explain, explainId);
    const mlp12 = dataOf(caseOf("mlp12"));
    await createCollection("c12", mlp12.features, mlp12.background);
    await uploadFeatures("c12", { case: "split", value: "explain" }, mlp12.explain, explainId);

    for (const c of reference.cases) {
      const collection = c.name === "mlp12" ? "c12" : "c5";
      await createModel(collection, c.name, scoreTypes[c.scoreType]);
      const { artifact } = await models.uploadModelArtifact(uploadMessages({ collection, model: c.name }, artifactBytes(c)));
      expect(Number(artifact!.version)).toBe(1);
      expect(artifact!.influenceAlgorithm, c.name).toBe(c.tree ? InfluenceAlgorithm.TREE_SHAP : InfluenceAlgorithm.KERNEL_SHAP);
      const target = { project: P, collection, model: c.name, scope: { case: "split" as const, value: "explain" } };
      jobResults.set(`${c.name}:predictions`, await runJob((await models.computePredictions(target)).jobId));
      // mlp12 is sampled at shap's own budget for the comparison; everything else takes the defaults.
      const options = c.name === "mlp12" ? { kernelSamples: c.kernelShapSettings!.nsamples, seed: 7n } : undefined;
      jobResults.set(`${c.name}:influences`, await runJob((await models.computeInfluences({ ...target, options })).jobId));
    }
  }, 300_000);

  afterAll(async () => {
    await worker?.stop();
    await server?.stop();
    if (deviations.size > 0) process.stdout.write(`influences: largest deviations ${JSON.stringify(Object.fromEntries(deviations))}\n`);
  });

  async function resultsOf(c: Case) {
    const collection = c.name === "mlp12" ? "c12" : "c5";
    const target: TargetInit = { project: P, collection, destination: { case: "split", value: "explain" }, model: c.name };
    const predictions = await readKind(client, target, DataKind.PREDICTIONS);
    const influences = await readKind(client, target, DataKind.INFLUENCES);
    const { features, explain } = dataOf(c);
    return {
      explain,
      scores: rowsById(predictions.ids, predictions.columns, ["score"]),
      influences: rowsById(influences.ids, influences.columns, features),
    };
  }

  it("splits each request into chunk jobs and reports what they wrote", () => {
    for (const c of reference.cases) {
      const rows = dataOf(c).explain.length;
      for (const kind of ["predictions", "influences"]) {
        const r = jobResults.get(`${c.name}:${kind}`)!;
        expect(r.chunks, `${c.name} ${kind} chunks`).toBe(Math.ceil(rows / 10));
        expect(r.written, `${c.name} ${kind} written`).toBe(rows);
      }
      const influences = jobResults.get(`${c.name}:influences`)!;
      expect(influences.algorithm).toBe(c.tree ? InfluenceAlgorithm.TREE_SHAP : InfluenceAlgorithm.KERNEL_SHAP);
      expect(influences.exact, c.name).toBe(c.name !== "mlp12");
    }
  });

  it.each(reference.cases.map((c) => [c.name]))("predictions of %s match the model's own output in onnxruntime", async (name) => {
    const c = caseOf(name);
    const { explain, scores } = await resultsOf(c);
    expect(scores.size).toBe(explain.length);
    explain.forEach((_, i) => {
      const got = scores.get(explainId(i))![0]!;
      // Tree scores are the float64 sum of the float32 leaf weights; onnxruntime sums in float32.
      const diff = Math.abs(got - c.ortScore[i]!);
      note(`${c.tree ? "tree" : "onnx"} prediction vs onnxruntime`, diff);
      expect(diff, `${name} row ${i}: ${got} vs ${c.ortScore[i]}`).toBeLessThanOrEqual(c.tree ? 2e-6 : 1e-6);
      if (c.structureScore !== undefined) {
        const s = Math.abs(got - c.structureScore[i]!);
        note("tree prediction vs the reference's float64 tree sum", s);
        expect(s).toBeLessThanOrEqual(1e-9);
      }
    });
  });

  it.each(reference.cases.filter((c) => c.tree).map((c) => [c.name]))("TreeSHAP of %s is within 1e-6 of shap's interventional TreeExplainer", async (name) => {
    const c = caseOf(name);
    const { explain, influences } = await resultsOf(c);
    expect(Math.abs(jobResults.get(`${name}:influences`)!.base! - c.treeShapBase!)).toBeLessThanOrEqual(1e-6);
    explain.forEach((_, i) => {
      const got = influences.get(explainId(i))!;
      got.forEach((v, j) => {
        const diff = Math.abs(v - c.treeShap![i]![j]!);
        note("TreeSHAP vs shap.TreeExplainer", diff);
        expect(diff, `${name} row ${i} feature ${j}`).toBeLessThanOrEqual(1e-6);
      });
    });
  });

  it.each([["mlp"], ["logreg"]])("KernelSHAP of %s enumerates every coalition and equals the exact Shapley values", async (name) => {
    const c = caseOf(name);
    const { explain, influences } = await resultsOf(c);
    // onnxruntime's LinearClassifier rounds one float32 step differently with the batch size, so the logistic
    // regression's exact values can only agree to that step; the MLP agrees to double rounding.
    const tolerance = name === "mlp" ? 1e-9 : 1e-7;
    explain.forEach((_, i) => {
      influences.get(explainId(i))!.forEach((v, j) => {
        const diff = Math.abs(v - c.exactShapley[i]![j]!);
        note(`exact KernelSHAP vs brute force (${name})`, diff);
        expect(diff, `${name} row ${i} feature ${j}`).toBeLessThanOrEqual(tolerance);
      });
    });
  });

  it("sampled KernelSHAP of a 12-feature MLP is within the documented tolerance of shap.KernelExplainer and of the exact values", async () => {
    const c = caseOf("mlp12");
    const { explain, influences } = await resultsOf(c);
    explain.forEach((_, i) => {
      influences.get(explainId(i))!.forEach((v, j) => {
        const vsShap = Math.abs(v - c.kernelShap![i]![j]!);
        const vsExact = Math.abs(v - c.exactShapley[i]![j]!);
        note("sampled KernelSHAP vs shap.KernelExplainer (500 samples)", vsShap);
        note("sampled KernelSHAP vs exact (500 samples)", vsExact);
        expect(vsShap, `row ${i} feature ${j}`).toBeLessThanOrEqual(3e-2);
        expect(vsExact, `row ${i} feature ${j}`).toBeLessThanOrEqual(3e-2);
      });
    });
  });

  it.each(reference.cases.map((c) => [c.name]))("influences of %s are additive: base value + their sum = the stored score", async (name) => {
    const c = caseOf(name);
    const { explain, scores, influences } = await resultsOf(c);
    const base = jobResults.get(`${name}:influences`)!.base!;
    expect(Math.abs(base - c.exactBase)).toBeLessThanOrEqual(1e-6);
    explain.forEach((_, i) => {
      const sum = influences.get(explainId(i))!.reduce((s, v) => s + v, base);
      const diff = Math.abs(sum - scores.get(explainId(i))![0]!);
      note("additivity (base + sum - stored score)", diff);
      expect(diff, `${name} row ${i}`).toBeLessThanOrEqual(c.tree ? 1e-9 : 1e-6);
    });
  });

  it("computes influences for a production time range only, and again identically", async () => {
    const c = caseOf("forest");
    const hour = Date.UTC(2026, 2, 2, 10);
    const times = reference.explain.map((_, i) => hour + (i < 10 ? 0 : 3_600_000) + i * 1000);
    await uploadFeatures("c5", { case: "production", value: true }, reference.explain, explainId, times);
    const target = { project: P, collection: "c5", model: "forest" };
    const scope = { case: "production" as const, value: { start: { seconds: BigInt(hour / 1000) }, end: { seconds: BigInt(hour / 1000 + 3600) } } };
    const first = await runJob((await models.computeInfluences({ ...target, scope })).jobId);
    expect(first.written).toBe(10);
    const read = async () => rowsById(...Object.values(await readKind(client, { ...target, destination: { case: "production", value: true } }, DataKind.INFLUENCES)) as [string[], Map<string, number[]>], reference.features);
    const once = await read();
    expect([...once.keys()].sort()).toEqual(reference.explain.slice(0, 10).map((_, i) => explainId(i)));
    for (const [id, values] of once) values.forEach((v, j) => expect(Math.abs(v - c.treeShap![Number(id.slice(1))]![j]!)).toBeLessThanOrEqual(1e-6));
    await runJob((await models.computeInfluences({ ...target, scope })).jobId);
    expect(await read()).toEqual(once);
  });

  // KERNEL_SHAP asked of a tree ensemble takes the tree-path evaluator; with five features it enumerates every
  // coalition, so its values are the exact interventional Shapley values that shap's TreeExplainer computes.
  it.each(reference.cases.filter((c) => c.tree && c.name !== "mlp12").map((c) => [c.name]))(
    "KernelSHAP asked of the tree ensemble %s gives TreeExplainer's values within 1e-6",
    async (name) => {
      const c = caseOf(name);
      const model = `${name}_kernel`;
      await createModel("c5", model, scoreTypes[c.scoreType]);
      await models.uploadModelArtifact(uploadMessages({ collection: "c5", model }, artifactBytes(c)));
      const target = { project: P, collection: "c5", model, scope: { case: "split" as const, value: "explain" } };
      const r = await runJob((await models.computeInfluences({ ...target, options: { algorithm: InfluenceAlgorithm.KERNEL_SHAP } })).jobId);
      expect(r.algorithm).toBe(InfluenceAlgorithm.KERNEL_SHAP);
      expect(r.exact).toBe(true);
      expect(Math.abs(r.base! - c.treeShapBase!)).toBeLessThanOrEqual(1e-6);
      const read = await readKind(client, { project: P, collection: "c5", destination: { case: "split", value: "explain" }, model }, DataKind.INFLUENCES);
      const influences = rowsById(read.ids, read.columns, reference.features);
      expect(influences.size).toBe(reference.explain.length);
      reference.explain.forEach((_, i) => {
        influences.get(explainId(i))!.forEach((v, j) => {
          const diff = Math.abs(v - c.treeShap![i]![j]!);
          note("KernelSHAP by tree paths vs shap.TreeExplainer", diff);
          expect(diff, `${name} row ${i} feature ${j}`).toBeLessThanOrEqual(1e-6);
        });
      });
    },
  );

  it("computes influences for production records as they are ingested when the model asks for it", async () => {
    const c = caseOf("gbr");
    await createModel("c5", "gbr_auto", ScoreType.REGRESSION, { onIngest: true });
    await models.uploadModelArtifact(uploadMessages({ collection: "c5", model: "gbr_auto" }, artifactBytes(c)));
    const hour = Date.UTC(2026, 2, 3, 10);
    // A second copy of the explained rows, under new IDs, arriving after the model was set up.
    await uploadFeatures("c5", { case: "production", value: true }, reference.explain, (i) => `auto${i}`, reference.explain.map((_, i) => hour + i));
    const target: TargetInit = { project: P, collection: "c5", destination: { case: "production", value: true }, model: "gbr_auto" };
    let rows = new Map<string, number[]>();
    for (let attempt = 0; attempt < 120 && rows.size < reference.explain.length; attempt++) {
      await new Promise((r) => setTimeout(r, 250));
      const read = await readKind(client, target, DataKind.INFLUENCES);
      rows = rowsById(read.ids, read.columns, reference.features);
      for (const id of [...rows.keys()]) if (!id.startsWith("auto")) rows.delete(id);
    }
    expect(rows.size).toBe(reference.explain.length);
    for (const [id, values] of rows) values.forEach((v, j) => expect(Math.abs(v - c.treeShap![Number(id.slice(4))]![j]!)).toBeLessThanOrEqual(1e-6));
  });

  describe("bad input gets a clear error and stores nothing", () => {
    beforeAll(async () => {
      await createModel("c5", "bad", ScoreType.PROBITS);
      await createModel("c5", "sent", ScoreType.PROBITS, { mode: ModelMode.DATA_ONLY });
    });

    async function expectNoArtifact(): Promise<void> {
      await expectFailure(models.getModelArtifact({ project: P, collection: "c5", model: "bad" }), Code.FailedPrecondition, ErrorReason.ARTIFACT_MISSING);
    }

    it("refuses a corrupt artifact", async () => {
      const bytes = Uint8Array.from(artifactBytes(caseOf("forest")));
      bytes.fill(0xff, 40, 400);
      await expectFailure(models.uploadModelArtifact(uploadMessages({ collection: "c5", model: "bad" }, bytes)), Code.InvalidArgument, ErrorReason.ARTIFACT_INVALID);
      await expectNoArtifact();
    });

    it("refuses bytes that are not ONNX, such as a pickle", async () => {
      const pickle = Uint8Array.from([0x80, 0x04, 0x95, ...randomBytes(200)]);
      const err = await expectFailure(models.uploadModelArtifact(uploadMessages({ collection: "c5", model: "bad" }, pickle)), Code.InvalidArgument, ErrorReason.ARTIFACT_INVALID);
      expect(err.message).toMatch(/ONNX/);
      await expectNoArtifact();
    });

    it("refuses a truncated upload", async () => {
      const bytes = artifactBytes(caseOf("forest"));
      const err = await expectFailure(
        models.uploadModelArtifact(uploadMessages({ collection: "c5", model: "bad", sizeBytes: BigInt(bytes.length), sha256: sha256(bytes) }, bytes.subarray(0, bytes.length - 100))),
        Code.InvalidArgument,
        ErrorReason.ARTIFACT_INVALID,
      );
      expect(err.message).toMatch(/truncated/);
      await expectNoArtifact();
    });

    it("refuses a wrong SHA-256", async () => {
      const bytes = artifactBytes(caseOf("forest"));
      const err = await expectFailure(models.uploadModelArtifact(uploadMessages({ collection: "c5", model: "bad", sha256: "0".repeat(64) }, bytes)), Code.InvalidArgument, ErrorReason.ARTIFACT_INVALID);
      expect(err.message).toMatch(/sha256/);
      await expectNoArtifact();
    });

    it("refuses a model whose inputs do not match the features, naming the input", async () => {
      const err = await expectFailure(models.uploadModelArtifact(uploadMessages({ collection: "c5", model: "bad" }, artifactBytes(caseOf("mlp12")))), Code.FailedPrecondition, ErrorReason.ARTIFACT_MISMATCH);
      expect(err.message).toMatch(/input float_input/);
      await expectNoArtifact();
    });

    it("refuses to compute for a DATA_ONLY model, and to take its artifact", async () => {
      const target = { project: P, collection: "c5", model: "sent", scope: { case: "split" as const, value: "explain" } };
      await expectFailure(models.computePredictions(target), Code.FailedPrecondition, ErrorReason.MODEL_MODE);
      await expectFailure(models.computeInfluences(target), Code.FailedPrecondition, ErrorReason.MODEL_MODE);
      await expectFailure(models.uploadModelArtifact(uploadMessages({ collection: "c5", model: "sent" }, artifactBytes(caseOf("forest")))), Code.FailedPrecondition, ErrorReason.MODEL_MODE);
    });

    it("refuses influences without a baseline split, or with an empty one", async () => {
      await createCollection("nobase", reference.features, undefined);
      await createModel("nobase", "forest", ScoreType.PROBITS);
      await models.uploadModelArtifact(uploadMessages({ collection: "nobase", model: "forest" }, artifactBytes(caseOf("forest"))));
      const target = { project: P, collection: "nobase", model: "forest", scope: { case: "split" as const, value: "explain" } };
      await expectFailure(models.computeInfluences(target), Code.FailedPrecondition, ErrorReason.BASELINE_MISSING);
      await client.catalog.createSplit({ split: { project: P, collection: "nobase", name: "empty", type: SplitType.TRAIN } });
      await client.catalog.setBaselineSplit({ project: P, collection: "nobase", name: "empty" });
      await expectFailure(models.computeInfluences(target), Code.FailedPrecondition, ErrorReason.BASELINE_MISSING);
    });

    it("keeps what was stored: the earlier artifact and computed values are unchanged by refused uploads", async () => {
      const { artifact } = await models.getModelArtifact({ project: P, collection: "c5", model: "forest" });
      expect(Number(artifact!.version)).toBe(1);
      expect(artifact!.sha256).toBe(sha256(artifactBytes(caseOf("forest"))));
      const { scores } = await resultsOf(caseOf("forest"));
      expect(scores.size).toBe(reference.explain.length);
    });
  });
});

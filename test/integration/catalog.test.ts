// Every catalog RPC on its success path and on each error code it documents, through two gRPC stacks.
import { create, toJsonString } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../server/src/gen/sightline/v1/admin_service_pb.js";
import { CatalogService } from "../../server/src/gen/sightline/v1/catalog_service_pb.js";
import { ErrorReason } from "../../server/src/gen/sightline/v1/errors_pb.js";
import { FieldKind, FieldType, SchemaSchema, SplitType } from "../../server/src/gen/sightline/v1/resources_pb.js";
import { creditSchema, field, modelInit, splitInit } from "../harness/fixtures.js";
import { isolation, startServerProcess, type ServerHandle } from "../harness/processes.js";
import { connectCaller, expectFailure, grpcJsCaller, type RpcCaller } from "../harness/rpc.js";

const admin = AdminService.method;
const catalog = CatalogService.method;
const iso = isolation("catalog");
let server: ServerHandle;

beforeAll(async () => {
  server = await startServerProcess(iso);
});
afterAll(async () => {
  await server?.stop();
});

describe.each([
  ["connect-es", () => connectCaller(server.url)],
  ["grpc-js", () => grpcJsCaller(server.address)],
])("catalog through %s", (stack, makeCaller) => {
  let rpc: RpcCaller;
  const key = iso.adminKey;
  const p = `p-${stack}`;
  beforeAll(async () => {
    rpc = makeCaller();
    await rpc.unary(admin.createProject, { project: { name: p, displayName: "Catalog tests" } }, key);
  });
  afterAll(() => rpc.close());

  describe("projects", () => {
    it("creates, gets and pages through projects", async () => {
      for (const n of ["a", "b", "c"]) await rpc.unary(admin.createProject, { project: { name: `${p}-${n}` } }, key);
      const got = await rpc.unary(admin.getProject, { name: `${p}-b` }, key);
      expect(got.project?.name).toBe(`${p}-b`);
      expect(got.project?.createTime).toBeDefined();
      const names: string[] = [];
      let token = "";
      let pages = 0;
      do {
        const page = await rpc.unary(admin.listProjects, { pageSize: 2, pageToken: token }, key);
        expect(page.projects.length).toBeLessThanOrEqual(2);
        names.push(...page.projects.map((x) => x.name));
        token = page.nextPageToken;
        pages += 1;
      } while (token !== "" && pages < 100);
      expect(names).toEqual([...names].sort());
      expect(names).toEqual(expect.arrayContaining([p, `${p}-a`, `${p}-b`, `${p}-c`]));
      expect(new Set(names).size).toBe(names.length);
    });

    it("refuses duplicates, unknown names, bad names, bad paging", async () => {
      const dup = await expectFailure(rpc.unary(admin.createProject, { project: { name: p } }, key), Code.AlreadyExists);
      expect(dup.errorInfo?.reason).toBe(ErrorReason[ErrorReason.ALREADY_EXISTS]);
      await expectFailure(rpc.unary(admin.getProject, { name: "nope" }, key), Code.NotFound);
      await expectFailure(rpc.unary(admin.deleteProject, { name: "nope" }, key), Code.NotFound);
      const bad = await expectFailure(rpc.unary(admin.createProject, { project: { name: "Has Space" } }, key), Code.InvalidArgument);
      expect(bad.badRequest?.fieldViolations.map((v) => v.field)).toEqual(["project.name"]);
      const long = await expectFailure(rpc.unary(admin.createProject, { project: { name: "x".repeat(64) } }, key), Code.InvalidArgument);
      expect(long.badRequest?.fieldViolations[0]?.description).toMatch(/at most 63/);
      await expectFailure(rpc.unary(admin.createProject, {}, key), Code.InvalidArgument);
      const size = await expectFailure(rpc.unary(admin.listProjects, { pageSize: 5000 }, key), Code.InvalidArgument);
      expect(size.badRequest?.fieldViolations[0]?.field).toBe("page_size");
      const tok = await expectFailure(rpc.unary(admin.listProjects, { pageToken: "garbage" }, key), Code.InvalidArgument);
      expect(tok.badRequest?.fieldViolations[0]?.field).toBe("page_token");
      await expectFailure(rpc.unary(admin.getProject, { name: "UPPER" }, key), Code.InvalidArgument);
    });

    it("deletes a project with everything in it", async () => {
      const gone = `${p}-gone`;
      await rpc.unary(admin.createProject, { project: { name: gone } }, key);
      await rpc.unary(catalog.createDataCollection, { collection: { project: gone, name: "c", schema: creditSchema() } }, key);
      await rpc.unary(admin.deleteProject, { name: gone }, key);
      await expectFailure(rpc.unary(admin.getProject, { name: gone }, key), Code.NotFound);
      await expectFailure(rpc.unary(catalog.getDataCollection, { project: gone, name: "c" }, key), Code.NotFound);
    });
  });

  describe("api keys", () => {
    it("creates a key shown once, lists it without its secret, revokes it", async () => {
      const created = await rpc.unary(admin.createApiKey, { project: p, displayName: "ci" }, key);
      expect(created.secret.startsWith(created.apiKey!.id)).toBe(true);
      const listed = await rpc.unary(admin.listApiKeys, { project: p }, key);
      const mine = listed.apiKeys.find((k) => k.id === created.apiKey!.id);
      expect(mine?.displayName).toBe("ci");
      expect(toJsonString(admin.listApiKeys.output, listed)).not.toContain(created.secret.split(".")[1]);
      const revoked = await rpc.unary(admin.revokeApiKey, { project: p, id: created.apiKey!.id }, key);
      expect(revoked.apiKey?.revokeTime).toBeDefined();
    });

    it("refuses unknown projects and keys", async () => {
      await expectFailure(rpc.unary(admin.createApiKey, { project: "nope" }, key), Code.NotFound);
      await expectFailure(rpc.unary(admin.listApiKeys, { project: "nope" }, key), Code.NotFound);
      await expectFailure(rpc.unary(admin.revokeApiKey, { project: p, id: "slk_unknown" }, key), Code.NotFound);
      await expectFailure(rpc.unary(admin.revokeApiKey, { project: p, id: "" }, key), Code.InvalidArgument);
      await expectFailure(rpc.unary(admin.createApiKey, { project: "Bad!" }, key), Code.InvalidArgument);
    });
  });

  describe("data collections", () => {
    it("creates with field names holding dots, $ and unicode, and reads them back", async () => {
      const made = await rpc.unary(catalog.createDataCollection, { collection: { project: p, name: "credit", schema: creditSchema() } }, key);
      expect(made.collection?.schemaVersion).toBe(1n);
      const got = await rpc.unary(catalog.getDataCollection, { project: p, name: "credit" }, key);
      expect(got.collection?.schema?.fields.map((f) => f.name)).toEqual(creditSchema().fields.map((f) => f.name));
      expect(got.collection?.schema?.fields[0]?.range?.max).toBe(130);
      expect(got.collection?.schema?.fields[2]?.categories).toEqual(["a", "b", "c"]);
      const listed = await rpc.unary(catalog.listDataCollections, { project: p }, key);
      expect(listed.collections.map((c) => c.name)).toContain("credit");
    });

    it("pages through collections", async () => {
      for (const n of ["l1", "l2", "l3"]) {
        await rpc.unary(catalog.createDataCollection, { collection: { project: p, name: n, schema: creditSchema() } }, key);
      }
      const first = await rpc.unary(catalog.listDataCollections, { project: p, pageSize: 1 }, key);
      expect(first.collections).toHaveLength(1);
      expect(first.nextPageToken).not.toBe("");
      const second = await rpc.unary(catalog.listDataCollections, { project: p, pageSize: 1, pageToken: first.nextPageToken }, key);
      expect(second.collections[0]!.name > first.collections[0]!.name).toBe(true);
      // A token from one listing is refused by another.
      await expectFailure(rpc.unary(catalog.listSplits, { project: p, collection: "l1", pageToken: first.nextPageToken }, key), Code.InvalidArgument);
    });

    it("refuses bad schemas with field violations and writes nothing", async () => {
      const before = await rpc.unary(catalog.listDataCollections, { project: p, pageSize: 1000 }, key);
      const cases: [string, ReturnType<typeof creditSchema>, string][] = [
        ["no record id", create(SchemaSchema, { ...creditSchema(), recordIdColumn: "" }), "collection.schema.record_id_column"],
        [
          "duplicate field",
          create(SchemaSchema, { ...creditSchema(), fields: [...creditSchema().fields, field({ name: "age", kind: FieldKind.FEATURE, type: FieldType.DOUBLE })] }),
          "collection.schema.fields[6].name",
        ],
        [
          "empty categories",
          create(SchemaSchema, { recordIdColumn: "id", fields: [{ name: "c", kind: FieldKind.FEATURE, type: FieldType.CATEGORICAL }] }),
          "collection.schema.fields[0].categories",
        ],
        [
          "missing kind and type",
          create(SchemaSchema, { recordIdColumn: "id", fields: [{ name: "c" }] }),
          "collection.schema.fields[0].kind",
        ],
        [
          "inverted range",
          create(SchemaSchema, { recordIdColumn: "id", fields: [{ name: "c", kind: FieldKind.FEATURE, type: FieldType.DOUBLE, range: { min: 2, max: 1 } }] }),
          "collection.schema.fields[0].range",
        ],
      ];
      for (const [label, schema, field] of cases) {
        const err = await expectFailure(rpc.unary(catalog.createDataCollection, { collection: { project: p, name: "bad", schema } }, key), Code.InvalidArgument);
        expect(err.badRequest?.fieldViolations.map((v) => v.field), label).toContain(field);
      }
      const names = await expectFailure(
        rpc.unary(catalog.createDataCollection, { collection: { project: p, name: "n".repeat(70), schema: creditSchema() } }, key),
        Code.InvalidArgument,
      );
      expect(names.badRequest?.fieldViolations[0]?.field).toBe("collection.name");
      await expectFailure(rpc.unary(catalog.createDataCollection, { collection: { project: p, name: "bad" } }, key), Code.InvalidArgument);
      const after = await rpc.unary(catalog.listDataCollections, { project: p, pageSize: 1000 }, key);
      expect(after.collections.map((c) => c.name)).toEqual(before.collections.map((c) => c.name));
    });

    it("refuses duplicates and unknown parents", async () => {
      await rpc.unary(catalog.createDataCollection, { collection: { project: p, name: "dup", schema: creditSchema() } }, key);
      await expectFailure(rpc.unary(catalog.createDataCollection, { collection: { project: p, name: "dup", schema: creditSchema() } }, key), Code.AlreadyExists);
      await expectFailure(rpc.unary(catalog.createDataCollection, { collection: { project: "ghost", name: "x", schema: creditSchema() } }, key), Code.NotFound);
      await expectFailure(rpc.unary(catalog.getDataCollection, { project: p, name: "ghost" }, key), Code.NotFound);
      await expectFailure(rpc.unary(catalog.deleteDataCollection, { project: p, name: "ghost" }, key), Code.NotFound);
      await expectFailure(rpc.unary(catalog.getCollectionStats, { project: p, collection: "ghost" }, key), Code.NotFound);
    });

    it("evolves a schema additively and refuses anything else with FAILED_PRECONDITION", async () => {
      await rpc.unary(catalog.createDataCollection, { collection: { project: p, name: "evolve", schema: creditSchema() } }, key);
      const base = creditSchema();
      const added = create(SchemaSchema, { ...base, fields: [...base.fields, field({ name: "new.field", kind: FieldKind.EXTRA, type: FieldType.STRING, nullable: true })] });
      const updated = await rpc.unary(catalog.updateSchema, { project: p, collection: "evolve", schema: added, expectedSchemaVersion: 1n }, key);
      expect(updated.collection?.schemaVersion).toBe(2n);
      expect(updated.collection?.schema?.fields.map((f) => f.name)).toContain("new.field");

      const removed = create(SchemaSchema, { ...added, fields: added.fields.slice(1) });
      const r = await expectFailure(rpc.unary(catalog.updateSchema, { project: p, collection: "evolve", schema: removed }, key), Code.FailedPrecondition);
      expect(r.errorInfo?.reason).toBe(ErrorReason[ErrorReason.SCHEMA_CHANGE_NOT_ADDITIVE]);
      expect(r.preconditionFailure?.violations[0]?.subject).toBe('field "age"');
      expect(r.message).toMatch(/cannot be removed/);

      const retyped = create(SchemaSchema, { ...added, fields: added.fields.map((f) => (f.name === "age" ? field({ ...f, type: FieldType.DOUBLE }) : f)) });
      const t = await expectFailure(rpc.unary(catalog.updateSchema, { project: p, collection: "evolve", schema: retyped }, key), Code.FailedPrecondition);
      expect(t.message).toMatch(/INT64.*DOUBLE/);

      const required = create(SchemaSchema, { ...added, fields: [...added.fields, field({ name: "must", kind: FieldKind.FEATURE, type: FieldType.DOUBLE })] });
      const q = await expectFailure(rpc.unary(catalog.updateSchema, { project: p, collection: "evolve", schema: required }, key), Code.FailedPrecondition);
      expect(q.message).toMatch(/must be nullable/);

      await expectFailure(rpc.unary(catalog.updateSchema, { project: p, collection: "evolve", schema: added, expectedSchemaVersion: 1n }, key), Code.Aborted);
      const after = await rpc.unary(catalog.getDataCollection, { project: p, name: "evolve" }, key);
      expect(after.collection?.schemaVersion).toBe(2n);
      expect(after.collection?.schema?.fields).toHaveLength(added.fields.length);
    });
  });

  describe("splits", () => {
    it("creates, marks the baseline, seals, lists and deletes", async () => {
      await rpc.unary(catalog.createDataCollection, { collection: { project: p, name: "sp", schema: creditSchema() } }, key);
      const train = await rpc.unary(catalog.createSplit, { split: splitInit(p, "sp", "train", true) }, key);
      expect(train.split?.baseline).toBe(true);
      await rpc.unary(catalog.createSplit, { split: { ...splitInit(p, "sp", "test"), type: SplitType.TEST } }, key);
      const sealed = await rpc.unary(catalog.sealSplit, { project: p, collection: "sp", name: "train" }, key);
      expect(sealed.split?.sealed).toBe(true);
      const again = await rpc.unary(catalog.sealSplit, { project: p, collection: "sp", name: "train" }, key);
      expect(again.split?.sealTime).toEqual(sealed.split?.sealTime);
      const moved = await rpc.unary(catalog.setBaselineSplit, { project: p, collection: "sp", name: "test" }, key);
      expect(moved.split?.baseline).toBe(true);
      const listed = await rpc.unary(catalog.listSplits, { project: p, collection: "sp" }, key);
      expect(listed.splits.map((s) => [s.name, s.baseline, s.sealed])).toEqual([
        ["test", true, false],
        ["train", false, true],
      ]);
      const coll = await rpc.unary(catalog.getDataCollection, { project: p, name: "sp" }, key);
      expect(coll.collection?.baselineSplit).toBe("test");
      await rpc.unary(catalog.deleteSplit, { project: p, collection: "sp", name: "test" }, key);
      await expectFailure(rpc.unary(catalog.getSplit, { project: p, collection: "sp", name: "test" }, key), Code.NotFound);
      const cleared = await rpc.unary(catalog.getDataCollection, { project: p, name: "sp" }, key);
      expect(cleared.collection?.baselineSplit).toBe("");
    });

    it("refuses bad splits", async () => {
      await rpc.unary(catalog.createDataCollection, { collection: { project: p, name: "sp2", schema: creditSchema() } }, key);
      await rpc.unary(catalog.createSplit, { split: splitInit(p, "sp2", "train") }, key);
      await expectFailure(rpc.unary(catalog.createSplit, { split: splitInit(p, "sp2", "train") }, key), Code.AlreadyExists);
      const typeless = await expectFailure(rpc.unary(catalog.createSplit, { split: { project: p, collection: "sp2", name: "x" } }, key), Code.InvalidArgument);
      expect(typeless.badRequest?.fieldViolations[0]?.field).toBe("split.type");
      await expectFailure(rpc.unary(catalog.createSplit, { split: splitInit(p, "ghost", "x") }, key), Code.NotFound);
      await expectFailure(rpc.unary(catalog.createSplit, {}, key), Code.InvalidArgument);
      await expectFailure(rpc.unary(catalog.getSplit, { project: p, collection: "sp2", name: "ghost" }, key), Code.NotFound);
      await expectFailure(rpc.unary(catalog.sealSplit, { project: p, collection: "sp2", name: "ghost" }, key), Code.NotFound);
      await expectFailure(rpc.unary(catalog.setBaselineSplit, { project: p, collection: "sp2", name: "ghost" }, key), Code.NotFound);
      await expectFailure(rpc.unary(catalog.deleteSplit, { project: p, collection: "sp2", name: "ghost" }, key), Code.NotFound);
      await expectFailure(rpc.unary(catalog.listSplits, { project: p, collection: "ghost" }, key), Code.NotFound);
      await expectFailure(rpc.unary(catalog.getSplit, { project: p, collection: "sp2", name: "Bad Name" }, key), Code.InvalidArgument);
    });
  });

  describe("models", () => {
    it("creates, gets, lists and deletes", async () => {
      await rpc.unary(catalog.createDataCollection, { collection: { project: p, name: "md", schema: creditSchema() } }, key);
      const made = await rpc.unary(catalog.createModel, { model: modelInit(p, "md", "xgb") }, key);
      expect(made.model?.decisionThreshold).toBe(0.4);
      const got = await rpc.unary(catalog.getModel, { project: p, collection: "md", name: "xgb" }, key);
      expect(got.model?.classLabels).toEqual(["repaid", "defaulted"]);
      expect(got.model?.predictionFields.map((f) => f.name)).toEqual(["score"]);
      const listed = await rpc.unary(catalog.listModels, { project: p, collection: "md" }, key);
      expect(listed.models.map((m) => m.name)).toEqual(["xgb"]);
      await rpc.unary(catalog.deleteModel, { project: p, collection: "md", name: "xgb" }, key);
      await expectFailure(rpc.unary(catalog.getModel, { project: p, collection: "md", name: "xgb" }, key), Code.NotFound);
    });

    it("refuses bad models", async () => {
      await rpc.unary(catalog.createDataCollection, { collection: { project: p, name: "md2", schema: creditSchema() } }, key);
      await rpc.unary(catalog.createModel, { model: modelInit(p, "md2", "m") }, key);
      await expectFailure(rpc.unary(catalog.createModel, { model: modelInit(p, "md2", "m") }, key), Code.AlreadyExists);
      const label = await expectFailure(rpc.unary(catalog.createModel, { model: { ...modelInit(p, "md2", "m2"), labelField: "age" } }, key), Code.InvalidArgument);
      expect(label.badRequest?.fieldViolations[0]?.field).toBe("model.label_field");
      const thr = await expectFailure(rpc.unary(catalog.createModel, { model: { ...modelInit(p, "md2", "m3"), decisionThreshold: 1.5 } }, key), Code.InvalidArgument);
      expect(thr.badRequest?.fieldViolations[0]?.field).toBe("model.decision_threshold");
      const none = await expectFailure(rpc.unary(catalog.createModel, { model: { ...modelInit(p, "md2", "m4"), predictionFields: [] } }, key), Code.InvalidArgument);
      expect(none.badRequest?.fieldViolations[0]?.field).toBe("model.prediction_fields");
      await expectFailure(rpc.unary(catalog.createModel, { model: modelInit(p, "ghost", "m") }, key), Code.NotFound);
      await expectFailure(rpc.unary(catalog.createModel, {}, key), Code.InvalidArgument);
      await expectFailure(rpc.unary(catalog.getModel, { project: p, collection: "md2", name: "ghost" }, key), Code.NotFound);
      await expectFailure(rpc.unary(catalog.deleteModel, { project: p, collection: "md2", name: "ghost" }, key), Code.NotFound);
      await expectFailure(rpc.unary(catalog.listModels, { project: p, collection: "ghost" }, key), Code.NotFound);
    });
  });

  it("deleting a collection removes its splits and models", async () => {
    await rpc.unary(catalog.createDataCollection, { collection: { project: p, name: "cascade", schema: creditSchema() } }, key);
    await rpc.unary(catalog.createSplit, { split: splitInit(p, "cascade", "train", true) }, key);
    await rpc.unary(catalog.createModel, { model: modelInit(p, "cascade", "m") }, key);
    await rpc.unary(catalog.deleteDataCollection, { project: p, name: "cascade" }, key);
    await rpc.unary(catalog.createDataCollection, { collection: { project: p, name: "cascade", schema: creditSchema() } }, key);
    await expectFailure(rpc.unary(catalog.getSplit, { project: p, collection: "cascade", name: "train" }, key), Code.NotFound);
    await expectFailure(rpc.unary(catalog.getModel, { project: p, collection: "cascade", name: "m" }, key), Code.NotFound);
  });
});

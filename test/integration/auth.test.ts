// The authentication matrix for AdminService and CatalogService (test/harness/auth-matrix.ts runs it; the data
// services' rows are in auth-data.test.ts): every RPC is called with no key, garbage keys, a revoked key, the wrong
// project's key and the right key, through two gRPC stacks. Denied calls target real resources, so a call wrongly let
// through would act; after them the state is checked to be unchanged.
import { create, type DescMessage, type DescMethodUnary, type MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AdminService } from "../../server/src/gen/sightline/v1/admin_service_pb.js";
import { CatalogService } from "../../server/src/gen/sightline/v1/catalog_service_pb.js";
import { ErrorReason } from "../../server/src/gen/sightline/v1/errors_pb.js";
import { FieldKind, FieldType, SchemaSchema } from "../../server/src/gen/sightline/v1/resources_pb.js";
import { describeAuthMatrix, expectRefusal, rowBuilders, type Ctx, type Row } from "../harness/auth-matrix.js";
import { creditSchema, field, modelInit, splitInit } from "../harness/fixtures.js";
import { isolation, startServerProcess, type ServerHandle } from "../harness/processes.js";

const admin = AdminService.method;
const catalog = CatalogService.method;
const iso = isolation("auth");
let server: ServerHandle | undefined;

beforeAll(async () => {
  server = await startServerProcess(iso);
});
afterAll(async () => {
  await server?.stop();
});

/** The matrix. Functions read `ctx` lazily, so the rows can be built before the keys exist. */
function buildRows(ctx: Ctx): Row[] {
  const { unary: row } = rowBuilders(ctx);
  const as = <I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>, request: MessageInitShape<I>, key = ctx.adminKey) =>
    ctx.rpc.unary(method, request, key);
  const notFound = (call: Promise<unknown>) => expectRefusal(call, Code.NotFound, ErrorReason.NOT_FOUND);
  const newCollection = (name: string) => as(catalog.createDataCollection, { collection: { project: ctx.a, name, schema: creditSchema() } });
  const collection = async (name: string) => (await as(catalog.getDataCollection, { project: ctx.a, name })).collection!;
  const split = async (coll: string, name: string) => (await as(catalog.getSplit, { project: ctx.a, collection: coll, name })).split!;
  const allKeys = async (project: string) => (await as(admin.listApiKeys, { project, pageSize: 1000 })).apiKeys;

  const newProject = () => `${ctx.a}-new`;
  const doomedProject = () => `${ctx.a}-doomed`;
  let doomedKey = "";
  let keyCountBefore = -1;
  let victim = { id: "", secret: "" };
  const additive = () => {
    const base = creditSchema();
    return create(SchemaSchema, {
      ...base,
      fields: [...base.fields, field({ name: "added", kind: FieldKind.EXTRA, type: FieldType.STRING, nullable: true })],
    });
  };

  return [
    // ---- AdminService ----
    row(admin.createProject, {
      access: "admin",
      request: () => ({ project: { name: newProject(), displayName: "made by the admin" } }),
      unchanged: () => notFound(as(admin.getProject, { name: newProject() })),
      async check(res) {
        expect(res.project?.name).toBe(newProject());
        expect((await as(admin.getProject, { name: newProject() })).project?.displayName).toBe("made by the admin");
      },
    }),
    row(admin.getProject, {
      access: "project",
      adminToo: true,
      request: () => ({ name: ctx.a }),
      check: (res) => void expect(res.project?.name).toBe(ctx.a),
    }),
    row(admin.listProjects, {
      access: "any",
      adminToo: true,
      request: () => ({ pageSize: 1000 }),
      check(res, key) {
        const names = res.projects.map((p) => p.name);
        if (key === ctx.adminKey) expect(names).toEqual(expect.arrayContaining([ctx.a, ctx.b]));
        else expect(names).toEqual([ctx.a]);
        expect(res.nextPageToken).toBe("");
      },
    }),
    row(admin.deleteProject, {
      access: "admin",
      async setup() {
        await as(admin.createProject, { project: { name: doomedProject() } });
        doomedKey = (await as(admin.createApiKey, { project: doomedProject(), displayName: "doomed" })).secret;
        await as(catalog.createDataCollection, { collection: { project: doomedProject(), name: "c", schema: creditSchema() } });
      },
      request: () => ({ name: doomedProject() }),
      // Even the doomed project's own key may not delete it.
      extraDeniedKeys: () => [doomedKey],
      async unchanged() {
        expect((await as(admin.getProject, { name: doomedProject() })).project?.name).toBe(doomedProject());
        expect((await as(catalog.getDataCollection, { project: doomedProject(), name: "c" })).collection?.name).toBe("c");
        expect((await as(admin.getProject, { name: doomedProject() }, doomedKey)).project?.name).toBe(doomedProject());
      },
      async check() {
        await notFound(as(admin.getProject, { name: doomedProject() }));
        await notFound(as(catalog.getDataCollection, { project: doomedProject(), name: "c" }));
        // The project's keys went with it.
        await expectRefusal(as(admin.getProject, { name: doomedProject() }, doomedKey), Code.Unauthenticated, ErrorReason.API_KEY_INVALID);
      },
    }),
    row(admin.createApiKey, {
      access: "admin",
      async setup() {
        keyCountBefore = (await allKeys(ctx.a)).length;
      },
      request: () => ({ project: ctx.a, displayName: "minted" }),
      async unchanged() {
        const keys = await allKeys(ctx.a);
        expect(keys).toHaveLength(keyCountBefore);
        expect(keys.map((k) => k.displayName)).not.toContain("minted");
      },
      async check(res) {
        expect(res.apiKey?.project).toBe(ctx.a);
        expect((await allKeys(ctx.a)).map((k) => k.displayName)).toContain("minted");
        // The new secret works as a key of the project.
        expect((await as(admin.getProject, { name: ctx.a }, res.secret)).project?.name).toBe(ctx.a);
      },
    }),
    row(admin.listApiKeys, {
      access: "admin",
      request: () => ({ project: ctx.a, pageSize: 1000 }),
      check(res) {
        expect(res.apiKeys.map((k) => k.id)).toContain(ctx.keyAId);
        expect(res.apiKeys.every((k) => k.project === ctx.a)).toBe(true);
        expect(res.apiKeys.some((k) => k.revokeTime !== undefined)).toBe(true);
      },
    }),
    row(admin.revokeApiKey, {
      access: "admin",
      async setup() {
        const made = await as(admin.createApiKey, { project: ctx.a, displayName: "victim" });
        victim = { id: made.apiKey!.id, secret: made.secret };
      },
      request: () => ({ project: ctx.a, id: victim.id }),
      // The victim key may not revoke itself either.
      extraDeniedKeys: () => [victim.secret],
      async unchanged() {
        expect((await allKeys(ctx.a)).find((k) => k.id === victim.id)?.revokeTime).toBeUndefined();
        expect((await as(admin.getProject, { name: ctx.a }, victim.secret)).project?.name).toBe(ctx.a);
      },
      async check(res) {
        expect(res.apiKey?.id).toBe(victim.id);
        expect(res.apiKey?.revokeTime).toBeDefined();
        await expectRefusal(as(admin.getProject, { name: ctx.a }, victim.secret), Code.Unauthenticated, ErrorReason.API_KEY_REVOKED);
      },
    }),

    // ---- CatalogService: data collections ----
    row(catalog.createDataCollection, {
      access: "project",
      request: () => ({ collection: { project: ctx.a, name: "created", schema: creditSchema() } }),
      async unchanged() {
        await notFound(as(catalog.getDataCollection, { project: ctx.a, name: "created" }));
      },
      async check(res) {
        expect(res.collection?.name).toBe("created");
        expect(res.collection?.schemaVersion).toBe(1n);
        expect((await collection("created")).project).toBe(ctx.a);
      },
    }),
    row(catalog.getDataCollection, {
      access: "project",
      adminToo: true,
      request: () => ({ project: ctx.a, name: "shared" }),
      check: (res) => void expect(res.collection?.name).toBe("shared"),
    }),
    row(catalog.listDataCollections, {
      access: "project",
      adminToo: true,
      request: () => ({ project: ctx.a, pageSize: 1000 }),
      check(res) {
        expect(res.collections.map((c) => c.name)).toContain("shared");
        expect(res.collections.every((c) => c.project === ctx.a)).toBe(true);
      },
    }),
    row(catalog.deleteDataCollection, {
      access: "project",
      async setup() {
        await newCollection("doomed");
        await as(catalog.createSplit, { split: splitInit(ctx.a, "doomed", "s", true) });
        await as(catalog.createModel, { model: modelInit(ctx.a, "doomed", "m") });
      },
      request: () => ({ project: ctx.a, name: "doomed" }),
      async unchanged() {
        expect((await collection("doomed")).baselineSplit).toBe("s");
        expect((await split("doomed", "s")).name).toBe("s");
        expect((await as(catalog.getModel, { project: ctx.a, collection: "doomed", name: "m" })).model?.name).toBe("m");
      },
      async check() {
        await notFound(as(catalog.getDataCollection, { project: ctx.a, name: "doomed" }));
      },
    }),
    row(catalog.updateSchema, {
      access: "project",
      setup: () => newCollection("evolving").then(() => undefined),
      // No expected version: a call wrongly let through would apply.
      request: () => ({ project: ctx.a, collection: "evolving", schema: additive() }),
      async unchanged() {
        const c = await collection("evolving");
        expect(c.schemaVersion).toBe(1n);
        expect(c.schema?.fields.map((f) => f.name)).toEqual(creditSchema().fields.map((f) => f.name));
      },
      async check(res) {
        expect(res.collection?.schemaVersion).toBe(2n);
        expect((await collection("evolving")).schema?.fields.map((f) => f.name)).toContain("added");
      },
    }),
    row(catalog.getCollectionStats, {
      access: "project",
      adminToo: true,
      request: () => ({ project: ctx.a, collection: "shared" }),
      // No worker runs here, so the stats may well be unset; the call itself must succeed.
      check(res) {
        if (res.stats !== undefined) expect(res.stats.collection).toBe("shared");
      },
    }),

    // ---- CatalogService: splits ----
    row(catalog.createSplit, {
      access: "project",
      setup: () => newCollection("splitting").then(() => undefined),
      request: () => ({ split: splitInit(ctx.a, "splitting", "fresh", true) }),
      async unchanged() {
        await notFound(as(catalog.getSplit, { project: ctx.a, collection: "splitting", name: "fresh" }));
        expect((await collection("splitting")).baselineSplit).toBe("");
      },
      async check(res) {
        expect(res.split?.baseline).toBe(true);
        expect((await collection("splitting")).baselineSplit).toBe("fresh");
      },
    }),
    row(catalog.getSplit, {
      access: "project",
      adminToo: true,
      request: () => ({ project: ctx.a, collection: "shared", name: "s1" }),
      check(res) {
        expect(res.split?.name).toBe("s1");
        expect(res.split?.baseline).toBe(true);
      },
    }),
    row(catalog.listSplits, {
      access: "project",
      adminToo: true,
      request: () => ({ project: ctx.a, collection: "shared" }),
      check: (res) => void expect(res.splits.map((s) => s.name)).toEqual(["s1"]),
    }),
    row(catalog.deleteSplit, {
      access: "project",
      async setup() {
        await newCollection("pruning");
        await as(catalog.createSplit, { split: splitInit(ctx.a, "pruning", "doomed", true) });
      },
      request: () => ({ project: ctx.a, collection: "pruning", name: "doomed" }),
      async unchanged() {
        expect((await split("pruning", "doomed")).baseline).toBe(true);
        expect((await collection("pruning")).baselineSplit).toBe("doomed");
      },
      async check() {
        await notFound(as(catalog.getSplit, { project: ctx.a, collection: "pruning", name: "doomed" }));
        expect((await collection("pruning")).baselineSplit).toBe("");
      },
    }),
    row(catalog.sealSplit, {
      access: "project",
      adminToo: true,
      async setup() {
        await newCollection("sealing");
        await as(catalog.createSplit, { split: splitInit(ctx.a, "sealing", "open") });
      },
      request: () => ({ project: ctx.a, collection: "sealing", name: "open" }),
      async unchanged() {
        const s = await split("sealing", "open");
        expect(s.sealed).toBe(false);
        expect(s.sealTime).toBeUndefined();
      },
      async check(res) {
        expect(res.split?.sealed).toBe(true);
        expect((await split("sealing", "open")).sealed).toBe(true);
      },
    }),
    row(catalog.setBaselineSplit, {
      access: "project",
      adminToo: true,
      async setup() {
        await newCollection("rebasing");
        await as(catalog.createSplit, { split: splitInit(ctx.a, "rebasing", "old", true) });
        await as(catalog.createSplit, { split: splitInit(ctx.a, "rebasing", "new") });
      },
      request: () => ({ project: ctx.a, collection: "rebasing", name: "new" }),
      async unchanged() {
        expect((await collection("rebasing")).baselineSplit).toBe("old");
        expect((await split("rebasing", "old")).baseline).toBe(true);
        expect((await split("rebasing", "new")).baseline).toBe(false);
      },
      async check(res) {
        expect(res.split?.baseline).toBe(true);
        expect((await collection("rebasing")).baselineSplit).toBe("new");
        expect((await split("rebasing", "old")).baseline).toBe(false);
      },
    }),

    // ---- CatalogService: models ----
    row(catalog.createModel, {
      access: "project",
      setup: () => newCollection("modeling").then(() => undefined),
      request: () => ({ model: modelInit(ctx.a, "modeling", "fresh") }),
      async unchanged() {
        await notFound(as(catalog.getModel, { project: ctx.a, collection: "modeling", name: "fresh" }));
        expect((await as(catalog.listModels, { project: ctx.a, collection: "modeling" })).models).toEqual([]);
      },
      async check(res) {
        expect(res.model?.name).toBe("fresh");
        expect((await as(catalog.listModels, { project: ctx.a, collection: "modeling" })).models.map((m) => m.name)).toEqual(["fresh"]);
      },
    }),
    row(catalog.getModel, {
      access: "project",
      adminToo: true,
      request: () => ({ project: ctx.a, collection: "shared", name: "m1" }),
      check: (res) => void expect(res.model?.name).toBe("m1"),
    }),
    row(catalog.listModels, {
      access: "project",
      adminToo: true,
      request: () => ({ project: ctx.a, collection: "shared" }),
      check: (res) => void expect(res.models.map((m) => m.name)).toEqual(["m1"]),
    }),
    row(catalog.deleteModel, {
      access: "project",
      async setup() {
        await newCollection("retiring");
        await as(catalog.createModel, { model: modelInit(ctx.a, "retiring", "doomed") });
      },
      request: () => ({ project: ctx.a, collection: "retiring", name: "doomed" }),
      async unchanged() {
        expect((await as(catalog.getModel, { project: ctx.a, collection: "retiring", name: "doomed" })).model?.name).toBe("doomed");
      },
      async check() {
        await notFound(as(catalog.getModel, { project: ctx.a, collection: "retiring", name: "doomed" }));
      },
    }),
  ];
}

describeAuthMatrix("auth.test.ts", () => server!, iso.adminKey, {
  rows: buildRows,
  async prepare(ctx) {
    // What the read-only rows look at.
    const as = ctx.adminKey;
    await ctx.rpc.unary(catalog.createDataCollection, { collection: { project: ctx.a, name: "shared", schema: creditSchema() } }, as);
    await ctx.rpc.unary(catalog.createSplit, { split: splitInit(ctx.a, "shared", "s1", true) }, as);
    await ctx.rpc.unary(catalog.createModel, { model: modelInit(ctx.a, "shared", "m1") }, as);
  },
  more(ctx) {
    it("another project's key learns nothing about what exists: unknown targets are PERMISSION_DENIED, not NOT_FOUND", async () => {
      const denied = (call: Promise<unknown>) => expectRefusal(call, Code.PermissionDenied, ErrorReason.PERMISSION_DENIED);
      await denied(ctx.rpc.unary(admin.getProject, { name: "ghost" }, ctx.keyB));
      await denied(ctx.rpc.unary(catalog.getDataCollection, { project: ctx.a, name: "ghost" }, ctx.keyB));
      await denied(ctx.rpc.unary(catalog.getSplit, { project: ctx.a, collection: "shared", name: "ghost" }, ctx.keyB));
      await denied(ctx.rpc.unary(catalog.deleteModel, { project: "ghost", collection: "x", name: "y" }, ctx.keyB));
    });
  },
});

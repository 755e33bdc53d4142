// The authentication matrix, shared by test/integration/auth.test.ts (AdminService, CatalogService) and
// auth-data.test.ts (IngestService, MonitoringService, ModelService): every RPC is one row, called through two gRPC
// stacks with no key, garbage keys, a revoked key, the wrong project's key and the right key. Denied calls target real
// resources, so a call wrongly let through would act; for mutating RPCs the row then checks that nothing changed.
import type { DescMethod, DescMethodBiDiStreaming, DescMethodClientStreaming, DescMethodServerStreaming, DescMethodUnary, DescMessage, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../server/src/gen/sightline/v1/admin_service_pb.js";
import { CatalogService } from "../../server/src/gen/sightline/v1/catalog_service_pb.js";
import { ErrorReason } from "../../server/src/gen/sightline/v1/errors_pb.js";
import { IngestService } from "../../server/src/gen/sightline/v1/ingest_service_pb.js";
import { ModelService } from "../../server/src/gen/sightline/v1/model_service_pb.js";
import { MonitoringService } from "../../server/src/gen/sightline/v1/monitoring_service_pb.js";
import type { ServerHandle } from "./processes.js";
import { connectCaller, expectFailure, grpcJsCaller, type RpcCaller } from "./rpc.js";

/** Which matrix file holds the rows of which services; together they must name every service of the API. */
export const matrixServices = {
  "auth.test.ts": [AdminService, CatalogService],
  "auth-data.test.ts": [IngestService, MonitoringService, ModelService],
} satisfies Record<string, DescService[]>;

/** What the rows need; names are fixed up front, keys and the caller are filled in by the stack's beforeAll. */
export interface Ctx {
  stack: string;
  rpc: RpcCaller;
  adminKey: string;
  /** The project every project-scoped row targets, and a second, unrelated one. */
  a: string;
  b: string;
  keyA: string;
  keyAId: string;
  keyB: string;
  /** A key of project `a` that was revoked. */
  revokedA: string;
}

/** Who may make a call: only the admin key; the admin key or the target project's key; any valid key (ListProjects). */
export type Access = "admin" | "project" | "any";

/** How a refusal looks: its code and ErrorInfo reason. */
export interface Refusal {
  code: Code;
  reason: ErrorReason;
}

export interface Row {
  method: DescMethod;
  access: Access;
  /** Creates what the row's request targets, with the admin key. */
  setup?: () => Promise<void>;
  /** Sends the row's request with `key` (undefined: no authorization metadata). */
  call: (key: string | undefined) => Promise<unknown>;
  /** Sends the row's request with `key`, expecting success, and checks the response and its effect. */
  succeed: (key: string) => Promise<void>;
  /** Project keys that must be refused besides the matrix's own: the target project's key for admin-only calls. */
  extraDeniedKeys?: () => string[];
  /** After every denied attempt: checks that nothing changed. Set for every mutating RPC. */
  unchanged?: () => Promise<void>;
  /** The success is repeatable, so the admin key is tried too (after the right key). */
  adminToo?: boolean;
  /**
   * How another project's key is refused, when not PERMISSION_DENIED: a request that names no project (WatchJob's
   * job ID) gets the answer an unknown target gets, so the key cannot tell the two apart.
   */
  foreignRefusal?: Refusal & { why: string };
}

/** What a row declares besides its method and its request. */
export interface RowSpec<R> extends Omit<Row, "method" | "call" | "succeed"> {
  /** Checks the response of a successful call (every response of a streaming one) and its effect. */
  check: (response: R, key: string) => Promise<void> | void;
}

export function methodId(m: DescMethod): string {
  return `${m.parent.typeName}/${m.name}`;
}

export async function expectRefusal(call: Promise<unknown>, code: Code, reason: ErrorReason): Promise<void> {
  const err = await expectFailure(call, code);
  expect(err.errorInfo?.reason).toBe(ErrorReason[reason]);
  expect(err.errorInfo?.domain).toBe("sightline");
}

/** Row constructors for the four kinds of RPC; the request functions are called on every attempt. */
export function rowBuilders(ctx: Ctx) {
  const rowOf = <R>(method: DescMethod, spec: RowSpec<R>, send: (key: string | undefined) => Promise<R>): Row => ({
    method,
    access: spec.access,
    setup: spec.setup,
    call: send,
    succeed: async (key) => spec.check(await send(key), key),
    extraDeniedKeys: spec.extraDeniedKeys,
    unchanged: spec.unchanged,
    adminToo: spec.adminToo,
    foreignRefusal: spec.foreignRefusal,
  });
  return {
    unary: <I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>, spec: RowSpec<MessageShape<O>> & { request: () => MessageInitShape<I> }) =>
      rowOf(method, spec, (key) => ctx.rpc.unary(method, spec.request(), key)),
    clientStreaming: <I extends DescMessage, O extends DescMessage>(method: DescMethodClientStreaming<I, O>, spec: RowSpec<MessageShape<O>> & { requests: () => MessageInitShape<I>[] }) =>
      rowOf(method, spec, (key) => ctx.rpc.clientStreaming(method, spec.requests(), key)),
    serverStreaming: <I extends DescMessage, O extends DescMessage>(method: DescMethodServerStreaming<I, O>, spec: RowSpec<MessageShape<O>[]> & { request: () => MessageInitShape<I> }) =>
      rowOf(method, spec, (key) => ctx.rpc.serverStreaming(method, spec.request(), key)),
    bidiStreaming: <I extends DescMessage, O extends DescMessage>(method: DescMethodBiDiStreaming<I, O>, spec: RowSpec<MessageShape<O>[]> & { requests: () => MessageInitShape<I>[] }) =>
      rowOf(method, spec, (key) => ctx.rpc.bidiStreaming(method, spec.requests(), key)),
  };
}

/** Asserts that `rows` hold exactly one row for every RPC of `services`. */
function expectOneRowPerRpc(rows: Row[], services: DescService[]): void {
  const ids = rows.map((r) => methodId(r.method));
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort()).toEqual(services.flatMap((s) => s.methods.map(methodId)).sort());
}

/** Every `package.Service/Rpc` the .proto files of the API declare, read from the sources rather than generated code. */
function declaredRpcs(): string[] {
  const dir = new URL("../../proto/sightline/v1/", import.meta.url);
  const ids: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".proto"))) {
    const text = readFileSync(new URL(file, dir), "utf8").replace(/\/\/.*$/gm, "");
    const pkg = /^\s*package\s+([\w.]+)\s*;/m.exec(text)![1]!;
    for (const [, service, body] of text.matchAll(/\bservice\s+(\w+)\s*\{([\s\S]*?)\n\}/g)) {
      for (const [, rpc] of body!.matchAll(/\brpc\s+(\w+)\s*\(/g)) ids.push(`${pkg}.${service}/${rpc}`);
    }
  }
  return ids.sort();
}

const stacks: [string, (server: ServerHandle) => RpcCaller][] = [
  ["connect-es", (server) => connectCaller(server.url)],
  ["grpc-js", (server) => grpcJsCaller(server.address)],
];

/** A file's matrix: its rows, and what they need besides the projects and keys every stack makes. */
export interface Matrix {
  rows: (ctx: Ctx) => Row[];
  /** Creates what the rows look at, once the projects and keys exist. */
  prepare?: (ctx: Ctx) => Promise<void>;
  /** Further tests of one stack, declared inside its describe after the rows. */
  more?: (ctx: Ctx) => void;
}

/** Declares the coverage check, then the matrix once per gRPC stack, each stack with its own two projects. */
export function describeAuthMatrix(file: keyof typeof matrixServices, server: () => ServerHandle, adminKey: string, options: Matrix): void {
  const services = matrixServices[file];
  it(`the matrix has exactly one row for every RPC of ${services.map((s) => s.name).join(", ")}, and the matrix files cover every RPC of the API`, () => {
    expectOneRowPerRpc(options.rows({ a: "a", b: "b" } as Ctx), services);
    const covered = Object.values(matrixServices).flatMap((list) => list.flatMap((svc) => svc.methods.map(methodId)));
    expect(covered.sort()).toEqual(declaredRpcs());
  });

  describe.each(stacks)("auth matrix through %s", (stack, makeCaller) => {
    const ctx = { stack, adminKey, a: `a-${stack}`, b: `b-${stack}` } as Ctx;
    const rows = options.rows(ctx);

    beforeAll(async () => {
      ctx.rpc = makeCaller(server());
      const as = ctx.adminKey;
      const { createProject, createApiKey, revokeApiKey } = AdminService.method;
      await ctx.rpc.unary(createProject, { project: { name: ctx.a } }, as);
      await ctx.rpc.unary(createProject, { project: { name: ctx.b } }, as);
      const keyA = await ctx.rpc.unary(createApiKey, { project: ctx.a, displayName: "a" }, as);
      ctx.keyA = keyA.secret;
      ctx.keyAId = keyA.apiKey!.id;
      ctx.keyB = (await ctx.rpc.unary(createApiKey, { project: ctx.b, displayName: "b" }, as)).secret;
      const revoked = await ctx.rpc.unary(createApiKey, { project: ctx.a, displayName: "revoked" }, as);
      await ctx.rpc.unary(revokeApiKey, { project: ctx.a, id: revoked.apiKey!.id }, as);
      ctx.revokedA = revoked.secret;
      await options.prepare?.(ctx);
    });
    afterAll(() => ctx.rpc?.close());

    for (const r of rows) {
      describe(methodId(r.method), () => {
        beforeAll(async () => {
          await r.setup?.();
        });

        it("no key, or an empty bearer -> UNAUTHENTICATED API_KEY_MISSING", async () => {
          await expectRefusal(r.call(undefined), Code.Unauthenticated, ErrorReason.API_KEY_MISSING);
          await expectRefusal(r.call(""), Code.Unauthenticated, ErrorReason.API_KEY_MISSING);
        });

        it("garbage keys -> UNAUTHENTICATED API_KEY_INVALID", async () => {
          // Free text; a well-formed but unknown key; a real key's id with the wrong secret; the admin key with a suffix.
          for (const garbage of ["garbage", "slk_nosuchkey.secret", `${ctx.keyAId}.not-the-secret`, `${ctx.adminKey}x`]) {
            await expectRefusal(r.call(garbage), Code.Unauthenticated, ErrorReason.API_KEY_INVALID);
          }
        });

        it("a revoked key of the target project -> UNAUTHENTICATED API_KEY_REVOKED", async () => {
          await expectRefusal(r.call(ctx.revokedA), Code.Unauthenticated, ErrorReason.API_KEY_REVOKED);
        });

        if (r.access === "admin") {
          it("any project key, even the target project's -> PERMISSION_DENIED", async () => {
            for (const key of [ctx.keyA, ctx.keyB, ...(r.extraDeniedKeys?.() ?? [])]) {
              await expectRefusal(r.call(key), Code.PermissionDenied, ErrorReason.PERMISSION_DENIED);
            }
          });
        } else if (r.access === "project") {
          const foreign = r.foreignRefusal ?? { code: Code.PermissionDenied, reason: ErrorReason.PERMISSION_DENIED, why: "" };
          it(`another project's key -> ${Code[foreign.code]} ${ErrorReason[foreign.reason]}${foreign.why === "" ? "" : ` (${foreign.why})`}`, async () => {
            await expectRefusal(r.call(ctx.keyB), foreign.code, foreign.reason);
          });
        } else {
          it("another project's key succeeds but sees only its own project", async () => {
            const res = (await r.call(ctx.keyB)) as MessageShape<typeof AdminService.method.listProjects.output>;
            expect(res.projects.map((p) => p.name)).toEqual([ctx.b]);
            expect(res.nextPageToken).toBe("");
          });
        }

        if (r.unchanged !== undefined) {
          it("the denied calls changed nothing", async () => {
            await r.unchanged!();
          });
        }

        const right = r.access === "admin" ? "the admin key" : "the project's own key";
        it(`${right} succeeds`, async () => {
          await r.succeed(r.access === "admin" ? ctx.adminKey : ctx.keyA);
        });

        if (r.adminToo) {
          it("the admin key succeeds too", async () => {
            await r.succeed(ctx.adminKey);
          });
        }
      });
    }

    options.more?.(ctx);
  });
}

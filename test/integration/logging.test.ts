// What the server's log may hold. Two real server processes, their stdout and stderr captured line by line: one at
// the default level (info), one at debug. (a) API key secrets, the admin key's and project keys', never appear at any
// level, also when a call fails with a near-miss of a real key. (b) Record data (record IDs and values, accepted,
// rejected as rows, or in batches refused whole) never appears at the default level. The debug exception: at debug
// every refused call is logged with the message its client got, and that message can quote the request (here, the
// unknown column name of a refused batch); docs/operations.md and docs/security.md say so.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toRecordBatch, type BatchInput } from "../../clients/ts/src/index.js";
import { AdminService } from "../../server/src/gen/sightline/v1/admin_service_pb.js";
import { CatalogService } from "../../server/src/gen/sightline/v1/catalog_service_pb.js";
import { IngestService } from "../../server/src/gen/sightline/v1/ingest_service_pb.js";
import { RowErrorReason, type TargetSchema } from "../../server/src/gen/sightline/v1/records_pb.js";
import { FieldKind, FieldType } from "../../server/src/gen/sightline/v1/resources_pb.js";
import { isolation, startServerProcess, type ChildHandle, type ServerHandle } from "../harness/processes.js";
import { connectCaller, expectFailure, type RpcCaller } from "../harness/rpc.js";

const admin = AdminService.method;
const catalog = CatalogService.method;
const ingest = IngestService.method;
const tag = randomBytes(6).toString("hex");
const hour = 3_600_000;
const t0 = Date.UTC(2025, 2, 3, 10);

/** Stops a process and waits until everything it wrote has been read into its `lines`. */
async function stopAndDrain(child: ChildHandle): Promise<void> {
  const streams = [child.process.stdout!, child.process.stderr!].filter((s) => !s.closed);
  const closed = Promise.all(streams.map((s) => once(s, "close")));
  await child.stop();
  await closed;
}

/** Every line that contains one of `needles`, with the needle, for a readable failure. */
function linesHolding(lines: string[], needles: string[]): string[] {
  return lines.flatMap((line) => needles.filter((n) => line.includes(n)).map((n) => `${n} in ${line}`));
}

/** Keys that differ from a real one by a little: its last character changed, one dropped, one added, case flipped. */
function nearMisses(key: string): string[] {
  const last = key.at(-1) === "A" ? "B" : "A";
  return [key.slice(0, -1) + last, key.slice(0, -1), `${key}0`, `0${key}`, key.toUpperCase() === key ? key.toLowerCase() : key.toUpperCase()];
}

/** One server with a project, its keys, and a collection to write to; `secrets` lists every secret it handed out. */
async function startWithProject(level: "" | "debug") {
  const iso = isolation(`logging${level}`);
  const server = await startServerProcess(iso, { SIGHTLINE_LOG_LEVEL: level });
  const rpc = connectCaller(server.url);
  const as = iso.adminKey;
  for (const name of ["p", "q"]) await rpc.unary(admin.createProject, { project: { name } }, as);
  const key = await rpc.unary(admin.createApiKey, { project: "p", displayName: "writer" }, as);
  const other = await rpc.unary(admin.createApiKey, { project: "q", displayName: "other" }, as);
  const revoked = await rpc.unary(admin.createApiKey, { project: "p", displayName: "revoked" }, as);
  await rpc.unary(admin.revokeApiKey, { project: "p", id: revoked.apiKey!.id }, as);
  await rpc.unary(
    catalog.createDataCollection,
    {
      collection: {
        project: "p",
        name: "tx",
        schema: {
          recordIdColumn: "id",
          timestampColumn: "ts",
          fields: [
            { name: "amount", kind: FieldKind.FEATURE, type: FieldType.DOUBLE, range: { min: 0, max: 1e9 } },
            { name: "tier", kind: FieldKind.FEATURE, type: FieldType.CATEGORICAL, categories: ["gold", "silver"] },
            { name: "city", kind: FieldKind.EXTRA, type: FieldType.STRING, nullable: true },
          ],
        },
      },
    },
    as,
  );
  const secrets = [as, key.secret, other.secret, revoked.secret].flatMap((s) => [s, ...(s.includes(".") ? [s.slice(s.indexOf(".") + 1)] : [])]);
  return { server, rpc, iso, key: key.secret, keyId: key.apiKey!.id, otherKey: other.secret, revokedKey: revoked.secret, secrets };
}
type Started = Awaited<ReturnType<typeof startWithProject>>;

/** Calls with near misses of every real key, the revoked key and the wrong project's key; all must fail. */
async function failAuthentication(s: Started): Promise<string[]> {
  const target = { name: "p" };
  const misses = [...nearMisses(s.iso.adminKey), ...nearMisses(s.key), `${s.keyId}.${s.otherKey.slice(s.otherKey.indexOf(".") + 1)}`];
  for (const miss of misses) await expectFailure(s.rpc.unary(admin.getProject, target, miss), Code.Unauthenticated);
  await expectFailure(s.rpc.unary(admin.getProject, target, s.revokedKey), Code.Unauthenticated);
  await expectFailure(s.rpc.unary(admin.getProject, target, s.otherKey), Code.PermissionDenied);
  await expectFailure(s.rpc.unary(admin.createProject, { project: { name: "r" } }, s.key), Code.PermissionDenied);
  // The right keys work, so the near misses were refused for being near misses.
  expect((await s.rpc.unary(admin.getProject, target, s.key)).project?.name).toBe("p");
  expect((await s.rpc.unary(admin.getProject, target, s.iso.adminKey)).project?.name).toBe("p");
  // Many calls open at once, each linked to the server's one shutdown signal: Node must not warn of a listener leak.
  const together = await Promise.all(Array.from({ length: 24 }, () => s.rpc.unary(admin.getProject, target, s.key)));
  expect(together.filter((r) => r.project?.name === "p")).toHaveLength(24);
  return misses;
}

/** Distinctive record IDs and values: accepted, rejected as rows, refused in whole batches, and refused by auth. */
class RecordData {
  readonly needles: string[] = [];
  private n = 0;

  /** Rows whose IDs and values occur nowhere else; `bad` makes every row fail a row check in its own way. */
  rows(count: number, bad = false): BatchInput {
    const ids: string[] = [];
    const amounts: number[] = [];
    const cities: string[] = [];
    const tiers: string[] = [];
    for (let i = 0; i < count; i++) {
      const n = this.n++;
      ids.push(`rec-${tag}-${n}`);
      // Out of range when bad: the row error's description quotes the value.
      amounts.push(bad && n % 2 === 0 ? 7_000_000_000 + n + 0.4375 : 8_675_309 + n + 0.8125);
      cities.push(`city-${tag}-${n}`);
      tiers.push(bad && n % 2 === 1 ? `tier-${tag}-${n}` : "gold");
    }
    this.needles.push(...ids, ...amounts.map(String), ...cities, ...tiers.filter((t) => t !== "gold"));
    return { recordIds: ids, eventTimes: ids.map((_, i) => t0 + i * hour), columns: { amount: amounts, tier: tiers, city: cities } };
  }

  /** A batch refused whole: besides its rows, a column the schema does not know. */
  refused(count: number): BatchInput {
    const column = `column-${tag}-${this.n}`;
    const batch = this.rows(count);
    this.needles.push(column);
    return { ...batch, columns: { ...batch.columns, [column]: batch.recordIds.map(() => 1) } };
  }
}

/** Writes through Put, Upload and Stream, reads back, and sends record data with refused keys. */
async function moveRecordData(s: Started, data: RecordData): Promise<{ refusedColumn: string }> {
  const target: MessageInitShape<typeof TargetSchema> = { project: "p", collection: "tx", destination: { case: "production", value: true } };
  const put = (batch: BatchInput, key = s.key) => s.rpc.unary(ingest.put, { target, batch: toRecordBatch(batch) }, key);

  expect((await put(data.rows(3))).summary?.rowsAccepted).toBe(3n);
  const rejected = (await put(data.rows(4, true))).summary!;
  expect(rejected.rowsRejected).toBe(4n);
  expect(new Set(rejected.rowErrors.map((e) => e.reason))).toEqual(new Set([RowErrorReason.OUT_OF_RANGE, RowErrorReason.UNKNOWN_CATEGORY]));
  const refused = data.refused(2);
  const refusedColumn = Object.keys(refused.columns!).at(-1)!;
  await expectFailure(put(refused), Code.InvalidArgument);

  const header = { message: { case: "header" as const, value: target } };
  const uploadBatch = (batch: BatchInput) => ({ message: { case: "batch" as const, value: toRecordBatch(batch) } });
  const uploaded = await s.rpc.clientStreaming(ingest.upload, [header, uploadBatch(data.rows(3)), uploadBatch(data.rows(2, true))], s.key);
  expect(uploaded.summary?.rowsAccepted).toBe(3n);
  await expectFailure(s.rpc.clientStreaming(ingest.upload, [header, uploadBatch(data.rows(2)), uploadBatch(data.refused(2))], s.key), Code.InvalidArgument);

  const streamBatch = (sequence: bigint, batch: BatchInput) => ({ message: { case: "batch" as const, value: { sequence, batch: toRecordBatch(batch) } } });
  const acks = await s.rpc.bidiStreaming(ingest.stream, [header, streamBatch(1n, data.rows(3)), streamBatch(2n, data.rows(2, true)), streamBatch(3n, data.refused(2))], s.key);
  expect(acks.map((a) => [a.sequence, a.summary?.rowsAccepted, a.error?.code])).toEqual([
    [1n, 3n, undefined],
    [2n, 0n, undefined],
    [3n, 0n, Code.InvalidArgument],
  ]);

  const read = await s.rpc.serverStreaming(ingest.readRecords, { target, recordIds: [`rec-${tag}-0`, `rec-${tag}-1`] }, s.key);
  expect(read.flatMap((r) => r.batch!.recordIds).sort()).toEqual([`rec-${tag}-0`, `rec-${tag}-1`]);

  // Record data sent with a revoked key, a near miss and the wrong project's key.
  await expectFailure(put(data.rows(2), s.revokedKey), Code.Unauthenticated);
  await expectFailure(put(data.rows(2), nearMisses(s.key)[0]), Code.Unauthenticated);
  await expectFailure(put(data.rows(2), s.otherKey), Code.PermissionDenied);
  return { refusedColumn };
}

describe("the server's log", () => {
  let info: Started | undefined;
  let debug: Started | undefined;
  const infoData = new RecordData();
  const debugData = new RecordData();
  const misses: string[] = [];
  let debugMisses = 0;
  let debugRefusedColumn = "";

  beforeAll(async () => {
    [info, debug] = await Promise.all([startWithProject(""), startWithProject("debug")]);
    misses.push(...(await failAuthentication(info)));
    const missed = await failAuthentication(debug);
    debugMisses = missed.length;
    misses.push(...missed);
    await moveRecordData(info, infoData);
    debugRefusedColumn = (await moveRecordData(debug, debugData)).refusedColumn;
    await Promise.all([stopAndDrain(info.server), stopAndDrain(debug.server)]);
  });
  afterAll(async () => {
    await Promise.all([info?.server.stop(), debug?.server.stop()]);
  });

  it("is captured: JSON lines, at the default level only info and above, at debug the refused calls too", () => {
    for (const s of [info!, debug!]) {
      expect(s.server.lines.some((l) => l.includes('"msg":"listening"'))).toBe(true);
      expect(s.server.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
      for (const line of s.server.lines) expect(() => JSON.parse(line), line).not.toThrow();
    }
    const levels = new Set(info!.server.lines.map((l) => (JSON.parse(l) as { level: string }).level));
    expect(levels.has("debug")).toBe(false);
    const refusals = debug!.server.lines.map((l) => JSON.parse(l) as { msg: string; procedure?: string; code?: number }).filter((r) => r.msg === "call refused");
    // Every near miss and the revoked key: each refusal is there, without the key (next test).
    expect(refusals.filter((r) => r.procedure === "sightline.v1.AdminService/GetProject" && r.code === Code.Unauthenticated)).toHaveLength(debugMisses + 1);
    expect(refusals.some((r) => r.procedure === "sightline.v1.IngestService/Put" && r.code === Code.PermissionDenied)).toBe(true);
  });

  it("never holds an API key secret, nor a near miss of one, at any level", () => {
    for (const s of [info!, debug!]) {
      expect(s.secrets.length).toBeGreaterThanOrEqual(7);
      expect(linesHolding(s.server.lines, [...s.secrets, ...misses])).toEqual([]);
    }
  });

  it("holds no record data at the default level: no record ID, value, rejected value or refused batch's content", () => {
    expect(infoData.needles.length).toBeGreaterThan(60);
    expect(linesHolding(info!.server.lines, infoData.needles)).toEqual([]);
  });

  it("at debug, logs refused calls with their message, which can quote the request (the debug exception)", () => {
    const quoting = debug!.server.lines.filter((l) => l.includes(debugRefusedColumn));
    expect(quoting.length).toBeGreaterThan(0);
    for (const line of quoting) expect(JSON.parse(line)).toMatchObject({ level: "debug", msg: "call refused", code: Code.InvalidArgument });
  });
});

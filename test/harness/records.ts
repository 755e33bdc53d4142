// Records whose every value says where it came from, so what is stored can be checked against what was sent, and
// reading a target back whole. Shared by the ingestion fault tests (test/integration/ingest-faults.test.ts) and the
// fault injection suite (test/faults/).
import {
  batchRows,
  FieldKind,
  FieldType,
  SplitType,
  toRecordBatch,
  type RecordBatch,
  type RowObject,
  type SightlineClient,
  type StreamRequest,
  type TargetInit,
} from "../../clients/ts/src/index.js";

/** A schema with awkward field names ('.' and '$'), an int64 that must survive exactly, and a string. */
export const taggedSchema = {
  recordIdColumn: "id",
  fields: [
    { name: "x.value", kind: FieldKind.FEATURE, type: FieldType.DOUBLE },
    { name: "$n", kind: FieldKind.FEATURE, type: FieldType.INT64 },
    { name: "batch", kind: FieldKind.EXTRA, type: FieldType.STRING, nullable: true },
  ],
};

/** Creates the project (unless told it exists), a collection with taggedSchema, and TRAIN splits in it. */
export async function createTaggedCollection(client: SightlineClient, project: string, collection: string, splits: string[], createProject = true): Promise<void> {
  if (createProject) await client.admin.createProject({ project: { name: project } });
  await client.catalog.createDataCollection({ collection: { project, name: collection, schema: taggedSchema } });
  for (const name of splits) await client.catalog.createSplit({ split: { project, collection, name, type: SplitType.TRAIN } });
}

export function splitTargetOf(project: string, collection: string, split: string): TargetInit {
  return { project, collection, destination: { case: "split", value: split } };
}

/** Batch b holds records `<prefix><b>-<i>`; every value says where it came from, so content is checkable. */
export function batchFor(b: number, rows: number, prefix = "b"): RecordBatch {
  const ids = Array.from({ length: rows }, (_, i) => i);
  return toRecordBatch({
    recordIds: ids.map((i) => `${prefix}${b}-${i}`),
    columns: {
      "x.value": ids.map((i) => b + i / 1000),
      $n: ids.map((i) => BigInt(b) * 1_000_000n + BigInt(i)),
      batch: ids.map(() => `batch ${b}`),
    },
  });
}

export function expectedRecord(b: number, i: number, prefix = "b"): RowObject {
  return {
    recordId: `${prefix}${b}-${i}`,
    eventTime: null,
    columns: { "x.value": b + i / 1000, $n: BigInt(b) * 1_000_000n + BigInt(i), batch: `batch ${b}` },
    predictions: {},
    influences: {},
  };
}

/** Every record of a target by ID, and how many rows the read returned (more than the map holds means an ID came twice). */
export async function readTarget(client: SightlineClient, target: TargetInit): Promise<{ records: Map<string, RowObject>; rowsRead: number }> {
  const records = new Map<string, RowObject>();
  let rowsRead = 0;
  for await (const batch of client.readRecords({ target, batchSize: 5000 })) {
    for (const row of batchRows(batch)) {
      records.set(row.recordId, row);
      rowsRead += 1;
    }
  }
  return { records, rowsRead };
}

export async function readAll(client: SightlineClient, target: TargetInit): Promise<Map<string, RowObject>> {
  return (await readTarget(client, target)).records;
}

/** Records per batch index, from the `<prefix><b>-<i>` IDs; IDs with another prefix are not counted. */
export function countByBatch(records: Map<string, RowObject>, batches: number, prefix = "b"): number[] {
  const counts = new Array<number>(batches).fill(0);
  const pattern = new RegExp(`^${prefix}(\\d+)-`);
  for (const id of records.keys()) {
    const m = pattern.exec(id);
    if (m !== null) counts[Number(m[1])]! += 1;
  }
  return counts;
}

/** The messages of one Stream call: the header, then the batches with sequences 1, 2, … */
export function streamMessages(target: TargetInit, batches: RecordBatch[]): AsyncIterable<StreamRequest> {
  return (async function* () {
    yield { message: { case: "header" as const, value: target } } as unknown as StreamRequest;
    for (const [i, batch] of batches.entries()) yield { message: { case: "batch" as const, value: { sequence: BigInt(i + 1), batch } } } as unknown as StreamRequest;
  })();
}

/** Reads until two reads a little apart agree: a batch being written when a call ended finishes on its own time. */
export async function settled(client: SightlineClient, target: TargetInit): Promise<Map<string, RowObject>> {
  let last = await readAll(client, target);
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 400));
    const next = await readAll(client, target);
    if (next.size === last.size) return next;
    last = next;
  }
  throw new Error("the record count never settled");
}

// The dev FerretDB's GIN twins (server/dev/ferretdb/gin.go). FerretDB filters by `_jsonb->'key' @> value`, which
// only a GIN index serves; sl-ferretdb adds one beside each of FerretDB's indexes. Each round looks only at indexes
// newer than the last round's, so these check that every kind of new index is still found: a new collection's, one
// in a database made after the first rounds, and one added later to a collection that already has its twins.
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../harness/eventually.js";
import { startPrivateServices, type PrivateServices } from "../harness/private-services.js";

let services: PrivateServices | undefined;
let mongo: MongoClient;

beforeAll(async () => {
  services = await startPrivateServices("gin");
  mongo = new MongoClient(services.mongodbUrl);
  await mongo.connect();
}, 120_000);

afterAll(async () => {
  await mongo?.close();
  await services?.close();
});

/** The keys the GIN twins of a database's collections (not FerretDB's own metadata table) cover, sorted. */
function twinKeys(database: string): string[] {
  const defs = services!.sql(
    `SELECT indexdef FROM pg_indexes WHERE schemaname = '${database}' AND tablename NOT LIKE '\\_ferretdb%' AND indexname LIKE 'sl\\_gin\\_%'`,
  );
  return defs === "" ? [] : defs.split("\n").map((d) => /USING gin \(+_jsonb -> '([^']+)'/.exec(d)?.[1] ?? d).sort();
}

async function twinsBecome(database: string, keys: string[]): Promise<void> {
  await eventually(`GIN twins for ${keys.join(", ")} in ${database}`, async () => {
    const found = twinKeys(database);
    return JSON.stringify(found) === JSON.stringify(keys) ? found : undefined;
  }, 15_000);
  expect(twinKeys(database)).toEqual(keys);
}

describe("sl-ferretdb GIN twins", () => {
  it("adds a twin for each index of a new collection", async () => {
    await mongo.db("gin_a").collection("one").createIndex({ k: 1 });
    await twinsBecome("gin_a", ["_id", "k"]);
  });

  it("finds indexes made after its earlier rounds: a new database's, and a later index of a collection with twins", async () => {
    await mongo.db("gin_b").collection("two").createIndex({ m: 1, n: 1 });
    await mongo.db("gin_a").collection("one").createIndex({ later: 1 });
    await twinsBecome("gin_b", ["_id", "m"]);
    await twinsBecome("gin_a", ["_id", "k", "later"]);
  });

  it("makes filtered reads use the twins", async () => {
    const coll = mongo.db("gin_a").collection<{ _id: number; k: number }>("one");
    await coll.insertMany(Array.from({ length: 2000 }, (_, i) => ({ _id: i, k: i % 50 })));
    services!.sql("ANALYZE");
    const plan = JSON.stringify(await coll.find({ k: 7 }).explain());
    expect(plan).toMatch(/sl_gin_/);
  });
});

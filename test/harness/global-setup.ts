// Starts (or reuses) the real Redis, PostgreSQL and FerretDB once for the whole run, and stops only what it started.
import { MongoClient } from "mongodb";
import type { TestProject } from "vitest/node";
import { ensureServices, type DevServices } from "../../server/dev/services.js";

let services: DevServices | undefined;

export async function setup(project: TestProject): Promise<void> {
  services = await ensureServices({ log: (line) => process.stderr.write(`[services] ${line}\n`) });
  project.provide("mongodbUrl", services.mongodbUrl);
  project.provide("redisUrl", services.redisUrl);
}

export async function teardown(): Promise<void> {
  if (services === undefined) return;
  // Each test file works in its own `t_…` database (see processes.ts); drop them so reused services stay small.
  const client = new MongoClient(services.mongodbUrl, { serverSelectionTimeoutMS: 5000 });
  try {
    const { databases } = await client.db("admin").admin().listDatabases({ nameOnly: true });
    for (const { name } of databases) if (name.startsWith("t_")) await client.db(name).dropDatabase();
  } catch (err) {
    process.stderr.write(`[services] could not drop test databases: ${String(err)}\n`);
  } finally {
    await client.close();
  }
  await services.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    mongodbUrl: string;
    redisUrl: string;
  }
}

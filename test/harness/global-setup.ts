// Starts (or reuses) the real Redis, PostgreSQL and FerretDB once for the whole run, and stops only what it started.
import { MongoClient } from "mongodb";
import type { TestProject } from "vitest/node";
import { newRunTag, staleRunDatabase } from "../../server/dev/run-tags.js";
import { ensureServices, type DevServices } from "../../server/dev/services.js";

let services: DevServices | undefined;

// Several runs may share the services (a developer's and an agent's, say): each drops only its own databases, named
// `t_<runTag>_…` (see processes.ts), plus those that runs which never got to their teardown left long ago.
// The tag starts with the run's start time, which is how a leftover's age is known (server/dev/run-tags.ts).
const runTag = newRunTag();

function droppable(name: string): boolean {
  return name.startsWith(`t_${runTag}_`) || staleRunDatabase(name, "t_");
}

export async function setup(project: TestProject): Promise<void> {
  services = await ensureServices({ log: (line) => process.stderr.write(`[services] ${line}\n`) });
  project.provide("mongodbUrl", services.mongodbUrl);
  project.provide("redisUrl", services.redisUrl);
  project.provide("runTag", runTag);
}

export async function teardown(): Promise<void> {
  if (services === undefined) return;
  // Each test file works in its own `t_…` database (see processes.ts); drop this run's so reused services stay small.
  const client = new MongoClient(services.mongodbUrl, { serverSelectionTimeoutMS: 5000 });
  try {
    const { databases } = await client.db("admin").admin().listDatabases({ nameOnly: true });
    for (const { name } of databases) if (droppable(name)) await client.db(name).dropDatabase();
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
    runTag: string;
  }
}

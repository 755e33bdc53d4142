// Starts (or reuses) the real Redis, PostgreSQL and FerretDB once for the whole run, and stops only what it started.
import type { TestProject } from "vitest/node";
import { ensureServices, type DevServices } from "../../server/dev/services.js";

let services: DevServices | undefined;

export async function setup(project: TestProject): Promise<void> {
  services = await ensureServices({ log: (line) => process.stderr.write(`[services] ${line}\n`) });
  project.provide("mongodbUrl", services.mongodbUrl);
  project.provide("redisUrl", services.redisUrl);
}

export async function teardown(): Promise<void> {
  await services?.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    mongodbUrl: string;
    redisUrl: string;
  }
}

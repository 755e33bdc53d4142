// Every service the generated descriptors define, found at run time: a new RPC or service is fuzzed without a change
// to this suite.
import type { DescFile, DescService } from "@bufbuild/protobuf";
import { readdirSync } from "node:fs";

const genDir = new URL("../../../server/src/gen/sightline/v1/", import.meta.url);

function isFile(value: unknown): value is DescFile {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "file";
}

export async function loadServices(): Promise<DescService[]> {
  const services: DescService[] = [];
  for (const name of readdirSync(genDir).filter((f) => f.endsWith("_pb.ts")).sort()) {
    const mod = (await import(new URL(name, genDir).href)) as Record<string, unknown>;
    for (const value of Object.values(mod)) if (isFile(value)) services.push(...value.services);
  }
  return services;
}

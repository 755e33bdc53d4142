// Scratch databases that test runs and benchmarks make on the shared dev services carry a run tag: the run's start
// time in base 36, then four random hex digits. A later run can then drop what a run killed before its teardown left
// behind, by age, without touching a run still going.
import { randomBytes } from "node:crypto";

/** A run older than this is taken to be gone: no test run or benchmark here lasts that long. */
const staleRunMs = 6 * 3_600_000;

export function newRunTag(): string {
  return `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
}

/** Whether `name` is `<prefix><run tag>_…` for a run that started more than six hours ago. */
export function staleRunDatabase(name: string, prefix: string): boolean {
  if (!name.startsWith(prefix)) return false;
  const started = /^([0-9a-z]{8})[0-9a-f]{4}_/.exec(name.slice(prefix.length))?.[1];
  return started !== undefined && parseInt(started, 36) < Date.now() - staleRunMs;
}

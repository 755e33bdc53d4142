// One registry per process, so nothing registered by a library behind our back ends up in the exposition.
import { collectDefaultMetrics, Registry } from "prom-client";

/**
 * A registry holding the standard `process_*` and `nodejs_*` metrics. They keep their usual unprefixed names so the
 * common Node.js dashboards and alerts work on them unchanged.
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

// What the server and the worker set up alike: command timing on their MongoDB client and the HTTP/1.1 port.
import type { MongoClient } from "mongodb";
import type { Registry } from "prom-client";
import type { MetricsConfig } from "../config.js";
import type { Logger } from "../log.js";
import { listenMetrics, type MetricsListener } from "./http.js";
import { mongoCommandMetrics } from "./mongodb.js";

/** The command observer for openStore, unless turned off with SIGHTLINE_MONGODB_COMMAND_METRICS=off. */
export function commandObserver(config: MetricsConfig, registry: Registry): ((client: MongoClient) => void) | undefined {
  return config.mongodbCommands ? mongoCommandMetrics(registry) : undefined;
}

/** Opens the plain HTTP/1.1 metrics port when one is configured, and logs where it listens. */
export async function startMetricsPort(config: MetricsConfig, host: string, registry: Registry, log: Logger): Promise<MetricsListener | undefined> {
  if (config.port === undefined) return undefined;
  const listener = await listenMetrics(host, config.port, registry);
  log.info("metrics listening", { host, metricsPort: listener.port(), path: "/metrics" });
  return listener;
}

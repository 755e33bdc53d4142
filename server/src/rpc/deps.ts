import type { Config } from "../config.js";
import type { InfluencesOnIngest } from "../jobs/influences-on-ingest.js";
import type { Queues } from "../jobs/queues.js";
import type { Logger } from "../log.js";
import type { Store } from "../store/db.js";
import type { IngestMetrics } from "../telemetry/ingest.js";

/** What RPC handlers need; built once by the server and passed to each service module. */
export interface RpcDeps {
  store: Store;
  queues: Queues;
  log: Logger;
  config: Config;
  /** Shared by the ingest paths, which queue the jobs, and the model service, which changes what they are. */
  influencesOnIngest: InfluencesOnIngest;
  /** Counts the rows of every batch the three ways in write, once it is durable. */
  ingestMetrics: IngestMetrics;
}

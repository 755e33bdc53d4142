// Builds the whole server from a config: storage, queues, health, routes and the listener. main.ts and the tests
// both start it through here.
import { setMaxListeners } from "node:events";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import type { Redis } from "ioredis";
import { authInterceptor } from "./auth/interceptor.js";
import { withConsoleFiles } from "./console/files.js";
import { consoleFilesFor, listenConsole } from "./console/listener.js";
import type { Config } from "./config.js";
import { file_google_rpc_error_details } from "./gen/google/rpc/error_details_pb.js";
import { file_grpc_health_v1_health } from "./gen/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection } from "./gen/grpc/reflection/v1/reflection_pb.js";
import { file_grpc_reflection_v1alpha_reflection } from "./gen/grpc/reflection/v1alpha/reflection_pb.js";
import { AdminService, file_sightline_v1_admin_service } from "./gen/sightline/v1/admin_service_pb.js";
import { CatalogService, file_sightline_v1_catalog_service } from "./gen/sightline/v1/catalog_service_pb.js";
import { IngestService, file_sightline_v1_ingest_service } from "./gen/sightline/v1/ingest_service_pb.js";
import { ModelService, file_sightline_v1_model_service } from "./gen/sightline/v1/model_service_pb.js";
import { MonitoringService, file_sightline_v1_monitoring_service } from "./gen/sightline/v1/monitoring_service_pb.js";
import { HealthMonitor } from "./health/monitor.js";
import { InfluencesOnIngest } from "./jobs/influences-on-ingest.js";
import { createQueues, type Queues } from "./jobs/queues.js";
import { connectRedis, readyOrTimeout } from "./jobs/redis.js";
import type { Logger } from "./log.js";
import { registerAdmin } from "./rpc/admin.js";
import { registerCatalog } from "./rpc/catalog.js";
import type { RpcDeps } from "./rpc/deps.js";
import { registerHealth } from "./rpc/health.js";
import { registerIngest } from "./rpc/ingest.js";
import { registerModels } from "./rpc/models.js";
import { registerMonitoring } from "./rpc/monitoring.js";
import { registerReflection } from "./rpc/reflection.js";
import { openStore, type Store } from "./store/db.js";
import { withMetricsRoute } from "./telemetry/http.js";
import { IngestMetrics } from "./telemetry/ingest.js";
import { commandObserver, startMetricsPort } from "./telemetry/process.js";
import { queueReadTimeoutMs, registerQueueDepths } from "./telemetry/queues.js";
import { createRegistry } from "./telemetry/registry.js";
import { rpcMetricsInterceptor } from "./telemetry/rpc.js";
import { nodeAdapter } from "./node-adapter.js";
import { listen } from "./transport.js";

const servedFiles = [
  file_sightline_v1_admin_service,
  file_sightline_v1_catalog_service,
  file_sightline_v1_ingest_service,
  file_sightline_v1_model_service,
  file_sightline_v1_monitoring_service,
  file_grpc_health_v1_health,
  file_grpc_reflection_v1_reflection,
  file_grpc_reflection_v1alpha_reflection,
  // Served so that grpcurl and buf curl can decode the error details of a failed call.
  file_google_rpc_error_details,
];
const sightlineServices = [AdminService, CatalogService, IngestService, ModelService, MonitoringService];
const monitoredServices = sightlineServices.map((s) => s.typeName);
/** After the grace period, how long the calls it cut may take to send their UNAVAILABLE before connections are cut. */
const cutCallsWaitMs = 2000;

export interface RunningServer {
  port: number;
  /** Refuses new calls, lets in-flight calls finish within the grace period, then closes MongoDB and Redis. */
  shutdown(): Promise<void>;
}

function routes(deps: RpcDeps, monitor: HealthMonitor) {
  return (router: ConnectRouter) => {
    registerAdmin(router, deps);
    registerCatalog(router, deps);
    registerIngest(router, deps);
    registerModels(router, deps);
    registerMonitoring(router, deps);
    registerHealth(router, monitor, monitoredServices);
    registerReflection(router, servedFiles);
  };
}

async function startMonitor(config: Config, store: Store, redis: Redis, log: Logger): Promise<HealthMonitor> {
  const monitor = new HealthMonitor({
    intervalMs: config.healthIntervalMs,
    probeTimeoutMs: Math.max(500, Math.min(config.healthIntervalMs, 5000)),
    probes: {
      mongodb: async () => {
        await store.db.command({ ping: 1 });
      },
      redis: async () => {
        await redis.ping();
      },
    },
    onProbeFailure: (dependency, error) => log.warn("dependency unreachable", { dependency, error }),
  });
  // A first verdict before listening, so a load balancer's first probe is not told NOT_SERVING for nothing.
  await monitor.checkNow();
  monitor.start();
  return monitor;
}

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const registry = createRegistry();
  const store = await openStore(config.mongodbUrl, config.mongodbDatabase, commandObserver(config.metrics, registry), log);
  const redis = connectRedis(config.redisUrl, "producer");
  redis.on("error", (err: Error) => log.debug("redis connection error", { error: err }));
  if (!(await readyOrTimeout(redis, 5000))) log.warn("redis is not reachable yet; starting NOT_SERVING");
  const queues: Queues = createQueues(redis, config.queuePrefix, config.monitoring.intervalMs, log);
  registerQueueDepths(registry, [queues.collectionStats, queues.monitoring, queues.compute, queues.computeChunks], queueReadTimeoutMs);
  const monitor = await startMonitor(config, store, redis, log);
  const shutdownController = new AbortController();
  // connect-node links every open call's signal to this one, so eleven calls at once would draw Node's
  // MaxListenersExceededWarning (a listener leak it suspects) although each call removes its listener when it ends.
  setMaxListeners(0, shutdownController.signal);
  const handler = nodeAdapter({
    routes: routes({ store, queues, log, config, influencesOnIngest: new InfluencesOnIngest(store, queues, log), ingestMetrics: new IngestMetrics(registry) }, monitor),
    // Metrics outermost: they see authentication refusals, and the codes the auth interceptor maps errors to.
    interceptors: [rpcMetricsInterceptor(registry, sightlineServices), authInterceptor(store, config.adminKey, log)],
    readMaxBytes: config.maxMessageBytes,
    writeMaxBytes: config.maxMessageBytes,
    maxTimeoutMs: config.maxTimeoutMs,
    shutdownSignal: shutdownController.signal,
    onAbandoned: (procedure, answered, error) => {
      if (answered === Code.Internal) log.error("call failed", { procedure, code: answered, error });
      else log.debug("call refused", { procedure, code: answered, message: String(error) });
    },
  });
  // The web console: on its own HTTP/1.1 port, and with TLS on the main port too, where ALPN admits browsers.
  const consoleSite = consoleFilesFor(config, log);
  const listener = await listen(
    {
      host: config.host,
      port: config.port,
      tls: config.tls,
      maxStreamsPerConnection: config.maxStreamsPerConnection,
      sendTimeoutMs: config.streamSendTimeoutMs,
      onSendTimeout: (path, stalledMs) => log.warn("reset a stream whose client took no response data", { path, stalledMs }),
    },
    withMetricsRoute(registry, config.tls !== undefined && consoleSite !== undefined ? withConsoleFiles(consoleSite, handler) : handler),
  );
  // Same handler, so the same routes, interceptors and API keys: the console sees only what its key may see.
  const consoleListener =
    config.console.port === undefined
      ? undefined
      : await listenConsole(
          {
            host: config.host,
            port: config.console.port,
            sendTimeoutMs: config.streamSendTimeoutMs,
            onSendTimeout: (path, stalledMs) => log.warn("cut a console response whose client took no data", { path, stalledMs }),
          },
          consoleSite,
          handler,
        );
  log.info("listening", {
    host: config.host,
    port: listener.port(),
    tls: config.tls !== undefined,
    ...(consoleListener === undefined ? {} : { consolePort: consoleListener.port() }),
  });
  const metricsListener = await startMetricsPort(config.metrics, config.host, registry, log);

  let stopping: Promise<void> | undefined;
  const shutdown = async () => {
    log.info("shutting down", { graceMs: config.shutdownGraceMs });
    monitor.setShuttingDown();
    listener.drain();
    consoleListener?.drain();
    const callsEnded = Promise.all([listener.closed(), consoleListener?.closed()]);
    /** Whether every call has ended within `ms`. */
    const endedWithin = async (ms: number): Promise<boolean> => {
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
      const ended = await Promise.race([callsEnded.then(() => true), expired]);
      clearTimeout(timer);
      return ended;
    };
    if (!(await endedWithin(config.shutdownGraceMs))) {
      log.warn("grace period over, cutting remaining calls");
      // UNAVAILABLE tells clients to retry elsewhere; a bare reset would read as CANCELED, which they do not retry.
      shutdownController.abort(new ConnectError("the server is shutting down", Code.Unavailable));
      // The cut calls still have to send that status, and a Stream first finishes the batch it is writing: a fixed
      // 100 ms was too short on a loaded machine, and the connections were then destroyed under them, so their
      // clients read CANCEL. Wait for them to end, for a bounded time.
      await endedWithin(cutCallsWaitMs);
      listener.destroy();
      consoleListener?.destroy();
    }
    monitor.stop();
    // Scrapes are answered through the grace period, so the drain itself can be watched.
    await metricsListener?.close();
    await queues.close();
    redis.disconnect();
    await store.close();
    log.info("stopped");
  };
  return {
    port: listener.port(),
    shutdown: () => (stopping ??= shutdown()),
  };
}

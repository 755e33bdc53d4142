// The one place where the environment becomes typed configuration. Everything is validated once at start;
// a bad value stops the process with a one-line message that names the variable.

export interface TlsConfig {
  certFile: string;
  keyFile: string;
}

export interface Config {
  host: string;
  port: number;
  tls: TlsConfig | undefined;
  mongodbUrl: string;
  mongodbDatabase: string;
  redisUrl: string;
  adminKey: string;
  maxMessageBytes: number;
  maxTimeoutMs: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: calls one client connection may have open at once. */
  maxStreamsPerConnection: number;
  /** How long a response may wait on a client that takes none of it before its stream is reset. */
  streamSendTimeoutMs: number;
  shutdownGraceMs: number;
  healthIntervalMs: number;
  statsIntervalMs: number;
  monitoring: MonitoringConfig;
  queuePrefix: string;
  logLevel: LogLevel;
  ingest: IngestConfig;
  schema: SchemaLimits;
  compute: ComputeConfig;
  metrics: MetricsConfig;
  console: ConsoleConfig;
}

export interface ConsoleConfig {
  /**
   * Plain HTTP/1.1 port serving the web console and, for it, the Connect and gRPC-Web protocols
   * (SIGHTLINE_CONSOLE_PORT); undefined when off. Browsers cannot speak h2c, so without TLS the main port cannot serve
   * them. 0 picks a free port, which is logged.
   */
  port: number | undefined;
  /** The built console (SIGHTLINE_CONSOLE_DIR); undefined means dist/console of this checkout. */
  dir: string | undefined;
}

export interface MetricsConfig {
  /**
   * Plain HTTP/1.1 port serving /metrics for this process (SIGHTLINE_METRICS_PORT for the server,
   * SIGHTLINE_WORKER_METRICS_PORT for a worker); undefined when off. 0 picks a free port, which is logged.
   */
  port: number | undefined;
  /** Times every MongoDB command; the driver then decodes each reply once more, which costs on large reads. */
  mongodbCommands: boolean;
}

export interface SchemaLimits {
  /** Fields one collection schema may list. */
  maxFields: number;
  /** Categories one CATEGORICAL field may list. */
  maxCategories: number;
}

export interface ComputeConfig {
  /** Largest model artifact an upload may declare. */
  maxArtifactBytes: number;
  /** Records per chunk job of ComputePredictions and ComputeInfluences. */
  chunkRecords: number;
  /** Chunk jobs one worker process runs at once. */
  concurrency: number;
  /** Threads onnxruntime uses inside one call; throughput scales by worker processes. */
  intraOpThreads: number;
  /** Rows per onnxruntime call when KernelSHAP evaluates coalitions. */
  kernelBatchRows: number;
}

export interface IngestConfig {
  maxRowsPerBatch: number;
  maxPutRows: number;
  maxStringBytes: number;
  maxRowErrors: number;
  /** Rows per bulk write to MongoDB. */
  writeChunkRows: number;
  /** Batches of one Stream written concurrently before the server stops reading it. */
  streamWindow: number;
  /** Bytes of decoded batches (batch-bytes.ts) one Stream holds in flight before the server stops reading it. */
  streamWindowBytes: number;
  /** Batches of one Upload written concurrently before the server stops reading it. */
  uploadWindow: number;
  /** How long an Upload or Stream may send nothing while the server waits on it before the call is ended. */
  streamIdleTimeoutMs: number;
}

export interface MonitoringConfig {
  /** Period of each production model's monitoring job scheduler. */
  intervalMs: number;
  /** Monitoring runs one worker process executes at once. */
  concurrency: number;
  /**
   * How long a job lock and a model's lease live unrenewed: a worker that dies mid-job is noticed (its job retried,
   * the model freed) after about this long.
   */
  lockMs: number;
}

export const logLevels = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof logLevels)[number];

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

function text(env: Env, name: string, fallback?: string): string {
  const value = env[name];
  if (value === undefined || value === "") {
    if (fallback === undefined) throw new ConfigError(name, "is required");
    return fallback;
  }
  return value;
}

function optionalText(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === "" ? undefined : value;
}

function optionalInteger(env: Env, name: string, min: number, max: number): number | undefined {
  return optionalText(env, name) === undefined ? undefined : integer(env, name, 0, min, max);
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function url(env: Env, name: string, schemes: string[]): string {
  const value = text(env, name);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(name, "is not a valid URL");
  }
  const scheme = parsed.protocol.replace(/:$/, "");
  if (!schemes.includes(scheme)) throw new ConfigError(name, `must use ${schemes.join(" or ")}, got "${scheme}"`);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = env[name];
  if (value === undefined || value === "") return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${allowed.join(", ")}, got "${value}"`);
  }
  return value as T;
}

export type Role = "server" | "worker";

/** Workers never authenticate callers, so only the server needs the admin key. */
export function loadConfig(role: Role, env: Env = process.env): Config {
  const certFile = optionalText(env, "SIGHTLINE_TLS_CERT_FILE");
  const keyFile = optionalText(env, "SIGHTLINE_TLS_KEY_FILE");
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(
      certFile === undefined ? "SIGHTLINE_TLS_CERT_FILE" : "SIGHTLINE_TLS_KEY_FILE",
      "TLS needs both SIGHTLINE_TLS_CERT_FILE and SIGHTLINE_TLS_KEY_FILE",
    );
  }
  const adminKey = role === "server" ? text(env, "SIGHTLINE_ADMIN_KEY") : (optionalText(env, "SIGHTLINE_ADMIN_KEY") ?? "");
  if (role === "server" && adminKey.length < 16) throw new ConfigError("SIGHTLINE_ADMIN_KEY", "must be at least 16 characters");
  const queuePrefix = text(env, "SIGHTLINE_QUEUE_PREFIX", "{sightline}");
  if (!/^\{[^{}]+\}/.test(queuePrefix)) {
    throw new ConfigError("SIGHTLINE_QUEUE_PREFIX", "must start with a Redis Cluster hash tag such as {sightline}");
  }
  return {
    host: text(env, "SIGHTLINE_HOST", "127.0.0.1"),
    port: integer(env, "SIGHTLINE_PORT", 50051, 0, 65535),
    tls: certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined,
    mongodbUrl: url(env, "MONGODB_URL", ["mongodb", "mongodb+srv"]),
    mongodbDatabase: text(env, "MONGODB_DATABASE", "sightline"),
    redisUrl: url(env, "REDIS_URL", ["redis", "rediss"]),
    adminKey,
    maxMessageBytes: integer(env, "SIGHTLINE_MAX_MESSAGE_BYTES", 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxTimeoutMs: integer(env, "SIGHTLINE_MAX_TIMEOUT_MS", 3_600_000, 1000, 86_400_000),
    maxStreamsPerConnection: integer(env, "SIGHTLINE_MAX_STREAMS_PER_CONNECTION", 1000, 1, 1_000_000),
    streamSendTimeoutMs: integer(env, "SIGHTLINE_STREAM_SEND_TIMEOUT_MS", 60_000, 1000, 86_400_000),
    shutdownGraceMs: integer(env, "SIGHTLINE_SHUTDOWN_GRACE_MS", 10_000, 0, 600_000),
    healthIntervalMs: integer(env, "SIGHTLINE_HEALTH_INTERVAL_MS", 2000, 100, 600_000),
    statsIntervalMs: integer(env, "SIGHTLINE_STATS_INTERVAL_MS", 60_000, 500, 86_400_000),
    monitoring: {
      intervalMs: integer(env, "SIGHTLINE_MONITORING_INTERVAL_MS", 300_000, 500, 86_400_000),
      concurrency: integer(env, "SIGHTLINE_MONITORING_CONCURRENCY", 2, 1, 64),
      lockMs: integer(env, "SIGHTLINE_JOB_LOCK_MS", 30_000, 1000, 600_000),
    },
    queuePrefix,
    logLevel: oneOf(env, "SIGHTLINE_LOG_LEVEL", logLevels, "info"),
    ingest: {
      maxRowsPerBatch: integer(env, "SIGHTLINE_MAX_ROWS_PER_BATCH", 10_000, 1, 1_000_000),
      maxPutRows: integer(env, "SIGHTLINE_MAX_PUT_ROWS", 1000, 1, 1_000_000),
      maxStringBytes: integer(env, "SIGHTLINE_MAX_STRING_BYTES", 4096, 1, 16 * 1024 * 1024),
      maxRowErrors: integer(env, "SIGHTLINE_MAX_ROW_ERRORS", 100, 0, 100_000),
      writeChunkRows: integer(env, "SIGHTLINE_WRITE_CHUNK_ROWS", 1000, 1, 100_000),
      streamWindow: integer(env, "SIGHTLINE_STREAM_WINDOW", 256, 1, 4096),
      streamWindowBytes: integer(env, "SIGHTLINE_STREAM_WINDOW_BYTES", 32 * 1024 * 1024, 1024, 4 * 1024 * 1024 * 1024),
      uploadWindow: integer(env, "SIGHTLINE_UPLOAD_WINDOW", 3, 1, 64),
      streamIdleTimeoutMs: integer(env, "SIGHTLINE_STREAM_IDLE_TIMEOUT_MS", 300_000, 1000, 86_400_000),
    },
    schema: {
      maxFields: integer(env, "SIGHTLINE_MAX_SCHEMA_FIELDS", 2000, 1, 100_000),
      maxCategories: integer(env, "SIGHTLINE_MAX_CATEGORIES", 10_000, 1, 1_000_000),
    },
    compute: {
      maxArtifactBytes: integer(env, "SIGHTLINE_MAX_ARTIFACT_BYTES", 256 * 1024 * 1024, 1024, 4 * 1024 * 1024 * 1024),
      chunkRecords: integer(env, "SIGHTLINE_COMPUTE_CHUNK_RECORDS", 1000, 1, 100_000),
      concurrency: integer(env, "SIGHTLINE_COMPUTE_CONCURRENCY", 1, 1, 64),
      intraOpThreads: integer(env, "SIGHTLINE_ONNX_THREADS", 1, 1, 256),
      kernelBatchRows: integer(env, "SIGHTLINE_KERNEL_BATCH_ROWS", 16_384, 1, 10_000_000),
    },
    metrics: {
      port: optionalInteger(env, role === "server" ? "SIGHTLINE_METRICS_PORT" : "SIGHTLINE_WORKER_METRICS_PORT", 0, 65535),
      mongodbCommands: oneOf(env, "SIGHTLINE_MONGODB_COMMAND_METRICS", ["on", "off"], "on") === "on",
    },
    console: {
      port: optionalInteger(env, "SIGHTLINE_CONSOLE_PORT", 0, 65535),
      dir: optionalText(env, "SIGHTLINE_CONSOLE_DIR"),
    },
  };
}

/** For entry points: a bad configuration ends the process with one line naming the variable. */
export function loadConfigOrExit(role: Role): Config {
  try {
    return loadConfig(role);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sightline ${role}: bad configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

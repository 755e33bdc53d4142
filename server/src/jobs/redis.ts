import { Redis, type RedisOptions } from "ioredis";

/**
 * BullMQ workers need `maxRetriesPerRequest: null` so blocking commands wait out a Redis restart. Producers and
 * probes instead fail fast (`enableOfflineQueue: false`), so an outage surfaces as an error rather than a hang.
 */
export function connectRedis(url: string, role: "worker" | "producer"): Redis {
  const options: RedisOptions =
    role === "worker"
      ? { maxRetriesPerRequest: null }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 };
  return new Redis(url, { ...options, lazyConnect: false, retryStrategy: (attempt) => Math.min(attempt * 200, 2000) });
}

/** Waits up to `timeoutMs` for the first connection; a Redis that is down at start is reported by health, not fatal. */
export async function readyOrTimeout(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === "ready") return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off("ready", onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once("ready", onReady);
  });
}

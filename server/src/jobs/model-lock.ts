// A lease in Redis that lets one worker at a time run a model's monitoring, whichever job asked for it (its scheduler
// or an on-demand refresh). The lease expires on its own when its holder dies, and is renewed while the run lasts.
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";

// Deletes or extends the key only while it still holds our token, so an expired lease taken over by another worker
// is never released or extended by its former holder.
const releaseScript = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
const renewScript = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;

export interface Lease {
  /** Stops renewing and releases the lease. */
  release(): Promise<void>;
  /** False once a renewal found the lease taken: the holder should stop writing. */
  held(): boolean;
}

export async function acquireLease(redis: Redis, key: string, ttlMs: number): Promise<Lease | undefined> {
  const token = randomUUID();
  if ((await redis.set(key, token, "PX", ttlMs, "NX")) !== "OK") return undefined;
  let held = true;
  const timer = setInterval(() => {
    redis.eval(renewScript, 1, key, token, String(ttlMs)).then(
      (renewed) => {
        if (renewed === 0) held = false;
      },
      // A Redis hiccup is retried at the next tick; the lease outlives a few of them.
      () => undefined,
    );
  }, Math.max(100, Math.floor(ttlMs / 3)));
  timer.unref();
  return {
    held: () => held,
    async release() {
      clearInterval(timer);
      held = false;
      await redis.eval(releaseScript, 1, key, token);
    },
  };
}

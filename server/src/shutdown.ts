import type { Logger } from "./log.js";

/** Runs `stop` once on SIGTERM or SIGINT, then exits 0, or 1 if stopping failed. */
export function onTermination(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handle = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("signal received", { signal });
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error("shutdown failed", { error: err });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => handle("SIGTERM"));
  process.on("SIGINT", () => handle("SIGINT"));
}

/**
 * grpc.health.v1.Health backed by a HealthMonitor, so grpc_health_probe,
 * Kubernetes gRPC probes and load balancers see the state of our
 * dependencies. Every registered service shares the overall verdict: they all
 * depend on the same database and cache.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../gen/grpc/health/v1/health_pb.js";
import type { HealthCheckRequest, HealthCheckResponse } from "../gen/grpc/health/v1/health_pb.js";
import type { HealthMonitor } from "../health/monitor.js";

type StatusInit = Pick<HealthCheckResponse, "status">;

export function registerHealth(
  router: ConnectRouter,
  monitor: HealthMonitor,
  serviceNames: string[],
): void {
  // "" is the spec's name for the server as a whole.
  const known = new Set(["", ...serviceNames]);
  const statusOf = (): ServingStatus =>
    monitor.isServing() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;

  router.service(Health, {
    check(request: HealthCheckRequest): StatusInit {
      if (!known.has(request.service)) {
        throw new ConnectError(`unknown service ${JSON.stringify(request.service)}`, Code.NotFound);
      }
      return { status: statusOf() };
    },

    async *watch(request: HealthCheckRequest, context: HandlerContext): AsyncGenerator<StatusInit> {
      if (!known.has(request.service)) {
        // The spec keeps the call open rather than failing it, in case the
        // service appears later. Ours never will, so just wait for cancel.
        yield { status: ServingStatus.SERVICE_UNKNOWN };
        await aborted(context.signal);
        return;
      }
      yield* watchStatus(monitor, statusOf, context.signal);
    },
  });
}

/**
 * Yields the current status, then every change, until the signal aborts.
 * Only the latest status matters to a watcher, so changes that happen while
 * the client is slow are coalesced instead of queued.
 */
async function* watchStatus(
  monitor: HealthMonitor,
  statusOf: () => ServingStatus,
  signal: AbortSignal,
): AsyncGenerator<StatusInit> {
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  // Subscribe before reading the first status so no change can slip between.
  const unsubscribe = monitor.onChange(notify);
  signal.addEventListener("abort", notify);
  try {
    let last: ServingStatus | undefined;
    while (!signal.aborted) {
      const status = statusOf();
      if (status !== last) {
        last = status;
        yield { status };
        // A draining server ends watches after telling them, so they do not hold up its shutdown.
        if (monitor.current().shuttingDown) return;
        continue; // re-check: the status may have changed while we were suspended
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    unsubscribe();
    signal.removeEventListener("abort", notify);
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

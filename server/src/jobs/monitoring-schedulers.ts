// Keeps one monitoring job scheduler per model. Workers own them, because the period is a worker setting: each worker
// reconciles the whole set at start and then every minute (or period, if shorter), so a new model gets its scheduler
// within a minute, a deleted one loses it, and one lost with Redis comes back. The upsert is idempotent and keeps the
// next run's time, so any number of workers reconciling agree.
import type { Store } from "../store/db.js";
import { modelSchedulerPrefix, type Queues } from "./queues.js";

export function reconcilePeriodMs(intervalMs: number): number {
  return Math.min(intervalMs, 60_000);
}

export async function reconcileMonitoringSchedulers(store: Store, queues: Queues): Promise<void> {
  const wanted = new Set<string>();
  for await (const m of store.models.find({}, { projection: { project: 1, collection: 1, name: 1 } })) {
    wanted.add(`${modelSchedulerPrefix}${m.project}/${m.collection}/${m.name}`);
    await queues.scheduleMonitoring(m.project, m.collection, m.name);
  }
  const existing = await queues.monitoring.getJobSchedulers();
  for (const s of existing) {
    const id = s.key;
    if (id.startsWith(modelSchedulerPrefix) && !wanted.has(id)) await queues.monitoring.removeJobScheduler(id);
  }
}

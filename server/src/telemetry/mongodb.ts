// Latency of every command the MongoDB driver sends, from its command monitoring events.
import type { CommandFailedEvent, CommandSucceededEvent, MongoClient } from "mongodb";
import { Histogram, type Registry } from "prom-client";

const durationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Returns what openStore calls on its client before connecting. Labels are the command name only (find, insert,
 * update, getMore, ...): collection and database names would add a series per customer collection.
 */
export function mongoCommandMetrics(registry: Registry): (client: MongoClient) => void {
  const duration = new Histogram({
    name: "sightline_mongodb_command_duration_seconds",
    help: "Round trip of MongoDB commands as the driver measures it, by command name and outcome.",
    labelNames: ["command", "outcome"],
    buckets: durationBuckets,
    registers: [registry],
  });
  return (client) => {
    client.on("commandSucceeded", (event: CommandSucceededEvent) => duration.observe({ command: event.commandName, outcome: "succeeded" }, event.duration / 1000));
    client.on("commandFailed", (event: CommandFailedEvent) => duration.observe({ command: event.commandName, outcome: "failed" }, event.duration / 1000));
  };
}

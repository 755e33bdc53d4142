import { loadConfigOrExit } from "./config.js";
import { createLogger } from "./log.js";
import { startServer } from "./server.js";
import { onTermination } from "./shutdown.js";

const config = loadConfigOrExit("server");
const log = createLogger(config.logLevel, { service: "sightline-server" });
const server = await startServer(config, log);
onTermination(log, () => server.shutdown());

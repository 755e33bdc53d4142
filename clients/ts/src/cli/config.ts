// Where the CLI finds its server and key: SIGHTLINE_URL / SIGHTLINE_API_KEY / SIGHTLINE_PROJECT first, then the file
// `sightline login` writes. The file holds a secret, so it is created 0600 inside a 0700 directory.
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { CliError } from "./failure.js";

export interface StoredConfig {
  url?: string;
  key?: string;
  project?: string;
}

export interface Settings {
  url: string;
  key: string | undefined;
  project: string | undefined;
}

export function configPath(): string {
  const xdg = process.env.XDG_CONFIG_HOME;
  const base = xdg !== undefined && xdg !== "" ? xdg : join(homedir(), ".config");
  return join(base, "sightline", "config.json");
}

function optionalString(value: unknown, key: string, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new CliError(`${path}: "${key}" must be a string`);
  return value;
}

export async function readConfig(path = configPath()): Promise<StoredConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not valid JSON; run \`sightline login\` again`);
  }
  if (typeof parsed !== "object" || parsed === null) throw new CliError(`${path} must hold a JSON object`);
  const record = parsed as Record<string, unknown>;
  return {
    url: optionalString(record.url, "url", path),
    key: optionalString(record.key, "key", path),
    project: optionalString(record.project, "project", path),
  };
}

/** Writes through a temporary file and a rename, so a crash never leaves half a config (or a readable secret). */
export async function writeConfig(config: StoredConfig, path = configPath()): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // The mode above is filtered by the umask; set it outright.
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

function fromEnv(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === "" ? undefined : value;
}

/** The settings a command runs with; a --project flag beats the environment, which beats the file. */
export async function resolveSettings(projectFlag: string | undefined): Promise<Settings> {
  const stored = await readConfig();
  const url = fromEnv("SIGHTLINE_URL") ?? stored.url;
  if (url === undefined) throw new CliError("no server configured: run `sightline login --url URL --key KEY`, or set SIGHTLINE_URL");
  return {
    url,
    key: fromEnv("SIGHTLINE_API_KEY") ?? stored.key,
    project: projectFlag ?? fromEnv("SIGHTLINE_PROJECT") ?? stored.project,
  };
}

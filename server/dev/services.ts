// Development services for `npm start`, `npm test` and CI: Redis, PostgreSQL and FerretDB on top of it.
//
//   npx tsx server/dev/services.ts up|down|status|stop <name>|start <name>
//
// Services are spawned detached so that they outlive `npm start`, and are recorded in .dev/services.json
// so later runs reuse them instead of starting more. Binaries come from server/dev/bootstrap.sh.
// MONGODB_URL / REDIS_URL in the environment replace the matching service (production, external CI).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync,
  chownSync, writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';

export type ServiceName = 'postgres' | 'ferretdb' | 'redis';

export interface ServiceRecord {
  pid: number;
  port: number;
  url: string;
  /** Port of the PostgreSQL this FerretDB talks to; FerretDB is restarted when that changes. */
  pgPort?: number;
}

/** Contents of .dev/services.json. A record with pid 0 was stopped on purpose; its port is kept for restarts. */
export type ServicesState = Partial<Record<ServiceName, ServiceRecord>>;

export interface DevServices {
  mongodbUrl: string;
  redisUrl: string;
  /** Services this call had to start (the others were external or already running). */
  startedHere: ServiceName[];
  /** Stops the services in startedHere, whatever their current pid, and forgets them. */
  stop(): Promise<void>;
}

/**
 * Server settings for the dev FerretDB: it holds one PostgreSQL connection per update that matches an existing record
 * until the whole command ends (see writeRecords), so bulk writes stay small. MongoDB needs none of this.
 */
export const ferretdbServerEnv: Record<string, string> = { SIGHTLINE_WRITE_CHUNK_ROWS: "16" };

export interface Options {
  /** Repo root; .dev/ lives under it. Defaults to the root this file belongs to. */
  root?: string;
  log?: (s: string) => void;
  /**
   * Where sl-ferretdb is; defaults to <root>/.dev/bin. A private set of services under another root (fault tests that
   * stop and restart the database) uses the binaries already built into this checkout's .dev/bin.
   */
  binDir?: string;
  /** Start every service even when MONGODB_URL / REDIS_URL are set (a private set must never use the shared ones). */
  ignoreEnv?: boolean;
  /**
   * Redis keeps an append-only file, fsynced on every write, so a restart keeps its queues and jobs as a production
   * Redis with persistence would. Off by default: the shared dev Redis starts empty on every restart.
   */
  redisAppendOnly?: boolean;
}

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
// Names to look for in /proc/<pid>/cmdline, so a recycled pid (after a reboot) is never signalled.
const EXE: Record<ServiceName, string> = { postgres: 'postgres', ferretdb: 'sl-ferretdb', redis: 'redis-server' };
// Dependencies go first when starting and last when stopping.
const ORDER: ServiceName[] = ['postgres', 'ferretdb', 'redis'];

const defaultRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Ctx {
  root: string;
  dev: string;
  binDir: string;
  redisAppendOnly: boolean;
  log: (s: string) => void;
}

function context(opts: Options = {}): Ctx {
  const root = resolve(opts.root ?? defaultRoot);
  const dev = join(root, '.dev');
  mkdirSync(join(dev, 'logs'), { recursive: true });
  const binDir = resolve(opts.binDir ?? join(dev, 'bin'));
  return { root, dev, binDir, redisAppendOnly: opts.redisAppendOnly ?? false, log: opts.log ?? ((s) => process.stderr.write(`services: ${s}\n`)) };
}

// ---------------------------------------------------------------------------------------------------
// Public API

export async function ensureServices(opts: Options = {}): Promise<DevServices> {
  const envMongo = opts.ignoreEnv ? undefined : process.env.MONGODB_URL;
  const envRedis = opts.ignoreEnv ? undefined : process.env.REDIS_URL;
  if (envMongo && envRedis) {
    return { mongodbUrl: envMongo, redisUrl: envRedis, startedHere: [], stop: async () => {} };
  }
  const ctx = context(opts);
  const wanted: ServiceName[] = [...(envMongo ? [] : (['postgres', 'ferretdb'] as const)), ...(envRedis ? [] : (['redis'] as const))];

  const startedHere: ServiceName[] = [];
  const state = await withLock(ctx, async () => {
    const st = readState(ctx);
    for (const name of wanted) {
      if (await ensureOne(ctx, st, name)) startedHere.push(name);
      writeState(ctx, st); // after each service, so a failure later still leaves the started ones recorded
    }
    return st;
  });

  return {
    mongodbUrl: envMongo ?? state.ferretdb!.url,
    redisUrl: envRedis ?? state.redis!.url,
    startedHere,
    stop: () => stopServices(startedHere, { ...opts, forget: true }),
  };
}

/** Stops the named services (all recorded ones by default). forget: drop their records, ports included. */
export async function stopServices(names?: ServiceName[], opts: Options & { forget?: boolean } = {}): Promise<void> {
  const ctx = context(opts);
  await withLock(ctx, async () => {
    const st = readState(ctx);
    for (const name of [...ORDER].reverse()) {
      if (names && !names.includes(name)) continue;
      const rec = st[name];
      if (!rec) continue;
      await stopOne(ctx, name, rec);
      if (opts.forget) delete st[name];
      else rec.pid = 0;
      writeState(ctx, st);
    }
  });
}

/** Fault injection: stop a service but keep its port, so startService brings it back where clients expect it. */
export async function stopService(name: ServiceName, opts: Options = {}): Promise<void> {
  const ctx = context(opts);
  if (!readState(ctx)[name]) throw new Error(`${name} is not managed by these scripts (not in .dev/services.json)`);
  await stopServices([name], opts);
}

/** Starts a service stopped with stopService again, on the same port; a no-op when it is running. */
export async function startService(name: ServiceName, opts: Options = {}): Promise<ServiceRecord> {
  const ctx = context(opts);
  return withLock(ctx, async () => {
    const st = readState(ctx);
    const port = st[name]?.port;
    if (!port) throw new Error(`${name} is not managed by these scripts (not in .dev/services.json)`);
    if (!(await isPortFree(port)) && !(await healthy(name, st[name]!))) {
      throw new Error(`${name}: port ${port} was taken by another process while the service was stopped`);
    }
    await ensureOne(ctx, st, name);
    writeState(ctx, st);
    return st[name]!;
  });
}

export async function restartService(name: ServiceName, opts: Options = {}): Promise<ServiceRecord> {
  await stopService(name, opts);
  return startService(name, opts);
}

export const stopRedis = (opts?: Options) => stopService('redis', opts);
export const startRedis = (opts?: Options) => startService('redis', opts);

/** What .dev/services.json records, with a liveness check of each. */
export async function servicesStatus(opts: Options = {}): Promise<Array<ServiceRecord & { name: ServiceName; alive: boolean }>> {
  const st = readState(context(opts));
  const out: Array<ServiceRecord & { name: ServiceName; alive: boolean }> = [];
  for (const name of ORDER) {
    const rec = st[name];
    if (rec) out.push({ name, ...rec, alive: rec.pid > 0 && (await healthy(name, rec)) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Starting and stopping one service

/** Makes sure `name` is running and recorded in st. Returns true when it had to start it. */
async function ensureOne(ctx: Ctx, st: ServicesState, name: ServiceName): Promise<boolean> {
  const rec = st[name];
  if (rec && rec.pid > 0 && (await healthy(name, rec))) {
    // FerretDB keeps the PostgreSQL port it was started with; if PostgreSQL had to move, so must it.
    if (name !== 'ferretdb' || rec.pgPort === st.postgres?.port) return false;
    ctx.log('ferretdb points at an old PostgreSQL port; restarting it');
    await stopOne(ctx, name, rec);
  }
  if (name === 'postgres') {
    const adopted = adoptPostgres(ctx);
    if (adopted && (await isPortOpen(adopted.port))) {
      st.postgres = adopted;
      return false;
    }
  }
  // Reuse the old port when possible so clients configured with the old URL find the new process.
  const port = rec?.port && (await isPortFree(rec.port)) ? rec.port : await freePort();
  const t0 = Date.now();
  st[name] = await START[name](ctx, port, st);
  ctx.log(`${name} started on 127.0.0.1:${port} (pid ${st[name]!.pid}, ${Date.now() - t0} ms)`);
  return true;
}

const START: Record<ServiceName, (ctx: Ctx, port: number, st: ServicesState) => Promise<ServiceRecord>> = {
  async redis(ctx, port) {
    const dir = join(ctx.dev, 'redis');
    mkdirSync(dir, { recursive: true });
    // No persistence by default: tests want a clean, fast Redis, and a restart (fault injection) starts empty anyway.
    const persistence = ctx.redisAppendOnly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
    const child = launch(ctx, 'redis', 'redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir, '--daemonize', 'no',
    ]);
    await waitFor(ctx, 'redis', child, () => redisPing(port));
    return { pid: child.pid!, port, url: `redis://127.0.0.1:${port}` };
  },

  async postgres(ctx, port) {
    const bin = pgBinDir();
    const data = join(ctx.dev, 'pg');
    const user = pgOsUser(ctx);
    if (!existsSync(join(data, 'PG_VERSION'))) {
      ctx.log(`initdb ${data}`);
      rmSync(data, { recursive: true, force: true });
      mkdirSync(data, { recursive: true, mode: 0o700 });
      if (user) chownSync(data, user.uid, user.gid);
      // Superuser "postgres" whatever the OS user; trust is fine because it only listens on 127.0.0.1.
      const r = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'], {
        encoding: 'utf8', ...(user ?? {}),
      });
      if (r.status !== 0) {
        rmSync(data, { recursive: true, force: true });
        const hint = user ? ` (initdb runs as uid ${user.uid}: every directory above ${data} must be searchable by it)` : '';
        throw new Error(`initdb failed${hint}:\n${(r.stderr || r.stdout || String(r.error)).trim()}`);
      }
    }
    // Unix sockets off: the path under a deep checkout can exceed the 107-byte limit, and TCP is all we use.
    // synchronous_commit=off trades the last few commits on a crash (dev data) for much faster tests.
    // force_custom_plan lets FerretDB's parameterised `_jsonb->$1 @> $2` filters use the GIN indexes that
    // sl-ferretdb adds (see server/dev/ferretdb/gin.go); a generic plan cannot match an expression index.
    const child = launch(ctx, 'postgres', join(bin, 'postgres'), [
      '-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
      '-c', 'synchronous_commit=off', '-c', 'max_connections=450', '-c', 'plan_cache_mode=force_custom_plan',
    ], user);
    const pgArgs = ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'];
    await waitFor(ctx, 'postgres', child, async () => spawnSync(join(bin, 'pg_isready'), [...pgArgs, '-q']).status === 0);
    const exists = spawnSync(join(bin, 'psql'), [...pgArgs, '-d', 'postgres', '-tAc', "SELECT 1 FROM pg_database WHERE datname = 'ferretdb'"], { encoding: 'utf8' });
    if (exists.status !== 0) throw new Error(`psql failed: ${exists.stderr.trim()}`);
    if (exists.stdout.trim() !== '1') {
      const r = spawnSync(join(bin, 'createdb'), [...pgArgs, 'ferretdb'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`createdb ferretdb failed: ${r.stderr.trim()}`);
    }
    // FerretDB's pool defaults to 50 connections; PostgreSQL here allows 200.
    return { pid: child.pid!, port, url: `postgres://postgres@127.0.0.1:${port}/ferretdb?pool_max_conns=400` };
  },

  async ferretdb(ctx, port, st) {
    const exe = join(ctx.binDir, 'sl-ferretdb');
    if (!existsSync(exe)) throw new Error(`${exe} is missing: run server/dev/bootstrap.sh`);
    const pg = st.postgres;
    if (!pg) throw new Error('ferretdb needs postgres, which is not running');
    // At "warn" FerretDB dumps every error reply and every driver's unsupported endSessions: megabytes per test run.
    const child = launch(ctx, 'ferretdb', exe, ['-listen', `127.0.0.1:${port}`, '-postgresql-url', pg.url, '-log-level', 'error']);
    const url = `mongodb://127.0.0.1:${port}/`;
    await waitFor(ctx, 'ferretdb', child, () => mongoPing(url));
    return { pid: child.pid!, port, url, pgPort: pg.port };
  },
};

/** Spawns detached (own process group, no stdio ties) so the service survives the parent. */
function launch(ctx: Ctx, name: ServiceName, cmd: string, args: string[], user?: { uid: number; gid: number }): ChildProcess {
  const logFile = join(ctx.dev, 'logs', `${name}.log`);
  const fd = openSync(logFile, 'a');
  writeFileSync(fd, `\n--- ${new Date().toISOString()} ${cmd} ${args.join(' ')}\n`);
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], cwd: ctx.root, ...(user ?? {}) });
    child.unref();
    // Without a listener a failed spawn (ENOENT) would crash the process; waitFor reports it instead.
    child.on('error', () => {});
    return child;
  } finally {
    closeSync(fd);
  }
}

async function waitFor(ctx: Ctx, name: ServiceName, child: ChildProcess, ready: () => Promise<boolean>): Promise<void> {
  let exited: string | undefined;
  child.once('exit', (code, sig) => (exited = `exited with ${sig ?? `code ${code}`}`));
  child.once('error', (e) => (exited = `could not start: ${e.message}`));
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exited) break;
    if (await ready()) return;
    if (Date.now() > deadline) {
      exited = `not ready after ${START_TIMEOUT_MS / 1000} s`;
      if (child.pid) killGroup(child.pid, 'SIGKILL');
      break;
    }
    await sleep(100);
  }
  throw new Error(`${name} ${exited}; last lines of ${join(ctx.dev, 'logs', `${name}.log`)}:\n${logTail(ctx, name)}`);
}

async function stopOne(ctx: Ctx, name: ServiceName, rec: ServiceRecord): Promise<void> {
  if (!(rec.pid > 0 && ownProcess(rec.pid, name))) return;
  // SIGTERM is a "smart" shutdown for postgres, which waits for FerretDB's pooled connections forever.
  process.kill(rec.pid, name === 'postgres' ? 'SIGINT' : 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (alive(rec.pid)) {
    if (Date.now() > deadline) {
      ctx.log(`${name} (pid ${rec.pid}) ignored the stop signal; killing it`);
      killGroup(rec.pid, 'SIGKILL');
      await sleep(200);
      break;
    }
    await sleep(50);
  }
  ctx.log(`${name} stopped (pid ${rec.pid}, port ${rec.port})`);
}

// A detached service leads its own process group; killing the group also takes any helper it forked.
// (Postgres backends set up their own sessions, but they exit by themselves when the postmaster dies.)
function killGroup(pid: number, sig: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, sig);
      return;
    } catch {
      // The group may be gone while the leader lingers, or vice versa.
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Health checks

async function healthy(name: ServiceName, rec: ServiceRecord): Promise<boolean> {
  if (!ownProcess(rec.pid, name)) return false;
  if (name === 'redis') return redisPing(rec.port);
  if (name === 'postgres') return isPortOpen(rec.port);
  return mongoPing(rec.url);
}

/** Alive and really ours: the pid could have been recycled since services.json was written. */
function ownProcess(pid: number, name: ServiceName): boolean {
  if (!alive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(EXE[name]);
  } catch {
    return true; // no /proc (macOS): trust the port checks
  }
}

function alive(pid: number): boolean {
  if (!(pid > 0)) return false; // kill(0) would probe our own process group
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // An exited child of a process that never reaps it (a detached service whose parent is a container's
  // bare init) stays a zombie: kill(pid, 0) succeeds though nothing runs.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

function redisPing(port: number): Promise<boolean> {
  return new Promise((done) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    const finish = (ok: boolean) => {
      sock.destroy();
      done(ok);
    };
    sock.setTimeout(1000, () => finish(false));
    sock.on('error', () => finish(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) finish(buf.startsWith('+PONG'));
    });
  });
}

function isPortOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    sock.setTimeout(1000, () => (sock.destroy(), done(false)));
    sock.on('error', () => done(false));
    sock.on('connect', () => (sock.destroy(), done(true)));
  });
}

async function mongoPing(url: string): Promise<boolean> {
  const client = new MongoClient(url, { directConnection: true, serverSelectionTimeoutMS: 1000, connectTimeoutMS: 1000 });
  try {
    await client.db('admin').command({ ping: 1 });
    return true;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => {});
  }
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const srv = createServer();
    srv.once('error', () => done(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => done(true)));
  });
}

/** A port the OS considers free right now (listen on 0). Another process could grab it first; unlikely enough. */
function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => done(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// PostgreSQL details

/** Where the PostgreSQL server binaries (and psql) are. */
export function pgBinDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length) return join(base, versions[0]!, 'bin');
  // Not Debian: take whatever initdb is on PATH.
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, 'initdb'))) return dir;
  throw new Error('PostgreSQL server binaries not found: run server/dev/bootstrap.sh');
}

/** PostgreSQL refuses to run as root. As root, run it as the Debian package's "postgres" user (or our own). */
function pgOsUser(ctx: Ctx): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'sightline']) {
    const u = passwdEntry(name);
    if (u) return u;
  }
  ctx.log('creating system user "sightline" to run PostgreSQL');
  const r = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'sightline'], { encoding: 'utf8' });
  const u = passwdEntry('sightline');
  if (!u) throw new Error(`useradd sightline failed: ${r.stderr ?? r.error}`);
  return u;
}

function passwdEntry(name: string): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** A postmaster still running on .dev/pg that services.json lost track of; a second one could not start. */
function adoptPostgres(ctx: Ctx): ServiceRecord | undefined {
  try {
    // postmaster.pid: line 1 pid, line 4 port.
    const lines = readFileSync(join(ctx.dev, 'pg', 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (!pid || !port || !ownProcess(pid, 'postgres')) return undefined;
    ctx.log(`reusing the running PostgreSQL on .dev/pg (pid ${pid}, port ${port})`);
    return { pid, port, url: `postgres://postgres@127.0.0.1:${port}/ferretdb` };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// State file and lock

function readState(ctx: Ctx): ServicesState {
  try {
    return JSON.parse(readFileSync(join(ctx.dev, 'services.json'), 'utf8')) as ServicesState;
  } catch {
    return {};
  }
}

function writeState(ctx: Ctx, st: ServicesState): void {
  // Write and rename, so a concurrent reader (status) never sees half a file.
  const file = join(ctx.dev, 'services.json');
  writeFileSync(`${file}.${process.pid}.tmp`, `${JSON.stringify(st, null, 2)}\n`);
  renameSync(`${file}.${process.pid}.tmp`, file);
}

/**
 * vitest's globalSetup and `npm start` may both get here at once; without the lock both would start a set.
 * The lock file holds the owner's pid so a crashed owner's lock can be broken. Not reentrant.
 */
async function withLock<T>(ctx: Ctx, fn: () => Promise<T>): Promise<T> {
  const file = join(ctx.dev, 'services.lock');
  // Generous: the holder may be starting all three services, each with its own 60 s limit.
  const deadline = Date.now() + 4 * START_TIMEOUT_MS;
  for (;;) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = 0;
    let age = 0;
    try {
      holder = Number(readFileSync(file, 'utf8'));
      age = Date.now() - statSync(file).mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    // An empty file is a holder between create and write, unless it has been empty for a while.
    if ((holder && !alive(holder)) || (!holder && age > 5000)) {
      ctx.log(`breaking stale lock ${file}${holder ? ` (pid ${holder} is gone)` : ''}`);
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file} (held by pid ${holder})`);
    await sleep(100);
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

/** The end of the service's log since its last launch (launch writes a "--- " header), kept short. */
function logTail(ctx: Ctx, name: ServiceName, lines = 20): string {
  try {
    const text = readFileSync(join(ctx.dev, 'logs', `${name}.log`), 'utf8');
    const run = text.slice(text.lastIndexOf('\n--- ') + 1).trimEnd();
    return run.split('\n').slice(-lines).join('\n').slice(-4000);
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------------------------------------------
// CLI

async function main(argv: string[]): Promise<number> {
  const [cmd, name] = argv;
  const names = new Set<string>(ORDER);
  const needName = () => {
    if (!name || !names.has(name)) throw new Error(`usage: services.ts ${cmd} ${ORDER.join('|')}`);
    return name as ServiceName;
  };
  switch (cmd) {
    case 'up': {
      const s = await ensureServices();
      // stdout carries only the URLs, so `eval "$(npx tsx server/dev/services.ts up)"` works.
      process.stdout.write(`export MONGODB_URL=${s.mongodbUrl}\nexport REDIS_URL=${s.redisUrl}\n`);
      return 0;
    }
    case 'down':
      await stopServices(undefined, { forget: true });
      return 0;
    case 'status': {
      const rows = await servicesStatus();
      if (!rows.length) console.log('no services recorded in .dev/services.json');
      for (const r of rows) {
        console.log(`${r.name.padEnd(9)} ${(r.alive ? 'up' : r.pid ? 'DEAD' : 'stopped').padEnd(8)} pid ${String(r.pid).padEnd(8)} ${r.url}`);
      }
      return 0;
    }
    case 'stop':
      await stopService(needName());
      return 0;
    case 'start':
      await startService(needName());
      return 0;
    case 'restart':
      await restartService(needName());
      return 0;
    default:
      console.error('usage: npx tsx server/dev/services.ts up | down | status | stop <name> | start <name> | restart <name>');
      return 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`services: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}

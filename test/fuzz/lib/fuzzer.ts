// The fuzz engine: builds inputs of each class, sends them a small batch at a time over real HTTP/2, judges every
// answer, and after each batch checks that the server process is alive, answers a health check in time, and logged
// no unhandled exception. Whatever goes wrong is saved as a replayable input under .dev/fuzz-findings/.
import { fromJson, toBinary, toJson, type DescMessage, type DescMethod, type DescService, type JsonValue, type Message } from "@bufbuild/protobuf";
import { mkdirSync, writeFileSync } from "node:fs";
import { expandRepeats } from "./corpus.js";
import { accessOf, RequestGenerator, type GenContext } from "./generate.js";
import { H2Pool, Hang, type RawResponse } from "./h2.js";
import { injectInvalidUtf8, mutateBytes, mutateFields, type MutationNotes } from "./mutate.js";
import { Prng } from "./prng.js";
import { encodeCall, frame, judge, protocolsFor, type Call, type Codec, type Protocol } from "./protocols.js";
import { damageCall } from "./rawframes.js";
import { artifactScope, fuzzScope, protectedNames, protectedScope, victimScope, type Scope } from "./world.js";

export type InputClass = "corpus" | "structure" | "bytes" | "raw";

export interface FuzzInput {
  cls: InputClass;
  call: Call;
  /** `Service/Method`, or the damaged path. */
  rpc: string;
  note: string;
  /** Corpus entries may require a status label. */
  expect?: string;
}

/** A replayable record of an input, in the corpus file format. */
export interface SavedInput {
  note: string;
  protocol: Protocol;
  path: string;
  headers: Record<string, string>;
  body: string[];
  keepOpen?: boolean;
  cancelAfterMs?: number;
  expect?: string;
}

export interface Problem {
  kind: "crash" | "hang" | "malformed" | "unhandled-exception" | "unhealthy" | "server-error-log";
  detail: string;
  rpc: string;
  input: SavedInput | undefined;
}

export interface ServerLike {
  url: string;
  lines: string[];
  process: { exitCode: number | null; signalCode: NodeJS.Signals | null; pid?: number | undefined };
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface FuzzerOptions {
  seed: number;
  services: DescService[];
  adminKey: string;
  fuzzKey: string;
  jobIds: string[];
  artifacts: Uint8Array[];
  server: ServerLike;
  restart: () => Promise<ServerLike>;
  deadlineMs: number;
  concurrency: number;
  findingsDir: string;
}

const healthPath = "/grpc.health.v1.Health/Check";
const knownWarnings = [/^\(node:\d+\) TimeoutOverflowWarning: \d+ does not fit into a 32-bit signed integer\.$/, /^Timeout duration was set to 1\.$/, /^\(Use `node --trace-warnings \.\.\.` to show where the warning was created\)$/];

export function saveable(input: FuzzInput): SavedInput {
  return {
    note: `${input.cls} ${input.rpc}: ${input.note}`,
    protocol: input.call.protocol,
    path: input.call.path,
    headers: input.call.headers,
    body: input.call.body.map((b) => Buffer.from(b).toString("base64")),
    ...(input.call.keepOpen === true ? { keepOpen: true } : {}),
    ...(input.call.cancelAfterMs !== undefined ? { cancelAfterMs: input.call.cancelAfterMs } : {}),
  };
}

export class Stats {
  inputs = 0;
  crashes = 0;
  hangs = 0;
  statuses: Record<string, number> = {};
  /** Inputs per class and protocol, such as `raw:grpc-web`. */
  byClass: Record<string, number> = {};
  /** Status counts per input class. */
  statusesByClass: Record<string, Record<string, number>> = {};
  byProtocol: Record<string, number> = {};
  byRpc: Record<string, Record<string, number>> = {};
  /** Inputs to writing RPCs that succeeded: the ones that reached the database with a write. */
  writesAccepted = 0;
  /** A few distinct status messages per class and status, to see what the inputs ran into. */
  samples: Record<string, string[]> = {};
  problems: Problem[] = [];
  /** Inputs never sent: a mutated message the encoder refuses, or a header value the HTTP/2 client refuses. */
  unsendable = 0;
  /** Known, harmless warnings the server printed, by text. */
  warnings: Record<string, number> = {};
  maxMs = 0;
  slowest = "";
  private sampled = new Set<string>();

  sample(input: FuzzInput, label: string, message: string | undefined): void {
    if (message === undefined || label === "OK") return;
    const key = `${input.cls} ${label}`;
    const list = (this.samples[key] ??= []);
    const text = message.replace(/\d+/g, "N").slice(0, 160);
    if (list.length < 12 && !this.sampled.has(`${key} ${text}`)) {
      this.sampled.add(`${key} ${text}`);
      list.push(`${text} [${input.rpc}: ${input.note.slice(0, 100)}]`);
    }
  }

  count(input: FuzzInput, label: string, ms: number): void {
    this.inputs += 1;
    this.statuses[label] = (this.statuses[label] ?? 0) + 1;
    const cls = `${input.cls}:${input.call.protocol}`;
    this.byClass[cls] = (this.byClass[cls] ?? 0) + 1;
    this.byProtocol[input.call.protocol] = (this.byProtocol[input.call.protocol] ?? 0) + 1;
    const byClass = (this.statusesByClass[input.cls] ??= {});
    byClass[label] = (byClass[label] ?? 0) + 1;
    if (label === "OK" && input.call.method !== undefined && accessOf(input.call.method) !== "read") this.writesAccepted += 1;
    const rpc = (this.byRpc[input.rpc] ??= {});
    rpc[label] = (rpc[label] ?? 0) + 1;
    if (ms > this.maxMs) {
      this.maxMs = ms;
      this.slowest = `${input.rpc} ${input.note}`;
    }
  }

  line(): string {
    const statuses = Object.entries(this.statuses)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    return `fuzz: ${this.inputs} inputs, ${this.crashes} crashes, ${this.hangs} hangs, ${statuses}`;
  }
}

function methodKey(m: DescMethod): string {
  return `${m.parent.name}/${m.name}`;
}

function serialize(desc: DescMessage, msg: Message, codec: Codec, rng: Prng): Uint8Array {
  if (codec === "json") return Buffer.from(JSON.stringify(toJson(desc, msg as never)));
  return injectInvalidUtf8(toBinary(desc, msg as never), rng);
}

export class Fuzzer {
  readonly stats = new Stats();
  private readonly methods: DescMethod[];
  private pool: H2Pool;
  private healthPool: H2Pool;
  private server: ServerLike;
  private logCursor = 0;
  private findings = 0;

  constructor(private readonly opts: FuzzerOptions) {
    this.methods = opts.services.flatMap((s) => s.methods);
    this.server = opts.server;
    this.pool = new H2Pool(opts.server.url, 4);
    this.healthPool = new H2Pool(opts.server.url, 1);
    mkdirSync(opts.findingsDir, { recursive: true });
  }

  get methodKeys(): string[] {
    return this.methods.map(methodKey);
  }

  close(): void {
    this.pool.close();
    this.healthPool.close();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Building inputs

  private pickMethod(rng: Prng): DescMethod {
    return rng.weighted(this.methods.map((m) => [accessOf(m) === "read" ? 2 : accessOf(m) === "write" ? 1.3 : 0.7, m] as const));
  }

  private pickScope(rng: Prng, method: DescMethod): Scope {
    const access = accessOf(method);
    if (method.parent.name === "ModelService" && rng.chance(0.7)) return artifactScope;
    const choices: Scope[] = access === "read" ? [protectedScope, fuzzScope, artifactScope, protectedScope] : [fuzzScope, fuzzScope, artifactScope];
    return rng.pick(choices);
  }

  private context(rng: Prng, method: DescMethod, scope: Scope): GenContext {
    return { rng, method, access: accessOf(method), scope, jobIds: this.opts.jobIds, artifacts: this.opts.artifacts, mutateArtifacts: true };
  }

  /**
   * Names a mutated string may take. Reads may name anything; writes anything but the protected project; destructive
   * RPCs only victims (and names that exist nowhere), so no mutation deletes or seals what later inputs need.
   */
  private foreignNames(method: DescMethod): string[] {
    const victims = [victimScope.project, victimScope.collection, victimScope.model, ...victimScope.splits, "gone", "x"];
    const access = accessOf(method);
    if (access === "destructive") return victims;
    const names = [fuzzScope.project, fuzzScope.collection, ...fuzzScope.splits, fuzzScope.model, artifactScope.collection, artifactScope.model, ...victims];
    return access === "read" ? [...names, ...protectedNames] : names;
  }

  private apiKey(rng: Prng): string | undefined {
    return rng.weighted([
      [90, this.opts.adminKey],
      [7, this.opts.fuzzKey],
      [1, undefined],
      [2, "sl_0000.not-a-key"],
    ] as const);
  }

  /** Every message's body, or undefined when the encoder refuses one (a mutated message): counted, never sent. */
  private encodeAll(messages: Message[], encode: (m: Message) => Uint8Array): Uint8Array[] | undefined {
    try {
      return messages.map(encode);
    } catch {
      this.stats.unsendable += 1;
      return undefined;
    }
  }

  /** Writing RPCs must never name the protected project: a bug in the generator, not the server, if they do. */
  private assertNoProtected(method: DescMethod, messages: Message[]): void {
    if (accessOf(method) === "read") return;
    const text = JSON.stringify(messages, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? "" : v));
    if (text.includes(protectedScope.project)) throw new Error(`generator put the protected project into ${method.name}`);
  }

  structureInput(rng: Prng): FuzzInput | undefined {
    const method = this.pickMethod(rng);
    const scope = this.pickScope(rng, method);
    const helper = {
      fresh: (desc: DescMessage) => new RequestGenerator(this.context(rng, method, scope)).message(desc, 2),
      foreignNames: this.foreignNames(method),
    };
    const messages = new RequestGenerator(this.context(rng, method, scope)).requests();
    const notes: MutationNotes = { ops: [], huge: false };
    const streaming = method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming";
    if (streaming && rng.chance(0.2)) {
      // The stream's shape: no header, two headers, parts out of order, nothing at all.
      const op = rng.int(4);
      if (op === 0 && messages.length > 1) messages.shift();
      else if (op === 1) messages.push(messages[0]!);
      else if (op === 2) messages.reverse();
      else messages.length = 0;
      notes.ops.push(`stream-shape-${op}`);
    }
    for (const target of messages.length === 0 ? [] : [rng.pick(messages), ...(rng.chance(0.3) ? [rng.pick(messages)] : [])]) {
      mutateFields(rng, target, method.input, helper, notes);
    }
    if (notes.huge && rng.chance(0.75)) return undefined;
    this.assertNoProtected(method, messages);
    const protocol = rng.pick(protocolsFor(method));
    const codec: Codec = rng.chance(0.2) ? "json" : "proto";
    const bodies = this.encodeAll(messages, (m) => serialize(method.input, m, codec, rng));
    if (bodies === undefined) return undefined;
    const call = encodeCall(protocol, codec, method, bodies, this.apiKey(rng));
    return { cls: "structure", call, rpc: methodKey(method), note: `${codec} ${notes.ops.join(",")}` };
  }

  bytesInput(rng: Prng): FuzzInput | undefined {
    const method = this.pickMethod(rng);
    const scope = this.pickScope(rng, method);
    const messages = new RequestGenerator(this.context(rng, method, scope)).requests();
    this.assertNoProtected(method, messages);
    const bodies = this.encodeAll(messages, (m) => toBinary(method.input, m as never));
    if (bodies === undefined) return undefined;
    const ops: string[] = [];
    const targets = bodies.length === 0 ? [] : rng.chance(0.7) ? [rng.int(bodies.length)] : bodies.map((_, i) => i);
    for (const i of targets) {
      const { bytes, op } = mutateBytes(rng, bodies[i]!);
      bodies[i] = bytes;
      ops.push(op);
    }
    if (bodies.length === 0) bodies.push(rng.bytes(rng.int(64)));
    const protocol = rng.pick(protocolsFor(method));
    const call = encodeCall(protocol, "proto", method, bodies, this.apiKey(rng));
    return { cls: "bytes", call, rpc: methodKey(method), note: ops.join(",") };
  }

  rawInput(rng: Prng): FuzzInput | undefined {
    const method = this.pickMethod(rng);
    const scope = this.pickScope(rng, method);
    const messages = new RequestGenerator(this.context(rng, method, scope)).requests();
    this.assertNoProtected(method, messages);
    const protocol = rng.weighted<Protocol>(
      method.methodKind === "unary"
        ? [
            [35, "grpc"],
            [25, "grpc-web"],
            [40, "connect"],
          ]
        : [
            [35, "grpc"],
            [25, "grpc-web"],
            [40, "connect-stream"],
          ],
    );
    const codec: Codec = protocol === "connect" ? (rng.chance(0.7) ? "json" : "proto") : rng.chance(0.25) ? "json" : "proto";
    const bodies = this.encodeAll(messages, (m) => serialize(method.input, m, codec, rng));
    if (bodies === undefined) return undefined;
    const base = encodeCall(protocol, codec, method, bodies, this.opts.adminKey);
    const { call, op } = damageCall(rng, base, method, bodies, codec, this.opts.adminKey, this.foreignNames(method).filter((n) => n !== protectedScope.project));
    return { cls: "raw", call, rpc: call.method === undefined ? `${methodKey(method)} (bad path)` : methodKey(method), note: `${codec} ${op}` };
  }

  /** `$ADMIN` and `$PROJECT_KEY` as a corpus step's authorization stand for the admin key and the fuzz project's key. */
  private corpusHeaders(headers: Record<string, string> | undefined): Record<string, string> {
    const out = { ...headers };
    const keys: Record<string, string> = { $ADMIN: this.opts.adminKey, $PROJECT_KEY: this.opts.fuzzKey };
    const key = out.authorization === undefined ? undefined : keys[out.authorization];
    if (key !== undefined) out.authorization = `Bearer ${key}`;
    return out;
  }

  /** A corpus entry as an input: raw bytes, or a message given as JSON encoded for its protocol. */
  corpusInput(entry: CorpusStep, name: string): FuzzInput {
    if (entry.body !== undefined) {
      const path = entry.path ?? "/";
      const method = this.methods.find((m) => path === `/${m.parent.typeName}/${m.name}`);
      const headers = this.corpusHeaders(entry.headers);
      return {
        cls: "corpus",
        call: {
          protocol: entry.protocol,
          method,
          path,
          headers,
          body: entry.body.map((b) => Buffer.from(b, "base64")),
          ...(entry.keepOpen === true ? { keepOpen: true } : {}),
          ...(entry.cancelAfterMs !== undefined ? { cancelAfterMs: entry.cancelAfterMs } : {}),
        },
        rpc: method === undefined ? path : methodKey(method),
        note: `${name}: ${entry.note ?? ""}`,
        ...(entry.expect !== undefined ? { expect: entry.expect } : {}),
      };
    }
    const method = this.methods.find((m) => entry.rpc === `${m.parent.typeName}/${m.name}`);
    if (method === undefined) throw new Error(`${name}: no method ${entry.rpc}`);
    const codec = entry.codec ?? "proto";
    // A `$repeat` among the messages stands for that many messages.
    const messages = (entry.messages ?? []).flatMap((json) => {
      const expanded = expandRepeats(json);
      return typeof json === "object" && json !== null && "$repeat" in json ? (expanded as JsonValue[]) : [expanded];
    });
    const bodies = messages.map((json) => {
      const msg = fromJson(method.input, json);
      return codec === "json" ? Buffer.from(JSON.stringify(toJson(method.input, msg))) : toBinary(method.input, msg);
    });
    const call = encodeCall(entry.protocol ?? "grpc", codec, method, bodies, this.opts.adminKey);
    Object.assign(call.headers, this.corpusHeaders(entry.headers));
    if (entry.keepOpen === true) call.keepOpen = true;
    if (entry.cancelAfterMs !== undefined) call.cancelAfterMs = entry.cancelAfterMs;
    return { cls: "corpus", call, rpc: methodKey(method), note: `${name}: ${entry.note ?? ""}`, ...(entry.expect !== undefined ? { expect: entry.expect } : {}) };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Sending and judging

  /** The last inputs sent, so a finding can be seen with what came just before it. */
  private recent: FuzzInput[] = [];

  private record(problem: Problem): void {
    this.stats.problems.push(problem);
    if (this.stats.problems.length === 1) {
      writeFileSync(`${this.opts.findingsDir}/000-before-first-finding.json`, JSON.stringify(this.recent.map((i) => ({ ...saveable(i), body: saveable(i).body.map((b) => b.slice(0, 400)) })), null, 2));
    }
    if (problem.input === undefined) return;
    this.findings += 1;
    const file = `${this.opts.findingsDir}/${String(this.findings).padStart(3, "0")}-${problem.kind}.json`;
    writeFileSync(file, JSON.stringify({ ...problem.input, found: `${problem.kind}: ${problem.detail}`, seed: this.opts.seed }, null, 2));
  }

  /** No input to a writing RPC may name the protected project: that would be a bug of this suite, not the server. */
  private guard(input: FuzzInput): void {
    const method = input.call.method ?? this.methods.find((m) => input.rpc.startsWith(methodKey(m)));
    if (method === undefined || accessOf(method) === "read") return;
    // Everything protected lives in the protected project, so its name is what must never appear.
    for (const chunk of input.call.body) {
      if (Buffer.from(chunk).includes(protectedScope.project)) throw new Error(`fuzz input to ${method.name} names the protected project: ${input.note}`);
    }
  }

  private async sendOne(input: FuzzInput): Promise<{ label: string; ms: number } | undefined> {
    if (input.cls !== "corpus") this.guard(input);
    this.recent.push(input);
    if (this.recent.length > 30) this.recent.shift();
    let res: RawResponse;
    const started = performance.now();
    try {
      res = await this.pool.send(input.call, this.opts.deadlineMs);
    } catch (err) {
      if (err instanceof Hang) {
        this.stats.hangs += 1;
        this.stats.count(input, "HANG", this.opts.deadlineMs);
        this.record({ kind: "hang", detail: err.message, rpc: input.rpc, input: saveable(input) });
        return { label: "HANG", ms: this.opts.deadlineMs };
      }
      // The client library refused to send it (an illegal header value, say): not an input the server ever saw.
      if (err instanceof Error && /ERR_HTTP2_INVALID|ERR_INVALID_CHAR|ERR_HTTP2_HEADER|Invalid value|Header name/.test(`${(err as { code?: string }).code ?? ""} ${err.message}`)) {
        this.stats.unsendable += 1;
        return undefined;
      }
      this.stats.count(input, "CONNECTION_ERROR", performance.now() - started);
      this.record({ kind: "malformed", detail: `no answer: ${String(err)}`, rpc: input.rpc, input: saveable(input) });
      return { label: "CONNECTION_ERROR", ms: performance.now() - started };
    }
    const verdict = judge(input.call, res);
    this.stats.count(input, verdict.label, res.ms);
    this.stats.sample(input, verdict.label, verdict.message);
    if (verdict.problem !== undefined) {
      this.record({ kind: "malformed", detail: `${verdict.label}: ${verdict.problem}`, rpc: input.rpc, input: saveable(input) });
    } else if (input.expect !== undefined && verdict.label !== input.expect) {
      this.record({ kind: "malformed", detail: `expected ${input.expect}, got ${verdict.label}`, rpc: input.rpc, input: saveable(input) });
    }
    return { label: verdict.label, ms: res.ms };
  }

  /** Unhandled exceptions and error-level lines the server logged since the last look. */
  private scanLog(batch: FuzzInput[]): void {
    const lines = this.server.lines;
    for (; this.logCursor < lines.length; this.logCursor++) {
      const line = lines[this.logCursor]!;
      let record: { level?: string; msg?: string; procedure?: string; error?: { name?: string; message?: string } };
      try {
        record = JSON.parse(line) as typeof record;
      } catch {
        // Node prints warnings and uncaught errors as plain text on stderr. One warning is known and harmless:
        // connect-node arms its deadline timer even for a timeout it refuses as above the maximum (the call gets
        // INVALID_ARGUMENT all the same), and Node warns that the timer overflowed.
        if (knownWarnings.some((w) => w.test(line))) {
          this.stats.warnings[line.slice(0, 120)] = (this.stats.warnings[line.slice(0, 120)] ?? 0) + 1;
          continue;
        }
        this.record({ kind: "server-error-log", detail: line.slice(0, 400), rpc: "", input: batch[0] === undefined ? undefined : saveable(batch[0]) });
        continue;
      }
      if (record.level !== "error") continue;
      if (record.msg === "call failed" && record.error?.name === "ConnectError") continue;
      const matches = (i: FuzzInput) => record.procedure === undefined || i.call.path === `/${record.procedure}`;
      // A call can fail after its answer went out (a write to a stream the client had already left): then the input
      // is among the recent ones rather than this batch.
      let suspects = batch.filter(matches);
      if (suspects.length === 0) suspects = this.recent.filter(matches).slice(-3);
      const detail = `${record.msg ?? ""} ${record.procedure ?? ""}: ${record.error?.name ?? ""} ${record.error?.message ?? ""}`.trim();
      const kind = record.msg === "call failed" ? "unhandled-exception" : "server-error-log";
      if (suspects.length === 0) this.record({ kind, detail, rpc: record.procedure ?? "", input: undefined });
      for (const s of suspects) this.record({ kind, detail, rpc: s.rpc, input: saveable(s) });
    }
  }

  private async healthy(): Promise<string | undefined> {
    try {
      const res = await this.healthPool.send({ path: healthPath, headers: { "content-type": "application/grpc", te: "trailers" }, body: [frame(0, new Uint8Array(0))] }, this.opts.deadlineMs);
      const status = res.trailers["grpc-status"] ?? res.headers["grpc-status"];
      if (res.status !== 200 || status !== "0") return `health check answered HTTP ${res.status} grpc-status ${status ?? "none"}`;
      return undefined;
    } catch (err) {
      return err instanceof Hang ? "health check hung" : `health check failed: ${String(err)}`;
    }
  }

  private alive(): boolean {
    return this.server.process.exitCode === null && this.server.process.signalCode === null;
  }

  private async restart(): Promise<void> {
    this.scanLog([]);
    if (this.alive()) await this.server.stop("SIGKILL");
    this.pool.close();
    this.healthPool.close();
    this.server = await this.opts.restart();
    this.logCursor = 0;
    this.pool = new H2Pool(this.server.url, 4);
    this.healthPool = new H2Pool(this.server.url, 1);
  }

  /** Sends a batch concurrently, then checks the process, its health and its log. */
  async runBatch(batch: FuzzInput[]): Promise<void> {
    await Promise.all(batch.map((input) => this.sendOne(input)));
    await new Promise((r) => setImmediate(r));
    if (!this.alive()) {
      this.stats.crashes += 1;
      for (const s of batch) this.record({ kind: "crash", detail: `server exited (${this.server.process.exitCode ?? this.server.process.signalCode})`, rpc: s.rpc, input: saveable(s) });
      await this.restart();
      return;
    }
    const unhealthy = await this.healthy();
    this.scanLog(batch);
    if (unhealthy !== undefined) {
      if (!this.alive()) {
        this.stats.crashes += 1;
        for (const s of batch) this.record({ kind: "crash", detail: "server exited", rpc: s.rpc, input: saveable(s) });
      } else {
        this.stats.hangs += 1;
        for (const s of batch) this.record({ kind: "unhealthy", detail: unhealthy, rpc: s.rpc, input: saveable(s) });
      }
      await this.restart();
    }
  }

  /** Waits, then checks health and the log once more: for failures a server logs after its answer went out. */
  async settle(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    const unhealthy = await this.healthy();
    this.scanLog([]);
    if (!this.alive()) {
      this.stats.crashes += 1;
      this.record({ kind: "crash", detail: "server exited", rpc: "", input: undefined });
    } else if (unhealthy !== undefined) {
      this.stats.hangs += 1;
      this.record({ kind: "unhealthy", detail: unhealthy, rpc: "", input: undefined });
    }
  }

  /** Runs `count` inputs of one class, from a generator derived from the run seed and the class. */
  async run(cls: Exclude<InputClass, "corpus">, count: number, seed: number): Promise<void> {
    const rng = new Prng(seed);
    const make = (r: Prng) => (cls === "structure" ? this.structureInput(r) : cls === "bytes" ? this.bytesInput(r) : this.rawInput(r));
    // Counted by what was sent: an input the client could not send is replaced by another.
    const start = this.stats.inputs;
    for (let attempts = 0; this.stats.inputs - start < count; attempts++) {
      if (attempts > count * 3) throw new Error(`only ${this.stats.inputs - start} of ${count} ${cls} inputs could be sent`);
      const batch: FuzzInput[] = [];
      while (batch.length < Math.min(this.opts.concurrency, count - (this.stats.inputs - start))) {
        const input = make(rng.fork());
        if (input !== undefined) batch.push(input);
      }
      await this.runBatch(batch);
    }
  }
}

/** One step of a corpus file: raw bytes on the wire, or messages as protobuf JSON for a named RPC. */
export interface CorpusStep {
  note?: string;
  protocol: Protocol;
  // Raw form.
  path?: string;
  headers?: Record<string, string>;
  body?: string[];
  keepOpen?: boolean;
  cancelAfterMs?: number;
  // Message form.
  rpc?: string;
  codec?: Codec;
  messages?: JsonValue[];
  /** The status label the step must get (OK, INVALID_ARGUMENT, HTTP_415, ...). */
  expect?: string;
}

// Valid request messages for any RPC, built from its descriptor. Field values come from the world's name pools and
// the scope's schema, so an unmutated request passes validation and reaches the store; message types the service
// gives meaning to (RecordBatch, Schema, Target, Model, ...) have their own builders, and every other message is
// filled field by field, so a new RPC is covered without changes here.
import { create, ScalarType, type DescField, type DescMessage, type DescMethod, type Message } from "@bufbuild/protobuf";
import { createHash } from "node:crypto";
import { FieldKind, FieldSchema, FieldType, ScoreType, SplitType } from "../../../server/src/gen/sightline/v1/resources_pb.js";
import { DataKind } from "../../../server/src/gen/sightline/v1/records_pb.js";
import { ArtifactFormat } from "../../../server/src/gen/sightline/v1/model_service_pb.js";
import { mutateBytes } from "./mutate.js";
import type { Prng } from "./prng.js";
import { modelInit, schemaOf, victimScope, type FieldSpec, type ModelSpec, type Scope } from "./world.js";

export type Access = "read" | "write" | "destructive";

/** Reads can only read; destructive RPCs aim at victim names; anything else (new RPCs included) writes. */
export function accessOf(method: DescMethod): Access {
  if (/^(Get|List|Read|Watch)/.test(method.name)) return "read";
  if (/^(Delete|Seal|Revoke)/.test(method.name)) return "destructive";
  return "write";
}

export interface GenContext {
  rng: Prng;
  method: DescMethod;
  access: Access;
  scope: Scope;
  /** Job IDs the server handed out, for WatchJob. */
  jobIds: string[];
  /** ONNX files to upload (and mutate). */
  artifacts: Uint8Array[];
  /** Whether artifact uploads carry damaged models (with a true size and digest). */
  mutateArtifacts?: boolean;
}

/** What earlier parts of one request decided, for later parts to agree with (a batch follows its target). */
interface RequestState {
  production: boolean;
  model: ModelSpec | undefined;
  sequence: bigint;
}

const t0 = Date.UTC(2024, 0, 1);
const hour = 3_600_000;
const metricNames = ["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "mae", "rmse"];
const words = ["alpha", "ß-eta", "γάμμα", "🙂", "x y", "a.b", "$c", "n\u00e9"];

type AnyMessage = Message & Record<string, unknown>;

function nounOf(message: DescMessage, method: DescMethod): "project" | "collection" | "split" | "model" | undefined {
  const names = [message.name, method.name];
  for (const n of names) {
    if (/Project/.test(n)) return "project";
    if (/Collection/.test(n)) return "collection";
    if (/Split/.test(n)) return "split";
    if (/Model/.test(n)) return "model";
  }
  return undefined;
}

export class RequestGenerator {
  private readonly state: RequestState = { production: false, model: undefined, sequence: 0n };

  constructor(private readonly ctx: GenContext) {}

  private get rng(): Prng {
    return this.ctx.rng;
  }

  /** The name a `name` (or noun) field gets: victims for destructive RPCs, sometimes for writes. */
  private nameFor(noun: "project" | "collection" | "split" | "model"): string {
    const { scope, access } = this.ctx;
    const victim = access === "destructive" || (access === "write" && this.rng.chance(0.35));
    switch (noun) {
      case "project":
        return victim ? victimScope.project : scope.project;
      case "collection":
        return victim ? victimScope.collection : scope.collection;
      case "split":
        return victim ? victimScope.splits[0]! : this.rng.pick(scope.splits);
      case "model":
        return victim ? victimScope.model : scope.model;
    }
  }

  /** The requests of one call: one for unary and server-streaming RPCs, a header then parts for client streams. */
  requests(): AnyMessage[] {
    const { method } = this.ctx;
    if (method.methodKind === "unary" || method.methodKind === "server_streaming") return [this.message(method.input, 0)];
    const input = method.input;
    const oneof = input.oneofs[0];
    const headerField = oneof?.fields.find((f) => /header/i.test(f.name));
    if (oneof === undefined || headerField === undefined) {
      return Array.from({ length: this.rng.range(1, 3) }, () => this.message(input, 0));
    }
    const dataFields = oneof.fields.filter((f) => f !== headerField);
    // Artifact uploads: chunks first, so the header can declare their true size and digest.
    if (input.typeName === "sightline.v1.UploadModelArtifactRequest") return this.artifactUpload(input, headerField, dataFields[0]!);
    const out: AnyMessage[] = [this.withOneof(input, headerField, this.fieldValue(headerField, input, 1))];
    const parts = this.rng.weighted([
      [2, 0],
      [6, 1],
      [3, 2],
      [1, 3],
    ] as const);
    for (let i = 0; i < parts; i++) {
      const field = this.rng.pick(dataFields);
      out.push(this.withOneof(input, field, this.fieldValue(field, input, 1)));
    }
    return out;
  }

  private withOneof(message: DescMessage, field: DescField, value: unknown): AnyMessage {
    const msg = create(message) as AnyMessage;
    msg[field.oneof!.localName] = { case: field.localName, value };
    return msg;
  }

  private artifactUpload(input: DescMessage, headerField: DescField, chunkField: DescField): AnyMessage[] {
    let bytes = this.ctx.artifacts.length > 0 && this.rng.chance(0.8) ? this.rng.pick(this.ctx.artifacts) : this.rng.bytes(this.rng.range(1, 300));
    // Damage the model itself, before the header declares its size and digest, so the ONNX parser and onnxruntime
    // see it rather than the digest check refusing it.
    if (this.ctx.mutateArtifacts && this.rng.chance(0.6)) {
      for (let i = this.rng.range(1, 3); i > 0; i--) bytes = mutateBytes(this.rng, bytes).bytes;
      if (bytes.length === 0) bytes = Uint8Array.of(0);
    }
    const chunks: Uint8Array[] = [];
    let at = 0;
    while (at < bytes.length) {
      const n = this.rng.range(1, Math.max(1, Math.min(bytes.length - at, this.rng.pick([64, 512, 4096, 65536]))));
      chunks.push(bytes.subarray(at, at + n));
      at += n;
    }
    const scope = this.ctx.scope;
    const header = create(headerField.message!, {
      project: scope.project,
      collection: scope.collection,
      model: scope.model,
      format: ArtifactFormat.ONNX,
      sizeBytes: BigInt(bytes.length),
      sha256: createHash("sha256").update(bytes).digest("hex"),
    });
    return [this.withOneof(input, headerField, header), ...chunks.map((c) => this.withOneof(input, chunkField, c))];
  }

  /** A valid message of `desc`, built by its own builder when the service gives the type meaning. */
  message(desc: DescMessage, depth: number): AnyMessage {
    const special = this.special(desc);
    if (special !== undefined) return special;
    const msg = create(desc) as AnyMessage;
    for (const oneof of desc.oneofs) {
      if (this.rng.chance(0.15)) continue;
      const field = this.pickOneofCase(oneof.fields);
      msg[oneof.localName] = { case: field.localName, value: this.fieldValue(field, desc, depth + 1) };
    }
    for (const field of desc.fields) {
      if (field.oneof !== undefined) continue;
      const value = this.fieldValue(field, desc, depth + 1);
      if (value !== undefined) msg[field.localName] = value;
    }
    return msg;
  }

  private pickOneofCase(fields: DescField[]): DescField {
    // A target usually names a split for reads (the fuzz collections hold split data) and half the time for writes.
    const production = fields.find((f) => f.name === "production");
    if (production !== undefined && this.rng.chance(0.5)) return production;
    return this.rng.pick(fields);
  }

  private special(desc: DescMessage): AnyMessage | undefined {
    const { scope } = this.ctx;
    const rng = this.rng;
    switch (desc.typeName) {
      case "google.protobuf.Timestamp": {
        const ms = t0 + rng.int(72) * hour + rng.int(hour);
        return create(desc, { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 }) as AnyMessage;
      }
      case "sightline.v1.Target": {
        const production = rng.chance(0.5);
        const withModel = scope.modelSpec !== undefined && rng.chance(0.5);
        // Victims are never protected: reads may name them too, and see what earlier fuzz inputs left there.
        const useVictimModel = scope.label !== "protected" && withModel && rng.chance(0.2);
        this.state.production = production;
        this.state.model = withModel ? (useVictimModel ? victimScope.modelSpec : scope.modelSpec) : undefined;
        return create(desc, {
          project: scope.project,
          collection: scope.collection,
          destination: production ? { case: "production", value: true } : { case: "split", value: rng.pick(scope.splits) },
          model: withModel ? (useVictimModel ? victimScope.model : scope.model) : "",
        }) as AnyMessage;
      }
      case "sightline.v1.RecordBatch":
        return this.batch(desc);
      case "sightline.v1.SequencedBatch":
        this.state.sequence += 1n;
        return create(desc, { sequence: this.state.sequence, batch: this.batch(desc.fields.find((f) => f.name === "batch")!.message!) }) as AnyMessage;
      case "sightline.v1.Schema": {
        const schema = schemaOf(scope.fields);
        // An additive change: one more nullable field.
        if (this.ctx.method.name === "UpdateSchema" && rng.chance(0.7)) {
          schema.fields.push(
            create(FieldSchema, {
              name: `added-${rng.int(50)}`,
              kind: rng.pick([FieldKind.FEATURE, FieldKind.LABEL, FieldKind.EXTRA]),
              type: rng.pick([FieldType.DOUBLE, FieldType.STRING, FieldType.BOOL]),
              nullable: true,
            }),
          );
        }
        return schema as unknown as AnyMessage;
      }
      case "sightline.v1.DataCollection":
        return create(desc, { project: scope.project, name: this.nameFor("collection"), displayName: rng.pick(words), schema: schemaOf(scope.fields) }) as AnyMessage;
      case "sightline.v1.Split":
        return create(desc, {
          project: scope.project,
          collection: scope.collection,
          name: this.nameFor("split"),
          type: rng.pick([SplitType.TRAIN, SplitType.TEST, SplitType.VALIDATION, SplitType.OUT_OF_TIME, SplitType.CUSTOM]),
          baseline: rng.chance(0.2),
        }) as AnyMessage;
      case "sightline.v1.Model": {
        const spec = scope.modelSpec ?? victimScope.modelSpec!;
        return create(desc, modelInit(scope, { ...spec, name: this.nameFor("model") })) as AnyMessage;
      }
      case "sightline.v1.Project":
        return create(desc, { name: this.nameFor("project"), displayName: rng.pick(words) }) as AnyMessage;
      case "sightline.v1.ProductionRange": {
        const start = t0 + rng.int(48) * hour;
        const end = start + rng.range(1, 24) * hour;
        const ts = (ms: number) => ({ seconds: BigInt(ms / 1000), nanos: 0 });
        return create(desc, { start: ts(start), end: ts(end) }) as AnyMessage;
      }
      case "sightline.v1.InfluenceOptions":
        return create(desc, { algorithm: rng.int(3), backgroundRows: rng.range(0, 50), kernelSamples: rng.range(0, 500), seed: BigInt(rng.int(1000)), onIngest: false }) as AnyMessage;
      default:
        return undefined;
    }
  }

  /** A valid value for one field, or undefined to leave it unset. */
  fieldValue(field: DescField, parent: DescMessage, depth: number): unknown {
    const rng = this.rng;
    const { scope } = this.ctx;
    switch (field.fieldKind) {
      case "scalar":
        return this.scalar(field, field.scalar, parent);
      case "enum": {
        const values = field.enum.values.map((v) => v.number).filter((n) => n !== 0);
        return values.length === 0 ? 0 : rng.pick(values);
      }
      case "message":
        if (depth > 5 || (field.oneof === undefined && rng.chance(0.1) && !["target", "batch", "header", "split", "model", "collection", "project", "schema"].includes(field.name))) return undefined;
        return this.message(field.message, depth);
      case "list": {
        switch (field.name) {
          case "record_ids":
            return rng.chance(0.5) ? [] : Array.from({ length: rng.range(1, 4) }, () => `r${rng.int(40)}`);
          case "kinds":
            return rng.chance(0.5) ? [] : [rng.pick([DataKind.FEATURES, DataKind.LABELS, DataKind.EXTRA, DataKind.PREDICTIONS, DataKind.INFLUENCES])];
          case "fields":
            return rng.chance(0.6) ? [] : [rng.pick([...scope.fields.map((f) => f.name), ...(scope.modelSpec?.predictionFields.map((f) => f.name) ?? [])])];
          case "metrics":
            return rng.chance(0.6) ? [] : [rng.pick(metricNames)];
          case "splits":
            return rng.chance(0.5) ? [] : [rng.pick([...scope.splits, "*"])];
        }
        const n = rng.int(3);
        const out: unknown[] = [];
        for (let i = 0; i < n; i++) {
          if (field.listKind === "scalar") out.push(this.scalar(field, field.scalar, parent));
          else if (field.listKind === "enum") out.push(rng.pick(field.enum.values).number);
          else if (depth <= 5) out.push(this.message(field.message, depth));
        }
        return out;
      }
      case "map":
        return {};
    }
  }

  private scalar(field: DescField, type: ScalarType, parent: DescMessage): unknown {
    const rng = this.rng;
    const { scope, method } = this.ctx;
    const name = field.name;
    switch (type) {
      case ScalarType.STRING:
        switch (name) {
          case "project":
            return scope.project;
          case "collection":
            return scope.collection;
          case "model":
            return scope.model;
          case "split":
            return rng.pick(scope.splits);
          case "name": {
            const noun = nounOf(parent, method);
            return noun === undefined ? rng.pick(words) : this.nameFor(noun);
          }
          case "job_id":
            return this.ctx.jobIds.length > 0 && rng.chance(0.6) ? rng.pick(this.ctx.jobIds) : rng.pick(["monitoring:1", "compute:999", "monitoring:", "nope"]);
          case "page_token": {
            // Tokens are base64url JSON naming the listing and the last key: forge one now and then.
            if (rng.chance(0.8)) return "";
            const scopes = [`collections/${scope.project}`, `splits/${scope.project}/${scope.collection}`, `models/${scope.project}/${scope.collection}`, "projects", `keys/${scope.project}`];
            const after = rng.pick(["", "\u0000", "fz/", "zzz", "\uffff", `${scope.project}/${scope.collection}`, "$gt"]);
            return Buffer.from(JSON.stringify({ s: rng.pick(scopes), a: rng.chance(0.8) ? after : { $gt: "" } })).toString("base64url");
          }
          case "display_name":
            return rng.pick(words);
          case "id":
            return `sl_${rng.int(1e6).toString(16)}`;
          case "sha256":
            return createHash("sha256").update(rng.bytes(8)).digest("hex");
          default:
            return rng.pick(words);
        }
      case ScalarType.BOOL:
        return rng.chance(0.5);
      case ScalarType.BYTES:
        return rng.bytes(rng.int(8));
      case ScalarType.DOUBLE:
      case ScalarType.FLOAT:
        return rng.next() * 100;
      case ScalarType.INT64:
      case ScalarType.SINT64:
      case ScalarType.SFIXED64:
      case ScalarType.UINT64:
      case ScalarType.FIXED64:
        return /version/.test(name) ? BigInt(rng.int(2)) : BigInt(rng.int(100));
      default:
        if (name === "page_size") return rng.range(0, 20);
        if (name === "batch_size") return rng.range(0, 50);
        return rng.int(100);
    }
  }

  private batch(desc: DescMessage): AnyMessage {
    const rng = this.rng;
    const { scope } = this.ctx;
    const rows = rng.weighted([
      [1, 0],
      [10, rng.range(1, 4)],
      [4, rng.range(5, 12)],
    ] as const);
    const ids = new Set<string>();
    while (ids.size < rows) ids.add(rng.chance(0.1) ? `réc/${rng.int(40)}|🙂` : `r${rng.int(40)}`);
    const recordIds = [...ids];
    const kinds = new Set<DataKind>();
    for (const k of [DataKind.FEATURES, DataKind.LABELS, DataKind.EXTRA]) if (rng.chance(0.5)) kinds.add(k);
    const model = this.state.model;
    if (model !== undefined) {
      if (rng.chance(0.5)) kinds.add(DataKind.PREDICTIONS);
      if (rng.chance(0.3)) kinds.add(DataKind.INFLUENCES);
    }
    if (kinds.size === 0) kinds.add(DataKind.FEATURES);
    const kindOf: Record<number, DataKind> = { [FieldKind.FEATURE]: DataKind.FEATURES, [FieldKind.LABEL]: DataKind.LABELS, [FieldKind.EXTRA]: DataKind.EXTRA };
    const columns = scope.fields
      .filter((f) => kinds.has(kindOf[f.kind]!) && (!f.nullable || rng.chance(0.8)))
      .map((f) => column(rng, f.name, f, rows));
    const predictions =
      model !== undefined && kinds.has(DataKind.PREDICTIONS)
        ? model.predictionFields.map((p, i) =>
            column(rng, p.name, { name: p.name, kind: FieldKind.FEATURE, type: p.type, nullable: false, ...(i === 0 && model.scoreType === ScoreType.PROBITS ? { min: 0, max: 1 } : {}) }, rows),
          )
        : [];
    const influences =
      model !== undefined && kinds.has(DataKind.INFLUENCES)
        ? scope.fields.filter((f) => f.kind === FieldKind.FEATURE).map((f) => column(rng, f.name, { name: f.name, kind: FieldKind.FEATURE, type: FieldType.DOUBLE, nullable: false, min: -5, max: 5 }, rows))
        : [];
    const needsTimes = this.state.production || rng.chance(0.2);
    return create(desc, {
      recordIds,
      eventTimes: needsTimes ? { unixMillis: recordIds.map(() => BigInt(t0 + rng.int(72) * hour + rng.int(hour))) } : undefined,
      columns,
      predictions,
      influences,
    }) as AnyMessage;
  }
}

function column(rng: Prng, name: string, f: FieldSpec, rows: number) {
  const nulls = Array.from({ length: rows }, () => f.nullable && rng.chance(0.2));
  let mask = new Uint8Array(0);
  if (nulls.includes(true)) {
    mask = new Uint8Array(Math.ceil(rows / 8));
    nulls.forEach((n, i) => {
      if (n) mask[i >> 3]! |= 1 << (i & 7);
    });
  }
  const lo = f.min ?? -1000;
  const hi = f.max ?? 1000;
  let values;
  switch (f.type) {
    case FieldType.DOUBLE:
      values = { case: "doubles" as const, value: { values: nulls.map(() => lo + rng.next() * (hi - lo)) } };
      break;
    case FieldType.INT64:
      values = { case: "int64s" as const, value: { values: nulls.map(() => BigInt(rng.range(Math.max(lo, -1e6), Math.min(hi, 1e6)))) } };
      break;
    case FieldType.TIMESTAMP:
      values = { case: "int64s" as const, value: { values: nulls.map(() => BigInt(t0 - rng.int(1000) * hour)) } };
      break;
    case FieldType.BOOL:
      values = { case: "bools" as const, value: { values: nulls.map(() => rng.chance(0.5)) } };
      break;
    case FieldType.CATEGORICAL:
      values = { case: "strings" as const, value: { values: nulls.map(() => rng.pick(f.categories ?? ["a"])) } };
      break;
    default:
      values = { case: "strings" as const, value: { values: nulls.map(() => rng.pick(words)) } };
  }
  return { name, values, nullMask: mask };
}


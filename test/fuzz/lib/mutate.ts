// Mutations. Field-level ones walk a message by its descriptor and break one field the way a careless or hostile
// client would (wrong lengths, extreme numbers, odd strings, another oneof case); RecordBatch gets its own
// shape-breaking ones. Byte-level ones damage serialized bytes without knowing what they hold.
import { create, ScalarType, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import { BoolValuesSchema, DoubleValuesSchema, Int64ValuesSchema, StringValuesSchema } from "../../../server/src/gen/sightline/v1/records_pb.js";
import type { Prng } from "./prng.js";

type AnyMessage = Message & Record<string, unknown>;

/**
 * A string that serializes to 8 bytes which the binary encoder then overwrites with invalid UTF-8 (same length, so
 * every length prefix stays right). In JSON it stays a plain control-character string.
 */
export const invalidUtf8Marker = "\u0001\u0002IU8\u0002\u0002\u0001";
const invalidUtf8Bytes = [Uint8Array.of(0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xff), Uint8Array.of(0xed, 0xa0, 0x80, 0xf8, 0x88, 0x80, 0x80, 0x80), Uint8Array.of(0xc0, 0x80, 0xff, 0xfe, 0xc1, 0xbf, 0xf5, 0x80)];

/** Replaces every marker in serialized bytes with invalid UTF-8. */
export function injectInvalidUtf8(bytes: Uint8Array, rng: Prng): Uint8Array {
  const marker = Buffer.from(invalidUtf8Marker, "utf8");
  const buf = Buffer.from(bytes);
  for (let at = buf.indexOf(marker); at >= 0; at = buf.indexOf(marker, at + marker.length)) {
    buf.set(rng.pick(invalidUtf8Bytes), at);
  }
  return new Uint8Array(buf);
}

/** Set when a mutation needs the JSON codec to mean what it says (lone surrogates survive only there). */
export interface MutationNotes {
  ops: string[];
  /** The message is bigger than a few hundred KiB: sent rarely. */
  huge: boolean;
}

interface Slot {
  msg: AnyMessage;
  desc: DescMessage;
  field: DescField;
  path: string;
}

function collectSlots(msg: AnyMessage, desc: DescMessage, path: string, out: Slot[], batches: { msg: AnyMessage; path: string }[], depth = 0): void {
  if (depth > 8) return;
  if (desc.typeName === "sightline.v1.RecordBatch") batches.push({ msg, path });
  for (const field of desc.fields) {
    out.push({ msg, desc, field, path: `${path}.${field.name}` });
    const value = valueOf(msg, field);
    if (field.fieldKind === "message" && value !== undefined) {
      collectSlots(value as AnyMessage, field.message, `${path}.${field.name}`, out, batches, depth + 1);
    } else if (field.fieldKind === "list" && field.listKind === "message") {
      (value as AnyMessage[]).forEach((m, i) => collectSlots(m, field.message, `${path}.${field.name}[${i}]`, out, batches, depth + 1));
    }
  }
}

function valueOf(msg: AnyMessage, field: DescField): unknown {
  if (field.oneof !== undefined) {
    const o = msg[field.oneof.localName] as { case: string | undefined; value?: unknown };
    return o.case === field.localName ? o.value : undefined;
  }
  return msg[field.localName];
}

function setValue(msg: AnyMessage, field: DescField, value: unknown): void {
  if (field.oneof !== undefined) {
    msg[field.oneof.localName] = value === undefined ? { case: undefined } : { case: field.localName, value };
    return;
  }
  msg[field.localName] = value;
}

const int32Edges = [0, -1, 1, 2147483647, -2147483648, 1001, 10_001, -50, 65536];
const uint32Edges = [0, 1, 4294967295, 2147483648, 10_001];
const int64Edges = [0n, -1n, 1n, 9223372036854775807n, -9223372036854775808n, 9007199254740993n, -9007199254740993n, 8640000000000001n, -8640000000000001n, 2n ** 62n, 4294967296n];
const uint64Edges = [0n, 1n, 18446744073709551615n, 9223372036854775808n, 9007199254740993n];
const doubleEdges = [Number.NaN, Infinity, -Infinity, -0, 0, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 1e308, 2 ** 53 + 2, -1e-300, 0.5, 1.0000000000000002];

function stringEdges(rng: Prng, foreignNames: readonly string[]): string[] {
  return [
    "",
    "\u0000",
    `a\u0000b`,
    "\u0007\u001f\u007f",
    "\ud800",
    "x\udfffy",
    invalidUtf8Marker,
    invalidUtf8Marker,
    "../../etc",
    "$where",
    "a.b.c",
    "$",
    ".",
    "|",
    "/",
    "a/b",
    "*",
    "%00",
    "Ａ",
    "e\u0301",
    "🙂".repeat(rng.range(1, 200)),
    "ß".repeat(rng.range(128, 140)),
    "x".repeat(rng.pick([63, 64, 256, 257, 512, 513, 4096, 4097, 70_000])),
    "{\"$gt\":\"\"}",
    "sightline-monitoring:1",
    "monitoring:",
    ":1",
    "monitoring:../../x",
    "UPPER",
    "-lead",
    "9digit",
    ...foreignNames,
  ];
}

function randomInt32(rng: Prng): number {
  return rng.chance(0.6) ? rng.pick(int32Edges) : rng.u32() | 0;
}

function randomScalar(rng: Prng, type: ScalarType, current: unknown, foreignNames: readonly string[]): unknown {
  switch (type) {
    case ScalarType.STRING: {
      const s = typeof current === "string" ? current : "";
      return rng.weighted<() => string>([
        [5, () => rng.pick(stringEdges(rng, foreignNames))],
        [2, () => (s.length === 0 ? "q" : s.slice(0, rng.int(s.length)) + String.fromCharCode(rng.int(0x3000)) + s.slice(rng.int(s.length)))],
        [1, () => s + s],
        [1, () => s.toUpperCase()],
        [1, () => Buffer.from(rng.bytes(rng.range(1, 20))).toString("latin1")],
      ])();
    }
    case ScalarType.BYTES:
      return rng.weighted<() => Uint8Array>([
        [2, () => new Uint8Array(0)],
        [3, () => rng.bytes(rng.range(1, 40))],
        [1, () => new Uint8Array(rng.range(1, 5)).fill(0xff)],
        [1, () => rng.bytes(rng.pick([1251, 65536]))],
      ])();
    case ScalarType.BOOL:
      return !(current as boolean);
    case ScalarType.DOUBLE:
      return rng.chance(0.7) ? rng.pick(doubleEdges) : (rng.next() - 0.5) * 10 ** rng.range(-10, 30);
    case ScalarType.FLOAT:
      return rng.pick([Number.NaN, Infinity, -Infinity, 0, 3.4e38, -1]);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return rng.chance(0.7) ? rng.pick(int64Edges) : BigInt.asIntN(64, (BigInt(rng.u32()) << 32n) | BigInt(rng.u32()));
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return rng.chance(0.7) ? rng.pick(uint64Edges) : (BigInt(rng.u32()) << 32n) | BigInt(rng.u32());
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return rng.chance(0.7) ? rng.pick(uint32Edges) : rng.u32();
    default:
      return randomInt32(rng);
  }
}

export interface FieldMutator {
  /** Builds a fresh valid message of a type, for replacing a field or a oneof case. */
  fresh(desc: DescMessage): AnyMessage;
  /** Names (of the fuzz world) a mutated string field may take; never protected names for writing RPCs. */
  foreignNames: readonly string[];
}

/** Applies 1 to a few field-level mutations in place. */
export function mutateFields(rng: Prng, msg: AnyMessage, desc: DescMessage, helper: FieldMutator, notes: MutationNotes): void {
  const count = rng.weighted([
    [6, 1],
    [3, 2],
    [1, rng.range(3, 6)],
  ] as const);
  for (let i = 0; i < count; i++) {
    const slots: Slot[] = [];
    const batches: { msg: AnyMessage; path: string }[] = [];
    collectSlots(msg, desc, desc.name, slots, batches);
    if (batches.length > 0 && rng.chance(0.45)) {
      const b = rng.pick(batches);
      notes.ops.push(`${b.path}:${mutateBatch(rng, b.msg, notes)}`);
      continue;
    }
    if (slots.length === 0) return;
    const slot = rng.pick(slots);
    notes.ops.push(`${slot.path}:${mutateSlot(rng, slot, helper, notes)}`);
  }
}

function mutateSlot(rng: Prng, { msg, field }: Slot, helper: FieldMutator, notes: MutationNotes): string {
  const current = valueOf(msg, field);
  switch (field.fieldKind) {
    case "scalar": {
      if (field.oneof !== undefined && rng.chance(0.3)) {
        setValue(msg, field, undefined);
        return "clear-oneof";
      }
      if (field.scalar === ScalarType.STRING && rng.chance(0.01)) {
        // A huge string, still inside the 16 MiB message limit.
        setValue(msg, field, "h".repeat(rng.range(1, 12) * 1024 * 1024));
        notes.huge = true;
        return "huge-string";
      }
      setValue(msg, field, randomScalar(rng, field.scalar, current, helper.foreignNames));
      return "scalar";
    }
    case "enum": {
      const values = field.enum.values.map((v) => v.number);
      setValue(msg, field, rng.weighted([
        [3, rng.pick(values)],
        [1, 0],
        [1, rng.pick([-1, 99, 2147483647, -2147483648])],
      ] as const));
      return "enum";
    }
    case "message": {
      const op = rng.weighted([
        [3, "unset"],
        [2, "empty"],
        [2, "fresh"],
        [field.oneof !== undefined ? 3 : 0, "other-case"],
      ] as const);
      if (op === "unset") setValue(msg, field, undefined);
      else if (op === "empty") setValue(msg, field, create(field.message));
      else if (op === "fresh") setValue(msg, field, helper.fresh(field.message));
      else {
        const others = field.oneof!.fields.filter((f) => f !== field);
        const other = others.length > 0 ? rng.pick(others) : field;
        if (other.fieldKind === "message") setValue(msg, other, helper.fresh(other.message));
        else if (other.fieldKind === "scalar") setValue(msg, other, randomScalar(rng, other.scalar, undefined, helper.foreignNames));
        else if (other.fieldKind === "enum") setValue(msg, other, rng.pick(other.enum.values).number);
      }
      return op;
    }
    case "list": {
      const list = current as unknown[];
      const op = rng.weighted([
        [3, "clear"],
        [3, "dup"],
        [3, "add"],
        [2, "drop"],
        [2, "elem"],
        [list.length > 0 ? 1 : 0, "many"],
      ] as const);
      const element = () => {
        if (field.listKind === "message") return helper.fresh(field.message);
        if (field.listKind === "enum") return rng.chance(0.5) ? rng.pick(field.enum.values).number : rng.pick([-1, 99, 0]);
        return randomScalar(rng, field.scalar, undefined, helper.foreignNames);
      };
      switch (op) {
        case "clear":
          msg[field.localName] = [];
          break;
        case "dup":
          if (list.length > 0) list.splice(rng.int(list.length), 0, list[rng.int(list.length)]);
          else list.push(element());
          break;
        case "add":
          list.splice(rng.int(list.length + 1), 0, element());
          break;
        case "drop":
          if (list.length > 0) list.splice(rng.int(list.length), 1);
          break;
        case "elem":
          if (list.length === 0) list.push(element());
          else if (field.listKind === "scalar") list[rng.int(list.length)] = randomScalar(rng, field.scalar, list[0], helper.foreignNames);
          else list[rng.int(list.length)] = element();
          break;
        case "many": {
          // Thousands of copies: large repeated fields within the message limit.
          const n = rng.pick([1001, 2001, 10_001, 100_000, 800_000]);
          const copy = list[rng.int(list.length)];
          for (let i = 0; i < n; i++) list.push(copy);
          notes.huge = n >= 10_001;
          break;
        }
      }
      return `list-${op}`;
    }
    case "map":
      return "map-skip";
  }
}

interface ColumnLike {
  name: string;
  values: { case: string | undefined; value?: { values: unknown[] } };
  nullMask: Uint8Array;
}

function mutateBatch(rng: Prng, batch: AnyMessage, notes: MutationNotes): string {
  const ids = batch.recordIds as string[];
  const groups = ["columns", "predictions", "influences"].map((g) => batch[g] as ColumnLike[]).filter((g) => g.length > 0);
  const columns = groups.length > 0 ? rng.pick(groups) : undefined;
  const column = columns !== undefined ? rng.pick(columns) : undefined;
  const op = rng.pick([
    "short-column",
    "long-column",
    "mask-size",
    "mask-all",
    "dup-id",
    "empty-id",
    "nul-id",
    "long-id",
    "empty-name",
    "unknown-name",
    "dup-column",
    "other-type",
    "no-values",
    "too-many-rows",
    "times-length",
    "times-extreme",
    "times-mask",
    "nan-inf",
    "long-string",
    "ids-only",
    "drop-ids",
  ] as const);
  const values = column?.values.value?.values;
  switch (op) {
    case "short-column":
      values?.pop();
      break;
    case "long-column":
      if (values !== undefined && values.length > 0) values.push(values[0]);
      break;
    case "mask-size":
      if (column !== undefined) column.nullMask = rng.bytes(rng.pick([1, Math.ceil(ids.length / 8) + 1, 64, 4096]));
      break;
    case "mask-all":
      if (column !== undefined) column.nullMask = new Uint8Array(Math.ceil(ids.length / 8)).fill(0xff);
      break;
    case "dup-id":
      if (ids.length > 0) ids.push(ids[rng.int(ids.length)]!);
      break;
    case "empty-id":
      if (ids.length > 0) ids[rng.int(ids.length)] = "";
      break;
    case "nul-id":
      if (ids.length > 0) ids[rng.int(ids.length)] = `id\u0000${rng.int(9)}`;
      break;
    case "long-id":
      if (ids.length > 0) ids[rng.int(ids.length)] = "é".repeat(rng.pick([256, 257, 300]));
      break;
    case "empty-name":
      if (column !== undefined) column.name = "";
      break;
    case "unknown-name":
      if (column !== undefined) column.name = rng.pick(["nope", "X.NUM", "x.num ", "n$int\u0000", "score"]);
      break;
    case "dup-column":
      if (columns !== undefined && column !== undefined) columns.push({ ...column });
      break;
    case "other-type":
      if (column !== undefined) {
        const n = ids.length;
        const choices = [
          () => ({ case: "doubles", value: create(DoubleValuesSchema, { values: Array.from({ length: n }, () => 1.5) }) }),
          () => ({ case: "int64s", value: create(Int64ValuesSchema, { values: Array.from({ length: n }, () => 7n) }) }),
          () => ({ case: "strings", value: create(StringValuesSchema, { values: Array.from({ length: n }, () => "s") }) }),
          () => ({ case: "bools", value: create(BoolValuesSchema, { values: Array.from({ length: n }, () => true) }) }),
        ];
        column.values = rng.pick(choices)() as ColumnLike["values"];
      }
      break;
    case "no-values":
      if (column !== undefined) column.values = { case: undefined };
      break;
    case "too-many-rows": {
      const n = rng.pick([1001, 10_001]);
      for (let i = ids.length; i < n; i++) ids.push(`bulk${i}`);
      notes.huge = n > 1001;
      break;
    }
    case "times-length": {
      const times = batch.eventTimes as { unixMillis: bigint[] } | undefined;
      if (times !== undefined) times.unixMillis.push(0n);
      break;
    }
    case "times-extreme": {
      const times = batch.eventTimes as { unixMillis: bigint[] } | undefined;
      if (times !== undefined && times.unixMillis.length > 0) times.unixMillis[rng.int(times.unixMillis.length)] = rng.pick(int64Edges);
      break;
    }
    case "times-mask": {
      const times = batch.eventTimes as { nullMask: Uint8Array } | undefined;
      if (times !== undefined) times.nullMask = rng.chance(0.5) ? new Uint8Array(Math.ceil(ids.length / 8)).fill(0xff) : rng.bytes(rng.range(1, 9));
      break;
    }
    case "nan-inf":
      if (values !== undefined && values.length > 0 && column!.values.case === "doubles") values[rng.int(values.length)] = rng.pick([Number.NaN, Infinity, -Infinity, -0, 1e308]);
      else if (values !== undefined && values.length > 0 && column!.values.case === "int64s") values[rng.int(values.length)] = rng.pick(int64Edges);
      break;
    case "long-string":
      if (values !== undefined && values.length > 0 && column!.values.case === "strings") values[rng.int(values.length)] = rng.pick(["z".repeat(4097), "ü".repeat(2049), "\u0000", "d"]);
      break;
    case "ids-only":
      for (const g of ["columns", "predictions", "influences"]) batch[g] = [];
      break;
    case "drop-ids":
      batch.recordIds = [];
      break;
  }
  return op;
}

/** Byte-level damage to serialized bytes. */
export function mutateBytes(rng: Prng, input: Uint8Array): { bytes: Uint8Array; op: string } {
  const b = Buffer.from(input);
  const op = rng.weighted([
    [4, "flip"],
    [2, "truncate"],
    [2, "insert"],
    [1, "duplicate"],
    [1, "overwrite"],
    [1, "random"],
    [1, "varint"],
  ] as const);
  switch (op) {
    case "flip": {
      const out = Buffer.from(b);
      if (out.length === 0) return { bytes: rng.bytes(rng.range(1, 8)), op: "random" };
      for (let i = rng.range(1, 8); i > 0; i--) out[rng.int(out.length)]! ^= 1 << rng.int(8);
      return { bytes: out, op };
    }
    case "truncate":
      return { bytes: b.subarray(0, rng.int(b.length + 1)), op };
    case "insert": {
      const at = rng.int(b.length + 1);
      return { bytes: Buffer.concat([b.subarray(0, at), rng.bytes(rng.range(1, 16)), b.subarray(at)]), op };
    }
    case "duplicate": {
      const start = rng.int(b.length + 1);
      const end = start + rng.int(b.length - start + 1);
      return { bytes: Buffer.concat([b.subarray(0, end), b.subarray(start, end), b.subarray(end)]), op };
    }
    case "overwrite": {
      const out = Buffer.from(b);
      const at = rng.int(out.length + 1);
      out.set(rng.bytes(Math.min(rng.range(1, 16), out.length - at)), at);
      return { bytes: out, op };
    }
    case "random":
      return { bytes: rng.bytes(rng.weighted([
        [4, rng.int(64)],
        [2, rng.int(1024)],
        [1, rng.int(65536)],
      ] as const)), op };
    case "varint": {
      // A length or tag turned into an endless varint, or a huge declared length.
      const at = rng.int(b.length + 1);
      const junk = rng.chance(0.5) ? Buffer.alloc(11, 0xff) : Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
      return { bytes: Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]), op };
    }
  }
}

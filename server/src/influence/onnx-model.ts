// A minimal reader for ONNX ModelProto bytes: just the fields model introspection and tree extraction need
// (graph topology, value types, node attributes). Everything else is skipped on the wire, so large initializers
// cost a bounds check, not a decode. Field numbers follow onnx/onnx.proto (IR version 3 onwards).
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/** TensorProto.DataType values used by callers (the full enum goes up to 28). */
export const OnnxElemType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const;

/** One dimension: `dim_value`, `dim_param`, or neither (unknown). */
export type OnnxDim = number | string | undefined;

export interface OnnxValueInfo {
  name: string;
  kind: "tensor" | "sequence" | "map" | "other";
  /** TensorProto.DataType of a tensor; undefined for other kinds or when the model leaves it out. */
  elemType: number | undefined;
  /** Undefined when the model declares no shape (rank unknown), as opposed to `[]` for a scalar. */
  shape: OnnxDim[] | undefined;
}

export interface OnnxTensor {
  name: string;
  dataType: number;
  dims: number[];
  /** Filled for FLOAT tensors, from float_data or raw_data. */
  floats: number[];
  /** Filled for DOUBLE tensors, from double_data or raw_data. */
  doubles: number[];
  /** Filled for INT64 tensors, from int64_data or raw_data. */
  int64s: bigint[];
}

export interface OnnxAttribute {
  name: string;
  f?: number;
  i?: bigint;
  s?: string;
  t?: OnnxTensor;
  floats?: number[];
  ints?: bigint[];
  strings?: string[];
}

export interface OnnxNode {
  name: string;
  opType: string;
  /** "" is the default ONNX domain ("ai.onnx" is normalised to ""). */
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, OnnxAttribute>;
}

export interface OnnxGraph {
  nodes: OnnxNode[];
  /** As declared, which includes initializers on older IR versions: exclude `initializers` to get real inputs. */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: string[];
}

export interface OnnxModel {
  irVersion: bigint;
  producerName: string;
  /** One entry per domain ("" for the default domain), in file order. */
  opsets: { domain: string; version: bigint }[];
  graph: OnnxGraph;
}

export class OnnxFormatError extends Error {
  override name = "OnnxFormatError";
}

/**
 * Decodes an ONNX model. Throws OnnxFormatError for anything that is not a complete, structurally valid model:
 * protobuf errors (bad tags, lengths past the end), a missing graph, a graph without nodes or outputs, or nodes
 * in a domain the model imports no opset for.
 */
export function parseOnnxModel(bytes: Uint8Array): OnnxModel {
  if (bytes.length === 0) throw new OnnxFormatError("not an ONNX model: the file is empty");
  let model: OnnxModel;
  try {
    model = readModel(bytes);
  } catch (err) {
    if (err instanceof OnnxFormatError) throw err;
    const detail = err instanceof Error ? err.message : String(err);
    throw new OnnxFormatError(`not an ONNX model: the bytes are not a complete protobuf ModelProto (${detail})`);
  }
  validate(model);
  return model;
}

// A truncated file usually still decodes as a shorter protobuf, so completeness is checked on content: a model
// cut inside its graph fails the length-delimited read, and one cut after it loses the opset imports its nodes need.
function validate(model: OnnxModel): void {
  if (model.irVersion <= 0n) throw new OnnxFormatError("not an ONNX model: ir_version is missing");
  const { graph } = model;
  if (graph.nodes.length === 0) throw new OnnxFormatError("not a usable ONNX model: the graph has no nodes");
  if (graph.outputs.length === 0) throw new OnnxFormatError("not a usable ONNX model: the graph has no outputs");
  if (model.opsets.length === 0) throw new OnnxFormatError("not a usable ONNX model: it imports no operator set (truncated?)");
  const imported = new Set(model.opsets.map((o) => o.domain));
  for (const node of graph.nodes) {
    if (node.opType === "") throw new OnnxFormatError(`not a usable ONNX model: node "${node.name}" has no op_type`);
    if (!imported.has(node.domain)) {
      throw new OnnxFormatError(
        `not a usable ONNX model: node "${node.name}" (${node.opType}) uses domain "${node.domain}" but the model imports no opset for it (truncated?)`,
      );
    }
  }
}

type FieldVisitor = (r: BinaryReader, field: number, wireType: WireType) => boolean;

// Visitors return false for fields they do not read, which are then skipped whatever their wire type.
function readMessage(bytes: Uint8Array, visit: FieldVisitor): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (!visit(r, field, wireType)) r.skip(wireType, field);
  }
}

function expectWire(actual: WireType, expected: WireType, what: string): void {
  if (actual !== expected) throw new OnnxFormatError(`not an ONNX model: ${what} has wire type ${actual}, expected ${expected}`);
}

function int64Of(r: BinaryReader): bigint {
  return BigInt(r.int64());
}

function safeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new OnnxFormatError(`not a usable ONNX model: ${what} ${value} is out of range`);
  }
  return Number(value);
}

// proto3 writes repeated scalars packed; proto2-era writers (and hand-built files) use one tag per element.
// Both are legal for the same field, even mixed, so each occurrence is read by its own wire type.
function readRepeated<T>(r: BinaryReader, wireType: WireType, scalarWire: WireType, read: (r: BinaryReader) => T, out: T[], what: string): void {
  if (wireType === scalarWire) {
    out.push(read(r));
    return;
  }
  expectWire(wireType, WireType.LengthDelimited, what);
  const packed = new BinaryReader(r.bytes());
  while (packed.pos < packed.len) out.push(read(packed));
}

const readFloat = (r: BinaryReader): number => r.float();
const readDouble = (r: BinaryReader): number => r.double();
const readInt64 = (r: BinaryReader): bigint => int64Of(r);

function readModel(bytes: Uint8Array): OnnxModel {
  let irVersion = 0n;
  let producerName = "";
  let graph: OnnxGraph | undefined;
  const opsets = new Map<string, bigint>();
  readMessage(bytes, (r, field, wt) => {
    switch (field) {
      case 1:
        expectWire(wt, WireType.Varint, "ModelProto.ir_version");
        irVersion = int64Of(r);
        return true;
      case 2:
        expectWire(wt, WireType.LengthDelimited, "ModelProto.producer_name");
        producerName = r.string();
        return true;
      case 7:
        expectWire(wt, WireType.LengthDelimited, "ModelProto.graph");
        graph = readGraph(r.bytes());
        return true;
      case 8: {
        expectWire(wt, WireType.LengthDelimited, "ModelProto.opset_import");
        const { domain, version } = readOpset(r.bytes());
        const seen = opsets.get(domain);
        // Converters sometimes repeat an import; only a conflicting repeat makes the model ambiguous.
        if (seen !== undefined && seen !== version) {
          throw new OnnxFormatError(`not a usable ONNX model: conflicting opset imports for domain "${domain}" (${seen} and ${version})`);
        }
        opsets.set(domain, version);
        return true;
      }
      default:
        return false;
    }
  });
  if (graph === undefined) throw new OnnxFormatError("not an ONNX model: it has no graph");
  return { irVersion, producerName, opsets: [...opsets].map(([domain, version]) => ({ domain, version })), graph };
}

function normaliseDomain(domain: string): string {
  return domain === "ai.onnx" ? "" : domain;
}

function readOpset(bytes: Uint8Array): { domain: string; version: bigint } {
  let domain = "";
  let version = 0n;
  readMessage(bytes, (r, field, wt) => {
    if (field === 1) {
      expectWire(wt, WireType.LengthDelimited, "OperatorSetIdProto.domain");
      domain = r.string();
      return true;
    }
    if (field === 2) {
      expectWire(wt, WireType.Varint, "OperatorSetIdProto.version");
      version = int64Of(r);
      return true;
    }
    return false;
  });
  return { domain: normaliseDomain(domain), version };
}

function readGraph(bytes: Uint8Array): OnnxGraph {
  const graph: OnnxGraph = { nodes: [], inputs: [], outputs: [], initializers: [] };
  readMessage(bytes, (r, field, wt) => {
    switch (field) {
      case 1:
        expectWire(wt, WireType.LengthDelimited, "GraphProto.node");
        graph.nodes.push(readNode(r.bytes()));
        return true;
      case 5:
        expectWire(wt, WireType.LengthDelimited, "GraphProto.initializer");
        graph.initializers.push(readTensorName(r.bytes()));
        return true;
      case 11:
        expectWire(wt, WireType.LengthDelimited, "GraphProto.input");
        graph.inputs.push(readValueInfo(r.bytes()));
        return true;
      case 12:
        expectWire(wt, WireType.LengthDelimited, "GraphProto.output");
        graph.outputs.push(readValueInfo(r.bytes()));
        return true;
      default:
        return false;
    }
  });
  return graph;
}

function readNode(bytes: Uint8Array): OnnxNode {
  const node: OnnxNode = { name: "", opType: "", domain: "", inputs: [], outputs: [], attributes: new Map() };
  readMessage(bytes, (r, field, wt) => {
    switch (field) {
      case 1:
        expectWire(wt, WireType.LengthDelimited, "NodeProto.input");
        node.inputs.push(r.string());
        return true;
      case 2:
        expectWire(wt, WireType.LengthDelimited, "NodeProto.output");
        node.outputs.push(r.string());
        return true;
      case 3:
        expectWire(wt, WireType.LengthDelimited, "NodeProto.name");
        node.name = r.string();
        return true;
      case 4:
        expectWire(wt, WireType.LengthDelimited, "NodeProto.op_type");
        node.opType = r.string();
        return true;
      case 5: {
        expectWire(wt, WireType.LengthDelimited, "NodeProto.attribute");
        const attribute = readAttribute(r.bytes());
        node.attributes.set(attribute.name, attribute);
        return true;
      }
      case 7:
        expectWire(wt, WireType.LengthDelimited, "NodeProto.domain");
        node.domain = normaliseDomain(r.string());
        return true;
      default:
        return false;
    }
  });
  return node;
}

function readAttribute(bytes: Uint8Array): OnnxAttribute {
  const attribute: OnnxAttribute = { name: "" };
  readMessage(bytes, (r, field, wt) => {
    switch (field) {
      case 1:
        expectWire(wt, WireType.LengthDelimited, "AttributeProto.name");
        attribute.name = r.string();
        return true;
      case 2:
        expectWire(wt, WireType.Bit32, "AttributeProto.f");
        attribute.f = r.float();
        return true;
      case 3:
        expectWire(wt, WireType.Varint, "AttributeProto.i");
        attribute.i = int64Of(r);
        return true;
      case 4:
        expectWire(wt, WireType.LengthDelimited, "AttributeProto.s");
        attribute.s = r.string();
        return true;
      case 5:
        expectWire(wt, WireType.LengthDelimited, "AttributeProto.t");
        attribute.t = readTensor(r.bytes());
        return true;
      case 7:
        readRepeated(r, wt, WireType.Bit32, readFloat, (attribute.floats ??= []), "AttributeProto.floats");
        return true;
      case 8:
        readRepeated(r, wt, WireType.Varint, readInt64, (attribute.ints ??= []), "AttributeProto.ints");
        return true;
      case 9:
        expectWire(wt, WireType.LengthDelimited, "AttributeProto.strings");
        (attribute.strings ??= []).push(r.string());
        return true;
      default:
        return false;
    }
  });
  return attribute;
}

function readTensorName(bytes: Uint8Array): string {
  let name = "";
  readMessage(bytes, (r, field, wt) => {
    if (field !== 8) return false;
    expectWire(wt, WireType.LengthDelimited, "TensorProto.name");
    name = r.string();
    return true;
  });
  return name;
}

function readTensor(bytes: Uint8Array): OnnxTensor {
  const tensor: OnnxTensor = { name: "", dataType: 0, dims: [], floats: [], doubles: [], int64s: [] };
  let raw: Uint8Array | undefined;
  readMessage(bytes, (r, field, wt) => {
    switch (field) {
      case 1: {
        const dims: bigint[] = [];
        readRepeated(r, wt, WireType.Varint, readInt64, dims, "TensorProto.dims");
        for (const d of dims) tensor.dims.push(safeNumber(d, "tensor dimension"));
        return true;
      }
      case 2:
        expectWire(wt, WireType.Varint, "TensorProto.data_type");
        tensor.dataType = r.int32();
        return true;
      case 4:
        readRepeated(r, wt, WireType.Bit32, readFloat, tensor.floats, "TensorProto.float_data");
        return true;
      case 7:
        readRepeated(r, wt, WireType.Varint, readInt64, tensor.int64s, "TensorProto.int64_data");
        return true;
      case 8:
        expectWire(wt, WireType.LengthDelimited, "TensorProto.name");
        tensor.name = r.string();
        return true;
      case 9:
        expectWire(wt, WireType.LengthDelimited, "TensorProto.raw_data");
        raw = r.bytes();
        return true;
      case 10:
        readRepeated(r, wt, WireType.Bit64, readDouble, tensor.doubles, "TensorProto.double_data");
        return true;
      case 14:
        expectWire(wt, WireType.Varint, "TensorProto.data_location");
        if (r.int32() !== 0) throw new OnnxFormatError(`not a usable ONNX model: tensor "${tensor.name}" stores its data externally`);
        return true;
      default:
        return false;
    }
  });
  if (raw !== undefined) decodeRaw(tensor, raw);
  checkElementCount(tensor);
  return tensor;
}

// raw_data is little-endian whatever the host, hence DataView rather than typed-array views.
function decodeRaw(tensor: OnnxTensor, raw: Uint8Array): void {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const width = tensor.dataType === OnnxElemType.FLOAT ? 4 : tensor.dataType === OnnxElemType.DOUBLE || tensor.dataType === OnnxElemType.INT64 ? 8 : 0;
  if (width === 0) return;
  if (raw.byteLength % width !== 0) {
    throw new OnnxFormatError(`not a usable ONNX model: tensor "${tensor.name}" has ${raw.byteLength} raw bytes, not a multiple of ${width}`);
  }
  for (let offset = 0; offset < raw.byteLength; offset += width) {
    if (tensor.dataType === OnnxElemType.FLOAT) tensor.floats.push(view.getFloat32(offset, true));
    else if (tensor.dataType === OnnxElemType.DOUBLE) tensor.doubles.push(view.getFloat64(offset, true));
    else tensor.int64s.push(view.getBigInt64(offset, true));
  }
}

function checkElementCount(tensor: OnnxTensor): void {
  const values =
    tensor.dataType === OnnxElemType.FLOAT ? tensor.floats : tensor.dataType === OnnxElemType.DOUBLE ? tensor.doubles : tensor.dataType === OnnxElemType.INT64 ? tensor.int64s : undefined;
  if (values === undefined) return;
  const expected = tensor.dims.reduce((n, d) => n * d, 1);
  if (values.length !== expected) {
    throw new OnnxFormatError(`not a usable ONNX model: tensor "${tensor.name}" has ${values.length} values for dims [${tensor.dims.join(", ")}]`);
  }
}

function readValueInfo(bytes: Uint8Array): OnnxValueInfo {
  const info: OnnxValueInfo = { name: "", kind: "other", elemType: undefined, shape: undefined };
  readMessage(bytes, (r, field, wt) => {
    if (field === 1) {
      expectWire(wt, WireType.LengthDelimited, "ValueInfoProto.name");
      info.name = r.string();
      return true;
    }
    if (field === 2) {
      expectWire(wt, WireType.LengthDelimited, "ValueInfoProto.type");
      readType(r.bytes(), info);
      return true;
    }
    return false;
  });
  return info;
}

function readType(bytes: Uint8Array, info: OnnxValueInfo): void {
  readMessage(bytes, (r, field, wt) => {
    switch (field) {
      case 1:
        expectWire(wt, WireType.LengthDelimited, "TypeProto.tensor_type");
        info.kind = "tensor";
        readTensorType(r.bytes(), info);
        return true;
      case 4:
        info.kind = "sequence";
        return false;
      case 5:
        info.kind = "map";
        return false;
      default:
        return false;
    }
  });
}

function readTensorType(bytes: Uint8Array, info: OnnxValueInfo): void {
  readMessage(bytes, (r, field, wt) => {
    if (field === 1) {
      expectWire(wt, WireType.Varint, "TypeProto.Tensor.elem_type");
      info.elemType = r.int32();
      return true;
    }
    if (field === 2) {
      expectWire(wt, WireType.LengthDelimited, "TypeProto.Tensor.shape");
      info.shape = readShape(r.bytes());
      return true;
    }
    return false;
  });
}

function readShape(bytes: Uint8Array): OnnxDim[] {
  const dims: OnnxDim[] = [];
  readMessage(bytes, (r, field, wt) => {
    if (field !== 1) return false;
    expectWire(wt, WireType.LengthDelimited, "TensorShapeProto.dim");
    dims.push(readDim(r.bytes()));
    return true;
  });
  return dims;
}

function readDim(bytes: Uint8Array): OnnxDim {
  let dim: OnnxDim;
  readMessage(bytes, (r, field, wt) => {
    if (field === 1) {
      expectWire(wt, WireType.Varint, "Dimension.dim_value");
      dim = safeNumber(int64Of(r), "dimension");
      return true;
    }
    if (field === 2) {
      expectWire(wt, WireType.LengthDelimited, "Dimension.dim_param");
      dim = r.string();
      return true;
    }
    return false;
  });
  return dim;
}

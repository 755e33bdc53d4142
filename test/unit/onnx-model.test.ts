// The ONNX reader and the tree extraction against real converter output: the fixtures and onnxruntime's outputs
// come from test/unit/fixtures/onnx/make_fixtures.py (seeded; rerun it to regenerate them).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { OnnxElemType, OnnxFormatError, parseOnnxModel, type OnnxModel } from "../../server/src/influence/onnx-model.js";
import { applyPostTransform, predictRaw, treeEnsembleOf, type TreeEnsemble, type TreeOutputRequest } from "../../server/src/influence/tree-ensemble.js";

const FIXTURES = new URL("./fixtures/onnx/", import.meta.url);

interface Fixture {
  request: TreeOutputRequest;
  output: string;
  column: number;
  rows: (number | null)[][];
  expected: (number | null)[];
}

function bytesOf(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`${name}.onnx`, FIXTURES)));
}

function fixture(name: string): Fixture {
  return JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), "utf8")) as Fixture;
}

function rowOf(values: (number | null)[]): Float64Array {
  return Float64Array.from(values, (v) => (v === null ? Number.NaN : v));
}

function ensembleOf(name: string): TreeEnsemble {
  const reasons: string[] = [];
  const ensemble = treeEnsembleOf(parseOnnxModel(bytesOf(name)), fixture(name).request, (r) => reasons.push(r));
  expect(reasons).toEqual([]);
  if (ensemble === undefined) throw new Error(`${name}: no ensemble`);
  return ensemble;
}

/** Largest |ours − onnxruntime| relative to max(1, |onnxruntime|) over the fixture's rows. */
function worstError(ensemble: TreeEnsemble, fx: Fixture): number {
  let worst = 0;
  fx.rows.forEach((row, i) => {
    const ours = applyPostTransform(ensemble.postTransform, predictRaw(ensemble, rowOf(row)));
    const theirs = fx.expected[i]!;
    worst = Math.max(worst, Math.abs(ours - theirs) / Math.max(1, Math.abs(theirs)));
  });
  return worst;
}

describe("parseOnnxModel on converter output", () => {
  it("reads the graph of a skl2onnx random forest", () => {
    const model = parseOnnxModel(bytesOf("rf_classifier"));
    expect(model.irVersion).toBe(8n);
    expect(model.producerName).toBe("skl2onnx");
    // The file imports the default domain twice; the reader keeps one entry per domain.
    expect(model.opsets).toEqual([
      { domain: "", version: 17n },
      { domain: "ai.onnx.ml", version: 1n },
    ]);
    const [node] = model.graph.nodes;
    expect(node?.opType).toBe("TreeEnsembleClassifier");
    expect(node?.domain).toBe("ai.onnx.ml");
    expect(node?.inputs).toEqual(["X"]);
    expect(node?.outputs).toEqual(["label", "probabilities"]);
    expect(node?.attributes.get("post_transform")?.s).toBe("NONE");
    expect(node?.attributes.get("classlabels_int64s")?.ints).toEqual([0n, 1n]);
    expect(node?.attributes.get("nodes_modes")?.strings?.[0]).toBe("BRANCH_LEQ");
    const treeIds = node?.attributes.get("nodes_treeids")?.ints ?? [];
    expect(new Set(treeIds).size).toBe(3);
    expect(node?.attributes.get("nodes_values")?.floats?.length).toBe(treeIds.length);
    expect(model.graph.inputs).toEqual([{ name: "X", kind: "tensor", elemType: OnnxElemType.FLOAT, shape: [undefined, 5] }]);
    expect(model.graph.outputs.map((o) => [o.name, o.elemType, o.shape])).toEqual([
      ["label", OnnxElemType.INT64, [undefined]],
      ["probabilities", OnnxElemType.FLOAT, [undefined, 2]],
    ]);
    expect(model.graph.initializers).toEqual([]);
  });

  it("decodes tensor attributes from raw_data and from double_data", () => {
    const node = parseOnnxModel(bytesOf("double_regressor")).graph.nodes[0]!;
    const values = node.attributes.get("nodes_values_as_tensor")?.t;
    expect(values?.dataType).toBe(OnnxElemType.DOUBLE);
    expect(values?.dims).toEqual([8]);
    expect(values?.doubles).toEqual([0.1, 1 / 3, 0, 0, 0, -0.2, 0, 0]);
    expect(node.attributes.get("target_weights_as_tensor")?.t?.doubles).toEqual([1.5, -0.5, 0.25, 2.0, -1.0, 0.75, 0.3, -0.6, 9.0]);
    expect(node.attributes.get("n_targets")?.i).toBe(2n);
  });
});

describe("treeEnsembleOf reproduces onnxruntime", () => {
  const cases: { name: string; encoding: string; postTransform: string; baseNonZero: boolean }[] = [
    { name: "rf_classifier", encoding: "single-score", postTransform: "NONE", baseNonZero: false },
    { name: "gb_classifier", encoding: "single-score", postTransform: "LOGISTIC", baseNonZero: true },
    { name: "xgb_classifier", encoding: "single-score", postTransform: "LOGISTIC", baseNonZero: true },
    { name: "two_column_classifier", encoding: "two-column", postTransform: "LOGISTIC", baseNonZero: false },
    { name: "gb_regressor", encoding: "regression", postTransform: "NONE", baseNonZero: true },
    { name: "double_regressor", encoding: "regression", postTransform: "NONE", baseNonZero: true },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.encoding}, ${c.postTransform}, matches onnxruntime to float32 precision`, () => {
      const fx = fixture(c.name);
      const ensemble = ensembleOf(c.name);
      expect(ensemble.explains.encoding).toBe(c.encoding);
      expect(ensemble.postTransform).toBe(c.postTransform);
      expect(ensemble.explains.output).toBe(fx.output);
      expect(ensemble.explains.column).toBe(fx.column);
      expect(ensemble.nFeatures).toBe(5);
      expect(ensemble.base !== 0).toBe(c.baseNonZero);
      expect(fx.rows.length).toBeGreaterThan(25);
      expect(worstError(ensemble, fx)).toBeLessThan(2e-6);
    });
  }

  it("gives the positive class's label", () => {
    expect(ensembleOf("rf_classifier").explains.classLabel).toBe(1n);
    expect(ensembleOf("two_column_classifier").explains.classLabel).toBe("yes");
  });

  it("folds AVERAGE's 1/n_trees into the leaves and picks the requested target", () => {
    const ensemble = ensembleOf("double_regressor");
    expect(ensemble.base).toBe(-0.125);
    // Tree 0's target-1 leaves weigh 2, -1 and 0.75, halved for two trees.
    expect([...ensemble.trees[0]!.leafValue].filter((v) => v !== 0).sort()).toEqual([-0.5, 0.375, 1]);
  });

  it("compares double inputs in double precision (rounding them to float32 would disagree with onnxruntime)", () => {
    const fx = fixture("double_regressor");
    const ensemble = ensembleOf("double_regressor");
    expect(ensemble.float32Input).toBe(false);
    expect(worstError({ ...ensemble, float32Input: true }, fx)).toBeGreaterThan(0.1);
  });

  it("refuses a model without a tree ensemble, with a reason", () => {
    const reasons: string[] = [];
    const model = parseOnnxModel(bytesOf("logistic_regression"));
    expect(model.graph.nodes[0]?.opType).toBe("LinearClassifier");
    expect(treeEnsembleOf(model, { kind: "positive-class" }, (r) => reasons.push(r))).toBeUndefined();
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/no ai\.onnx\.ml TreeEnsemble/);
  });

  it("refuses a request that does not fit the ensemble", () => {
    const reasons: string[] = [];
    const classifier = parseOnnxModel(bytesOf("gb_classifier"));
    const regressor = parseOnnxModel(bytesOf("double_regressor"));
    expect(treeEnsembleOf(classifier, { kind: "target", target: 0 }, (r) => reasons.push(r))).toBeUndefined();
    expect(treeEnsembleOf(regressor, { kind: "positive-class" }, (r) => reasons.push(r))).toBeUndefined();
    expect(treeEnsembleOf(regressor, { kind: "target", target: 2 }, (r) => reasons.push(r))).toBeUndefined();
    expect(reasons).toHaveLength(3);
    expect(reasons[2]).toMatch(/target 2 does not exist/);
  });

  it("refuses encodings whose column 1 is not a transform of one additive score", () => {
    const model = parseOnnxModel(bytesOf("two_column_classifier"));
    const node = model.graph.nodes[0]!;
    const withAttribute = (name: string, attribute: object): OnnxModel => ({
      ...model,
      graph: { ...model.graph, nodes: [{ ...node, attributes: new Map([...node.attributes, [name, { name, ...attribute }]]) }] },
    });
    const reasonFor = (m: OnnxModel): string => {
      let reason = "";
      expect(treeEnsembleOf(m, { kind: "positive-class" }, (r) => (reason = r))).toBeUndefined();
      return reason;
    };
    expect(reasonFor(withAttribute("post_transform", { s: "SOFTMAX" }))).toMatch(/SOFTMAX/);
    expect(reasonFor(withAttribute("base_values", { floats: [0.1, 0.2] }))).toMatch(/base_values/);
    expect(reasonFor(withAttribute("classlabels_strings", { strings: ["a", "b", "c"] }))).toMatch(/3 classes/);
    expect(reasonFor(withAttribute("class_ids", { ints: [0n, 1n, 0n, 1n, 0n, 1n, 0n, 2n, 0n, 1n] }))).toMatch(/class_ids/);
  });
});

describe("parseOnnxModel refuses what is not a complete model", () => {
  it("rejects empty input, text and images", () => {
    const samples = [new Uint8Array(0), new TextEncoder().encode('{"not": "onnx"}'), Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])];
    for (const bytes of samples) expect(() => parseOnnxModel(bytes)).toThrow(OnnxFormatError);
  });

  it("rejects random byte strings", () => {
    let seed = 12345;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 24;
    };
    for (let i = 0; i < 200; i++) {
      const bytes = Uint8Array.from({ length: 1 + ((i * 37) % 3000) }, next);
      expect(() => parseOnnxModel(bytes), `sample ${i}`).toThrow(OnnxFormatError);
    }
  });

  for (const name of ["rf_classifier", "double_regressor"]) {
    it(`${name}: every truncation throws or loses only redundant bytes`, () => {
      const bytes = bytesOf(name);
      const full = parseOnnxModel(bytes);
      let threw = 0;
      for (let length = 0; length < bytes.length; length++) {
        try {
          // A prefix may only parse if what it lost changes nothing we read (a repeated opset import).
          expect(parseOnnxModel(bytes.subarray(0, length)), `prefix of ${length} bytes`).toEqual(full);
        } catch (err) {
          if (!(err instanceof OnnxFormatError)) throw err;
          threw++;
        }
      }
      expect(threw).toBeGreaterThan(bytes.length - 4);
      expect(() => parseOnnxModel(bytes.subarray(0, bytes.length - 1))).toThrow(OnnxFormatError);
      expect(() => parseOnnxModel(bytes.subarray(0, bytes.length >> 1))).toThrow(/premature EOF|truncated/);
    });
  }
});

// Hand-written protobuf, to cover what converters do not emit: packed attribute lists, initializer inputs, bad graphs.
function message(write: (w: BinaryWriter) => void): Uint8Array {
  const w = new BinaryWriter();
  write(w);
  return w.finish();
}

function valueInfo(name: string, dims: (number | string | undefined)[]): Uint8Array {
  const shape = message((s) => {
    for (const d of dims) {
      s.tag(1, WireType.LengthDelimited).bytes(
        message((dim) => {
          if (typeof d === "number") dim.tag(1, WireType.Varint).int64(d);
          if (typeof d === "string") dim.tag(2, WireType.LengthDelimited).string(d);
        }),
      );
    }
  });
  const tensorType = message((t) => t.tag(1, WireType.Varint).int32(OnnxElemType.FLOAT).tag(2, WireType.LengthDelimited).bytes(shape));
  const type = message((t) => t.tag(1, WireType.LengthDelimited).bytes(tensorType));
  return message((v) => v.tag(1, WireType.LengthDelimited).string(name).tag(2, WireType.LengthDelimited).bytes(type));
}

function handModel(options: { packed: boolean; withNode?: boolean; opsetDomain?: string }): Uint8Array {
  const ints = [1n, -2n, 3_000_000_000n];
  const floats = [0.5, -1.25];
  const attribute = message((a) => {
    a.tag(1, WireType.LengthDelimited).string("values");
    if (options.packed) {
      a.tag(8, WireType.LengthDelimited).fork();
      for (const v of ints) a.int64(v);
      a.join();
      a.tag(7, WireType.LengthDelimited).fork();
      for (const v of floats) a.float(v);
      a.join();
    } else {
      for (const v of ints) a.tag(8, WireType.Varint).int64(v);
      for (const v of floats) a.tag(7, WireType.Bit32).float(v);
    }
    a.tag(99, WireType.Bit64).double(1); // unknown field: skipped
  });
  const node = message((n) =>
    n
      .tag(1, WireType.LengthDelimited)
      .string("X")
      .tag(1, WireType.LengthDelimited)
      .string("W")
      .tag(2, WireType.LengthDelimited)
      .string("Y")
      .tag(4, WireType.LengthDelimited)
      .string("Custom")
      .tag(7, WireType.LengthDelimited)
      .string("example.domain")
      .tag(5, WireType.LengthDelimited)
      .bytes(attribute),
  );
  const initializer = message((t) => t.tag(8, WireType.LengthDelimited).string("W").tag(2, WireType.Varint).int32(1).tag(4, WireType.LengthDelimited).bytes(new Uint8Array(4)));
  const graph = message((g) => {
    if (options.withNode !== false) g.tag(1, WireType.LengthDelimited).bytes(node);
    g.tag(5, WireType.LengthDelimited).bytes(initializer);
    g.tag(11, WireType.LengthDelimited).bytes(valueInfo("X", ["N", 3, undefined]));
    g.tag(11, WireType.LengthDelimited).bytes(valueInfo("W", [1]));
    g.tag(12, WireType.LengthDelimited).bytes(valueInfo("Y", ["N"]));
  });
  const opset = message((o) => o.tag(1, WireType.LengthDelimited).string(options.opsetDomain ?? "example.domain").tag(2, WireType.Varint).int64(3));
  return message((m) => m.tag(1, WireType.Varint).int64(9).tag(7, WireType.LengthDelimited).bytes(graph).tag(8, WireType.LengthDelimited).bytes(opset));
}

describe("parseOnnxModel wire details", () => {
  it("reads packed and unpacked repeated fields alike, skipping unknown fields", () => {
    const packed = parseOnnxModel(handModel({ packed: true }));
    const unpacked = parseOnnxModel(handModel({ packed: false }));
    const attribute = packed.graph.nodes[0]?.attributes.get("values");
    expect(attribute?.ints).toEqual([1n, -2n, 3_000_000_000n]);
    expect(attribute?.floats).toEqual([0.5, -1.25]);
    expect(unpacked).toEqual(packed);
  });

  it("reports initializers and dimension kinds so callers can find the real inputs", () => {
    const model = parseOnnxModel(handModel({ packed: true }));
    expect(model.graph.initializers).toEqual(["W"]);
    expect(model.graph.inputs.map((i) => i.name)).toEqual(["X", "W"]);
    expect(model.graph.inputs[0]?.shape).toEqual(["N", 3, undefined]);
    expect(model.graph.nodes[0]?.domain).toBe("example.domain");
  });

  it("rejects a graph without nodes and a node whose domain has no opset import", () => {
    expect(() => parseOnnxModel(handModel({ packed: true, withNode: false }))).toThrow(/no nodes/);
    expect(() => parseOnnxModel(handModel({ packed: true, opsetDomain: "other" }))).toThrow(/imports no opset/);
  });
});

describe("onnxruntime sessions", () => {
  it("refuse a tree ensemble onnxruntime cannot initialise without printing onnxruntime's own log to stderr", () => {
    // A process of its own: onnxruntime writes to file descriptor 2 directly, past anything this process could catch.
    const runner = new URL("../../server/src/influence/model-runner.ts", import.meta.url).href;
    const script = [
      `import { readFileSync } from "node:fs";`,
      `import { openRunner } from ${JSON.stringify(runner)};`,
      `const bytes = readFileSync(new URL("broken_tree.onnx", ${JSON.stringify(FIXTURES.href)}));`,
      `await openRunner(bytes, { features: [], outputs: [] }, 0, { intraOpThreads: 1 }).then(() => console.log("opened"), (e) => console.log("refused: " + String(e).slice(0, 60)));`,
    ].join("\n");
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" });
    expect(run.stdout).toMatch(/^refused: Error: Exception during initialization/);
    expect(run.stderr).toBe("");
  });
});

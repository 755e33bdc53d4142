// Turns an ai.onnx.ml TreeEnsembleRegressor / TreeEnsembleClassifier node into plain arrays that reproduce ONE
// output column of onnxruntime as `applyPostTransform(postTransform, base + Σ_trees leafValue(leaf reached))`.
//
// Accepted encodings (anything else is refused with a reason, because an explanation of a different function
// than the one onnxruntime computes is worse than none):
//
//  { kind: "target", target: t } on a TreeEnsembleRegressor, n_targets ≥ 1, 0 ≤ t < n_targets:
//    aggregate_function SUM or AVERAGE (AVERAGE folds 1/n_trees into each leaf), post_transform NONE,
//    base_values empty, or one per target. Output column t of the regressor output. skl2onnx's GradientBoosting
//    and RandomForest regressors and onnxmltools' XGBRegressor all use SUM/NONE, RandomForest with the 1/n_trees
//    already folded into its weights.
//
//  { kind: "positive-class" } on a TreeEnsembleClassifier with exactly two class labels: column 1 of the
//    probability output, P(classlabels[1]), in one of two layouts:
//    - "single-score": every class_ids entry is 0 and base_values has at most one value. Despite the id, onnxruntime
//      treats that sum as the score of the SECOND label: P1 = T(s) with s = base + Σw (and P0 = 1 − s under NONE
//      with non-negative weights, −s under NONE otherwise, T(−s) under LOGISTIC). skl2onnx 1.20 writes binary
//      RandomForest and DecisionTree classifiers this way (weights P(label 1)/n_trees, NONE, no base), and
//      GradientBoosting as well as onnxmltools' XGBClassifier too (log-odds leaves, base_values = [prior log-odds],
//      LOGISTIC).
//    - "two-column": class_ids use both 0 and 1, every leaf carries a class-1 weight and base_values is empty:
//      P1 = T(Σ class-1 weights). (With base_values or a leaf lacking a class-1 weight onnxruntime mixes the
//      class-0 score into column 1, so those are refused.)
//    T is NONE or LOGISTIC; SOFTMAX / SOFTMAX_ZERO / PROBIT are refused. Checked against onnxruntime 1.30
//    (onnxruntime-node) and 1.32 (Python).
//
// Also required: ai.onnx.ml opset 1 to 4 (the operators' semantics do not change before opset 5 replaces them),
// tree node ids 0..n-1 listed root first with each tree's nodes contiguous (onnxruntime's own reading), and no
// shared children. The tree node must read a graph input directly (a FLOAT or DOUBLE [N, F] tensor), so features
// are the model's own input columns, and the explained output must reach a graph output through Identity nodes only.
import type { OnnxAttribute, OnnxGraph, OnnxModel, OnnxNode, OnnxValueInfo } from "./onnx-model.js";
import { OnnxElemType } from "./onnx-model.js";

/** Node comparison modes, as stored in `Tree.mode`. */
export const NodeMode = { LEAF: 0, BRANCH_LEQ: 1, BRANCH_LT: 2, BRANCH_GTE: 3, BRANCH_GT: 4, BRANCH_EQ: 5, BRANCH_NEQ: 6 } as const;

/** One tree, one entry per node; node 0 is the root. */
export interface Tree {
  /** Input column a split reads; unused (0) for leaves. */
  feature: Int32Array;
  /**
   * Split thresholds exactly as the model stores them. Float64 so that double-precision thresholds
   * (nodes_values_as_tensor) survive; float32 thresholds widen exactly.
   */
  threshold: Float64Array;
  mode: Uint8Array;
  yes: Int32Array;
  no: Int32Array;
  /** 1: a NaN feature value takes the `yes` branch (nodes_missing_value_tracks_true). */
  missingYes: Uint8Array;
  /** The explained column's weight at each leaf (0 for splits), AVERAGE's 1/n_trees included. */
  leafValue: Float64Array;
}

/** A tree of `n` zeroed nodes (leaves of weight 0, since NodeMode.LEAF is 0), for builders that fill nodes in place. */
export function emptyTree(n: number): Tree {
  return {
    feature: new Int32Array(n),
    threshold: new Float64Array(n),
    mode: new Uint8Array(n),
    yes: new Int32Array(n),
    no: new Int32Array(n),
    missingYes: new Uint8Array(n),
    leafValue: new Float64Array(n),
  };
}

export type PostTransform = "NONE" | "LOGISTIC";

export type TreeOutputRequest =
  /** The raw score behind P(second class label) of a binary classifier. */
  | { kind: "positive-class" }
  /** Regression target (output column) `target`; 0 for single-output regressors. */
  | { kind: "target"; target: number };

export interface TreeEnsemble {
  nFeatures: number;
  /**
   * onnxruntime compares a float input after it is a float32 (so x is rounded first); a double input is compared
   * in double precision against the stored threshold.
   */
  float32Input: boolean;
  trees: Tree[];
  base: number;
  /** Maps the raw score to the explained output column: `applyPostTransform(postTransform, raw)`. */
  postTransform: PostTransform;
  /** Which output this ensemble reproduces. */
  explains: {
    /** Graph output name holding the column. */
    output: string;
    column: number;
    /** For classifiers, the class label of the column. */
    classLabel?: bigint | string;
    encoding: "regression" | "single-score" | "two-column";
  };
}

/**
 * Extracts the tree ensemble that produces the requested output of `model`, or undefined (after calling
 * `onRefuse` with the reason) when the model is not one of the encodings listed at the top of this file.
 */
export function treeEnsembleOf(model: OnnxModel, request: TreeOutputRequest, onRefuse?: (reason: string) => void): TreeEnsemble | undefined {
  try {
    return extract(model, request);
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    onRefuse?.(err.message);
    return undefined;
  }
}

/** The raw score of one row (`x` holds at least nFeatures values), before the post transform. */
export function predictRaw(ensemble: TreeEnsemble, x: Float64Array): number {
  let sum = 0;
  for (const tree of ensemble.trees) {
    let node = 0;
    while (tree.mode[node] !== NodeMode.LEAF) {
      const value = x[tree.feature[node]!]!;
      node = takesYes(tree, node, ensemble.float32Input ? Math.fround(value) : value) ? tree.yes[node]! : tree.no[node]!;
    }
    sum += tree.leafValue[node]!;
  }
  return ensemble.base + sum;
}

export function applyPostTransform(transform: PostTransform, raw: number): number {
  return transform === "LOGISTIC" ? 1 / (1 + Math.exp(-raw)) : raw;
}

/**
 * Whether a split node sends `value` (already rounded to float32 for float inputs) down its `yes` branch.
 * Mirrors onnxruntime: `value CMP threshold || (missing_tracks_true && isnan(value))`, so NaN goes `yes` for
 * BRANCH_NEQ (NaN != t) or when missing values track true, and `no` otherwise.
 */
export function takesYes(tree: Tree, node: number, value: number): boolean {
  const t = tree.threshold[node]!;
  if (value !== value) return tree.missingYes[node] === 1 || tree.mode[node] === NodeMode.BRANCH_NEQ;
  switch (tree.mode[node]) {
    case NodeMode.BRANCH_LEQ:
      return value <= t;
    case NodeMode.BRANCH_LT:
      return value < t;
    case NodeMode.BRANCH_GTE:
      return value >= t;
    case NodeMode.BRANCH_GT:
      return value > t;
    case NodeMode.BRANCH_EQ:
      return value === t;
    default:
      return value !== t;
  }
}

class Refusal extends Error {}

function refuse(reason: string): never {
  throw new Refusal(reason);
}

const MODE_BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(NodeMode));

function extract(model: OnnxModel, request: TreeOutputRequest): TreeEnsemble {
  const { graph } = model;
  const treeNodes = graph.nodes.filter((n) => n.domain === "ai.onnx.ml" && (n.opType === "TreeEnsembleRegressor" || n.opType === "TreeEnsembleClassifier"));
  if (treeNodes.length === 0) refuse("the model has no ai.onnx.ml TreeEnsembleRegressor or TreeEnsembleClassifier node");
  if (treeNodes.length > 1) refuse(`the model has ${treeNodes.length} tree ensemble nodes; only single-ensemble models are supported`);
  const node = treeNodes[0]!;
  const mlOpset = model.opsets.find((o) => o.domain === "ai.onnx.ml")?.version;
  if (mlOpset === undefined || mlOpset < 1n || mlOpset > 4n) refuse(`ai.onnx.ml opset ${String(mlOpset)} is not supported (1 to 4 are)`);
  const isClassifier = node.opType === "TreeEnsembleClassifier";
  if (isClassifier !== (request.kind === "positive-class")) {
    refuse(`a ${request.kind === "positive-class" ? "positive-class score" : "regression target"} was asked of a ${node.opType}`);
  }

  const input = directGraphInput(graph, node);
  const attrs = new Attributes(node);
  const layout = readNodes(attrs);
  const maxFeature = layout.featureIds.reduce((m, f) => Math.max(m, f), -1);
  const declared = input.shape?.[1];
  const nFeatures = typeof declared === "number" ? declared : maxFeature + 1;
  if (maxFeature >= nFeatures) refuse(`a split reads feature ${maxFeature} but the input has ${nFeatures} columns`);

  const selection = isClassifier ? selectPositiveClass(attrs) : selectTarget(attrs, request.kind === "target" ? request.target : 0);
  const trees = buildTrees(layout, selection.weights, selection.encoding === "two-column");
  const output = reachedGraphOutput(graph, node.outputs[isClassifier ? 1 : 0]);
  return {
    nFeatures,
    float32Input: input.elemType === OnnxElemType.FLOAT,
    trees,
    base: selection.base,
    postTransform: selection.postTransform,
    explains: { output, column: selection.column, ...(selection.classLabel !== undefined ? { classLabel: selection.classLabel } : {}), encoding: selection.encoding },
  };
}

function directGraphInput(graph: OnnxGraph, node: OnnxNode): OnnxValueInfo {
  const name = node.inputs[0];
  const input = graph.inputs.find((i) => i.name === name);
  if (input === undefined || graph.initializers.includes(name ?? "")) {
    refuse(`the tree ensemble reads "${String(name)}", which is computed inside the graph, not a model input; its features are not the model's`);
  }
  if (input.kind !== "tensor" || (input.elemType !== OnnxElemType.FLOAT && input.elemType !== OnnxElemType.DOUBLE)) {
    refuse(`input "${input.name}" is not a float or double tensor`);
  }
  if (input.shape !== undefined && input.shape.length !== 2) refuse(`input "${input.name}" has rank ${input.shape.length}, expected [N, F]`);
  return input;
}

function reachedGraphOutput(graph: OnnxGraph, start: string | undefined): string {
  let name = start;
  for (let hops = 0; name !== undefined && hops <= graph.nodes.length; hops++) {
    const current: string = name;
    if (graph.outputs.some((o) => o.name === current)) return current;
    const consumers = graph.nodes.filter((n) => n.inputs.includes(current));
    const only = consumers[0];
    if (consumers.length !== 1 || only === undefined || only.opType !== "Identity" || only.domain !== "") break;
    name = only.outputs[0];
  }
  return refuse(`the tree ensemble's output "${String(start)}" reaches no graph output through Identity nodes only`);
}

// Attribute access that refuses on type confusion instead of guessing.
class Attributes {
  constructor(private readonly node: OnnxNode) {}

  private get(name: string): OnnxAttribute | undefined {
    return this.node.attributes.get(name);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  ints(name: string, required: boolean): number[] {
    const values = this.get(name)?.ints;
    if (values === undefined) return required ? refuse(`attribute ${name} is missing`) : [];
    return values.map((v) => {
      if (v > 2147483647n || v < -2147483648n) refuse(`attribute ${name} holds ${v}, out of range`);
      return Number(v);
    });
  }

  int(name: string, fallback: number): number {
    const value = this.get(name)?.i;
    return value === undefined ? fallback : Number(value);
  }

  string(name: string, fallback: string): string {
    return this.get(name)?.s ?? fallback;
  }

  strings(name: string): string[] {
    return this.get(name)?.strings ?? [];
  }

  /** `name` or `name_as_tensor` (float or double), as doubles. */
  reals(name: string, required: boolean): number[] {
    const plain = this.get(name)?.floats;
    const tensor = this.get(`${name}_as_tensor`)?.t;
    if (plain !== undefined && tensor !== undefined) refuse(`both ${name} and ${name}_as_tensor are set`);
    if (plain !== undefined) return plain;
    if (tensor !== undefined) {
      if (tensor.dataType === OnnxElemType.DOUBLE) return tensor.doubles;
      if (tensor.dataType === OnnxElemType.FLOAT) return tensor.floats;
      refuse(`${name}_as_tensor has data type ${tensor.dataType}`);
    }
    return required ? refuse(`attribute ${name} is missing`) : [];
  }
}

interface NodeLayout {
  treeIds: number[];
  nodeIds: number[];
  featureIds: number[];
  values: number[];
  modes: number[];
  trueIds: number[];
  falseIds: number[];
  missingTrue: number[];
}

function readNodes(attrs: Attributes): NodeLayout {
  const treeIds = attrs.ints("nodes_treeids", true);
  const n = treeIds.length;
  const modes = attrs.strings("nodes_modes").map((m) => MODE_BY_NAME.get(m) ?? refuse(`unknown node mode "${m}"`));
  const layout: NodeLayout = {
    treeIds,
    nodeIds: attrs.ints("nodes_nodeids", true),
    featureIds: attrs.ints("nodes_featureids", true),
    values: attrs.reals("nodes_values", true),
    modes,
    trueIds: attrs.ints("nodes_truenodeids", true),
    falseIds: attrs.ints("nodes_falsenodeids", true),
    missingTrue: attrs.has("nodes_missing_value_tracks_true") ? attrs.ints("nodes_missing_value_tracks_true", true) : new Array<number>(n).fill(0),
  };
  for (const [key, list] of Object.entries(layout) as [string, number[]][]) {
    if (list.length !== n) refuse(`${key} has ${list.length} entries for ${n} nodes`);
  }
  if (n === 0) refuse("the ensemble has no nodes");
  return layout;
}

interface LeafWeights {
  treeIds: number[];
  nodeIds: number[];
  weights: number[];
}

interface Selection {
  weights: LeafWeights;
  base: number;
  postTransform: PostTransform;
  column: number;
  classLabel?: bigint | string;
  encoding: TreeEnsemble["explains"]["encoding"];
}

function selectTarget(attrs: Attributes, target: number): Selection {
  const nTargets = attrs.int("n_targets", 1);
  if (!Number.isInteger(target) || target < 0 || target >= nTargets) refuse(`target ${target} does not exist (n_targets = ${nTargets})`);
  const post = attrs.string("post_transform", "NONE");
  if (post !== "NONE") refuse(`post_transform ${post} on a regressor is not supported`);
  const aggregate = attrs.string("aggregate_function", "SUM");
  if (aggregate !== "SUM" && aggregate !== "AVERAGE") refuse(`aggregate_function ${aggregate} is not additive over trees`);
  const ids = attrs.ints("target_ids", true);
  const weights = pickWeights(attrs, "target", (id) => {
    if (id < 0 || id >= nTargets) refuse(`target_ids holds ${id}, outside 0..${nTargets - 1}`);
    return id === target;
  });
  if (ids.length === 0) refuse("the regressor has no target weights");
  if (aggregate === "AVERAGE") {
    const nTrees = new Set(attrs.ints("nodes_treeids", true)).size;
    weights.weights = weights.weights.map((w) => w / nTrees);
  }
  const bases = attrs.reals("base_values", false);
  if (bases.length !== 0 && bases.length !== nTargets) refuse(`base_values has ${bases.length} values for ${nTargets} targets`);
  return { weights, base: bases[target] ?? 0, postTransform: "NONE", column: target, encoding: "regression" };
}

function selectPositiveClass(attrs: Attributes): Selection {
  const intLabels = attrs.has("classlabels_int64s") ? attrs.ints("classlabels_int64s", true).map(BigInt) : undefined;
  const labels: (bigint | string)[] = intLabels ?? attrs.strings("classlabels_strings");
  if (labels.length !== 2) refuse(`the classifier has ${labels.length} classes; only binary classifiers are supported`);
  const post = attrs.string("post_transform", "NONE");
  if (post !== "NONE" && post !== "LOGISTIC") refuse(`post_transform ${post} is not supported for a binary classifier`);
  const classIds = attrs.ints("class_ids", true);
  const distinct = new Set(classIds);
  const bases = attrs.reals("base_values", false);
  const common = { postTransform: post, column: 1, classLabel: labels[1]! } as const;

  if (distinct.size === 1 && distinct.has(0)) {
    if (bases.length > 1) refuse(`single-score binary encoding with ${bases.length} base_values`);
    return { ...common, weights: pickWeights(attrs, "class", () => true), base: bases[0] ?? 0, encoding: "single-score" };
  }
  if (distinct.size === 2 && distinct.has(0) && distinct.has(1)) {
    if (bases.length !== 0) refuse("two-column binary encoding with base_values: onnxruntime mixes class 0's score into column 1");
    return { ...common, weights: pickWeights(attrs, "class", (id) => id === 1), base: 0, encoding: "two-column" };
  }
  return refuse(`class_ids use {${[...distinct].join(", ")}}; expected {0} or {0, 1}`);
}

function pickWeights(attrs: Attributes, prefix: "target" | "class", keep: (id: number) => boolean): LeafWeights {
  const ids = attrs.ints(`${prefix}_ids`, true);
  const treeIds = attrs.ints(`${prefix}_treeids`, true);
  const nodeIds = attrs.ints(`${prefix}_nodeids`, true);
  const weights = attrs.reals(`${prefix}_weights`, true);
  if (treeIds.length !== ids.length || nodeIds.length !== ids.length || weights.length !== ids.length) {
    refuse(`${prefix}_ids/treeids/nodeids/weights have different lengths`);
  }
  const picked: LeafWeights = { treeIds: [], nodeIds: [], weights: [] };
  for (let i = 0; i < ids.length; i++) {
    if (!keep(ids[i]!)) continue;
    picked.treeIds.push(treeIds[i]!);
    picked.nodeIds.push(nodeIds[i]!);
    picked.weights.push(weights[i]!);
  }
  return picked;
}

// onnxruntime takes each tree's first listed node as its root and relies on nodes of a tree being contiguous;
// requiring ids 0..n-1 with 0 first keeps our reading identical to its.
function buildTrees(layout: NodeLayout, weights: LeafWeights, everyLeafWeighted: boolean): Tree[] {
  const ranges: { treeId: number; start: number; end: number }[] = [];
  for (let i = 0; i < layout.treeIds.length; i++) {
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last.treeId === layout.treeIds[i]) last.end = i + 1;
    else ranges.push({ treeId: layout.treeIds[i]!, start: i, end: i + 1 });
  }
  const byTreeId = new Map<number, Tree>();
  const trees = ranges.map(({ treeId, start, end }) => {
    if (byTreeId.has(treeId)) refuse(`the nodes of tree ${treeId} are not contiguous`);
    const tree = buildTree(layout, treeId, start, end);
    byTreeId.set(treeId, tree);
    return tree;
  });
  const weighted = new Map<Tree, Uint8Array>(trees.map((t) => [t, new Uint8Array(t.mode.length)]));
  for (let i = 0; i < weights.weights.length; i++) {
    const treeId = weights.treeIds[i]!;
    const nodeId = weights.nodeIds[i]!;
    const tree = byTreeId.get(treeId) ?? refuse(`a weight refers to tree ${treeId}, which has no nodes`);
    if (nodeId < 0 || nodeId >= tree.mode.length || tree.mode[nodeId] !== NodeMode.LEAF) refuse(`a weight refers to node ${nodeId} of tree ${treeId}, which is not a leaf`);
    tree.leafValue[nodeId]! += weights.weights[i]!;
    weighted.get(tree)![nodeId] = 1;
  }
  if (everyLeafWeighted) {
    for (const [tree, seen] of weighted) {
      for (let node = 0; node < tree.mode.length; node++) {
        if (tree.mode[node] === NodeMode.LEAF && seen[node] === 0) refuse("a leaf has no weight for the explained column, which onnxruntime treats as a missing score");
      }
    }
  }
  return trees;
}

function buildTree(layout: NodeLayout, treeId: number, start: number, end: number): Tree {
  const n = end - start;
  const tree = emptyTree(n);
  const filled = new Uint8Array(n);
  if (layout.nodeIds[start] !== 0) refuse(`tree ${treeId} does not start with node 0`);
  for (let i = start; i < end; i++) {
    const id = layout.nodeIds[i]!;
    if (id < 0 || id >= n || filled[id] === 1) refuse(`tree ${treeId} has node ids that are not 0..${n - 1}`);
    filled[id] = 1;
    const mode = layout.modes[i]!;
    tree.mode[id] = mode;
    tree.missingYes[id] = layout.missingTrue[i] === 0 ? 0 : 1;
    if (mode === NodeMode.LEAF) continue;
    const yes = layout.trueIds[i]!;
    const no = layout.falseIds[i]!;
    if (yes <= 0 || yes >= n || no <= 0 || no >= n) refuse(`node ${id} of tree ${treeId} points to a node outside the tree`);
    const feature = layout.featureIds[i]!;
    if (feature < 0) refuse(`node ${id} of tree ${treeId} reads feature ${feature}`);
    tree.feature[id] = feature;
    tree.threshold[id] = layout.values[i]!;
    tree.yes[id] = yes;
    tree.no[id] = no;
  }
  requireTreeShape(tree, treeId);
  return tree;
}

// Shared children or cycles would make "the leaf a row reaches" ill-defined for SHAP's path bookkeeping.
function requireTreeShape(tree: Tree, treeId: number): void {
  const visited = new Uint8Array(tree.mode.length);
  const stack = [0];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (visited[node] === 1) refuse(`tree ${treeId} is not a tree: node ${node} is reachable twice`);
    visited[node] = 1;
    if (tree.mode[node] !== NodeMode.LEAF) stack.push(tree.yes[node]!, tree.no[node]!);
  }
}

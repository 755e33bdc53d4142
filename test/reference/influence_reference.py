"""Reference models and Shapley values for the influences feature (ComputeInfluences), from onnxruntime and shap.

Run: .venv-clients/bin/python test/reference/influence_reference.py
(writes test/reference/influence/<case>.onnx and test/reference/influence/influence-cases.json, in a few seconds)

What it generates (seeded, so every run writes the same bytes for the same library versions):

* a binary classification and regression dataset with five numeric features f0..f4: 600 training rows, the 40
  "background" rows and 25 "explain" rows. Every value is rounded to float32, so the float64 the service stores and
  the float32 an ONNX model reads are the same number. The background is the whole baseline split the service is
  given, so the service's background sample is exactly these 40 rows;
* a second dataset with twelve numeric features f0..f11 (600 training, 40 background, 10 explain rows) for "mlp12",
  the one case where KernelSHAP really samples coalitions;
* one ONNX model per case, with a single input "float_input" (float32, [N, features]):
  - logreg: LogisticRegression, PROBITS, not a tree model;
  - forest: RandomForestClassifier (20 trees, depth 5), PROBITS (probability of class 1);
  - gbc: GradientBoostingClassifier (30 trees, depth 3), LOGITS (the raw margin, log-odds);
  - gbr: GradientBoostingRegressor (30 trees, depth 3), REGRESSION;
  - mlp: MLPClassifier (one hidden layer of 8), PROBITS, not a tree model;
  - xgb: xgboost XGBClassifier (20 trees, depth 3), LOGITS, converted with onnxmltools;
  - mlp12: MLPClassifier (one hidden layer of 16) on the twelve-feature dataset, PROBITS.
  The scikit-learn models go through skl2onnx with target_opset {"": 17, "ai.onnx.ml": 3} and, for classifiers,
  zipmap disabled, so "probabilities" is a plain float32 [N, 2] tensor. skl2onnx only imports the opset versions the
  graph needs, up to those caps: ai.onnx.ml 1 everywhere (TreeEnsemble* with float attributes, no *_as_tensor) and
  ai.onnx 17, 16 or 14. onnxmltools 1.16 accepts only an integer target_opset and refuses anything above 15, so xgb
  is converted with target_opset=15; its graph is a lone TreeEnsembleClassifier importing ai.onnx.ml 1 only. The
  converters name each graph with a random UUID; it is replaced by the case name so the files are reproducible.

and, per case, in the declared score space: the onnxruntime score of every explain row, exact interventional
Shapley values by brute force over all 2^M coalitions, TreeSHAP from shap (tree models) and KernelSHAP from shap
(logreg, mlp, mlp12).

The game. g(z) is the declared score of row z computed by onnxruntime from the ONNX file (float32 input, the float32
output widened to float64). v(S) = mean over the background rows b of g(x_S, b_notS), averaged in float64, and
phi_i = sum over S not holding i of |S|! (M - |S| - 1)! / M! (v(S + i) - v(S)). exactBase is v(empty), the mean
background score, so exactBase + sum(phi) = v(all) = g(x). Every coalition row of one explain row goes through
onnxruntime in one batch (single-threaded session).

Scores in ONNX. The classifiers' graphs output "label" and "probabilities" only, never a margin:
* PROBITS: the score is probabilities[:, 1].
* LOGITS (gbc, xgb): the TreeEnsembleClassifier holds one score column (class_ids all 0, classlabels [0, 1]), adds
  base_values[0] and applies post_transform LOGISTIC; onnxruntime then writes [1 - sigmoid(m), sigmoid(m)]. The
  margin m is read from the same tree structure: the game evaluates a copy of the graph whose post_transform is NONE,
  for which onnxruntime writes [-m, m] (checked below against the shipped graph). Taking logit(p) of the shipped
  graph's float32 probability instead loses precision wherever p is near 0 or 1; "exactFromProbability" holds the
  Shapley values of that game, g = log(p / (1 - p)) in float64, for comparison, and maxAbsDiff reports both gaps.
* REGRESSION: the score is variable[:, 0].

TreeSHAP. shap.TreeExplainer(model, data=background, feature_perturbation="interventional") on the fitted
scikit-learn / xgboost model, model_output "raw": class-1 probability for the forest, the log-odds margin for gbc
and xgb, the prediction for gbr. It agrees with the brute-force values to about 1e-7, the float32 rounding of leaf
weights and sums (shap's interventional code keeps thresholds and leaf values as C float; onnxruntime adds float32
weights in float32). One trap, found while building this file and guarded by an assertion: scikit-learn compares
float32 x <= float64 threshold t, and skl2onnx writes nodes_values as the largest float32 <= t, so both agree; shap's
interventional code rounds t to the nearest float32 instead, so a row whose value is exactly float32(t) > t goes left
in shap and right in the model. With data on a 0.001 decimal grid (an earlier version of this script) midpoints of
grid values land on the grid, one background value hit such a threshold in the forest and treeShap was 4e-4 off the
exact (and KernelSHAP) values. Plain float32 noise makes such ties practically impossible; shapFloat32ThresholdTies
counts them (must be 0). shap moves xgboost's float32 "<" thresholds one ulp down itself, so xgb has no such trap.
"structureScore" is the ONNX tree ensemble evaluated in Python with float64 sums of its float32 weights, the way a
service computing TreeSHAP from the ONNX attributes would: a few 1e-7 from onnxruntime's float32 accumulation.

KernelSHAP. shap.KernelExplainer(f, background) with the identity link, f = the declared score from onnxruntime,
called as shap_values(explain, nsamples=..., l1_reg=False, silent=True) after np.random.seed(KERNEL_SEED); l1_reg=False
turns off shap's feature selection (its default "num_features(10)" would zero out features on mlp12). With five
features shap caps nsamples at 2^5 - 2 = 30 and enumerates every coalition, so kernelShap equals the exact values to
rounding: 4e-16 for mlp, 1.2e-8 for logreg, because onnxruntime's LinearClassifier output for a row changes by a
float32 ulp with the batch size (from 8 rows up), and shap batches differently from the brute force. mlp12
(2^12 - 2 = 4094 coalitions) samples 500 of them; its sampling error against the exact values is in
maxAbsDiff.kernelShapVsExact, and kernelShapAtDefault repeats the run at the service's default sample count
(2048 + 2 x features = 2072) for comparison.

Layout of influence-cases.json: top-level "features", "background" and "explain" belong to the five-feature
dataset; a case that carries its own "features", "background" and "explain" (mlp12) uses those instead. Rows are
lists of float64 in feature order. Shapley arrays are [explain row][feature].
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import copy
import json
import math
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxmltools
import onnxruntime as ort
import shap
import skl2onnx
import sklearn
import xgboost
from onnx import helper
from onnxmltools.convert.common.data_types import FloatTensorType as MlFloatTensorType
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

OUT_DIR = Path(__file__).with_name("influence")
CASES_FILE = OUT_DIR / "influence-cases.json"
SEED = 20260415
KERNEL_SEED = 7
INPUT_NAME = "float_input"
SKL_OPSET = {"": 17, "ai.onnx.ml": 3}
XGB_OPSET = 15

TRAIN_ROWS = 600
BACKGROUND_ROWS = 40
EXPLAIN_ROWS = 25
EXPLAIN_ROWS_12 = 10
KERNEL_SAMPLES = 200
KERNEL_SAMPLES_12 = 500

Scorer = Callable[[np.ndarray], np.ndarray]


# ─── Data ─────────────────────────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Dataset:
    features: list[str]
    train: np.ndarray
    background: np.ndarray
    explain: np.ndarray
    y_class: np.ndarray  # training labels, 0/1
    y_reg: np.ndarray | None  # training regression target


def as_float32(values: np.ndarray) -> np.ndarray:
    """Rounds to float32 and widens back: float64 values exactly representable in float32.

    No coarser (decimal) grid on purpose: see "TreeSHAP" in the module docstring.
    """
    return values.astype(np.float32).astype(np.float64)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def split_rows(x: np.ndarray, explain_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return x[:TRAIN_ROWS], x[TRAIN_ROWS : TRAIN_ROWS + BACKGROUND_ROWS], x[TRAIN_ROWS + BACKGROUND_ROWS : TRAIN_ROWS + BACKGROUND_ROWS + explain_rows]


def make_dataset5(rng: np.random.Generator) -> Dataset:
    n = TRAIN_ROWS + BACKGROUND_ROWS + EXPLAIN_ROWS
    f0 = rng.normal(0.0, 1.0, n)
    f1 = rng.uniform(-2.0, 2.0, n)
    f2 = rng.normal(0.5, 1.5, n)
    f3 = rng.exponential(1.0, n)
    f4 = 0.6 * f0 + 0.8 * rng.normal(0.0, 1.0, n)
    x = as_float32(np.column_stack([f0, f1, f2, f3, f4]))
    x0, x1, x2, x3, x4 = x.T
    logit = 1.2 * x0 - 0.8 * x1 + 0.5 * x2 * x4 + 0.9 * (x3 > 1.0) - 0.4
    y_class = (rng.random(n) < sigmoid(logit)).astype(np.int64)
    y_reg = 2.0 * x0 + 1.5 * np.sin(1.5 * x1) + 0.5 * x3**2 - x2 * x4 + rng.normal(0.0, 0.3, n)
    train, background, explain = split_rows(x, EXPLAIN_ROWS)
    return Dataset([f"f{i}" for i in range(5)], train, background, explain, y_class[:TRAIN_ROWS], y_reg[:TRAIN_ROWS])


def make_dataset12(rng: np.random.Generator) -> Dataset:
    n = TRAIN_ROWS + BACKGROUND_ROWS + EXPLAIN_ROWS_12
    raw = rng.normal(0.0, 1.0, (n, 12))
    raw[:, 3] = rng.uniform(-1.5, 1.5, n)
    raw[:, 7] = rng.exponential(1.0, n)
    raw[:, 9] = 0.5 * raw[:, 2] + 0.85 * raw[:, 9]
    x = as_float32(raw)
    logit = (
        1.0 * x[:, 0] - 0.9 * x[:, 1] + 0.7 * x[:, 2] * x[:, 3] + 0.6 * np.abs(x[:, 4]) - 0.5 * x[:, 5]
        + 0.4 * x[:, 6] + 0.8 * (x[:, 7] > 0.8) - 0.3 * x[:, 8] + 0.2 * x[:, 9] + 0.5 * x[:, 10] * x[:, 11] - 0.5
    )
    y_class = (rng.random(n) < sigmoid(logit)).astype(np.int64)
    train, background, explain = split_rows(x, EXPLAIN_ROWS_12)
    return Dataset([f"f{i}" for i in range(12)], train, background, explain, y_class[:TRAIN_ROWS], None)


# ─── ONNX ─────────────────────────────────────────────────────────────────────────────────────────────────────────


def to_onnx_sklearn(model: Any, n_features: int, classifier: bool) -> onnx.ModelProto:
    options = {id(model): {"zipmap": False}} if classifier else None
    return convert_sklearn(
        model,
        initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
        target_opset=SKL_OPSET,
        options=options,
    )


def to_onnx_xgb(model: xgboost.XGBClassifier, n_features: int) -> onnx.ModelProto:
    return onnxmltools.convert_xgboost(
        model, initial_types=[(INPUT_NAME, MlFloatTensorType([None, n_features]))], target_opset=XGB_OPSET
    )


def session(proto: onnx.ModelProto) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])


def tree_node(proto: onnx.ModelProto) -> onnx.NodeProto | None:
    found = [n for n in proto.graph.node if n.op_type in ("TreeEnsembleClassifier", "TreeEnsembleRegressor")]
    assert len(found) <= 1
    return found[0] if found else None


def attributes(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def margin_graph(proto: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of a binary tree classifier whose TreeEnsembleClassifier skips its LOGISTIC post_transform."""
    copied = copy.deepcopy(proto)
    node = tree_node(copied)
    assert node is not None and node.op_type == "TreeEnsembleClassifier"
    for attribute in node.attribute:
        if attribute.name == "post_transform":
            assert attribute.s == b"LOGISTIC", attribute.s
            attribute.s = b"NONE"
            return copied
    raise AssertionError("no post_transform attribute")


def column_scorer(sess: ort.InferenceSession, output: str, column: int) -> Scorer:
    def score(x: np.ndarray) -> np.ndarray:
        result = sess.run([output], {INPUT_NAME: np.asarray(x, dtype=np.float32)})[0]
        return result[:, column].astype(np.float64)

    return score


def logit_scorer(probability: Scorer) -> Scorer:
    def score(x: np.ndarray) -> np.ndarray:
        p = probability(x)
        return np.log(p / (1.0 - p))

    return score


def value_info_json(info: onnx.ValueInfoProto) -> dict[str, Any]:
    tensor = info.type.tensor_type
    shape = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
    return {"name": info.name, "elemType": onnx.TensorProto.DataType.Name(tensor.elem_type), "shape": shape}


def describe_graph(proto: onnx.ModelProto, file_name: str) -> dict[str, Any]:
    described: dict[str, Any] = {
        "file": file_name,
        "producer": f"{proto.producer_name} {proto.producer_version}",
        "irVersion": proto.ir_version,
        "opsetImport": {(o.domain or "ai.onnx"): o.version for o in proto.opset_import},
        "inputs": [value_info_json(i) for i in proto.graph.input],
        "outputs": [value_info_json(o) for o in proto.graph.output],
        "nodes": [n.op_type for n in proto.graph.node],
    }
    node = tree_node(proto)
    if node is not None:
        attrs = attributes(node)
        prefix = "class" if node.op_type == "TreeEnsembleClassifier" else "target"
        float_weights = f"{prefix}_weights" in attrs
        described["treeEnsemble"] = {
            "op": node.op_type,
            "postTransform": attrs.get("post_transform", b"NONE").decode(),
            "baseValues": [float(v) for v in attrs.get("base_values", [])],
            "classLabels": [int(v) for v in attrs.get("classlabels_int64s", [])] if prefix == "class" else None,
            "distinctScoreIds": sorted({int(v) for v in attrs[f"{prefix}_ids"]}),
            "weightsAttribute": f"{prefix}_weights" if float_weights else f"{prefix}_weights_as_tensor",
            "thresholdsAttribute": "nodes_values" if "nodes_values" in attrs else "nodes_values_as_tensor",
            "nodeModes": sorted({m.decode() for m in attrs["nodes_modes"]}),
            "trees": len(set(attrs["nodes_treeids"])),
            "nodes": len(attrs["nodes_treeids"]),
            "leafWeights": len(attrs[f"{prefix}_ids"]),
        }
    return described


@dataclass
class OnnxTree:
    feature: dict[int, int] = field(default_factory=dict)
    threshold: dict[int, float] = field(default_factory=dict)
    mode: dict[int, str] = field(default_factory=dict)
    true_child: dict[int, int] = field(default_factory=dict)
    false_child: dict[int, int] = field(default_factory=dict)
    weight: dict[int, float] = field(default_factory=dict)


def structure_scorer(proto: onnx.ModelProto) -> Callable[[np.ndarray], np.ndarray]:
    """The tree ensemble's score before post_transform, summed in float64 from its float32 attributes."""
    node = tree_node(proto)
    assert node is not None
    attrs = attributes(node)
    prefix = "class" if node.op_type == "TreeEnsembleClassifier" else "target"
    trees: dict[int, OnnxTree] = {}
    for i, tree_id in enumerate(attrs["nodes_treeids"]):
        tree = trees.setdefault(tree_id, OnnxTree())
        node_id = attrs["nodes_nodeids"][i]
        tree.mode[node_id] = attrs["nodes_modes"][i].decode()
        tree.feature[node_id] = attrs["nodes_featureids"][i]
        tree.threshold[node_id] = float(attrs["nodes_values"][i])
        tree.true_child[node_id] = attrs["nodes_truenodeids"][i]
        tree.false_child[node_id] = attrs["nodes_falsenodeids"][i]
    for tree_id, node_id, score_id, weight in zip(
        attrs[f"{prefix}_treeids"], attrs[f"{prefix}_nodeids"], attrs[f"{prefix}_ids"], attrs[f"{prefix}_weights"]
    ):
        assert score_id == 0
        trees[tree_id].weight[node_id] = trees[tree_id].weight.get(node_id, 0.0) + float(weight)
    base = float(attrs.get("base_values", [0.0])[0])

    def leaf_value(tree: OnnxTree, row: np.ndarray) -> float:
        node_id = 0
        while tree.mode[node_id] != "LEAF":
            x, t = row[tree.feature[node_id]], tree.threshold[node_id]
            mode = tree.mode[node_id]
            goes_true = x <= t if mode == "BRANCH_LEQ" else x < t if mode == "BRANCH_LT" else None
            assert goes_true is not None, mode
            node_id = tree.true_child[node_id] if goes_true else tree.false_child[node_id]
        return tree.weight.get(node_id, 0.0)

    def score(x: np.ndarray) -> np.ndarray:
        return np.array([base + math.fsum(leaf_value(t, row) for t in trees.values()) for row in x])

    return score


# ─── Shapley values ───────────────────────────────────────────────────────────────────────────────────────────────


def coalition_masks(m: int) -> np.ndarray:
    """Row s of the result is coalition s: feature i is in it when bit i of s is set."""
    return ((np.arange(2**m)[:, None] >> np.arange(m)[None, :]) & 1).astype(bool)


def shapley_weights(m: int) -> np.ndarray:
    """Weight of a coalition of size s not holding feature i, indexed by s: s! (m - s - 1)! / m!."""
    return np.array([math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m) for s in range(m)])


def exact_shapley(score: Scorer, x: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Brute-force interventional Shapley values of one row: (phi, v(empty), v(all))."""
    m = x.shape[0]
    masks = coalition_masks(m)
    hybrid = np.where(masks[:, None, :], x[None, None, :], background[None, :, :])
    values = score(hybrid.reshape(-1, m)).reshape(len(masks), len(background)).mean(axis=1)
    weights = shapley_weights(m)
    sizes = masks.sum(axis=1)
    phi = np.zeros(m)
    for i in range(m):
        without = np.flatnonzero(~masks[:, i])
        with_i = without | (1 << i)
        phi[i] = math.fsum(weights[sizes[without]] * (values[with_i] - values[without]))
    return phi, float(values[0]), float(values[-1])


@dataclass(frozen=True)
class ExactResult:
    shapley: np.ndarray
    base: float
    full: np.ndarray


def exact_all(score: Scorer, explain: np.ndarray, background: np.ndarray) -> ExactResult:
    rows = [exact_shapley(score, x, background) for x in explain]
    bases = {r[1] for r in rows}
    assert len(bases) == 1, bases
    return ExactResult(np.array([r[0] for r in rows]), rows[0][1], np.array([r[2] for r in rows]))


def shap_threshold_ties(model: Any, rows: np.ndarray) -> int | None:
    """Splits of a scikit-learn forest where one of the rows sits exactly on float32(threshold) > threshold.

    For such a value scikit-learn (float32 x <= float64 t) and skl2onnx (whose nodes_values hold the largest float32
    <= t) send the row right, but shap's interventional TreeSHAP, which keeps thresholds as C float rounded to
    nearest, sends it left. None for models other than scikit-learn ensembles (shap moves xgboost's float32 "<"
    thresholds one ulp down itself, so they compare alike).
    """
    if not hasattr(model, "estimators_") or isinstance(model, xgboost.XGBModel):
        return None
    ties = 0
    for estimator in np.ravel(model.estimators_):
        tree = estimator.tree_
        for node in np.flatnonzero(tree.children_left != -1):
            t = float(tree.threshold[node])
            t32 = float(np.float32(t))
            if t32 > t:
                ties += int(np.count_nonzero(rows[:, tree.feature[node]] == t32))
    return ties


def tree_shap(model: Any, background: np.ndarray, explain: np.ndarray) -> tuple[np.ndarray, float]:
    explainer = shap.TreeExplainer(model, data=background, feature_perturbation="interventional")
    values = np.asarray(explainer.shap_values(explain), dtype=np.float64)
    base = np.ravel(np.asarray(explainer.expected_value, dtype=np.float64))
    if values.ndim == 3:  # per-class output (the forest): keep class 1
        assert values.shape[2] == 2 and base.shape == (2,)
        return values[:, :, 1], float(base[1])
    assert values.ndim == 2 and base.shape == (1,)
    return values, float(base[0])


@dataclass(frozen=True)
class KernelResult:
    values: np.ndarray
    base: float
    settings: dict[str, Any]


def kernel_shap(score: Scorer, background: np.ndarray, explain: np.ndarray, nsamples: int) -> KernelResult:
    explainer = shap.KernelExplainer(score, background, link="identity")
    np.random.seed(KERNEL_SEED)
    values = np.asarray(explainer.shap_values(explain, nsamples=nsamples, l1_reg=False, silent=True), dtype=np.float64)
    assert values.shape == explain.shape, values.shape
    m = explain.shape[1]
    settings = {
        "nsamples": nsamples,
        "nsamplesUsed": int(explainer.nsamples),
        "coalitions": 2**m - 2,
        "enumeratesAll": int(explainer.nsamples) >= 2**m - 2,
        "l1Reg": False,
        "link": "identity",
        "seed": KERNEL_SEED,
        "seedNote": "np.random.seed(seed) once, then one shap_values call over all explain rows in order",
    }
    return KernelResult(values, float(np.ravel(explainer.expected_value)[0]), settings)


# ─── Cases ────────────────────────────────────────────────────────────────────────────────────────────────────────


@dataclass
class Case:
    name: str
    score_type: str  # PROBITS | LOGITS | REGRESSION
    tree: bool
    model: Any
    proto: onnx.ModelProto
    data: Dataset
    encoding: str
    kernel_samples: int | None = None
    own_dataset: bool = False


def declared_scorers(case: Case) -> tuple[Scorer, Scorer | None]:
    """(the declared score, the positive-class probability of the shipped graph for LOGITS cases)."""
    shipped = session(case.proto)
    if case.score_type == "REGRESSION":
        return column_scorer(shipped, "variable", 0), None
    probability = column_scorer(shipped, "probabilities", 1)
    if case.score_type == "PROBITS":
        return probability, None
    return column_scorer(session(margin_graph(case.proto)), "probabilities", 1), probability


def max_abs(a: np.ndarray) -> float:
    return float(np.max(np.abs(a)))


def rows_json(x: np.ndarray) -> list[list[float]]:
    return [[float(v) for v in row] for row in x]


def run_case(case: Case) -> tuple[dict[str, Any], dict[str, float]]:
    data = case.data
    score, probability = declared_scorers(case)
    ort_score = score(data.explain)
    exact = exact_all(score, data.explain, data.background)
    diffs: dict[str, float] = {
        "additivityVsOrtScore": max_abs(exact.base + exact.shapley.sum(axis=1) - ort_score),
        "additivityVsFullCoalition": max_abs(exact.base + exact.shapley.sum(axis=1) - exact.full),
        "exactBaseVsMeanBackgroundScore": abs(exact.base - float(np.mean(score(data.background)))),
    }
    result: dict[str, Any] = {
        "name": case.name,
        "scoreType": case.score_type,
        "tree": case.tree,
        "onnxFile": f"{case.name}.onnx",
        "encoding": case.encoding,
        "onnx": describe_graph(case.proto, f"{case.name}.onnx"),
    }
    if case.own_dataset:
        result.update(features=data.features, background=rows_json(data.background), explain=rows_json(data.explain))
    result.update(
        ortScore=[float(v) for v in ort_score],
        backgroundOrtScore=[float(v) for v in score(data.background)],
        exactBase=exact.base,
        exactShapley=rows_json(exact.shapley),
    )
    if probability is not None:
        p = probability(data.explain)
        assert np.allclose(sigmoid(ort_score), p, rtol=0, atol=1e-6)
        from_p = exact_all(logit_scorer(probability), data.explain, data.background)
        result.update(
            ortProbability=[float(v) for v in p],
            exactFromProbability={"base": from_p.base, "shapley": rows_json(from_p.shapley)},
        )
        diffs["logitOfProbabilityVsMargin"] = max_abs(np.log(p / (1.0 - p)) - ort_score)
        diffs["exactFromProbabilityVsExact"] = max_abs(from_p.shapley - exact.shapley)
    if case.tree:
        structure = structure_scorer(case.proto)(data.explain)
        values, base = tree_shap(case.model, data.background, data.explain)
        result.update(structureScore=[float(v) for v in structure], treeShap=rows_json(values), treeShapBase=base)
        diffs["structureVsOrtScore"] = max_abs(structure - ort_score)
        diffs["treeShapVsExact"] = max_abs(values - exact.shapley)
        diffs["treeShapBaseVsExactBase"] = abs(base - exact.base)
        ties = shap_threshold_ties(case.model, np.vstack([data.background, data.explain]))
        if ties is not None:
            result["shapFloat32ThresholdTies"] = ties
            assert ties == 0, f"{case.name}: {ties} background/explain values sit on a float32-rounded-up threshold"
    if case.kernel_samples is not None:
        kernel = kernel_shap(score, data.background, data.explain, case.kernel_samples)
        result.update(kernelShap=rows_json(kernel.values), kernelShapBase=kernel.base, kernelShapSettings=kernel.settings)
        diffs["kernelShapVsExact"] = max_abs(kernel.values - exact.shapley)
        diffs["kernelShapBaseVsExactBase"] = abs(kernel.base - exact.base)
        if not kernel.settings["enumeratesAll"]:
            m = data.explain.shape[1]
            default = kernel_shap(score, data.background, data.explain, 2048 + 2 * m)
            result.update(kernelShapAtDefault={"values": rows_json(default.values), "base": default.base, "settings": default.settings})
            diffs["kernelShapAtDefaultVsExact"] = max_abs(default.values - exact.shapley)
    result["maxAbsDiff"] = diffs
    return result, diffs


CLASSIFIER_PROBITS = "probabilities[:,1] (float32) is the class-1 probability and the score."


def build_cases(d5: Dataset, d12: Dataset) -> list[Case]:
    x, y, yr = d5.train, d5.y_class, d5.y_reg
    assert yr is not None
    logreg = LogisticRegression(max_iter=1000).fit(x, y)
    forest = RandomForestClassifier(n_estimators=20, max_depth=5, random_state=SEED % 1000, n_jobs=1).fit(x, y)
    gbc = GradientBoostingClassifier(n_estimators=30, max_depth=3, learning_rate=0.1, random_state=1).fit(x, y)
    gbr = GradientBoostingRegressor(n_estimators=30, max_depth=3, learning_rate=0.1, random_state=2).fit(x, yr)
    mlp = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2000, random_state=3).fit(x, y)
    xgb = xgboost.XGBClassifier(
        n_estimators=20, max_depth=3, learning_rate=0.3, tree_method="exact", n_jobs=1, random_state=4
    ).fit(x, y)
    mlp12 = MLPClassifier(hidden_layer_sizes=(16,), max_iter=2000, random_state=5).fit(d12.train, d12.y_class)
    return [
        Case("logreg", "PROBITS", False, logreg, to_onnx_sklearn(logreg, 5, True), d5,
             "LinearClassifier (post_transform LOGISTIC, coefficient rows -w and +w) -> " + CLASSIFIER_PROBITS,
             kernel_samples=KERNEL_SAMPLES),
        Case("forest", "PROBITS", True, forest, to_onnx_sklearn(forest, 5, True), d5,
             "TreeEnsembleClassifier, post_transform NONE, class_ids all 0 with classlabels [0,1] (binary, one score "
             "column): s = sum of class_weights (leaf class-1 fraction / 20 trees); onnxruntime writes "
             "probabilities = [1-s, s]. " + CLASSIFIER_PROBITS),
        Case("gbc", "LOGITS", True, gbc, to_onnx_sklearn(gbc, 5, True), d5,
             "TreeEnsembleClassifier (then Identity), post_transform LOGISTIC, class_ids all 0 with classlabels [0,1]: "
             "margin m = base_values[0] (prior log-odds) + sum of class_weights (learning_rate x leaf value); "
             "onnxruntime writes probabilities = [1-sigmoid(m), sigmoid(m)]. The graph has no margin output: the "
             "score m is probabilities[:,1] of the same graph with post_transform NONE (onnxruntime then writes "
             "[-m, m]); logit(probabilities[:,1]) of the shipped graph gives m only to float32 precision of p."),
        Case("gbr", "REGRESSION", True, gbr, to_onnx_sklearn(gbr, 5, False), d5,
             "TreeEnsembleRegressor, post_transform NONE, n_targets 1: variable[:,0] (float32) = base_values[0] "
             "(training mean) + sum of target_weights (learning_rate x leaf value) is the score."),
        Case("mlp", "PROBITS", False, mlp, to_onnx_sklearn(mlp, 5, True), d5,
             "MatMul/Add/Relu/MatMul/Add/Sigmoid gives p, then Sub and Concat write probabilities = [1-p, p]. "
             + CLASSIFIER_PROBITS,
             kernel_samples=KERNEL_SAMPLES),
        Case("xgb", "LOGITS", True, xgb, to_onnx_xgb(xgb, 5), d5,
             "onnxmltools (target_opset 15, ai.onnx.ml 1): TreeEnsembleClassifier, BRANCH_LT, post_transform LOGISTIC, "
             "class_ids all 0 with classlabels [0,1]: margin m = base_values[0] (logit of xgboost's base_score) + sum of "
             "class_weights; onnxruntime writes probabilities = [1-sigmoid(m), sigmoid(m)]. The score m is "
             "probabilities[:,1] of the same graph with post_transform NONE ([-m, m])."),
        Case("mlp12", "PROBITS", False, mlp12, to_onnx_sklearn(mlp12, 12, True), d12,
             "MatMul/Add/Relu/MatMul/Add/Sigmoid gives p, then Sub and Concat write probabilities = [1-p, p]. "
             + CLASSIFIER_PROBITS,
             kernel_samples=KERNEL_SAMPLES_12, own_dataset=True),
    ]


def check_sklearn_agreement(case: Case) -> float:
    """Max |onnxruntime - the fitted model| on the explain rows, in the declared score space."""
    score, _ = declared_scorers(case)
    x = case.data.explain
    if case.score_type == "REGRESSION":
        expected = case.model.predict(x)
    elif case.score_type == "LOGITS":
        expected = case.model.predict(x, output_margin=True) if case.name == "xgb" else case.model.decision_function(x)
    else:
        expected = case.model.predict_proba(x)[:, 1]
    return max_abs(score(x) - expected)


def main() -> None:
    began = time.perf_counter()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    rng = np.random.default_rng(SEED)
    d5 = make_dataset5(rng)
    d12 = make_dataset12(rng)
    cases = build_cases(d5, d12)

    OUT_DIR.mkdir(exist_ok=True)
    results: list[dict[str, Any]] = []
    summary: list[tuple[str, dict[str, float]]] = []
    for case in cases:
        case.proto.graph.name = case.name  # the converters name the graph with a random UUID
        (OUT_DIR / f"{case.name}.onnx").write_bytes(case.proto.SerializeToString())
        result, diffs = run_case(case)
        diffs["ortVsFittedModel"] = check_sklearn_agreement(case)
        results.append(result)
        summary.append((case.name, diffs))

    document: dict[str, Any] = {
        "generator": {
            "script": "test/reference/influence_reference.py",
            "seed": SEED,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "sklearn": sklearn.__version__,
            "shap": shap.__version__,
            "onnxruntime": ort.__version__,
            "onnx": onnx.__version__,
            "skl2onnx": skl2onnx.__version__,
            "onnxmltools": onnxmltools.__version__,
            "xgboost": xgboost.__version__,
        },
        "inputName": INPUT_NAME,
        "features": d5.features,
        "background": rows_json(d5.background),
        "explain": rows_json(d5.explain),
        "cases": results,
    }
    text = json.dumps(document, indent=None, separators=(",", ":"), allow_nan=False) + "\n"
    CASES_FILE.write_text(text)

    for name, diffs in summary:
        print(f"{name:7s} " + "  ".join(f"{k}={v:.2e}" for k, v in diffs.items()))
    sizes = sum(p.stat().st_size for p in OUT_DIR.iterdir())
    print(f"wrote {len(cases)} ONNX models and {CASES_FILE} ({sizes / 1e6:.3f} MB in all, {time.perf_counter() - began:.1f} s)")


if __name__ == "__main__":
    main()

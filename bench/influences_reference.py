"""The Python side of bench/influences.ts: trains the benchmark's models, converts them to ONNX, and times shap on them.

Run by bench/influences.ts as
    .venv-clients/bin/python bench/influences_reference.py --dir DIR [--rows N] [--background N] [--trees N]
        [--depth N] [--features N] [--kernel-rows N] [--kernel-samples N] [--skip-shap] [--skip-tree] [--skip-kernel]

It writes into DIR (all arrays little-endian float64, row-major):
  gbc.onnx, mlp.onnx      GradientBoostingClassifier(n_estimators=trees, max_depth=depth) and MLPClassifier((32,)),
                          binary, through skl2onnx (input "float_input" float32 [None, F], zipmap off)
  gbc_margin.onnx         gbc.onnx with its post transform set to NONE: probabilities[:, 1] is then the raw margin
                          (log-odds) instead of its logistic
  background.f64          the background rows (background x F)
  rows.f64                the rows to explain (rows x F); KernelSHAP explains the first kernel-rows of them
  tree_shap.f64           shap.TreeExplainer(gbc, data=background, feature_perturbation="interventional") on rows,
                          model_output "raw" (the log-odds margin)
  kernel_gbc.f64, kernel_mlp.f64, kernel_gbc_margin.f64
                          shap.KernelExplainer(f, background) on the first kernel-rows rows, l1_reg=False, where f is
                          probabilities[:, 1] of the ONNX model in onnxruntime (one intra-op thread): for gbc_margin,
                          the raw margin
  result.json             timings, base values, versions, settings

Timing: time.perf_counter around the explanation calls only (training, conversion, session creation and the
explainers' constructors are outside). TreeSHAP: one shap_values call over all rows, additivity check off (the
TypeScript side does not check either). KernelSHAP: one shap_values call over all kernel rows; the time spent inside
f (float32 cast, onnxruntime, column pick) is accumulated separately. BLAS and OpenMP are held to one thread, as
onnxruntime is, so both languages compute on one core.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import shap
import skl2onnx
import sklearn
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

# The tests' reference script knows where shap and skl2onnx send a row on a float32-rounded threshold differently.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test" / "reference"))
from influence_reference import shap_threshold_ties  # noqa: E402

SEED = 20261127
KERNEL_SEED = 0
TRAIN_ROWS = 5000
INPUT_NAME = "float_input"
SKL_OPSET = {"": 17, "ai.onnx.ml": 3}


def label_weights(m: int) -> np.ndarray:
    return np.random.default_rng([SEED, 0]).normal(0.0, 1.0, m) / np.sqrt(m)


def synthetic(n: int, m: int, stream: int) -> tuple[np.ndarray, np.ndarray]:
    """Mixed marginals, a few correlated pairs and a non-linear label, so trees use many features and interactions.

    Each part of the data (training, background, explained rows) has its own seeded stream, so the model and the
    background stay the same whatever --rows is. Values are rounded to float32 and widened back: the float64 the
    service stores and the float32 the ONNX graph reads are then the same number.
    """
    rng = np.random.default_rng([SEED, stream])
    x = rng.normal(0.0, 1.0, (n, m))
    for j in range(m):
        kind = j % 4
        if kind == 1:
            x[:, j] = rng.uniform(-2.0, 2.0, n)
        elif kind == 2:
            x[:, j] = rng.exponential(1.0, n)
        elif kind == 3 and j >= 2:
            x[:, j] = 0.6 * x[:, j - 2] + 0.8 * x[:, j]
    x = x.astype(np.float32).astype(np.float64)
    logit = x @ label_weights(m) + 0.8 * x[:, 0] * x[:, 1 % m] - 0.7 * (x[:, 2 % m] > 1.0) + 0.5 * np.sin(2.0 * x[:, 3 % m])
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    return x, y


def to_onnx(model: Any, m: int) -> bytes:
    proto = convert_sklearn(
        model,
        initial_types=[(INPUT_NAME, FloatTensorType([None, m]))],
        target_opset=SKL_OPSET,
        options={id(model): {"zipmap": False}},
    )
    return proto.SerializeToString()


def margin_model(onnx_bytes: bytes) -> bytes:
    """The same trees without their logistic: skl2onnx writes a binary GBC as one score s (log-odds) with
    post_transform LOGISTIC and probabilities[:, 1] = logistic(s); under NONE, probabilities[:, 1] is s itself."""
    model = onnx.load_from_string(onnx_bytes)
    (node,) = [n for n in model.graph.node if n.op_type == "TreeEnsembleClassifier"]
    (transform,) = [a for a in node.attribute if a.name == "post_transform"]
    assert transform.s == b"LOGISTIC", transform.s
    transform.s = b"NONE"
    return model.SerializeToString()


def positive_probability(onnx_bytes: bytes, clock: dict[str, float]):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    sess = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])

    def f(x: np.ndarray) -> np.ndarray:
        started = time.perf_counter()
        (probabilities,) = sess.run(["probabilities"], {INPUT_NAME: np.asarray(x, dtype=np.float32)})
        out = probabilities[:, 1].astype(np.float64)
        clock["seconds"] += time.perf_counter() - started
        clock["calls"] += 1
        clock["rows"] += x.shape[0]
        return out

    return f


def kernel(onnx_bytes: bytes, background: np.ndarray, explain: np.ndarray, nsamples: int) -> tuple[np.ndarray, dict[str, Any]]:
    clock = {"seconds": 0.0, "calls": 0, "rows": 0}
    explainer = shap.KernelExplainer(positive_probability(onnx_bytes, clock), background, link="identity")
    # The constructor evaluates the background once; only the explanation is timed.
    clock.update(seconds=0.0, calls=0, rows=0)
    np.random.seed(KERNEL_SEED)
    started = time.perf_counter()
    values = np.asarray(explainer.shap_values(explain, nsamples=nsamples, l1_reg=False, silent=True), dtype=np.float64)
    seconds = time.perf_counter() - started
    assert values.shape == explain.shape, values.shape
    return values, {
        "seconds": seconds,
        "evalSeconds": clock["seconds"],
        "evalCalls": clock["calls"],
        "evalRows": clock["rows"],
        "rows": explain.shape[0],
        "nsamples": nsamples,
        "nsamplesUsed": int(explainer.nsamples),
        "base": float(np.ravel(explainer.expected_value)[0]),
        "loadAfter": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--background", type=int, default=100)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--kernel-rows", type=int, default=20)
    parser.add_argument("--kernel-samples", type=int, default=0, help="0: shap's default, 2 * features + 2048")
    parser.add_argument("--skip-shap", action="store_true", help="only train, convert and write the data")
    parser.add_argument("--skip-tree", action="store_true", help="no TreeExplainer run")
    parser.add_argument("--skip-kernel", action="store_true", help="no KernelExplainer runs")
    args = parser.parse_args()
    out = Path(args.dir)
    m = args.features
    nsamples = args.kernel_samples if args.kernel_samples > 0 else 2 * m + 2048
    kernel_rows = min(args.kernel_rows, args.rows)

    train, y_train = synthetic(TRAIN_ROWS, m, 1)
    background, _ = synthetic(args.background, m, 2)
    rows, _ = synthetic(args.rows, m, 3)

    started = time.perf_counter()
    gbc = GradientBoostingClassifier(n_estimators=args.trees, max_depth=args.depth, random_state=SEED % 2**31).fit(train, y_train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=SEED % 2**31).fit(train, y_train)
    train_seconds = time.perf_counter() - started
    gbc_onnx = to_onnx(gbc, m)
    mlp_onnx = to_onnx(mlp, m)
    gbc_margin_onnx = margin_model(gbc_onnx)
    (out / "gbc.onnx").write_bytes(gbc_onnx)
    (out / "gbc_margin.onnx").write_bytes(gbc_margin_onnx)
    (out / "mlp.onnx").write_bytes(mlp_onnx)
    background.astype("<f8").tofile(out / "background.f64")
    rows.astype("<f8").tofile(out / "rows.f64")

    # The margin model against scikit-learn's float64 decision_function: float32 rounding only, or the edit is wrong.
    onnx_margin = positive_probability(gbc_margin_onnx, {"seconds": 0.0, "calls": 0, "rows": 0})(rows)
    margin_check = float(np.max(np.abs(onnx_margin - gbc.decision_function(rows))))

    result: dict[str, Any] = {
        "versions": {
            "python": platform.python_version(),
            "shap": shap.__version__,
            "sklearn": sklearn.__version__,
            "skl2onnx": skl2onnx.__version__,
            "onnxruntime": ort.__version__,
            "numpy": np.__version__,
        },
        "trainRows": TRAIN_ROWS,
        "trainSeconds": train_seconds,
        "gbcTrainAccuracy": float(gbc.score(train, y_train)),
        "mlpTrainAccuracy": float(mlp.score(train, y_train)),
        "gbcLeaves": int(sum(e.tree_.n_leaves for e in np.ravel(gbc.estimators_))),
        "marginMaxAbs": margin_check,
    }

    if args.skip_shap:
        (out / "result.json").write_text(json.dumps(result, indent=1))
        return

    if not args.skip_tree:
        explainer = shap.TreeExplainer(gbc, data=background, feature_perturbation="interventional")
        started = time.perf_counter()
        values = np.asarray(explainer.shap_values(rows, check_additivity=False), dtype=np.float64)
        seconds = time.perf_counter() - started
        assert values.shape == rows.shape, values.shape
        values.astype("<f8").tofile(out / "tree_shap.f64")
        margin = gbc.decision_function(rows)
        base = float(np.ravel(explainer.expected_value)[0])
        result["tree"] = {
            "seconds": seconds,
            "rows": rows.shape[0],
            "base": base,
            "modelOutput": explainer.model.model_output,
            # shap's own additivity against scikit-learn's float64 margin, for scale.
            "additivityMaxAbs": float(np.max(np.abs(base + values.sum(axis=1) - margin))),
            "thresholdTies": shap_threshold_ties(gbc, np.vstack([background, rows])),
            "loadAfter": os.getloadavg()[0],
        }

    explain = rows[:kernel_rows]
    kernel_models = [] if args.skip_kernel else [("gbc", gbc_onnx), ("gbc_margin", gbc_margin_onnx), ("mlp", mlp_onnx)]
    for name, onnx_bytes in kernel_models:
        values, figures = kernel(onnx_bytes, background, explain, nsamples)
        values.astype("<f8").tofile(out / f"kernel_{name}.f64")
        result[f"kernel_{name}"] = figures

    (out / "result.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

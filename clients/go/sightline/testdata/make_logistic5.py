"""Writes logistic5.onnx and logistic5.json, the Go client's model-artifact fixture (models_test.go).

Run from the repository root: .venv-clients/bin/python clients/go/sightline/testdata/make_logistic5.py

logistic5.onnx is a logistic model over five float32 features f0..f4, built node by node with onnx.helper so every
run writes the same bytes: one input "float_input" (float32, [N, 5]), score = Sigmoid(float_input @ W + b), one
output "score" (float32, [N, 1]), the name of the Go test model's prediction field. logistic5.json holds the
weights, the rows the test uploads (a 30-row baseline split and a 20-row evaluation split, float32 values, so the
float64 the service stores and the float32 the model reads are the same number) and onnxruntime's score of every row,
widened to float64: what the service's predictions must match.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = pathlib.Path(__file__).resolve().parent
FEATURES = [f"f{i}" for i in range(5)]
WEIGHTS = np.array([[1.25], [-0.75], [0.5], [2.0], [-1.5]], dtype=np.float32)
BIAS = np.array([0.25], dtype=np.float32)


def build() -> bytes:
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["float_input", "W"], ["z0"]),
            helper.make_node("Add", ["z0", "b"], ["z"]),
            helper.make_node("Sigmoid", ["z"], ["score"]),
        ],
        "logistic5",
        [helper.make_tensor_value_info("float_input", TensorProto.FLOAT, [None, len(FEATURES)])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, [None, 1])],
        initializer=[numpy_helper.from_array(WEIGHTS, "W"), numpy_helper.from_array(BIAS, "b")],
    )
    model = helper.make_model(graph, producer_name="sightline-go-testdata", producer_version="1", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def main() -> None:
    data = build()
    rng = np.random.default_rng(20261126)
    baseline = rng.normal(0.0, 1.0, (30, len(FEATURES))).astype(np.float32)
    evaluation = rng.normal(0.2, 1.2, (20, len(FEATURES))).astype(np.float32)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])

    def scores(rows: np.ndarray) -> list[float]:
        (out,) = session.run(["score"], {"float_input": rows})
        return [float(v) for v in np.asarray(out, dtype=np.float64)[:, 0]]

    fixture = {
        "generator": "clients/go/sightline/testdata/make_logistic5.py",
        "features": FEATURES,
        "inputName": "float_input",
        "output": "score",
        "producer": "sightline-go-testdata",
        "weights": [float(w) for w in WEIGHTS[:, 0]],
        "bias": float(BIAS[0]),
        "baseline": [[float(v) for v in row] for row in baseline],
        "evaluation": [[float(v) for v in row] for row in evaluation],
        "baselineScores": scores(baseline),
        "evaluationScores": scores(evaluation),
    }
    (HERE / "logistic5.onnx").write_bytes(data)
    (HERE / "logistic5.json").write_text(json.dumps(fixture, indent=1) + "\n")


if __name__ == "__main__":
    main()

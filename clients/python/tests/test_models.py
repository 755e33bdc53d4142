"""Model artifacts through the client: uploads and their versions, the typed errors, and predictions and influences
computed by the workers, checked against onnxruntime run here on the same rows and against Shapley values computed
here by brute force. One deployment for the module, whose compute jobs cut a split into chunks of ten records."""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import pathlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest

import sightline
from sightline import Client, ComputeRunResult, JobStatus
from sightline.v1 import resources_pb2

from .conftest import Live, new_live

COLLECTION = "credit"
FEATURES = [f"f{i}" for i in range(5)]
BASELINE_ROWS = 40
EVAL_ROWS = 25
CHUNK_RECORDS = 10
TOLERANCE = 1e-6


# ─── ONNX models ────────────────────────────────────────────────────────────────────────────────────────────────────


def _reference_dir() -> pathlib.Path:
    root = os.environ.get("SIGHTLINE_TEST_ROOT") or str(pathlib.Path(__file__).resolve().parents[3])
    return pathlib.Path(root) / "test" / "reference" / "influence"


def _train_and_convert(kind: str, path: pathlib.Path) -> None:
    """A small scikit-learn model on five float32 features, converted the way the reference models are."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    x = rng.normal(0.0, 1.0, (400, len(FEATURES))).astype(np.float32)
    y = (x[:, 0] - 0.8 * x[:, 1] + 0.5 * x[:, 2] * x[:, 3] + rng.normal(0, 0.5, len(x)) > 0).astype(np.int64)
    model = LogisticRegression().fit(x, y) if kind == "logreg" else RandomForestClassifier(n_estimators=10, max_depth=4, random_state=7).fit(x, y)
    onx = convert_sklearn(
        model,
        initial_types=[("float_input", FloatTensorType([None, len(FEATURES)]))],
        options={id(model): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    path.write_bytes(onx.SerializeToString())


@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pathlib.Path]:
    """logreg (not a tree model) and forest (a tree ensemble): the reference files when they are there, else trained
    and converted here."""
    files: dict[str, pathlib.Path] = {}
    made = tmp_path_factory.mktemp("onnx")
    for kind in ("logreg", "forest"):
        reference = _reference_dir() / f"{kind}.onnx"
        if reference.is_file():
            files[kind] = reference
        else:
            files[kind] = made / f"{kind}.onnx"
            _train_and_convert(kind, files[kind])
    return files


class Scorer:
    """The declared score of a PROBITS model, the class-1 probability, as onnxruntime computes it from float32 rows."""

    def __init__(self, path: pathlib.Path) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        (probabilities,) = self.session.run(["probabilities"], {self.input: np.asarray(rows, dtype=np.float32)})
        return np.asarray(probabilities[:, 1], dtype=np.float64)


def exact_shapley(score: Scorer, background: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Interventional Shapley values of one row by brute force over every coalition: v(S) is the mean score of the
    background rows with the features of S taken from x. Returns v(empty) and the values."""
    m = len(x)
    coalitions = list(itertools.product([False, True], repeat=m))
    rows = np.concatenate([np.where(np.array(mask), x, background) for mask in coalitions])
    values = score(rows).reshape(len(coalitions), len(background)).mean(axis=1)
    v = dict(zip(coalitions, values))
    phi = np.zeros(m)
    for mask in coalitions:
        size = sum(mask)
        for i in range(m):
            if mask[i]:
                continue
            weight = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
            phi[i] += weight * (v[mask[:i] + (True,) + mask[i + 1 :]] - v[mask])
    return float(v[(False,) * m]), phi


# ─── The deployment and its data ────────────────────────────────────────────────────────────────────────────────────


@dataclass
class Env:
    client: Client
    baseline: pd.DataFrame
    evaluation: pd.DataFrame
    files: dict[str, pathlib.Path]


def feature_frame(rng: np.random.Generator, prefix: str, n: int) -> pd.DataFrame:
    # float32 values, so the float64 the service stores and the float32 the model reads are the same number.
    values = rng.normal(0.0, 1.0, (n, len(FEATURES))).astype(np.float32).astype(np.float64)
    frame = pd.DataFrame(values, columns=FEATURES)
    frame.insert(0, "id", [f"{prefix}{i:03d}" for i in range(n)])
    return frame


@pytest.fixture(scope="module")
def deployment() -> Iterator[Live]:
    live = new_live("models", SIGHTLINE_COMPUTE_CHUNK_RECORDS=str(CHUNK_RECORDS))
    try:
        live.start_server()
        live.start_worker()
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def env(deployment: Live, onnx_files: dict[str, pathlib.Path]) -> Iterator[Env]:
    with Client(deployment.address, api_key=deployment.admin_key) as admin:
        project = f"p{secrets.token_hex(4)}"
        admin.create_project(project)
        _, key = admin.create_api_key(project)
    client = Client(deployment.address, api_key=key, project=project, timeout=60)
    try:
        rng = np.random.default_rng(20261126)
        baseline, evaluation = feature_frame(rng, "b", BASELINE_ROWS), feature_frame(rng, "e", EVAL_ROWS)
        client.create_collection(COLLECTION, sightline.schema_from_dataframe(baseline, record_id_column="id"))
        client.create_split(COLLECTION, "train", baseline=True)
        client.create_split(COLLECTION, "eval", type="test")
        assert client.upload(baseline, collection=COLLECTION, split="train").rows_accepted == BASELINE_ROWS
        assert client.upload(evaluation, collection=COLLECTION, split="eval").rows_accepted == EVAL_ROWS
        yield Env(client, baseline, evaluation, onnx_files)
    finally:
        client.close()


def data_and_model(client: Client, name: str, influence_options: dict[str, object] | None = None) -> None:
    client.create_model(COLLECTION, name, score_type="probits", prediction_fields={"p": "double"}, mode="data_and_model", influence_options=influence_options)


def rows_of(frame: pd.DataFrame) -> np.ndarray:
    return frame[FEATURES].to_numpy(dtype=np.float64)


def wait(client: Client, job_id: str) -> ComputeRunResult:
    assert job_id.startswith("compute:"), job_id
    status = client.wait_for_job(job_id, timeout=180)
    assert (status.state, status.progress, status.done, status.result) == ("completed", 100.0, True, None)
    assert status.compute_result is not None
    return status.compute_result


def read_eval(client: Client, model: str) -> pd.DataFrame:
    return client.read(collection=COLLECTION, split="eval", model=model).set_index("id")


# ─── Tests ──────────────────────────────────────────────────────────────────────────────────────────────────────────


def test_uploads_are_versioned_and_described(env: Env) -> None:
    client, path = env.client, env.files["logreg"]
    data = path.read_bytes()
    data_and_model(client, "versions")

    first = client.upload_model_artifact(COLLECTION, "versions", data)
    assert (first.collection, first.model, first.version, first.format) == (COLLECTION, "versions", 1, "onnx")
    assert (first.size_bytes, first.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert first.inputs == ("float_input",) and "probabilities" in first.outputs
    assert first.influence_algorithm == "kernel_shap" and first.producer == "skl2onnx"
    assert first.upload_time is not None and abs(pd.Timestamp.now(tz="UTC") - first.upload_time) < pd.Timedelta(minutes=5)

    # A path, as str and as PathLike, streamed in many small chunks.
    second = client.upload_model_artifact(COLLECTION, "versions", str(path), chunk_size=97)
    assert (second.version, second.sha256, second.size_bytes) == (2, first.sha256, first.size_bytes)
    assert client.get_model_artifact(COLLECTION, "versions") == second
    forest = client.upload_model_artifact(COLLECTION, "versions", env.files["forest"], chunk_size=4096)
    assert (forest.version, forest.influence_algorithm) == (3, "tree_shap")
    assert forest.size_bytes == env.files["forest"].stat().st_size

    assert client.get_model_artifact(COLLECTION, "versions") == forest
    assert client.get_model_artifact(COLLECTION, "versions", version=1) == first
    assert client.get_model_artifact(COLLECTION, "versions", version=2).version == 2
    with pytest.raises(sightline.NotFoundError):
        client.get_model_artifact(COLLECTION, "versions", version=9)


class ChangingPath(os.PathLike[str]):
    """A path that names one file the first time it is opened and another after that."""

    def __init__(self, first: pathlib.Path, then: pathlib.Path) -> None:
        self.paths = [str(first), str(then)]
        self.opened = 0

    def __fspath__(self) -> str:
        self.opened += 1
        return self.paths[min(self.opened, 2) - 1]


def test_errors_are_typed(env: Env, tmp_path: pathlib.Path) -> None:
    client = env.client
    data = env.files["logreg"].read_bytes()
    data_and_model(client, "strict")

    # Nothing stored yet.
    with pytest.raises(sightline.FailedPreconditionError) as missing:
        client.get_model_artifact(COLLECTION, "strict")
    assert missing.value.reason == "ARTIFACT_MISSING"
    with pytest.raises(sightline.FailedPreconditionError) as no_artifact:
        client.compute_predictions(COLLECTION, "strict", split="eval")
    assert no_artifact.value.reason == "ARTIFACT_MISSING"

    # The digest is checked against the bytes that arrive: a file that changes between the client's two passes (the
    # first hashes it, the second streams it) arrives with the wrong SHA-256, and nothing is stored.
    original = env.files["logreg"]
    tampered = pathlib.Path(str(tmp_path / "tampered.onnx"))
    tampered.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    with pytest.raises(sightline.InvalidArgumentError) as wrong_digest:
        client.upload_model_artifact(COLLECTION, "strict", ChangingPath(original, tampered))
    assert wrong_digest.value.reason == "ARTIFACT_INVALID"
    assert [v.field for v in wrong_digest.value.violations] == ["header.sha256"]
    with pytest.raises(sightline.FailedPreconditionError):
        client.get_model_artifact(COLLECTION, "strict")

    # Bytes that are not ONNX at all.
    with pytest.raises(sightline.InvalidArgumentError) as garbage:
        client.upload_model_artifact(COLLECTION, "strict", b"this is not an onnx model" * 10)
    assert garbage.value.reason == "ARTIFACT_INVALID"

    # A DATA_ONLY model holds no artifact and computes nothing.
    client.create_model(COLLECTION, "sent", score_type="probits", prediction_fields={"p": "double"})
    for call in (
        lambda: client.upload_model_artifact(COLLECTION, "sent", data),
        lambda: client.get_model_artifact(COLLECTION, "sent"),
        lambda: client.compute_predictions(COLLECTION, "sent", split="eval"),
        lambda: client.compute_influences(COLLECTION, "sent", split="eval"),
    ):
        with pytest.raises(sightline.FailedPreconditionError) as mode:
            call()
        assert mode.value.reason == "MODEL_MODE"

    # An artifact that takes five features, for a collection of three.
    narrow = pd.DataFrame({"id": ["a"], "f0": [0.5], "f1": [0.5], "f2": [0.5]})
    client.create_collection("narrow", sightline.schema_from_dataframe(narrow, record_id_column="id"))
    client.create_model("narrow", "lr", score_type="probits", prediction_fields={"p": "double"}, mode="data_and_model")
    with pytest.raises(sightline.FailedPreconditionError) as mismatch:
        client.upload_model_artifact("narrow", "lr", env.files["logreg"])
    assert mismatch.value.reason == "ARTIFACT_MISMATCH" and mismatch.value.preconditions

    # Influences need a baseline split.
    no_baseline = pd.DataFrame({"id": ["x"], "f0": [0.1], "f1": [0.2], "f2": [0.3], "f3": [0.4], "f4": [0.5]})
    client.create_collection("nobase", sightline.schema_from_dataframe(no_baseline, record_id_column="id"))
    client.create_split("nobase", "eval")
    client.create_model("nobase", "lr", score_type="probits", prediction_fields={"p": "double"}, mode="data_and_model")
    client.upload_model_artifact("nobase", "lr", data)
    with pytest.raises(sightline.FailedPreconditionError) as baseline:
        client.compute_influences("nobase", "lr", split="eval")
    assert baseline.value.reason == "BASELINE_MISSING"

    # TreeSHAP needs a tree ensemble.
    with pytest.raises(sightline.FailedPreconditionError) as not_trees:
        client.compute_influences("nobase", "lr", split="eval", algorithm="tree_shap")
    assert not_trees.value.reason == "ARTIFACT_MISMATCH"

    # What the client refuses before sending anything.
    with pytest.raises(ValueError, match="chunk_size"):
        client.upload_model_artifact(COLLECTION, "strict", data, chunk_size=0)
    with pytest.raises(ValueError, match="split"):
        client.compute_predictions(COLLECTION, "strict", split="eval", start="2026-01-01")
    with pytest.raises(ValueError, match="influence algorithm"):
        client.compute_influences(COLLECTION, "strict", split="eval", algorithm="deep_shap")
    with pytest.raises(FileNotFoundError):
        client.upload_model_artifact(COLLECTION, "strict", env.files["logreg"].parent / "no-such-model.onnx")


@pytest.fixture(scope="module")
def predicted(env: Env) -> dict[str, ComputeRunResult]:
    """Models "lr" (logreg) and "forest", each with its artifact and the eval split's predictions computed."""
    results = {}
    for model, kind in (("lr", "logreg"), ("forest", "forest")):
        data_and_model(env.client, model, influence_options={"algorithm": "kernel_shap", "background_rows": 100, "seed": 3} if model == "forest" else None)
        env.client.upload_model_artifact(COLLECTION, model, env.files[kind])
        results[model] = wait(env.client, env.client.compute_predictions(COLLECTION, model, split="eval"))
    return results


def test_predictions_match_onnxruntime(env: Env, predicted: dict[str, ComputeRunResult]) -> None:
    for model, kind in (("lr", "logreg"), ("forest", "forest")):
        result = predicted[model]
        chunks = math.ceil(EVAL_ROWS / CHUNK_RECORDS)
        assert result == ComputeRunResult(records=EVAL_ROWS, written=EVAL_ROWS, rejected=0, chunks=chunks, artifact_version=1, algorithm=None, exact=True, base_value=None)
        frame = read_eval(env.client, model)
        assert sorted(frame.index) == sorted(env.evaluation["id"])
        assert frame["p"].notna().all(), f"{model}: records without a prediction"
        expected = Scorer(env.files[kind])(rows_of(env.evaluation))
        got = frame.loc[env.evaluation["id"], "p"].to_numpy(dtype=np.float64)
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE, err_msg=f"{model} predictions")
        # Features are untouched by the computed writes.
        np.testing.assert_array_equal(rows_of(frame.loc[env.evaluation["id"]]), rows_of(env.evaluation))


def check_influences(env: Env, model: str, kind: str, result: ComputeRunResult) -> None:
    assert (result.records, result.written, result.rejected, result.artifact_version) == (EVAL_ROWS, EVAL_ROWS, 0, 1)
    assert result.base_value is not None
    frame = read_eval(env.client, model).loc[env.evaluation["id"]]
    columns = [f"{sightline.DEFAULT_INFLUENCE_PREFIX}{f}" for f in FEATURES]
    influences = frame[columns].to_numpy(dtype=np.float64)
    assert not np.isnan(influences).any(), f"{model}: records without influences"
    # Additivity: the base value plus a record's influences is its score, the prediction computed before.
    scores = frame["p"].to_numpy(dtype=np.float64)
    np.testing.assert_allclose(result.base_value + influences.sum(axis=1), scores, rtol=0, atol=TOLERANCE, err_msg=f"{model} additivity")
    # The whole baseline (40 rows, under the default 100) is the background, so the values are the exact ones.
    score = Scorer(env.files[kind])
    background = rows_of(env.baseline)
    assert result.base_value == pytest.approx(float(score(background).mean()), abs=TOLERANCE)
    for row, x in zip(influences, rows_of(env.evaluation)):
        base, phi = exact_shapley(score, background, x)
        np.testing.assert_allclose(row, phi, rtol=0, atol=TOLERANCE, err_msg=f"{model} Shapley values")
        assert base == pytest.approx(result.base_value, abs=TOLERANCE)


def test_kernel_shap_influences_add_up_to_the_score(env: Env, predicted: dict[str, ComputeRunResult]) -> None:
    job_id = env.client.compute_influences(COLLECTION, "lr", split="eval", seed=11)
    statuses = list(env.client.watch_job(job_id, timeout=180))
    last = statuses[-1]
    assert last.state == "completed" and all(not s.done for s in statuses[:-1])
    assert last.compute_result is not None and env.client.wait_for_job(job_id) == last
    # Five features: KernelSHAP enumerates every coalition.
    assert (last.compute_result.algorithm, last.compute_result.exact, last.compute_result.chunks) == ("kernel_shap", True, 3)
    check_influences(env, "lr", "logreg", last.compute_result)


def test_tree_shap_and_the_models_own_options(env: Env, predicted: dict[str, ComputeRunResult]) -> None:
    client = env.client
    stored = client.get_model(COLLECTION, "forest").influence_options
    assert (stored.algorithm, stored.background_rows, stored.kernel_samples, stored.seed) == (resources_pb2.InfluenceAlgorithm.INFLUENCE_ALGORITHM_KERNEL_SHAP, 100, 0, 3)
    assert client.get_model_artifact(COLLECTION, "forest").influence_algorithm == "tree_shap"
    # The model's options choose KernelSHAP over the artifact's TreeSHAP; the call can choose again.
    kernel = wait(client, client.compute_influences(COLLECTION, "forest", split="eval"))
    assert (kernel.algorithm, kernel.exact) == ("kernel_shap", True)
    check_influences(env, "forest", "forest", kernel)
    tree = wait(client, client.compute_influences(COLLECTION, "forest", split="eval", algorithm="tree_shap", artifact_version=1))
    assert (tree.algorithm, tree.exact) == ("tree_shap", True)
    check_influences(env, "forest", "forest", tree)


def test_production_scope(env: Env, predicted: dict[str, ComputeRunResult]) -> None:
    # No split: production records by event time; this collection has none, so the job selects nothing.
    result = wait(env.client, env.client.compute_predictions(COLLECTION, "lr", start="2026-01-01", end=pd.Timestamp("2026-02-01", tz="UTC")))
    assert (result.records, result.written, result.artifact_version) == (0, 0, 1)
    with pytest.raises(sightline.InvalidArgumentError) as backwards:
        env.client.compute_predictions(COLLECTION, "lr", start="2026-02-01", end="2026-01-01")
    assert [v.field for v in backwards.value.violations] == ["production.end"]


def test_job_status_keeps_its_positional_shape() -> None:
    # compute_result was added last, with a default, so statuses built by position still work.
    status = JobStatus("monitoring:1", "completed", 100.0, "done", 1)
    assert status.result is None and status.compute_result is None and status.done

"""What the Go client writes the Python client reads back field for field, and the reverse. The Go side is
clients/go/cmd/crosslang, built here and driven with JSON."""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sightline

from .conftest import Live, ProjectAccess

ROWS = 40


@pytest.fixture(scope="module")
def crosslang(tmp_path_factory: pytest.TempPathFactory) -> Path:
    binary = tmp_path_factory.mktemp("go") / "crosslang"
    go_module = Path(os.environ["SIGHTLINE_TEST_ROOT"]) / "clients" / "go"
    subprocess.run(["go", "build", "-o", str(binary), "./cmd/crosslang"], cwd=go_module, check=True)
    return binary


def run_go(binary: Path, command: str, request: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run([str(binary), command], input=json.dumps(request), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def reference_frame() -> pd.DataFrame:
    """Every column type, nulls included, with values that are easy to get subtly wrong: big int64s, unicode,
    negative zero-ish doubles and millisecond timestamps."""
    i = np.arange(ROWS)
    return pd.DataFrame(
        {
            "id": pd.Series([f"x-{n:03d}" for n in i], dtype="string"),
            "amount": np.where(i % 5 == 3, np.nan, (i - 20) * 0.1 + 1e-9),
            "big": pd.array([None if n % 6 == 1 else (2**62 - n * 977) * (-1 if n % 2 else 1) for n in i], dtype="Int64"),
            "note": pd.array([None if n % 4 == 2 else f"ünï {n} \U0001f600" for n in i], dtype="string"),
            "flag": pd.array([None if n % 7 == 5 else bool(n % 3) for n in i], dtype="boolean"),
            "tier": pd.Categorical([None if n % 8 == 7 else ["gold", "silver"][n % 2] for n in i], categories=["gold", "silver"]),
            "when": pd.Series(pd.to_datetime([None if n % 9 == 4 else 1_760_000_000_000 + n * 61_001 for n in i], unit="ms", utc=True)).astype("datetime64[ms, UTC]"),
            "outcome": pd.array([None if n % 3 == 0 else float(n % 2) for n in i], dtype="Float64").astype("float64"),
        }
    )


WIRE_TYPES = {"amount": "double", "big": "int64", "note": "string", "flag": "bool", "tier": "string", "when": "int64", "outcome": "double"}


def frame_to_json_values(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = []
    for name, wire in WIRE_TYPES.items():
        series = frame[name]
        values: list[Any] = []
        for value in series.astype(object):
            if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
                values.append(None)
            elif name == "when":
                values.append(str(int(pd.Timestamp(value).value // 1_000_000)))
            elif wire == "int64":
                values.append(str(int(value)))
            elif wire == "double":
                values.append(float(value))
            elif wire == "bool":
                values.append(bool(value))
            else:
                values.append(str(value))
        columns.append({"name": name, "type": wire, "values": values})
    return columns


def setup_collection(project: ProjectAccess) -> None:
    schema = sightline.schema_from_dataframe(reference_frame(), record_id_column="id", labels=["outcome"], extra=["note"])
    project.client.create_collection("shared", schema)
    project.client.create_split("shared", "from-go")
    project.client.create_split("shared", "from-python")


def test_go_writes_python_reads(crosslang: Path, live: Live, project: ProjectAccess) -> None:
    setup_collection(project)
    expected = reference_frame()
    target = {"project": project.name, "collection": "shared", "split": "from-go"}
    written = run_go(crosslang, "write", {"url": live.address, "apiKey": project.key, "target": target, "recordIds": expected["id"].tolist(), "columns": frame_to_json_values(expected), "batchRows": 7})
    assert written == {"rowsAccepted": ROWS, "rowsRejected": 0}
    back = project.client.read(collection="shared", split="from-go")
    pd.testing.assert_frame_equal(back[list(expected.columns)], expected)


def test_python_writes_go_reads(crosslang: Path, live: Live, project: ProjectAccess) -> None:
    setup_collection(project)
    frame = reference_frame()
    assert project.client.upload(frame, collection="shared", split="from-python", batch_rows=9).rows_accepted == ROWS
    target = {"project": project.name, "collection": "shared", "split": "from-python"}
    read = run_go(crosslang, "read", {"url": live.address, "apiKey": project.key, "target": target})
    assert read["recordIds"] == frame["id"].tolist()
    by_name = {c["name"]: c for c in read["columns"]}
    for expected in frame_to_json_values(frame):
        got = by_name[expected["name"]]
        assert got["type"] == expected["type"], expected["name"]
        assert got["values"] == expected["values"], expected["name"]

"""Run through bench/python-upload.ts, which starts the server and passes BENCH_* variables."""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd
import pymongo

import sightline


def frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(42)
    data: dict[str, object] = {"id": [f"r{i:08d}" for i in range(rows)]}
    for f in range(20):
        data[f"f{f}"] = rng.normal(size=rows)
    data["region"] = rng.choice(["eu-west", "us-east", "ap-south"], size=rows)
    data["channel"] = rng.choice(["web", "app", "branch", "partner"], size=rows)
    data["label"] = rng.integers(0, 2, size=rows).astype(bool)
    return pd.DataFrame(data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    rows = parser.parse_args().rows
    address, admin_key = os.environ["BENCH_ADDRESS"], os.environ["BENCH_ADMIN_KEY"]
    df = frame(rows)
    print(f"# {rows:,} rows: 20 float features, 2 string columns, a label")

    admin = sightline.Client(address, api_key=admin_key)
    admin.create_project("bench")
    _, key = admin.create_api_key("bench")
    client = sightline.Client(address, api_key=key, project="bench")
    client.create_collection("upload", sightline.schema_from_dataframe(df, record_id_column="id", labels=["label"], extra=["region", "channel"]))
    client.create_split("upload", "train")

    started = time.perf_counter()
    summary = client.upload(df, collection="upload", split="train", progress=False)
    client_seconds = time.perf_counter() - started
    assert summary.rows_accepted == rows, summary

    mongo = pymongo.MongoClient(os.environ["BENCH_MONGODB_URL"])
    target = mongo[os.environ["BENCH_DATABASE"]]["direct_insert_many"]
    started = time.perf_counter()
    # What a user would write: records from the frame, inserted in one call (pymongo splits it into batches).
    target.insert_many(df.rename(columns={"id": "_id"}).to_dict("records"), ordered=False)
    direct_seconds = time.perf_counter() - started
    assert target.estimated_document_count() == rows
    mongo.close()

    client_rate, direct_rate = rows / client_seconds, rows / direct_seconds
    print(f"python client upload       {client_rate:>10,.0f} rows/s  ({client_seconds:.1f} s)")
    print(f"pymongo insert_many        {direct_rate:>10,.0f} rows/s  ({direct_seconds:.1f} s)")
    print(f"ratio client/direct        {client_rate / direct_rate:>10.2f}  (target >= 1.0)")


if __name__ == "__main__":
    main()

"""Writes training matrices with pyarrow exactly as workers/README.md says, for the tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa


def synthetic(n: int = 1200, n_features: int = 6, n_classes: int = 2, seed: int = 0) -> dict[str, np.ndarray]:
    """A learnable problem: the class is a noisy function of the first features; last 20 % is validation."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features)).astype(np.float32)
    score = 1.5 * X[:, 0] - X[:, 1] + 0.5 * X[:, 2] * X[:, 3] + rng.normal(scale=0.7, size=n)
    edges = np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1])
    y = np.searchsorted(edges, score).astype(np.int32)
    split = (np.arange(n) >= int(n * 0.8)).astype(np.int8)
    weight = np.ones(n, dtype=np.float32)
    return {"X": X, "y": y, "weight": weight, "split": split}


def matrix_table(
    X: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray,
    split: np.ndarray,
    classes: list[str],
    model_id: str = "churn",
    contract: str = "1",
    batches: int = 2,
) -> pa.Table:
    columns: dict[str, Any] = {f"x{j}": pa.array(X[:, j], pa.float32()) for j in range(X.shape[1])}
    columns["label"] = pa.array(y, pa.int32())
    columns["weight"] = pa.array(weight, pa.float32())
    columns["split"] = pa.array(split, pa.int8())
    meta = {
        "loopkeeper.contract": contract,
        "loopkeeper.classes": json.dumps(classes),
        "loopkeeper.featureNames": json.dumps([f"f{j}" for j in range(X.shape[1])]),
        "loopkeeper.modelId": model_id,
    }
    table = pa.table(columns).replace_schema_metadata(meta)
    # Several record batches, as the contract allows.
    return pa.Table.from_batches(table.to_batches(max_chunksize=max(1, -(-table.num_rows // batches))))


def ipc_file_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def put_matrix(root: Path, data: bytes, model_id: str = "churn") -> tuple[str, str]:
    """Stores the bytes under the content-addressed key; returns (key, sha256)."""
    sha = hashlib.sha256(data).hexdigest()
    key = f"training/{model_id}/{sha}/matrix.arrow"
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return key, sha


def train_input(key: str, sha: str, classes: list[str], n_features: int, **over: Any) -> dict[str, Any]:
    algorithm = over.pop("algorithm", "lightgbm")
    params = over.pop("params", {"numLeaves": 15, "learningRate": 0.1, "maxRounds": 200, "earlyStoppingRounds": 20, "seed": 0})
    base = {
        "contract": 1,
        "modelId": "churn",
        "matrixKey": key,
        "matrixSha256": sha,
        "classes": classes,
        "nFeatures": n_features,
        "algorithm": algorithm,
        "params": params,
        "outputPrefix": f"training/churn/{sha}/{algorithm}-{hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]}/",
    }
    base.update(over)
    return base

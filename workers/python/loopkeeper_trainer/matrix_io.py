"""Reads and checks the training matrix: Arrow IPC file format, contract 1 (workers/README.md)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import CONTRACT_VERSION
from .contract import TrainInput
from .errors import TrainingDataError

META_CONTRACT = b"loopkeeper.contract"
META_CLASSES = b"loopkeeper.classes"
META_FEATURES = b"loopkeeper.featureNames"
META_MODEL = b"loopkeeper.modelId"

SPLIT_TRAIN = 0
SPLIT_VALIDATION = 1


@dataclass(frozen=True)
class Part:
    """The rows of one split."""

    X: np.ndarray  # float32 [n, nFeatures], C order
    y: np.ndarray  # int32 [n]
    weight: np.ndarray  # float32 [n]

    @property
    def rows(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class TrainingMatrix:
    classes: list[str]
    feature_names: list[str]
    model_id: str
    train: Part
    validation: Part


def _fail(key: str, message: str) -> TrainingDataError:
    return TrainingDataError(f"training matrix {key}: {message}")


def _meta_json(meta: dict[bytes, bytes], name: bytes, key: str) -> object:
    if name not in meta:
        raise _fail(key, f"schema metadata has no {name.decode()}")
    try:
        return json.loads(meta[name].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise _fail(key, f"schema metadata {name.decode()} is not JSON ({err})") from err


def _column(table: pa.Table, name: str, dtype: pa.DataType, key: str) -> np.ndarray:
    col = table.column(name)
    if col.type != dtype:
        raise _fail(key, f"column {name} is {col.type}, expected {dtype}")
    if col.null_count:
        raise _fail(key, f"column {name} has {col.null_count} null value(s)")
    return col.to_numpy()


def read_matrix(data: bytes, inp: TrainInput) -> TrainingMatrix:
    """Parses and validates the matrix against the input that names it.

    Raises TrainingDataError naming the first problem: sha256 mismatch, not an Arrow IPC file, wrong
    contract or metadata, missing/extra/mistyped/null columns, labels or splits out of range,
    non-finite features or weights, a class without training rows, no training rows.
    """
    key = inp.matrix_key
    sha = hashlib.sha256(data).hexdigest()
    if sha != inp.matrix_sha256:
        raise _fail(key, f"sha256 is {sha}, the input says {inp.matrix_sha256}")
    try:
        table = pa.ipc.open_file(pa.BufferReader(data)).read_all()
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError) as err:
        raise _fail(key, f"not an Arrow IPC file ({err})") from err
    meta = table.schema.metadata or {}
    contract = meta.get(META_CONTRACT, b"").decode("utf-8", "replace")
    if contract != str(CONTRACT_VERSION):
        raise _fail(key, f"loopkeeper.contract is {contract or 'missing'!r}, expected '{CONTRACT_VERSION}'")
    classes = _meta_json(meta, META_CLASSES, key)
    if classes != inp.classes:
        raise _fail(key, f"loopkeeper.classes is {classes}, the input says {inp.classes}")
    features = _meta_json(meta, META_FEATURES, key)
    if not isinstance(features, list) or len(features) != inp.n_features:
        count = len(features) if isinstance(features, list) else "not a list"
        raise _fail(key, f"loopkeeper.featureNames has {count} names, the input says nFeatures={inp.n_features}")
    model_id = meta.get(META_MODEL, b"").decode("utf-8", "replace")
    if model_id != inp.model_id:
        raise _fail(key, f"loopkeeper.modelId is {model_id!r}, the input says {inp.model_id!r}")

    x_names = [f"x{j}" for j in range(inp.n_features)]
    expected = [*x_names, "label", "weight", "split"]
    missing = [c for c in expected if c not in table.column_names]
    extra = [c for c in table.column_names if c not in expected]
    if missing or extra:
        parts = ([f"missing {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}"] if missing else []) + (
            [f"unexpected {', '.join(extra[:5])}"] if extra else []
        )
        raise _fail(key, f"columns: {'; '.join(parts)}")
    if table.num_rows == 0:
        raise _fail(key, "has no rows")

    X = np.empty((table.num_rows, inp.n_features), dtype=np.float32)
    for j, name in enumerate(x_names):
        X[:, j] = _column(table, name, pa.float32(), key)
    y = _column(table, "label", pa.int32(), key)
    weight = _column(table, "weight", pa.float32(), key)
    split = _column(table, "split", pa.int8(), key)

    bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
    if bad.size:
        col = int(np.flatnonzero(~np.isfinite(X[bad[0]]))[0])
        raise _fail(key, f"{bad.size} row(s) have non-finite features, first row {bad[0]} column x{col}")
    bad = np.flatnonzero((y < 0) | (y >= len(classes)))
    if bad.size:
        raise _fail(key, f"label {int(y[bad[0]])} at row {bad[0]} is not an index into {len(classes)} classes")
    bad = np.flatnonzero(~np.isfinite(weight) | (weight < 0))
    if bad.size:
        raise _fail(key, f"weight {float(weight[bad[0]])} at row {bad[0]} is not a finite non-negative number")
    bad = np.flatnonzero((split != SPLIT_TRAIN) & (split != SPLIT_VALIDATION))
    if bad.size:
        raise _fail(key, f"split {int(split[bad[0]])} at row {bad[0]} is not 0 (train) or 1 (validation)")

    is_train = split == SPLIT_TRAIN
    train = Part(np.ascontiguousarray(X[is_train]), y[is_train], weight[is_train])
    validation = Part(np.ascontiguousarray(X[~is_train]), y[~is_train], weight[~is_train])
    if train.rows == 0:
        raise _fail(key, "has no training rows (split = 0)")
    counts = np.bincount(train.y, weights=train.weight, minlength=len(classes))
    empty = [classes[k] for k in range(len(classes)) if counts[k] <= 0]
    if empty:
        raise _fail(key, f"class(es) {', '.join(empty)} have no training rows (or only zero weights)")
    return TrainingMatrix(list(classes), [str(f) for f in features], model_id, train, validation)

"""The training matrix is checked before anything is trained; each problem is named."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from matrices import ipc_file_bytes, matrix_table, synthetic, train_input

from loopkeeper_trainer.contract import parse_input
from loopkeeper_trainer.errors import InvalidTrainInput, TrainingDataError
from loopkeeper_trainer.matrix_io import read_matrix

CLASSES = ["no", "yes"]


def _read(data: bytes, **over: Any):
    sha = hashlib.sha256(data).hexdigest()
    inp = parse_input(train_input(f"training/churn/{sha}/matrix.arrow", sha, over.pop("classes", CLASSES), 6, **over))
    return read_matrix(data, inp)


def test_reads_a_matrix_of_several_batches_into_train_and_validation() -> None:
    d = synthetic()
    m = _read(ipc_file_bytes(matrix_table(d["X"], d["y"], d["weight"], d["split"], CLASSES, batches=3)))
    assert m.train.rows == 960 and m.validation.rows == 240
    np.testing.assert_array_equal(m.train.X, d["X"][:960])
    np.testing.assert_array_equal(m.validation.y, d["y"][960:])
    assert m.classes == CLASSES and m.feature_names == [f"f{j}" for j in range(6)]


def _mutated(change: Callable[[dict[str, np.ndarray]], pa.Table]) -> bytes:
    return ipc_file_bytes(change(synthetic()))


def _with_column(d: dict[str, np.ndarray], name: str, array: pa.Array) -> pa.Table:
    t = matrix_table(d["X"], d["y"], d["weight"], d["split"], CLASSES)
    return t.set_column(t.schema.get_field_index(name), name, array)


CASES: list[tuple[str, Callable[[dict[str, np.ndarray]], pa.Table], str]] = [
    ("contract 2", lambda d: matrix_table(d["X"], d["y"], d["weight"], d["split"], CLASSES, contract="2"), "loopkeeper.contract is '2'"),
    ("other classes", lambda d: matrix_table(d["X"], d["y"], d["weight"], d["split"], ["a", "b"]), "loopkeeper.classes"),
    ("other model", lambda d: matrix_table(d["X"], d["y"], d["weight"], d["split"], CLASSES, model_id="fraud"), "loopkeeper.modelId is 'fraud'"),
    ("missing column", lambda d: matrix_table(d["X"], d["y"], d["weight"], d["split"], CLASSES).drop_columns(["weight"]), "missing weight"),
    ("float64 feature", lambda d: _with_column(d, "x2", pa.array(d["X"][:, 2], pa.float64())), "column x2 is double, expected float"),
    ("null label", lambda d: _with_column(d, "label", pa.array([None] + d["y"][1:].tolist(), pa.int32())), "column label has 1 null"),
    ("label out of range", lambda d: _with_column(d, "label", pa.array(np.where(np.arange(1200) == 7, 2, d["y"]), pa.int32())), "label 2 at row 7"),
    ("split 2", lambda d: _with_column(d, "split", pa.array(np.where(np.arange(1200) == 3, 2, d["split"]), pa.int8())), "split 2 at row 3"),
    ("negative weight", lambda d: _with_column(d, "weight", pa.array(np.where(np.arange(1200) == 5, -1, d["weight"]), pa.float32())), "weight -1.0 at row 5"),
    ("NaN feature", lambda d: _with_column(d, "x4", pa.array(np.where(np.arange(1200) == 9, np.nan, d["X"][:, 4]), pa.float32())), "first row 9 column x4"),
    ("class without training rows", lambda d: _with_column(d, "label", pa.array(np.where(d["split"] == 0, 0, d["y"]), pa.int32())), "class(es) yes have no training rows"),
    ("no training rows", lambda d: _with_column(d, "split", pa.array(np.ones(1200), pa.int8())), "no training rows"),
]


@pytest.mark.parametrize("name,change,message", CASES, ids=[c[0] for c in CASES])
def test_a_bad_matrix_is_a_training_data_error_naming_the_problem(name: str, change: Any, message: str) -> None:
    with pytest.raises(TrainingDataError) as err:
        _read(_mutated(change))
    assert message in str(err.value)


def test_a_sha256_mismatch_is_refused() -> None:
    d = synthetic()
    data = ipc_file_bytes(matrix_table(d["X"], d["y"], d["weight"], d["split"], CLASSES))
    inp = parse_input(train_input("training/churn/x/matrix.arrow", "0" * 64, CLASSES, 6))
    with pytest.raises(TrainingDataError, match=r"sha256 is [0-9a-f]{64}, the input says 0{64}"):
        read_matrix(data, inp)


def test_the_arrow_stream_format_is_not_the_file_format() -> None:
    d = synthetic()
    table = matrix_table(d["X"], d["y"], d["weight"], d["split"], CLASSES)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    with pytest.raises(TrainingDataError, match="not an Arrow IPC file"):
        _read(sink.getvalue().to_pybytes())


def test_nfeatures_must_match_the_feature_names() -> None:
    d = synthetic()
    data = ipc_file_bytes(matrix_table(d["X"], d["y"], d["weight"], d["split"], CLASSES))
    sha = hashlib.sha256(data).hexdigest()
    with pytest.raises(TrainingDataError, match="featureNames has 6 names, the input says nFeatures=7"):
        read_matrix(data, parse_input(train_input("k/matrix.arrow", sha, CLASSES, 7)))


@pytest.mark.parametrize(
    "over,message",
    [
        ({"params": {"numLeaves": 31, "learningrate": 0.1}}, "unknown lightgbm param(s) learningrate"),
        ({"algorithm": "xgboost"}, "algorithm must be one of"),
        ({"contract": 2}, "contract must be 1"),
        ({"matrixSha256": "abc"}, "matrixSha256 must be 64 lowercase hex digits"),
        ({"classes": ["yes"]}, "at least two"),
        ({"positiveClass": "maybe"}, "positiveClass 'maybe'"),
        ({"outputPrefix": "training/x"}, "must end with '/'"),
        ({"extra": 1}, "unknown field(s) extra"),
        ({"params": {"maxRounds": 2.5}}, "params.maxRounds must be an integer"),
    ],
)
def test_a_bad_input_object_is_refused(over: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidTrainInput) as err:
        raw = train_input("k/matrix.arrow", "0" * 64, CLASSES, 6)
        raw.update(over)
        parse_input(raw)
    assert message in str(err.value)

"""Training, ONNX export and parity, idempotency and failure mapping of trainExternalModel."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from matrices import ipc_file_bytes, matrix_table, put_matrix, synthetic, train_input
from sklearn.metrics import roc_auc_score
from temporalio.exceptions import ApplicationError

import loopkeeper_trainer.activity as act
import loopkeeper_trainer.train_lightgbm as tl
from loopkeeper_trainer.errors import OnnxMismatch, as_application_error
from loopkeeper_trainer.export import onnx_probabilities
from loopkeeper_trainer.store import FileStore


def _stored(store: FileStore, n_classes: int = 2, **over: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    d = synthetic(n_classes=n_classes, seed=n_classes)
    classes = ["no", "yes"] if n_classes == 2 else [f"c{k}" for k in range(n_classes)]
    key, sha = put_matrix(store.root, ipc_file_bytes(matrix_table(d["X"], d["y"], d["weight"], d["split"], classes)))
    return train_input(key, sha, classes, d["X"].shape[1], **over), d


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    if p.shape[1] == 2:
        return float(roc_auc_score(y, p[:, 1]))
    return float(roc_auc_score(y, p, multi_class="ovr", average="macro"))


@pytest.mark.parametrize("algorithm,n_classes", [("lightgbm", 2), ("lightgbm", 3), ("logistic", 2), ("logistic", 3)])
def test_trains_exports_onnx_and_scores_like_the_library(store: FileStore, algorithm: str, n_classes: int) -> None:
    params = {"l2": 1e-3} if algorithm == "logistic" else None
    inp, d = _stored(store, n_classes, algorithm=algorithm, **({"params": params} if params else {}))
    result = act.train_external_model(inp, store)

    assert result["artifactKey"] == inp["outputPrefix"] + "model.onnx"
    assert result["classes"] == inp["classes"]
    assert (result["inputName"], result["outputName"], result["contract"]) == ("input", "probabilities", 1)
    assert result["validation"]["rows"] == 240 and result["training"]["rows"] == 960
    assert 0 <= result["validation"]["maxAbsDiff"] <= 1e-5
    assert result["producer"].startswith("lightgbm 4.7.0 + onnxmltools" if algorithm == "lightgbm" else "scikit-learn")
    model = (store.root / result["artifactKey"]).read_bytes()
    stored = json.loads((store.root / inp["outputPrefix"] / "result.json").read_text())
    assert stored == result
    # The graph as the Node side sees it: [N, C] probabilities in class order that rank the held-out rows.
    valid = d["split"] == 1
    p = onnx_probabilities(model, d["X"][valid])
    assert p.shape == (240, n_classes)
    np.testing.assert_allclose(p.sum(axis=1), 1, atol=1e-5)
    assert _auc(d["y"][valid], p) > 0.8


def test_lightgbm_stops_early_on_the_validation_split_and_keeps_the_best_trees(store: FileStore) -> None:
    params = {"numLeaves": 31, "learningRate": 0.3, "maxRounds": 400, "earlyStoppingRounds": 10, "seed": 0}
    inp, _ = _stored(store, params=params)
    training = act.train_external_model(inp, store)["training"]
    assert training["rounds"] < 400
    assert training["bestIteration"] == training["rounds"] - 10


def test_onnx_parity_matches_an_independent_booster_on_the_validation_rows(store: FileStore) -> None:
    import lightgbm as lgb

    inp, d = _stored(store, 3)
    result = act.train_external_model(inp, store)
    valid = d["split"] == 1
    # Retrain outside the worker with the same settings: the exported graph reproduces it to 1e-5.
    booster = lgb.train(
        {"objective": "multiclass", "num_class": 3, "num_leaves": 15, "learning_rate": 0.1, "seed": 0,
         "deterministic": True, "force_col_wise": True, "verbosity": -1, "min_data_in_leaf": 20, "num_threads": 1},
        lgb.Dataset(d["X"][~valid], d["y"][~valid]),
        num_boost_round=result["training"]["bestIteration"],
    )
    onnx_p = onnx_probabilities((store.root / result["artifactKey"]).read_bytes(), d["X"][valid])
    assert np.abs(onnx_p - booster.predict(d["X"][valid])).max() <= 1e-5


def test_a_second_call_returns_the_stored_result_without_training(store: FileStore, monkeypatch: pytest.MonkeyPatch) -> None:
    inp, _ = _stored(store)
    first = act.train_external_model(inp, store)

    def must_not_train(*_a: Any, **_k: Any) -> None:
        raise AssertionError("trained again")

    monkeypatch.setattr(act, "train_lightgbm", must_not_train)
    assert act.train_external_model(inp, store) == first


def test_a_result_json_without_its_model_is_not_trusted(store: FileStore) -> None:
    inp, _ = _stored(store)
    first = act.train_external_model(inp, store)
    model_path = store.root / first["artifactKey"]
    model_path.write_bytes(b"torn")
    again = act.train_external_model(inp, store)
    assert again["artifactSha256"] == first["artifactSha256"]  # deterministic: the same bytes again
    assert model_path.read_bytes() != b"torn"


def test_heartbeats_while_training(store: FileStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tl, "HEARTBEAT_EVERY_S", 0.0)
    inp, _ = _stored(store, params={"maxRounds": 30, "earlyStoppingRounds": 0})
    beats: list[dict[str, Any]] = []
    act.train_external_model(inp, store, beats.append)
    rounds = [b["round"] for b in beats if b.get("stage") == "training"]
    assert rounds == list(range(1, 31))
    assert beats[0]["stage"] == "reading" and beats[-1]["stage"] == "exporting"


def test_an_onnx_mismatch_is_refused_naming_the_difference(store: FileStore, monkeypatch: pytest.MonkeyPatch) -> None:
    real = act._train

    def skewed(*args: Any) -> Any:
        fitted = real(*args)
        own = fitted.predict_proba
        fitted.predict_proba = lambda X: own(X) + np.array([2e-5, -2e-5])
        return fitted

    monkeypatch.setattr(act, "_train", skewed)
    inp, _ = _stored(store)
    with pytest.raises(OnnxMismatch, match=r"differ by 2(\.\d+)?e-05 \(> 1e-05\) on validation row \d+, class 0"):
        act.train_external_model(inp, store)
    assert not (store.root / inp["outputPrefix"]).exists()  # nothing half-written for a retry to trust


def test_a_missing_matrix_is_a_training_data_error(store: FileStore) -> None:
    inp, _ = _stored(store)
    inp["matrixKey"] = "training/churn/nope/matrix.arrow"
    with pytest.raises(act.TrainingDataError, match="no such object"):
        act.train_external_model(inp, store)


def test_contract_failures_become_non_retryable_application_errors() -> None:
    mapped = as_application_error(OnnxMismatch("differ"))
    assert isinstance(mapped, ApplicationError) and mapped.non_retryable and mapped.type == "OnnxMismatch"
    mapped = as_application_error(act.TrainingDataError("bad"))
    assert isinstance(mapped, ApplicationError) and mapped.type == "TrainingDataError" and mapped.non_retryable
    other = OSError("store down")
    assert as_application_error(other) is other  # retried by Temporal


def test_a_split_between_adjacent_float32_values_scores_alike_in_onnx(store: FileStore) -> None:
    # LightGBM puts the threshold between the two values as a double; rounded to the nearest float32 in
    # the ONNX graph it would land on the upper value and send those rows the other way.
    rng = np.random.default_rng(0)
    n = 1200
    low = np.float32(1.0)
    high = np.nextafter(low, np.float32(2.0))
    x0 = np.where(rng.random(n) < 0.5, low, high).astype(np.float32)
    X = np.column_stack([x0, rng.normal(size=n).astype(np.float32)])
    y = ((x0 == high) ^ (rng.random(n) < 0.1)).astype(np.int32)
    split = (np.arange(n) >= int(n * 0.8)).astype(np.int8)
    classes = ["no", "yes"]
    table = matrix_table(X, y, np.ones(n, dtype=np.float32), split, classes)
    key, sha = put_matrix(store.root, ipc_file_bytes(table))
    inp = train_input(key, sha, classes, 2, params={"earlyStoppingRounds": 0, "maxRounds": 20})
    result = act.train_external_model(inp, store)
    assert result["validation"]["maxAbsDiff"] <= 1e-5
    assert result["training"]["thresholdsSnappedToFloat32"] > 0
    p = onnx_probabilities((store.root / result["artifactKey"]).read_bytes(), X)
    # The two groups are told apart by the graph, as by the booster.
    assert p[x0 == high, 1].min() > p[x0 == low, 1].max()

"""The `trainExternalModel` activity: matrix in, ONNX model out (workers/README.md)."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import numpy as np
from temporalio import activity

from .contract import TrainInput, TrainResult, parse_input
from .errors import TrainingDataError, as_application_error
from .export import INPUT_NAME, OUTPUT_NAME, check_parity, to_onnx
from .fitted import Fitted, Heartbeat, no_heartbeat
from .matrix_io import TrainingMatrix, read_matrix
from .store import Store
from .train_lightgbm import train_lightgbm
from .train_logistic import train_logistic

ACTIVITY_NAME = "trainExternalModel"
#: Without validation rows the parity check runs on this many training rows instead.
PARITY_FALLBACK_ROWS = 1000

log = logging.getLogger(__name__)


def _stored_result(store: Store, inp: TrainInput) -> dict[str, Any] | None:
    """The result of an earlier complete run under the same content-derived prefix, if there is one."""
    raw = store.get(inp.result_key)
    if raw is None:
        return None
    try:
        result = json.loads(raw)
    except json.JSONDecodeError:
        return None  # a torn or foreign file: train again and overwrite it
    model = store.get(inp.artifact_key)
    if (
        not isinstance(result, dict)
        or model is None
        or result.get("artifactSha256") != hashlib.sha256(model).hexdigest()
        or result.get("classes") != inp.classes
    ):
        return None
    return result


def _weighted_log_loss(p: np.ndarray, y: np.ndarray, w: np.ndarray) -> float | None:
    if y.shape[0] == 0 or float(w.sum()) <= 0:
        return None
    picked = np.clip(p[np.arange(y.shape[0]), y], 1e-15, 1.0)
    return float(-(w * np.log(picked)).sum() / w.sum())


def _train(m: TrainingMatrix, inp: TrainInput, beat: Heartbeat) -> Fitted:
    if inp.algorithm == "logistic":
        return train_logistic(m, inp.params, beat)
    return train_lightgbm(m, inp.params, beat)


def train_external_model(raw: Any, store: Store, beat: Heartbeat = no_heartbeat) -> dict[str, Any]:
    """Trains, exports and checks one model, or returns the stored result of an identical earlier call.

    Raises InvalidTrainInput, TrainingDataError or OnnxMismatch (non-retryable in the activity);
    anything else (a store outage) is left to Temporal's retries.
    """
    inp = parse_input(raw)
    stored = _stored_result(store, inp)
    if stored is not None:
        log.info("trainExternalModel %s: returning the stored result (%s)", inp.model_id, inp.result_key)
        return stored
    beat({"stage": "reading", "matrixKey": inp.matrix_key})
    data = store.get(inp.matrix_key)
    if data is None:
        raise TrainingDataError(f"training matrix {inp.matrix_key}: no such object in {store.uri}")
    m = read_matrix(data, inp)
    fitted = _train(m, inp, beat)
    beat({"stage": "exporting"})
    exported = to_onnx(fitted, inp.n_features)
    check_rows = m.validation.X if m.validation.rows > 0 else m.train.X[:PARITY_FALLBACK_ROWS]
    max_abs_diff = check_parity(exported, fitted, check_rows, len(inp.classes))
    log_loss = _weighted_log_loss(fitted.predict_proba(m.validation.X), m.validation.y, m.validation.weight)
    result = TrainResult(
        artifact_key=inp.artifact_key,
        artifact_sha256=hashlib.sha256(exported.onnx_bytes).hexdigest(),
        input_name=INPUT_NAME,
        output_name=OUTPUT_NAME,
        opset=exported.opset,
        producer=exported.producer,
        classes=inp.classes,
        validation={"rows": m.validation.rows, "maxAbsDiff": max_abs_diff, "logLoss": log_loss},
        training=fitted.training,
    ).to_json()
    # model.onnx first: a result.json is only ever beside the model it describes.
    store.put(inp.artifact_key, exported.onnx_bytes)
    store.put(inp.result_key, json.dumps(result, indent=2).encode())
    return result


class TrainerActivities:
    """The activity with its dependency (the store) injected, as the Node activity factories do."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @activity.defn(name=ACTIVITY_NAME)
    def train_external_model(self, input: dict[str, Any]) -> dict[str, Any]:
        def beat(details: dict[str, Any]) -> None:
            # Once Temporal cancels the attempt (heartbeat timeout, workflow cancelled, worker shutting
            # down), the SDK raises CancelledError into this thread: LightGBM's Python loop stops there.
            activity.heartbeat(details)

        try:
            return train_external_model(input, self.store, beat)
        except Exception as err:
            mapped = as_application_error(err)
            if mapped is err:
                raise
            raise mapped from err

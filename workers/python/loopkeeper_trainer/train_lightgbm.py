"""LightGBM (the default): gradient-boosted trees, early-stopped on the validation split."""

from __future__ import annotations

import os
import time
from typing import Any

import lightgbm as lgb
import numpy as np

from .fitted import Fitted, Heartbeat, no_heartbeat
from .matrix_io import TrainingMatrix

#: Heartbeat at most this often (the contract asks for at least every 10 s; one round is usually ms).
HEARTBEAT_EVERY_S = 2.0


def float32_thresholds(model_str: str) -> tuple[str, int]:
    """Rewrites every split threshold t of a LightGBM model (text format) to the largest float32 <= t.

    LightGBM keeps thresholds as doubles, usually strictly between two float32 feature values; the ONNX
    TreeEnsemble stores them as float32, and rounding to the nearest float32 can land on the value just
    above the split, which LightGBM sends right and onnxruntime left (measured: 0.0089 probability on
    a loop cycle's validation row). The inputs are float32 (the matrix contract), so x <= t and
    x <= floor32(t) decide alike: LightGBM's own predictions do not change and the graph matches them.
    Categorical thresholds are small integers, exact in float32, and stay as they are. The tree_sizes
    header (byte offsets of the trees) is dropped, since the text changes length; LightGBM then parses
    the trees in order. Returns the new text and how many thresholds moved.
    """
    out: list[str] = []
    moved = 0
    for line in model_str.split("\n"):
        if line.startswith("tree_sizes="):
            continue
        if line.startswith("threshold="):
            values = []
            for text in line[len("threshold=") :].split(" "):
                t = float(text)
                f = np.float32(t)
                if float(f) > t:
                    f = np.nextafter(f, np.float32(-np.inf))
                if float(f) != t:
                    moved += 1
                values.append(repr(float(f)))
            line = "threshold=" + " ".join(values)
        out.append(line)
    return "\n".join(out), moved


def _heartbeat_callback(beat: Heartbeat, max_rounds: int, rounds: list[int]) -> Any:
    last = [0.0]

    def callback(env: lgb.callback.CallbackEnv) -> None:
        rounds[0] = env.iteration + 1
        now = time.monotonic()
        if now - last[0] >= HEARTBEAT_EVERY_S:
            last[0] = now
            beat({"stage": "training", "round": env.iteration + 1, "maxRounds": max_rounds})

    callback.order = 5  # type: ignore[attr-defined]  # before early stopping (order 30) may stop the loop
    return callback


def train_lightgbm(m: TrainingMatrix, params: dict[str, float | int], beat: Heartbeat = no_heartbeat) -> Fitted:
    """Trains on the train rows; with validation rows, stops after `earlyStoppingRounds` without gain and
    keeps the best iteration only (the exported graph and predict_proba both use exactly those trees)."""
    n_classes = len(m.classes)
    lgb_params: dict[str, Any] = {
        "objective": "binary" if n_classes == 2 else "multiclass",
        "num_leaves": int(params["numLeaves"]),
        "learning_rate": float(params["learningRate"]),
        "min_data_in_leaf": int(params["minDataInLeaf"]),
        "lambda_l2": float(params["lambdaL2"]),
        "seed": int(params["seed"]),
        # Same data, params and seed give the same trees: a retried activity writes the same model.
        "deterministic": True,
        "force_col_wise": True,
        "num_threads": int(os.environ.get("LOOPKEEPER_TRAINER_THREADS", "0")),
        "verbosity": -1,
    }
    if n_classes > 2:
        lgb_params["num_class"] = n_classes
    max_rounds = int(params["maxRounds"])
    train_set = lgb.Dataset(m.train.X, m.train.y, weight=m.train.weight, free_raw_data=False)
    # lgb.train hands back only the best trees after early stopping, so the rounds run are counted here.
    rounds_run = [0]
    callbacks = [_heartbeat_callback(beat, max_rounds, rounds_run)]
    valid_sets = []
    if m.validation.rows > 0 and int(params["earlyStoppingRounds"]) > 0:
        valid_sets = [lgb.Dataset(m.validation.X, m.validation.y, weight=m.validation.weight, reference=train_set)]
        callbacks.append(lgb.early_stopping(int(params["earlyStoppingRounds"]), verbose=False))
    started = time.monotonic()
    booster = lgb.train(lgb_params, train_set, num_boost_round=max_rounds, valid_sets=valid_sets, callbacks=callbacks)
    rounds = rounds_run[0]
    best = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
    snapped, moved = float32_thresholds(booster.model_to_string(num_iteration=best))
    final = lgb.Booster(model_str=snapped)

    def predict_proba(X: np.ndarray) -> np.ndarray:
        p = np.asarray(final.predict(X), dtype=np.float64)
        return np.column_stack([1.0 - p, p]) if p.ndim == 1 else p

    return Fitted(
        model=final,
        predict_proba=predict_proba,
        producer=f"lightgbm {lgb.__version__}",
        training={
            "rows": m.train.rows,
            "rounds": rounds,
            "bestIteration": best,
            "thresholdsSnappedToFloat32": moved,
            "seconds": round(time.monotonic() - started, 3),
        },
    )

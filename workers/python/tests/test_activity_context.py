"""The activity as Temporal runs it (temporalio.testing.ActivityEnvironment): heartbeats, failure types,
cancellation."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from matrices import ipc_file_bytes, matrix_table, put_matrix, synthetic, train_input
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import ActivityEnvironment

import loopkeeper_trainer.train_lightgbm as tl
from loopkeeper_trainer.activity import TrainerActivities
from loopkeeper_trainer.store import FileStore


def _input(store: FileStore, **over: Any) -> dict[str, Any]:
    d = synthetic()
    key, sha = put_matrix(store.root, ipc_file_bytes(matrix_table(d["X"], d["y"], d["weight"], d["split"], ["no", "yes"])))
    return train_input(key, sha, ["no", "yes"], 6, **over)


def test_heartbeats_reach_temporal_and_the_result_comes_back(store: FileStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tl, "HEARTBEAT_EVERY_S", 0.0)
    env = ActivityEnvironment()
    beats: list[Any] = []
    env.on_heartbeat = lambda *details: beats.append(details[0])
    inp = _input(store, params={"maxRounds": 20, "earlyStoppingRounds": 0})
    result = env.run(TrainerActivities(store).train_external_model, inp)
    assert result["training"]["rounds"] == 20
    assert [b["round"] for b in beats if b["stage"] == "training"] == list(range(1, 21))


def test_contract_failures_are_non_retryable_with_their_type(store: FileStore) -> None:
    inp = {**_input(store), "matrixSha256": "e" * 64}
    with pytest.raises(ApplicationError) as err:
        ActivityEnvironment().run(TrainerActivities(store).train_external_model, inp)
    assert err.value.type == "TrainingDataError" and err.value.non_retryable
    with pytest.raises(ApplicationError) as err:
        ActivityEnvironment().run(TrainerActivities(store).train_external_model, {**inp, "params": {"trees": 3}})
    assert err.value.type == "InvalidTrainInput" and err.value.non_retryable


def test_a_cancelled_attempt_stops_training_at_its_next_heartbeat(store: FileStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tl, "HEARTBEAT_EVERY_S", 0.0)
    env = ActivityEnvironment()
    rounds: list[int] = []

    def on_heartbeat(*details: Any) -> None:
        if details[0].get("stage") == "training":
            rounds.append(details[0]["round"])
            if details[0]["round"] == 3:
                # As the SDK does when the server cancels: from another thread.
                threading.Thread(target=env.cancel).start()

    env.on_heartbeat = on_heartbeat
    inp = _input(store, params={"maxRounds": 100_000, "earlyStoppingRounds": 0})
    with pytest.raises(CancelledError):
        env.run(TrainerActivities(store).train_external_model, inp)
    assert 3 <= len(rounds) < 100_000
    assert not (store.root / inp["outputPrefix"]).exists()

"""The real worker process (`python -m loopkeeper_trainer.worker`) on a real Temporal dev server, called
from a workflow the way the Node retrain workflow calls it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from matrices import ipc_file_bytes, matrix_table, put_matrix, synthetic, train_input
from services import temporal_dev_server
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.worker import Worker
from workflows import TrainThroughExternalWorker

from loopkeeper_trainer.export import onnx_probabilities

WORKERS_PYTHON = Path(__file__).resolve().parents[1]
INSTALLATION = "pytest01"
NAMESPACE = f"loopkeeper-{INSTALLATION}"
TRAINER_QUEUE = "loopkeeper-training-python-test"


async def _run(client: Client, inp: dict[str, Any]) -> dict[str, Any]:
    return await client.execute_workflow(
        TrainThroughExternalWorker.run,
        {"input": inp, "taskQueue": TRAINER_QUEUE},
        id=f"train-{uuid.uuid4()}",
        task_queue="workflows-test",
        result_type=dict,
    )


async def _scenario(address: str, good: dict[str, Any], bad: dict[str, Any]) -> tuple[dict[str, Any], BaseException]:
    client = await Client.connect(address, namespace=NAMESPACE)
    async with Worker(client, task_queue="workflows-test", workflows=[TrainThroughExternalWorker]):
        result = await _run(client, good)
        with pytest.raises(WorkflowFailureError) as failure:
            await _run(client, bad)
    return result, failure.value


def test_trains_through_the_worker_process_on_a_dev_server(tmp_path: Path) -> None:
    root = tmp_path / "store"
    root.mkdir()
    # The worker finds its namespace as the Node side does: loopkeeper-{id} of the store's installation.
    (root / "installation.json").write_text(
        json.dumps({"id": INSTALLATION, "createdAt": "2026-12-07T00:00:00.000Z", "storeUri": f"file://{root}"})
    )
    d = synthetic(n_classes=3, seed=7)
    classes = ["a", "b", "c"]
    key, sha = put_matrix(root, ipc_file_bytes(matrix_table(d["X"], d["y"], d["weight"], d["split"], classes)))
    good = train_input(key, sha, classes, 6)
    bad = {**good, "matrixSha256": "f" * 64, "outputPrefix": good["outputPrefix"] + "bad/"}

    with temporal_dev_server(tmp_path, NAMESPACE) as address:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "LOOPKEEPER_"))}
        env.update(
            TEMPORAL_ADDRESS=address,
            LOOPKEEPER_STORE=f"file://{root}",
            LOOPKEEPER_PYTHON_TASK_QUEUE=TRAINER_QUEUE,
            PYTHONPATH=str(WORKERS_PYTHON),
        )
        log = tmp_path / "worker.log"
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "loopkeeper_trainer.worker"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            result, failure = asyncio.run(_scenario(address, good, bad))
        finally:
            worker.send_signal(signal.SIGTERM)
            code = worker.wait(timeout=60)
        assert code == 0, log.read_text()
    assert f"namespace {NAMESPACE}" in log.read_text()

    assert result["artifactKey"] == good["outputPrefix"] + "model.onnx"
    assert result["validation"]["maxAbsDiff"] <= 1e-5
    p = onnx_probabilities((root / result["artifactKey"]).read_bytes(), d["X"][d["split"] == 1])
    assert p.shape == (240, 3)

    # A bad matrix fails the activity once, non-retryably, with the contract's type string.
    activity_error = failure.cause
    assert isinstance(activity_error, ActivityError)
    assert activity_error.retry_state == RetryState.NON_RETRYABLE_FAILURE
    app = activity_error.cause
    assert isinstance(app, ApplicationError) and app.type == "TrainingDataError" and app.non_retryable
    assert "sha256 is" in app.message and "the input says ffff" in app.message

"""A stand-in for the Node retrain workflow: it calls trainExternalModel by name on the trainer's queue,
with the timeouts the contract names (heartbeat 1 minute)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy


@workflow.defn(name="trainThroughExternalWorker")
class TrainThroughExternalWorker:
    @workflow.run
    async def run(self, args: dict[str, Any]) -> dict[str, Any]:
        return await workflow.execute_activity(
            "trainExternalModel",
            args["input"],
            task_queue=args["taskQueue"],
            start_to_close_timeout=timedelta(minutes=10),
            heartbeat_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(milliseconds=200)),
            result_type=dict,
        )

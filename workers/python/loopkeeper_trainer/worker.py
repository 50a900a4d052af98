"""`python -m loopkeeper_trainer.worker`: serves trainExternalModel until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from .activity import TrainerActivities
from .config import ConfigError, WorkerConfig, load_config

log = logging.getLogger("loopkeeper_trainer")


async def connect(cfg: WorkerConfig) -> Client:
    return await Client.connect(cfg.address, namespace=cfg.namespace, api_key=cfg.api_key, tls=cfg.tls)


def build_worker(client: Client, cfg: WorkerConfig, executor: ThreadPoolExecutor) -> Worker:
    """Training is CPU-bound and synchronous: it runs on the executor's threads, heartbeating from there."""
    return Worker(
        client,
        task_queue=cfg.task_queue,
        activities=[TrainerActivities(cfg.store).train_external_model],
        activity_executor=executor,
        max_concurrent_activities=cfg.max_concurrent,
    )


async def run(cfg: WorkerConfig) -> None:
    client = await connect(cfg)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=cfg.max_concurrent) as executor:
        worker = build_worker(client, cfg, executor)
        log.info(
            "loopkeeper python trainer: trainExternalModel on task queue %s, namespace %s at %s, store %s",
            cfg.task_queue,
            cfg.namespace,
            cfg.address,
            cfg.store.uri,
        )
        async with worker:
            await stop.wait()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = load_config()
    except ConfigError as err:
        print(f"loopkeeper python trainer: {err}", file=sys.stderr)
        return 2
    try:
        asyncio.run(run(cfg))
    except RuntimeError as err:
        # The SDK's connection errors are RuntimeErrors with the gRPC detail; one line, not a traceback.
        if "connect" not in str(err).lower():
            raise
        print(f"loopkeeper python trainer: cannot reach Temporal at {cfg.address} ({err})", file=sys.stderr)
        sys.stderr.flush()
        # Not a normal exit: after a failed connect the SDK's core runtime thread aborts the interpreter's
        # finalisation (PyGILState_Release, measured with temporalio 1.35.0).
        os._exit(3)
    return 0


if __name__ == "__main__":
    sys.exit(main())

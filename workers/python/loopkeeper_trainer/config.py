"""The worker's settings, from the same environment variables as the Node worker (src/config/config.ts)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from .store import Store, open_store

DEFAULT_ADDRESS = "127.0.0.1:7233"
DEFAULT_STORE = "file:.loopkeeper/store"
#: Not LOOPKEEPER_TRAINING_TASK_QUEUE: that one names the Node workers' training queue, and a Python
#: worker polling it would take Node activities it does not have.
TASK_QUEUE_VARIABLE = "LOOPKEEPER_PYTHON_TASK_QUEUE"
DEFAULT_TASK_QUEUE = "loopkeeper-training-python"


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names the variable."""


@dataclass(frozen=True)
class WorkerConfig:
    address: str
    namespace: str
    task_queue: str
    store: Store
    api_key: str | None
    tls: bool
    max_concurrent: int


def installation_namespace(store: Store) -> str | None:
    """`loopkeeper-{id}` from the store's installation.json (src/config/installation.ts), if it has one."""
    raw = store.get("installation.json")
    if raw is None:
        return None
    try:
        marker = json.loads(raw)
        ident = marker["id"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ConfigError(f"{store.uri}/installation.json is not a loopkeeper installation marker ({err})") from err
    return f"loopkeeper-{ident}"


def load_config(env: Mapping[str, str] | None = None) -> WorkerConfig:
    """Reads the environment; the namespace is TEMPORAL_NAMESPACE or else the store installation's own."""
    env = os.environ if env is None else env
    address = env.get("TEMPORAL_ADDRESS") or DEFAULT_ADDRESS
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"TEMPORAL_ADDRESS={address!r}: must be host:port, e.g. 127.0.0.1:7233")
    uri = env.get("LOOPKEEPER_STORE") or DEFAULT_STORE
    try:
        store = open_store(uri, env)
    except ValueError as err:
        raise ConfigError(f"LOOPKEEPER_STORE: {err}") from err
    namespace = env.get("TEMPORAL_NAMESPACE") or installation_namespace(store)
    if not namespace:
        raise ConfigError(
            f"TEMPORAL_NAMESPACE is not set and the store {uri} has no installation.json to derive "
            "loopkeeper-{id} from: create the store first (loopkeeper dev / --init) or set TEMPORAL_NAMESPACE"
        )
    concurrency = env.get("LOOPKEEPER_PYTHON_CONCURRENCY") or "1"
    if not concurrency.isdigit() or int(concurrency) < 1:
        raise ConfigError(f"LOOPKEEPER_PYTHON_CONCURRENCY={concurrency!r}: must be a positive integer")
    return WorkerConfig(
        address=address,
        namespace=namespace,
        task_queue=env.get(TASK_QUEUE_VARIABLE) or DEFAULT_TASK_QUEUE,
        store=store,
        api_key=env.get("TEMPORAL_API_KEY") or None,
        tls=(env.get("TEMPORAL_TLS", "").lower() in ("1", "true", "yes")) or bool(env.get("TEMPORAL_API_KEY")),
        max_concurrent=int(concurrency),
    )

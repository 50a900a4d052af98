"""The worker reads the Node worker's variables and finds the installation's namespace in the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loopkeeper_trainer.config import ConfigError, load_config
from loopkeeper_trainer.store import FileStore, open_store


def test_namespace_is_the_installations_unless_temporal_namespace_names_one(tmp_path: Path) -> None:
    (tmp_path / "installation.json").write_text(json.dumps({"id": "abc123", "createdAt": "x", "storeUri": "y"}))
    env = {"LOOPKEEPER_STORE": f"file://{tmp_path}", "TEMPORAL_ADDRESS": "10.0.0.1:7233"}
    cfg = load_config(env)
    assert (cfg.namespace, cfg.address, cfg.task_queue) == ("loopkeeper-abc123", "10.0.0.1:7233", "loopkeeper-training-python")
    cfg = load_config({**env, "TEMPORAL_NAMESPACE": "prod", "LOOPKEEPER_PYTHON_TASK_QUEUE": "gpu"})
    assert (cfg.namespace, cfg.task_queue) == ("prod", "gpu")


def test_a_store_without_installation_needs_a_namespace(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TEMPORAL_NAMESPACE is not set and the store .* has no installation.json"):
        load_config({"LOOPKEEPER_STORE": f"file://{tmp_path}"})


@pytest.mark.parametrize(
    "env,message",
    [
        ({"LOOPKEEPER_STORE": "ftp://x"}, 'LOOPKEEPER_STORE: unsupported store URI "ftp://x"'),
        ({"LOOPKEEPER_STORE": "s3://A_B"}, '"A_B" is not a valid bucket name'),
        ({"TEMPORAL_ADDRESS": "localhost", "TEMPORAL_NAMESPACE": "n"}, "TEMPORAL_ADDRESS='localhost': must be host:port"),
    ],
)
def test_bad_settings_name_their_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(env)
    assert message in str(err.value)


def test_file_uris_resolve_like_the_node_side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for uri in (f"file://{tmp_path}/s", "file:s", "file://./s"):
        store = open_store(uri, {})
        assert isinstance(store, FileStore) and store.root == tmp_path / "s"
    with pytest.raises(ValueError, match="absolute path or ./relative/path"):
        open_store("file://data/x", {})

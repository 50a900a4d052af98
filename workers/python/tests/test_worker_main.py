"""`python -m loopkeeper_trainer.worker` refuses to start with one line naming what is wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from services import free_port

WORKERS_PYTHON = Path(__file__).resolve().parents[1]


def _start(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loopkeeper_trainer.worker"],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(WORKERS_PYTHON), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_unreachable_temporal_is_one_line_and_exit_3(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "store/installation.json").write_text(json.dumps({"id": "abc123"}))
    address = f"127.0.0.1:{free_port()}"
    out = _start({"LOOPKEEPER_STORE": "file:store", "TEMPORAL_ADDRESS": address}, tmp_path)
    assert out.returncode == 3
    assert out.stderr.startswith(f"loopkeeper python trainer: cannot reach Temporal at {address} (")
    assert "Traceback" not in out.stderr and "Fatal" not in out.stderr


def test_a_store_without_an_installation_is_exit_2(tmp_path: Path) -> None:
    out = _start({}, tmp_path)
    assert out.returncode == 2
    assert "TEMPORAL_NAMESPACE is not set and the store file:.loopkeeper/store has no installation.json" in out.stderr

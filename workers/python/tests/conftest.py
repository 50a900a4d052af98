from __future__ import annotations

import os
from pathlib import Path

# One thread for LightGBM and BLAS, set before numpy loads: the test matrices are small, and on a shared
# 2-core machine threads spinning against each other cost more than they give (measured 30 s → 10 s).
os.environ.setdefault("LOOPKEEPER_TRAINER_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

from loopkeeper_trainer.store import FileStore


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "store", f"file://{tmp_path / 'store'}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from figures import FIGURES

    if FIGURES:
        terminalreporter.section("figures")
        for line in FIGURES:
            terminalreporter.write_line(line)

"""Real services for the tests: the pinned Temporal dev server and versitygw (S3), on free ports.

Binaries come from infra/install.sh (infra/paths.sh prints where); a missing binary fails the test with
the command that installs it, it is never skipped.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def binary(name: str) -> str:
    path = subprocess.run(
        ["bash", str(REPO / "infra/paths.sh"), name], check=True, capture_output=True, text=True
    ).stdout.strip()
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{name} is not installed at {path}: run `bash infra/install.sh` first")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited during start: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer on port {port} within {timeout} s: {log.read_text()[-2000:]}")


@contextmanager
def _process(args: list[str], log: Path, port: int, what: str, timeout: float) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_for_port(port, proc, log, what, timeout)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def temporal_dev_server(tmp: Path, namespace: str) -> Iterator[str]:
    """Yields host:port of a fresh dev server (in-memory, headless) that has `namespace`."""
    port = free_port()
    args = [
        binary("temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port),
        "--namespace", namespace, "--log-level", "warn",
    ]
    with _process(args, tmp / "temporal.log", port, "the Temporal dev server", 60):
        yield f"127.0.0.1:{port}"


@contextmanager
def s3_server(tmp: Path, bucket: str, access: str, secret: str) -> Iterator[str]:
    """Yields the endpoint of a versitygw (posix backend) holding one empty bucket."""
    port = free_port()
    (tmp / "s3root" / bucket).mkdir(parents=True)
    (tmp / "s3meta").mkdir()
    args = [
        binary("versitygw"), "--access", access, "--secret", secret, "--port", f"127.0.0.1:{port}", "--quiet",
        "posix", "--sidecar", str(tmp / "s3meta"), str(tmp / "s3root"),
    ]
    with _process(args, tmp / "versitygw.log", port, "versitygw", 30):
        yield f"http://127.0.0.1:{port}"

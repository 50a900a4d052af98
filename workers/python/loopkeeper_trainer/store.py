"""The blob store the Node side uses, reached the same way: `LOOPKEEPER_STORE` = file://… or s3://bucket/prefix."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

ACCEPTED_FORMS = "file:///absolute/path, file:relative/path, file://./relative/path or s3://bucket[/prefix]"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class Store(Protocol):
    uri: str

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none."""

    def put(self, key: str, body: bytes) -> None:
        """Writes the object whole (readers never see part of it)."""


def _check_key(key: str) -> None:
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in key.split("/")):
        raise ValueError(f"invalid store key {key!r}")


class FileStore:
    """A directory; writes land in a temp file beside the target and are renamed into place."""

    def __init__(self, root: Path, uri: str) -> None:
        self.root = root.resolve()
        self.uri = uri

    def _path(self, key: str) -> Path:
        _check_key(key)
        return self.root.joinpath(*key.split("/"))

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, key: str, body: bytes) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".lk-tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class S3Store:
    """An S3-compatible bucket; keys live under the URI's prefix."""

    def __init__(self, bucket: str, prefix: str, uri: str, env: Mapping[str, str]) -> None:
        import boto3  # loaded only for s3:// stores
        from botocore.config import Config

        self.uri = uri
        self.bucket = bucket
        self.prefix = prefix
        path_style = env.get("LOOPKEEPER_S3_FORCE_PATH_STYLE", "").lower() in ("1", "true", "yes")
        self.client = boto3.client(
            "s3",
            endpoint_url=env.get("LOOPKEEPER_S3_ENDPOINT") or None,
            region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            config=Config(
                s3={"addressing_style": "path" if path_style else "auto"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                # Like the Node side: no checksum trailers some S3-compatible servers do not accept.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def get(self, key: str) -> bytes | None:
        _check_key(key)
        try:
            out = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
        except self.client.exceptions.NoSuchKey:
            return None
        return out["Body"].read()

    def put(self, key: str, body: bytes) -> None:
        _check_key(key)
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=body)


def open_store(uri: str, env: Mapping[str, str] | None = None) -> Store:
    """Opens the store a URI names (the forms the Node side accepts; relative paths against the cwd).

    Raises ValueError naming the URI and the accepted forms.
    """
    env = os.environ if env is None else env
    if uri.startswith("s3://"):
        rest = uri[len("s3://") :]
        bucket, _, prefix = rest.partition("/")
        prefix = prefix.rstrip("/")
        if not _BUCKET.match(bucket):
            raise ValueError(f'unsupported store URI "{uri}" ("{bucket}" is not a valid bucket name); expected {ACCEPTED_FORMS}')
        return S3Store(bucket, f"{prefix}/" if prefix else "", uri, env)
    if uri.startswith("file:///"):
        return FileStore(Path(unquote(urlparse(uri).path)), uri)
    if uri.startswith("file://"):
        rest = uri[len("file://") :]
        if rest in (".", "..") or rest.startswith(("./", "../")):
            return FileStore(Path(unquote(rest)), uri)
        raise ValueError(f'unsupported store URI "{uri}" (file:// must be followed by an absolute path or ./relative/path); expected {ACCEPTED_FORMS}')
    if uri.startswith("file:") and len(uri) > len("file:"):
        return FileStore(Path(unquote(uri[len("file:") :])), uri)
    raise ValueError(f'unsupported store URI "{uri}"; expected {ACCEPTED_FORMS}')

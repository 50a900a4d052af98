"""The same activity on an S3-compatible store (versitygw), reached as the Node side reaches it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from matrices import ipc_file_bytes, matrix_table, synthetic, train_input
from services import s3_server

import loopkeeper_trainer.activity as act
from loopkeeper_trainer.export import onnx_probabilities
from loopkeeper_trainer.store import S3Store, open_store


def test_trains_from_and_writes_to_an_s3_store_under_its_prefix(tmp_path: Path) -> None:
    with s3_server(tmp_path, "lkbucket", "lk-access", "lk-secret-key") as endpoint:
        env = {
            "LOOPKEEPER_S3_ENDPOINT": endpoint,
            "LOOPKEEPER_S3_FORCE_PATH_STYLE": "true",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "lk-access",
            "AWS_SECRET_ACCESS_KEY": "lk-secret-key",
        }
        store = open_store("s3://lkbucket/team/a", env)
        assert isinstance(store, S3Store) and store.prefix == "team/a/"
        assert store.get("training/none/matrix.arrow") is None

        d = synthetic()
        data = ipc_file_bytes(matrix_table(d["X"], d["y"], d["weight"], d["split"], ["no", "yes"]))
        sha = hashlib.sha256(data).hexdigest()
        key = f"training/churn/{sha}/matrix.arrow"
        store.put(key, data)
        inp = train_input(key, sha, ["no", "yes"], 6)
        result = act.train_external_model(inp, store)

        model = store.get(result["artifactKey"])
        assert model is not None and hashlib.sha256(model).hexdigest() == result["artifactSha256"]
        assert onnx_probabilities(model, d["X"][:5]).shape == (5, 2)
        # Under the URI's prefix in the bucket, as the Node S3 store lays keys out.
        assert (tmp_path / "s3root/lkbucket/team/a" / result["artifactKey"]).is_file()
        assert act.train_external_model(inp, store) == result

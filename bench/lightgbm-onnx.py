"""The serving bench's tree model: LightGBM with exactly N trees (no early stopping) on a float32 matrix
the bench wrote, exported to ONNX by the reference worker's own exporter (loopkeeper_trainer.export).

usage: python bench/lightgbm-onnx.py X.f32 y.u8 n_rows n_features n_trees out.onnx  (prints JSON)
"""

import json
import sys

import lightgbm as lgb
import numpy as np

from loopkeeper_trainer.export import check_parity, to_onnx
from loopkeeper_trainer.fitted import Fitted
from loopkeeper_trainer.train_lightgbm import float32_thresholds


def main() -> None:
    x_path, y_path, n, d, trees, out = sys.argv[1:7]
    n, d, trees = int(n), int(d), int(trees)
    X = np.fromfile(x_path, dtype=np.float32).reshape(n, d)
    y = np.fromfile(y_path, dtype=np.uint8).astype(np.int32)
    params = {"objective": "binary", "num_leaves": 31, "learning_rate": 0.05, "seed": 1, "verbose": -1,
              "num_threads": 1, "deterministic": True}
    trained = lgb.train(params, lgb.Dataset(X, y), num_boost_round=trees)
    # As the worker does: thresholds as float32 so the graph decides like the booster.
    booster = lgb.Booster(model_str=float32_thresholds(trained.model_to_string())[0])
    if booster.num_trees() != trees:
        raise SystemExit(f"expected {trees} trees, LightGBM built {booster.num_trees()}")

    def proba(Z: np.ndarray) -> np.ndarray:
        p = booster.predict(Z)
        return np.column_stack([1 - p, p])

    fitted = Fitted(model=booster, predict_proba=proba, producer=f"lightgbm {lgb.__version__}")
    exported = to_onnx(fitted, d)
    diff = check_parity(exported, fitted, X[:1000], 2)
    with open(out, "wb") as f:
        f.write(exported.onnx_bytes)
    print(json.dumps({"trees": trees, "opset": exported.opset, "producer": exported.producer, "maxAbsDiff": diff}))


if __name__ == "__main__":
    main()

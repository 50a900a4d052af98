"""ONNX export (no ZipMap: one Float32 output [N, C] in class order) and the parity check against the
library's own probabilities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
import onnxruntime as ort

from .errors import OnnxMismatch
from .fitted import Fitted

INPUT_NAME = "input"
OUTPUT_NAME = "probabilities"
TARGET_OPSET = 15
#: Largest |onnxruntime − predict_proba| accepted on any validation row and class (workers/README.md).
MAX_ABS_DIFF = 1e-5


@dataclass(frozen=True)
class Exported:
    onnx_bytes: bytes
    opset: int
    producer: str


def to_onnx(fitted: Fitted, n_features: int) -> Exported:
    """Converts LightGBM boosters with onnxmltools and scikit-learn estimators with skl2onnx."""
    import lightgbm as lgb

    if isinstance(fitted.model, lgb.Booster):
        import onnxmltools
        from onnxmltools.convert.common.data_types import FloatTensorType

        model = onnxmltools.convert_lightgbm(
            fitted.model,
            initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
            zipmap=False,
            target_opset=TARGET_OPSET,
        )
        tool = f"onnxmltools {onnxmltools.__version__}"
    else:
        import skl2onnx
        from skl2onnx.common.data_types import FloatTensorType as SkFloatTensorType

        model = skl2onnx.to_onnx(
            fitted.model,
            initial_types=[(INPUT_NAME, SkFloatTensorType([None, n_features]))],
            options={"zipmap": False},
            target_opset=TARGET_OPSET,
        )
        tool = f"skl2onnx {skl2onnx.__version__}"
    outputs = [o.name for o in model.graph.output]
    if OUTPUT_NAME not in outputs:
        raise RuntimeError(f"the converter produced outputs {outputs}, none named {OUTPUT_NAME!r}")
    # The converters name the graph with a random uuid; a fixed name makes the bytes a function of the
    # trained model, so a retry that trains again writes the same model.onnx (same sha256).
    model.graph.name = "loopkeeper"
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    onnx.checker.check_model(model)
    return Exported(model.SerializeToString(), int(opset), f"{fitted.producer} + {tool}")


def onnx_probabilities(onnx_bytes: bytes, X: np.ndarray) -> np.ndarray:
    """Scores rows with onnxruntime on the CPU, as the Node side does."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(onnx_bytes, sess_options=options, providers=["CPUExecutionProvider"])
    (out,) = session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(X, dtype=np.float32)})
    return np.asarray(out)


def check_parity(exported: Exported, fitted: Fitted, X: np.ndarray, n_classes: int) -> float:
    """Max abs difference between onnxruntime and predict_proba on `X`.

    Raises OnnxMismatch (non-retryable) when it exceeds MAX_ABS_DIFF or the shapes differ.
    """
    if X.shape[0] == 0:
        return 0.0
    got = onnx_probabilities(exported.onnx_bytes, X)
    want = fitted.predict_proba(X)
    if got.shape != (X.shape[0], n_classes) or want.shape != got.shape:
        raise OnnxMismatch(
            f"ONNX output has shape {list(got.shape)}, predict_proba {list(want.shape)}, expected [{X.shape[0]}, {n_classes}]"
        )
    diff = np.abs(got.astype(np.float64) - want)
    worst = float(diff.max())
    if not worst <= MAX_ABS_DIFF:  # also catches NaN
        row, col = np.unravel_index(int(np.nanargmax(diff)) if np.isfinite(diff).any() else 0, diff.shape)
        raise OnnxMismatch(
            f"onnxruntime and {fitted.producer} predict_proba differ by {worst:.3g} (> {MAX_ABS_DIFF:g}) "
            f"on validation row {row}, class {col}: {float(got[row, col]):.9g} vs {float(want[row, col]):.9g}"
        )
    return worst

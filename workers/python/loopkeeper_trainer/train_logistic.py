"""scikit-learn logistic regression on the built-in trainers' objective."""

from __future__ import annotations

import time

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

from .errors import InvalidTrainInput
from .fitted import Fitted, Heartbeat, no_heartbeat
from .matrix_io import TrainingMatrix


def sklearn_c(l2: float, n_rows: int) -> float:
    """C for scikit-learn's C·Σ wᵢℓᵢ + ½‖W‖², so that its minimiser is the one of the built-in
    objective (1/n)·Σ wᵢℓᵢ + (l2/2)·‖W‖² (divide by C·n): C = 1 / (l2 · n). Both leave biases unpenalised."""
    return 1.0 / (l2 * n_rows)


def train_logistic(m: TrainingMatrix, params: dict[str, float | int], beat: Heartbeat = no_heartbeat) -> Fitted:
    """Full-batch L-BFGS (binary: one logit; more classes: multinomial softmax). The validation rows are
    only scored: a convex objective solved to its minimum has nothing to stop early on."""
    l2 = float(params["l2"])
    if l2 <= 0:
        raise InvalidTrainInput("trainExternalModel input: params.l2 must be > 0 for logistic")
    beat({"stage": "training", "algorithm": "logistic"})
    X = m.train.X.astype(np.float64)
    started = time.monotonic()
    model = LogisticRegression(
        C=sklearn_c(l2, m.train.rows),
        solver="lbfgs",
        max_iter=int(params["maxIterations"]),
        tol=1e-10,
        random_state=int(params["seed"]),
    )
    model.fit(X, m.train.y, sample_weight=m.train.weight.astype(np.float64))
    iterations = int(np.max(model.n_iter_))

    def predict_proba(Xq: np.ndarray) -> np.ndarray:
        return model.predict_proba(np.asarray(Xq, dtype=np.float64))

    return Fitted(
        model=model,
        predict_proba=predict_proba,
        producer=f"scikit-learn {sklearn.__version__}",
        training={
            "rows": m.train.rows,
            "rounds": iterations,
            "bestIteration": iterations,
            "seconds": round(time.monotonic() - started, 3),
        },
    )

"""Issue 17 §3: the built-in trainer (src/ml, full-batch L-BFGS by default) against scikit-learn on the
same files. On each data set of the Node test suite (penguins, seattle-weather, the bundled simulator's
churn), with the split and matrices the Node pipeline builds (bench/export-comparison.ts over dist/):

- its final objective is within 1e-4 relative of scikit-learn's solve of the same objective
  ((1/n)·Σ wᵢℓᵢ + (l2/2)·‖W‖², biases unpenalised; C = 1/(l2·n), see train_logistic.sklearn_c);
- its test AUC (from the serving path's probabilities) is within 0.002 of scikit-learn's, both computed
  with scikit-learn's metric code.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from figures import report
from scipy.special import logsumexp
from services import REPO
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from loopkeeper_trainer.train_logistic import sklearn_c

CASES = ["penguins", "seattle-weather", "seattle-rain", "simulator-churn"]
OBJECTIVE_RTOL = 1e-4
AUC_TOLERANCE = 0.002


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    script = REPO / "dist/bench/export-comparison.js"
    if not script.is_file():
        raise RuntimeError(f"{script} is missing: run `npm run build` first")
    out = tmp_path_factory.mktemp("comparison")
    # LOOPKEEPER_COMPARE_SOLVER=adam exports the minibatch solver: the test then fails, as it did before.
    solver = os.environ.get("LOOPKEEPER_COMPARE_SOLVER", "auto")
    subprocess.run(["node", str(script), str(out), solver], cwd=REPO, check=True, capture_output=True)
    return out


def _load(path: Path, n_classes: int) -> dict[str, np.ndarray]:
    table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
    xs = sorted((c for c in table.column_names if c.startswith("x")), key=lambda c: int(c[1:]))
    out = {
        "X": np.column_stack([table.column(c).to_numpy() for c in xs]).astype(np.float64),
        "y": table.column("label").to_numpy(),
        "w": table.column("weight").to_numpy(),
    }
    if "p0" in table.column_names:
        out["p"] = np.column_stack([table.column(f"p{k}").to_numpy() for k in range(n_classes)])
    return out


def _scores(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    return X @ W.T + b


def objective(X: np.ndarray, y: np.ndarray, w: np.ndarray, W: np.ndarray, b: np.ndarray, l2: float) -> float:
    """The built-in trainers' objective (src/ml/linear-full-batch.ts), in numpy."""
    Z = _scores(X, W, b)
    if W.shape[0] == 1:  # logistic head: one logit for classes[1]
        s = Z[:, 0]
        loss = np.maximum(s, 0) - y * s + np.log1p(np.exp(-np.abs(s)))
    else:
        loss = logsumexp(Z, axis=1) - Z[np.arange(len(y)), y]
    return float((w * loss).sum() / len(y) + l2 / 2 * (W**2).sum())


def probabilities(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    Z = _scores(X, W, b)
    if W.shape[0] == 1:
        p = 1 / (1 + np.exp(-Z[:, 0]))
        return np.column_stack([1 - p, p])
    return np.exp(Z - logsumexp(Z, axis=1, keepdims=True))


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """Binary: AUC of classes[1]. More classes: macro one-vs-rest over the classes the test set has."""
    if p.shape[1] == 2:
        return float(roc_auc_score(y, p[:, 1]))
    present = [k for k in range(p.shape[1]) if 0 < (y == k).sum() < len(y)]
    return float(np.mean([roc_auc_score(y == k, p[:, k]) for k in present]))


@pytest.mark.parametrize("name", CASES)
def test_the_builtin_trainer_matches_scikit_learn(exported: Path, name: str) -> None:
    meta: dict[str, Any] = json.loads((exported / f"{name}.json").read_text())
    k = len(meta["classes"])
    train = _load(exported / f"{name}.train.arrow", k)
    test = _load(exported / f"{name}.test.arrow", k)
    l2 = meta["l2"]
    W_builtin, b_builtin = np.array(meta["weights"]), np.array(meta["bias"])

    # The exported files are the built-in model's own: its objective and its served probabilities.
    f_builtin = objective(train["X"], train["y"], train["w"], W_builtin, b_builtin, l2)
    if "objective" in meta["training"]:  # the L-BFGS solver reports it (minibatch Adam does not)
        assert f_builtin == pytest.approx(meta["training"]["objective"], rel=1e-9)
    np.testing.assert_allclose(test["p"], probabilities(test["X"], W_builtin, b_builtin), atol=1e-9)

    sk = LogisticRegression(C=sklearn_c(l2, len(train["y"])), solver="lbfgs", tol=1e-12, max_iter=20_000)
    sk.fit(train["X"], train["y"], sample_weight=train["w"])
    assert list(sk.classes_) == list(range(k))
    f_sklearn = objective(train["X"], train["y"], train["w"], sk.coef_, sk.intercept_, l2)
    gap = (f_builtin - f_sklearn) / f_sklearn

    auc_builtin = auc(test["y"], test["p"])
    auc_sklearn = auc(test["y"], sk.predict_proba(test["X"]))
    report(
        f"{name} ({meta['split']}; {meta['trainRows']} train / {meta['testRows']} test, {meta['kind']}): "
        f"objective built-in {f_builtin:.10g} vs scikit-learn {f_sklearn:.10g} (relative {gap:+.2e}); "
        f"AUC built-in {auc_builtin:.4f} vs scikit-learn {auc_sklearn:.4f} ({auc_builtin - auc_sklearn:+.4f}); "
        f"{meta['training'].get('solver', 'adam')} iterations/epochs {meta['training']['epochs']}"
    )
    assert gap <= OBJECTIVE_RTOL, f"built-in objective {f_builtin} is {gap:.2e} relative above scikit-learn's {f_sklearn}"
    assert abs(auc_builtin - auc_sklearn) <= AUC_TOLERANCE

"""`TrainExternalInput` / `TrainExternalResult` of contract version 1, checked strictly (workers/README.md)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from . import CONTRACT_VERSION
from .errors import InvalidTrainInput

Algorithm = Literal["lightgbm", "logistic"]

#: Params each algorithm accepts, with their defaults. Anything else is refused, so a typo is not
#: silently "the default".
PARAM_DEFAULTS: dict[str, dict[str, float | int]] = {
    "lightgbm": {
        "numLeaves": 31,
        "learningRate": 0.05,
        "maxRounds": 500,
        "earlyStoppingRounds": 30,
        "minDataInLeaf": 20,
        "lambdaL2": 0.0,
        "seed": 0,
    },
    # The built-in trainers' objective: (1/n) Σ wᵢ ℓᵢ + (l2/2)‖W‖², biases unpenalised.
    "logistic": {"l2": 1e-4, "maxIterations": 1000, "seed": 0},
}
_INT_PARAMS = {"numLeaves", "maxRounds", "earlyStoppingRounds", "minDataInLeaf", "seed", "maxIterations"}
_FIELDS = {
    "contract",
    "modelId",
    "matrixKey",
    "matrixSha256",
    "classes",
    "positiveClass",
    "nFeatures",
    "algorithm",
    "params",
    "outputPrefix",
}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class TrainInput:
    """One `trainExternalModel` call."""

    model_id: str
    matrix_key: str
    matrix_sha256: str
    classes: list[str]
    n_features: int
    algorithm: Algorithm
    params: dict[str, float | int]
    output_prefix: str
    positive_class: str | None = None

    @property
    def artifact_key(self) -> str:
        return f"{self.output_prefix}model.onnx"

    @property
    def result_key(self) -> str:
        return f"{self.output_prefix}result.json"


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise InvalidTrainInput(f"trainExternalModel input: {message}")


def parse_input(raw: Any) -> TrainInput:
    """Checks one input object against contract 1 and fills param defaults.

    Raises InvalidTrainInput naming the first thing that is wrong.
    """
    _require(isinstance(raw, Mapping), f"expected one JSON object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _FIELDS)
    _require(not unknown, f"unknown field(s) {', '.join(unknown)}")
    _require(
        raw.get("contract") == CONTRACT_VERSION,
        f"contract must be {CONTRACT_VERSION}, got {raw.get('contract')!r}",
    )
    for name in ("modelId", "matrixKey", "outputPrefix"):
        _require(isinstance(raw.get(name), str) and raw[name] != "", f"{name} must be a non-empty string")
    _require(raw["outputPrefix"].endswith("/"), f"outputPrefix must end with '/', got {raw['outputPrefix']!r}")
    sha = raw.get("matrixSha256")
    _require(isinstance(sha, str) and bool(_SHA256.match(sha)), "matrixSha256 must be 64 lowercase hex digits")
    classes = raw.get("classes")
    _require(
        isinstance(classes, list) and len(classes) >= 2 and all(isinstance(c, str) and c for c in classes),
        "classes must be a list of at least two non-empty strings",
    )
    _require(len(set(classes)) == len(classes), f"classes has duplicates: {classes}")
    positive = raw.get("positiveClass")
    _require(positive is None or positive in classes, f"positiveClass {positive!r} is not one of {classes}")
    n_features = raw.get("nFeatures")
    _require(
        isinstance(n_features, int) and not isinstance(n_features, bool) and n_features >= 1,
        "nFeatures must be a positive integer",
    )
    algorithm = raw.get("algorithm", "lightgbm")
    _require(algorithm in PARAM_DEFAULTS, f"algorithm must be one of {sorted(PARAM_DEFAULTS)}, got {algorithm!r}")
    params_raw = raw.get("params", {}) or {}
    _require(isinstance(params_raw, Mapping), "params must be an object")
    defaults = PARAM_DEFAULTS[algorithm]
    unknown_params = sorted(set(params_raw) - set(defaults))
    _require(
        not unknown_params,
        f"unknown {algorithm} param(s) {', '.join(unknown_params)} (accepted: {', '.join(sorted(defaults))})",
    )
    params: dict[str, float | int] = dict(defaults)
    for key, value in params_raw.items():
        ok_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        _require(ok_number, f"params.{key} must be a number, got {value!r}")
        if key in _INT_PARAMS:
            _require(float(value).is_integer(), f"params.{key} must be an integer, got {value!r}")
            value = int(value)
        _require(key == "seed" or value >= 0, f"params.{key} must not be negative, got {value!r}")
        params[key] = value
    return TrainInput(
        model_id=raw["modelId"],
        matrix_key=raw["matrixKey"],
        matrix_sha256=sha,
        classes=list(classes),
        n_features=n_features,
        algorithm=algorithm,
        params=params,
        output_prefix=raw["outputPrefix"],
        positive_class=positive,
    )


@dataclass
class TrainResult:
    """What the activity returns (and stores as result.json beside model.onnx)."""

    artifact_key: str
    artifact_sha256: str
    opset: int
    producer: str
    classes: list[str]
    validation: dict[str, Any]
    training: dict[str, Any]
    input_name: str = "input"
    output_name: str = "probabilities"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "contract": CONTRACT_VERSION,
            "artifactKey": self.artifact_key,
            "artifactSha256": self.artifact_sha256,
            "inputName": self.input_name,
            "outputName": self.output_name,
            "opset": self.opset,
            "producer": self.producer,
            "classes": self.classes,
            "validation": self.validation,
            "training": self.training,
            **self.extra,
        }


def content_id(inp: TrainInput) -> str:
    """sha256 of what determines the model (matrix bytes and resolved params), for result.json."""
    canon = json.dumps(
        {"matrix": inp.matrix_sha256, "algorithm": inp.algorithm, "params": inp.params, "classes": inp.classes},
        sort_keys=True,
    )
    return hashlib.sha256(canon.encode()).hexdigest()

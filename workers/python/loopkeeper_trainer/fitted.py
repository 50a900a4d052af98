"""What a trainer hands to export: the fitted library model, its own probabilities and a summary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Called during training with progress details; the activity turns it into Temporal heartbeats.
Heartbeat = Callable[[dict[str, Any]], None]


def no_heartbeat(_details: dict[str, Any]) -> None:
    return None


@dataclass
class Fitted:
    model: Any
    #: Class probabilities [n, C] in class order, as the library itself computes them (float64).
    predict_proba: Callable[[np.ndarray], np.ndarray]
    producer: str
    training: dict[str, Any] = field(default_factory=dict)

"""Failures the workflow decides on by type string (workers/README.md, "Failures")."""

from temporalio.exceptions import ApplicationError

TRAINING_DATA_ERROR = "TrainingDataError"
ONNX_MISMATCH = "OnnxMismatch"
INVALID_TRAIN_INPUT = "InvalidTrainInput"


class TrainingDataError(ValueError):
    """The training matrix is unreadable or unusable: retrying cannot help."""


class OnnxMismatch(RuntimeError):
    """The exported graph does not reproduce the library's probabilities."""


class InvalidTrainInput(ValueError):
    """The activity input breaks the contract (unknown field or param, wrong type)."""


_NON_RETRYABLE = {
    TrainingDataError: TRAINING_DATA_ERROR,
    OnnxMismatch: ONNX_MISMATCH,
    InvalidTrainInput: INVALID_TRAIN_INPUT,
}


def as_application_error(err: Exception) -> Exception:
    """Maps our own refusals to non-retryable application failures; anything else stays retryable."""
    for cls, type_name in _NON_RETRYABLE.items():
        if isinstance(err, cls):
            return ApplicationError(str(err), type=type_name, non_retryable=True)
    return err

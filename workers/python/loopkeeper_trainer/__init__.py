"""loopkeeper's reference external trainer: a Temporal worker serving `trainExternalModel` (workers/README.md)."""

CONTRACT_VERSION = 1

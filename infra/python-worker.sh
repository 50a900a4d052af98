#!/usr/bin/env bash
# `npm run worker:python`: installs the trainer's venv if needed, then runs the Python worker serving
# trainExternalModel (workers/python/README.md lists its environment variables).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$(bash "$here/install-python.sh")"
export PYTHONPATH="$here/../workers/python${PYTHONPATH:+:$PYTHONPATH}"
exec "$venv/bin/python" -m loopkeeper_trainer.worker "$@"

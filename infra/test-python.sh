#!/usr/bin/env bash
# `npm run test:python`: the Python trainer's pytest suite in its venv (installed if needed). The
# built-in-trainer comparison with scikit-learn reads dist/ (run `npm run build` first). Extra
# arguments go to pytest; its exit code is this script's.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$(bash "$here/install-python.sh")"
cd "$here/../workers/python"
exec "$venv/bin/python" -m pytest "$@"

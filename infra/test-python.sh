#!/usr/bin/env bash
# `npm run test:python`: the Python trainer's pytest suite in its venv (installed if needed), then the
# Node tests that need that venv (jest.python.config.js: a LightGBM cycle through the real Python worker
# on a dev server). The built-in-trainer comparison with scikit-learn reads dist/ (run `npm run build`
# first). Extra arguments go to pytest; the first failure's exit code is this script's.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$(bash "$here/install-python.sh")"
(cd "$here/../workers/python" && "$venv/bin/python" -m pytest "$@")
cd "$here/.."
LOOPKEEPER_PYTHON_VENV="$venv" exec npx jest -c jest.python.config.js --runInBand

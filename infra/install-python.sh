#!/usr/bin/env bash
# Creates the Python venv of the reference external trainer (workers/python) from its hashed lock file,
# cached outside the repo like the Go binaries: $LOOPKEEPER_CACHE/python-<hash of lock + Python version>.
# A second run with the same lock is instant. Prints the venv's path on stdout; progress on stderr.
#   LOOPKEEPER_PYTHON   the interpreter to build the venv from (default: python3; needs >= 3.11: numpy 2.4, scipy 1.17)
#   --check             install nothing: print the venv's path if it is built, else one line and exit 5
# Only `npm run worker:python`, the Python tests and `.ci/run` need this; `npm start` / `npm test` do not.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lock="$here/../workers/python/requirements.lock"
cache="${LOOPKEEPER_CACHE:-$HOME/.cache/loopkeeper}"
python="${LOOPKEEPER_PYTHON:-python3}"

say() { [ "${VERBOSE:-0}" = 1 ] && echo "$@" >&2 || true; }

if ! command -v "$python" >/dev/null 2>&1; then
  echo "infra/install-python.sh: $python not found; install Python >= 3.11 or set LOOPKEEPER_PYTHON" >&2
  exit 2
fi
version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "infra/install-python.sh: $python is Python $version; the trainer needs >= 3.11 (set LOOPKEEPER_PYTHON)" >&2
  exit 2
fi
# Hashed by the interpreter itself: sha256sum and flock are not on every machine (macOS).
hash="$("$python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read() + ("python " + sys.argv[2]).encode()).hexdigest()[:16])' "$lock" "$version")"
venv="$cache/python-$hash"

if [ -f "$venv/.complete" ]; then
  say "python trainer venv: cached at $venv"
  echo "$venv"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  echo "the Python trainer's venv is not built ($venv): run bash infra/install-python.sh" >&2
  exit 5
fi

mkdir -p "$cache"
# One installer at a time per venv (CI and a developer's shell may race); the loser reuses the result.
exec 9>"$venv.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ -f "$venv/.complete" ]; then echo "$venv"; exit 0; fi
# A venv is not relocatable (its scripts name their own path), so it is built in place; .complete is
# written last, and a directory without it is a broken earlier attempt, removed here.
rm -rf "$venv"
echo "installing the Python trainer's packages into $venv (one time) ..." >&2
if ! "$python" -m venv "$venv" >&2; then
  echo "infra/install-python.sh: '$python -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)" >&2
  exit 3
fi
log="$(mktemp)"
# --require-hashes: every package, dependencies included, must match the lock's sha256; wheels only.
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  --require-hashes --only-binary :all: --no-deps -r "$lock" >"$log" 2>&1; then
  echo "infra/install-python.sh: pip install from $lock failed:" >&2
  tail -n 20 "$log" >&2
  echo "  Check that PyPI is reachable (or PIP_INDEX_URL) and retry." >&2
  rm -f "$log"
  exit 4
fi
rm -f "$log"
"$venv/bin/python" -c 'import lightgbm, onnxruntime, sklearn, skl2onnx, onnxmltools, pyarrow, temporalio, boto3' >&2
touch "$venv/.complete"
echo "$venv"

#!/usr/bin/env bash
# Issue 18 §5: the multi-process path on this machine. Starts the Temporal dev server and the S3 server
# (versitygw) on free ports, three `loopkeeper worker` processes on one store and namespace, `serve` and
# `ui`; simulates a window cut into ≥ 6 columnar partitions (LOOPKEEPER_PARTITION_ROWS lowered), runs one
# cycle, checks from the histories that its drift partitions ran on more than one worker process, that
# serve answers /readyz and the ui /healthz, then stops everything (also on failure or Ctrl-C).
# Prints a JSON summary; exits non-zero when a check fails. Options go to bench/multiprocess.ts:
#   --workers N (3)   --rows-per-day N (2000)   --partition-rows N (1500)   --dir DIR (a temp dir, removed on success)
# Tested by test/e2e/multiprocess.test.ts (over the built dist/, as CI builds before `npm test`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash infra/install.sh
npm run --silent build
exec node dist/bench/multiprocess.js "$@"

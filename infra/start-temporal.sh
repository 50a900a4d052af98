#!/usr/bin/env bash
# Starts the pinned Temporal dev server in the background and waits until it is healthy.
#   LOOPKEEPER_TEMPORAL_DIR   state dir (SQLite db, pid, log)   default .loopkeeper/temporal
#   LOOPKEEPER_TEMPORAL_PORT  gRPC port                          default 7233
#   LOOPKEEPER_TEMPORAL_UI_PORT  UI port, or "off" for --headless default 8233
# Idempotent: a server already answering on the port is reused. Prints the address on stdout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/install.sh"
bin="$(bash "$here/paths.sh" temporal)"
dir="${LOOPKEEPER_TEMPORAL_DIR:-.loopkeeper/temporal}"
port="${LOOPKEEPER_TEMPORAL_PORT:-7233}"
ui="${LOOPKEEPER_TEMPORAL_UI_PORT:-8233}"
addr="127.0.0.1:$port"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

healthy() { "$bin" operator cluster health --address "$addr" >/dev/null 2>&1; }

if healthy; then echo "$addr"; exit 0; fi
args=(server start-dev --ip 127.0.0.1 --port "$port" --db-filename "$dir/temporal.db" --log-level warn
  --dynamic-config-value frontend.enableUpdateWorkflowExecution=true
  --dynamic-config-value frontend.workerVersioningWorkflowAPIs=true
  # loopkeeper's search attributes (src/workflows/search-attributes.ts) in the default namespace; an
  # installation's own namespace gets them when it is claimed (src/config/installation.ts).
  --search-attribute LoopkeeperModel=Keyword --search-attribute LoopkeeperKind=Keyword
  --search-attribute LoopkeeperOutcome=Keyword)
if [ "$ui" = off ]; then args+=(--headless); else args+=(--ui-port "$ui"); fi
nohup "$bin" "${args[@]}" >"$dir/temporal.log" 2>&1 </dev/null &
echo $! >"$dir/temporal.pid"
for _ in $(seq 1 300); do
  if healthy; then echo "$addr"; exit 0; fi
  if ! kill -0 "$(cat "$dir/temporal.pid")" 2>/dev/null; then
    echo "infra/start-temporal.sh: the Temporal dev server exited during start; its log ($dir/temporal.log):" >&2
    tail -n 30 "$dir/temporal.log" >&2
    exit 4
  fi
  sleep 0.2
done
echo "infra/start-temporal.sh: the Temporal dev server did not become healthy on $addr within 60 s; see $dir/temporal.log" >&2
exit 5

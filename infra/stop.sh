#!/usr/bin/env bash
# Stops the services started by start-temporal.sh / start-s3.sh: infra/stop.sh [stateDir...]
# With no argument it stops the ones under .loopkeeper/.
set -uo pipefail
dirs=("$@")
[ ${#dirs[@]} -eq 0 ] && dirs=(.loopkeeper/temporal .loopkeeper/s3)
for d in "${dirs[@]}"; do
  for pidfile in "$d"/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
done

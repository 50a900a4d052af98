#!/usr/bin/env bash
# Prints the absolute path of an installed service binary: infra/paths.sh temporal|versitygw
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.env"
cache="${LOOPKEEPER_CACHE:-$HOME/.cache/loopkeeper}"
case "${1:-}" in
  temporal) echo "${LOOPKEEPER_TEMPORAL_BIN:-$cache/bin/temporal-$TEMPORAL_CLI_VERSION/temporal}" ;;
  versitygw) echo "${LOOPKEEPER_VERSITYGW_BIN:-$cache/bin/versitygw-$VERSITYGW_VERSION/versitygw}" ;;
  *) echo "usage: infra/paths.sh temporal|versitygw" >&2; exit 64 ;;
esac

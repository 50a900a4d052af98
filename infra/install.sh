#!/usr/bin/env bash
# Installs the pinned Temporal CLI (dev server) and versitygw (S3 server) from the Go module proxy into a
# cache outside the repo, so a second run is instant. Prints nothing but errors unless VERBOSE=1.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache="${LOOPKEEPER_CACHE:-$HOME/.cache/loopkeeper}"

say() { [ "${VERBOSE:-0}" = 1 ] && echo "$@" >&2 || true; }

if ! command -v go >/dev/null 2>&1; then
  for d in /usr/local/go/bin /usr/lib/go/bin "$HOME/go/bin"; do [ -x "$d/go" ] && PATH="$d:$PATH"; done
fi
need_go() {
  command -v go >/dev/null 2>&1 && return 0
  echo "infra/install.sh: Go is required to build the pinned Temporal CLI and versitygw." >&2
  echo "  Install Go >= 1.22 (https://go.dev/doc/install or 'apt-get install golang'), or set" >&2
  echo "  LOOPKEEPER_TEMPORAL_BIN / LOOPKEEPER_VERSITYGW_BIN to existing binaries." >&2
  exit 2
}

install_one() { # name module version envOverride
  local name=$1 module=$2 version=$3 override=$4
  if [ -n "${!override:-}" ]; then say "$name: using \$$override=${!override}"; return 0; fi
  local dir="$cache/bin/$name-$version"
  if [ -x "$dir/$name" ]; then say "$name $version: cached at $dir/$name"; return 0; fi
  need_go
  echo "installing $name $version (go install, one time; cached in $dir) ..." >&2
  mkdir -p "$dir"
  local log
  log=$(mktemp)
  if ! (cd "$(mktemp -d)" && GOBIN="$dir" CGO_ENABLED=0 GOFLAGS=-mod=mod go install "$module@$version") >"$log" 2>&1; then
    echo "infra/install.sh: 'go install $module@$version' failed:" >&2
    tail -n 20 "$log" >&2
    echo "  Check that the Go module proxy is reachable (GOPROXY=$(go env GOPROXY)) and retry." >&2
    rm -f "$log"
    exit 3
  fi
  rm -f "$log"
}

install_one temporal "$TEMPORAL_CLI_MODULE" "$TEMPORAL_CLI_VERSION" LOOPKEEPER_TEMPORAL_BIN
install_one versitygw "$VERSITYGW_MODULE" "$VERSITYGW_VERSION" LOOPKEEPER_VERSITYGW_BIN

#!/usr/bin/env bash
# Starts the pinned versitygw S3 server (posix backend) in the background with one bucket, and waits
# until it answers.
#   LOOPKEEPER_S3_DIR     state dir (objects, metadata, pid, log)  default .loopkeeper/s3
#   LOOPKEEPER_S3_PORT    port                                     default 7070
#   LOOPKEEPER_S3_BUCKET  bucket created at start                   default loopkeeper
#   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY  root credentials    default loopkeeper / loopkeeper-secret
# Idempotent: a server already answering on the port is reused. Prints the endpoint on stdout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/install.sh"
bin="$(bash "$here/paths.sh" versitygw)"
dir="${LOOPKEEPER_S3_DIR:-.loopkeeper/s3}"
port="${LOOPKEEPER_S3_PORT:-7070}"
bucket="${LOOPKEEPER_S3_BUCKET:-loopkeeper}"
endpoint="http://127.0.0.1:$port"
mkdir -p "$dir/root/$bucket" "$dir/meta"
dir="$(cd "$dir" && pwd)"

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

if answers; then echo "$endpoint"; exit 0; fi
nohup "$bin" --access "${AWS_ACCESS_KEY_ID:-loopkeeper}" --secret "${AWS_SECRET_ACCESS_KEY:-loopkeeper-secret}" \
  --port "127.0.0.1:$port" --quiet posix --sidecar "$dir/meta" "$dir/root" >"$dir/versitygw.log" 2>&1 </dev/null &
echo $! >"$dir/versitygw.pid"
for _ in $(seq 1 150); do
  if answers; then echo "$endpoint"; exit 0; fi
  if ! kill -0 "$(cat "$dir/versitygw.pid")" 2>/dev/null; then
    echo "infra/start-s3.sh: versitygw exited during start; its log ($dir/versitygw.log):" >&2
    tail -n 30 "$dir/versitygw.log" >&2
    exit 4
  fi
  sleep 0.2
done
echo "infra/start-s3.sh: versitygw did not answer on $endpoint within 30 s; see $dir/versitygw.log" >&2
exit 5

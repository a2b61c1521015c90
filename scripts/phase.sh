#!/usr/bin/env bash
# Run a command as one phase of `make test`, and say how long it took (docs/TESTING.md).
set -uo pipefail
name=$1
shift
start=$(date +%s)
"$@"
status=$?
echo "== phase $name: $(( $(date +%s) - start )) s (exit $status)"
exit $status

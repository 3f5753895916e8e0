#!/usr/bin/env bash
# Wallboard benchmark (issue: live agent states): 1,000 simulated agents change state every
# few seconds across a 3-node cluster while 50 WebSocket wallboards watch /v1/stream; prints
# changes applied per second, the p99 delay from a change to a wallboard update, CPU per
# node, and a last line `RESULT p99_update_ms=<n> events_per_s=<n> ...` (docs/benchmarks.md).
# Default: one 60 s run (~2.5 min with setup). Arguments go to bench/wallboard/run.py
# (--runs 3, --seconds 120, --agents, --boards, --interval 2-5, --keep, ...).
# --build DIR: use the binaries of DIR as they are; without it, the repo's build/ (or
# BUILD_DIR) is brought up to date first. Ports: 127.0.0.1:32000-32700. Runs under nice.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=""
args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build=$2; shift 2 ;;
    --build=*) build=${1#--build=}; shift ;;
    *) args+=("$1"); shift ;;
    esac
done
if [ -z "$build" ]; then
    build=${BUILD_DIR:-$root/build}
    cmake --build "$build" -j 2 --target waihud waihu-agents >/dev/null
fi

nice -n 10 python3 "$here/wallboard/run.py" --build "$build" ${args[@]+"${args[@]}"} &
driver=$!
# The driver stops the cluster and the simulators itself on SIGTERM; this makes sure it
# gets one when the script is interrupted.
trap 'kill -TERM "$driver" 2>/dev/null || true; wait "$driver" 2>/dev/null || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
status=0
wait "$driver" || status=$?
trap - EXIT
exit "$status"

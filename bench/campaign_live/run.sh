#!/usr/bin/env bash
# Live campaign benchmark (issue 5): a 3-node cluster dials one predictive campaign for
# 60 simulated agents through waihu-carrier for a fixed period (default 5 min), then the
# pacing simulator runs the same scenario; prints live figures, the simulator's and their
# difference, and one RESULT line (docs/benchmarks.md). Takes ~7 min.
# Arguments go to live.py (--minutes, --customers, --sim-runs, --keep, ...).
# Environment: BUILD_DIR (default <repo>/build). Ports: 127.0.0.1:26000-29999.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build}

cmake --build "$build" -j 2 --target waihud waihu-carrier waihu-agents pacing_sim >/dev/null

python3 "$here/live.py" --build "$build" "$@" &
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

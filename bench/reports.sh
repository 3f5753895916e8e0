#!/usr/bin/env bash
# Reports benchmark (issue 6: "reports over 90 days of generated call records, e.g. 5M
# CDRs, render in under 1 s"): a 3-node cluster, 200 agents in 10 departments, N CDRs (and
# their dispositions) over 90 days written through the leader's forward port as
# MutationBatch commands (bench/reports/cdrload.py; why: docs/design-notes.md "Report
# benchmark data"), then the median and p99 latency of the 90-day reports and rankings,
# the rebuild time of a restarted node's report book and its memory. Last line:
# `RESULT report_90d_ms=<median> rankings_ms=<median> cdrs=<n> ...` (docs/benchmarks.md).
# Arguments go to bench/reports/run.py (--cdrs 5000000, --requests 21, --agents 200,
# --port-base 3800, --keep). --build DIR: use the binaries of DIR as they are; without it,
# the repo's build/ (or BUILD_DIR) is brought up to date first. Runs under nice.
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
    cmake --build "$build" -j 2 --target waihud >/dev/null
fi

nice -n 10 python3 "$here/reports/run.py" --build "$build" ${args[@]+"${args[@]}"} &
driver=$!
trap 'kill -TERM "$driver" 2>/dev/null || true; wait "$driver" 2>/dev/null || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
status=0
wait "$driver" || status=$?
trap - EXIT
exit "$status"

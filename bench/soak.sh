#!/usr/bin/env bash
# Soak (issue 10): bash bench/soak.sh DURATION [--interval 300] [--seed 1] [--build DIR] ...
# The full stack dialing without a stop (3 nodes, waihu-carrier, 24 waihu-agents with
# backup registrars, rotating predictive campaigns) while a seeded nemesis kills (-9) or
# stops (SIGTERM) a random node every 4-8 min and brings it back 10-60 s later. A row every
# interval, a results folder (intervals.csv, faults.csv, breaches.txt, soak.png, node
# logs) and a RESULT line. DURATION: seconds, or 90m, 72h. docs/soak.md.
# Runs under nice (SOAK_NICE, default 10). Ports: 127.0.0.1 10301-10303, 11301-11303,
# 12301-12303 (TCP) and 13000-13999 (SIP, RTP).
# Without --build it builds the needed targets of BUILD_DIR (default <repo>/build).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
if [ $# -lt 1 ] || [ "${1#-}" != "$1" ]; then
  echo "usage: bash bench/soak.sh DURATION [options]  (python3 bench/soak/soak.py --help)" >&2
  exit 2
fi
build=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --build) build=${args[$((i + 1))]:-} ;;
    --build=*) build=${args[$i]#--build=} ;;
  esac
done
if [ -z "$build" ]; then
  build=${BUILD_DIR:-$root/build}
  nice -n "${SOAK_NICE:-10}" cmake --build "$build" -j 2 \
    --target waihud waihu-carrier waihu-agents >/dev/null
  args+=(--build "$build")
fi
for bin in src/waihud/waihud tools/waihu-carrier/waihu-carrier tools/waihu-agents/waihu-agents; do
  [ -x "$build/$bin" ] ||
    { echo "soak: $build/$bin missing (build it, or give --build DIR)" >&2; exit 2; }
done

nice -n "${SOAK_NICE:-10}" python3 "$here/soak/soak.py" "${args[@]}" &
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

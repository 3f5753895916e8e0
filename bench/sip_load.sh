#!/bin/sh
# SIP and media load of the bridge with recording (issue 4), beside kamailio (stateful
# proxy) and rtpengine (userspace relay) driven by sipp on the same machine in the same
# run. Details and flags: bench/sip_load/run.py --help (rates --cps 50,100, --calls 500,
# --concurrent 100, --ramp-cps 50, --hold-s 60, --agents 50, --no-anchors, --keep).
# Last line: "RESULT cps=<n> concurrent_recorded=<n> failed_calls=<n> rtp_loss=<fraction>".
# Environment: BUILD_DIR (default <repo>/build). Needs sipp, flite, sox; kamailio and
# rtpengine-daemon for the anchors (scripts/deps.sh).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD_DIR:-$root/build}

for tool in python3 flite sox sipp; do
    command -v "$tool" >/dev/null || { echo "sip_load.sh: $tool is required" >&2; exit 1; }
done
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j 2 --target waihu-pbx-test waihu-carrier waihu-agents >/dev/null
exec python3 "$here/sip_load/run.py" --build "$build" "$@"

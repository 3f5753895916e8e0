#!/bin/sh
# Tuning runs for AMD, on a separate set (seed 1, 100 calls) from the evaluation
# set of bench/amd.sh (seed 2). Prints accuracy for each parameter variation given
# (NAME=VALUE, see amd_bench --set), then the defaults' RESULT line last, e.g.
#   bench/amd/tune.sh max_greeting_ms=1800 after_greeting_ms=500
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build}
cmake --build "$build" -j 2 --target amd_bench >/dev/null
data=$(mktemp -d /tmp/waihu-amd-tune-XXXXXX)
trap 'rm -rf "$data"' EXIT
"$here/gen.sh" 1 100 "$data" >&2
for p in "$@"; do
    echo "$p: $("$build/bench/amd/amd_bench" --set "$p" "$data/list.txt" | tail -1)"
done
echo "defaults (tuning set):"
"$build/bench/amd/amd_bench" "$data/list.txt" | tail -1   # RESULT human_accuracy=... machine_accuracy=...

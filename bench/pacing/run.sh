#!/bin/sh
# Pacing benchmark (issue 5): builds pacing_sim if needed, runs every scenario
# against every policy (sharded over the CPUs), prints the tables and ends with
# one RESULT line. Extra arguments go to pacing_sim (e.g. --days 5; defaults:
# 30 days, 2 days for the 500-agent team to stay within CI time).
# Environment: BUILD_DIR (default <repo>/build-pacing), JOBS (default: nproc, max 4).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build-pacing}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
[ "$jobs" -gt 4 ] && jobs=4
[ "$jobs" -lt 1 ] && jobs=1

if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j "$jobs" --target pacing_sim >/dev/null
sim="$build/bench/pacing/pacing_sim"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
i=0
pids=""
while [ "$i" -lt "$jobs" ]; do
    "$sim" --shard "$i/$jobs" "$@" >"$out/shard$i.txt" 2>"$out/shard$i.err" &
    pids="$pids $!"
    i=$((i + 1))
done
status=0
for p in $pids; do
    wait "$p" || status=1
done
cat "$out"/shard*.err >&2
if [ "$status" -ne 0 ]; then
    echo "pacing_sim failed" >&2
    exit 1
fi
cat "$out"/shard*.txt | grep -v '^ROW '
echo
echo "Per-day abandon rates of predictive are on the DAYS lines; ROW lines follow."
cat "$out"/shard*.txt | grep '^ROW '
cat "$out"/shard*.txt | awk '
$1 == "ROW" {
    occ[$2, $6] = $7; conn[$2, $6] = $10; scen[$2] = 1
    if ($6 == "predictive" && $12 > maxab) maxab = $12
}
END {
    mingap = 1e9
    for (s in scen) {
        # At an equal or lower abandon rate: the matched run when vicidial abandoned less.
        mine = ((s, "pred@vici") in occ) ? occ[s, "pred@vici"] : occ[s, "predictive"]
        g = mine - occ[s, "vicidial"]
        if (g < mingap) mingap = g
    }
    ratio = conn["a20_r25_t120", "progressive"] > 0 ? conn["a20_r25_t120", "predictive"] / conn["a20_r25_t120", "progressive"] : 0
    printf "RESULT occupancy_5=%.4f occupancy_20=%.4f occupancy_100=%.4f max_daily_abandon=%.4f connects_vs_progressive=%.3f occupancy_minus_vicidial_min=%.4f oracle_gap_20=%.4f\n",
        occ["a5_r25_t120", "predictive"], occ["a20_r25_t120", "predictive"], occ["a100_r25_t120", "predictive"],
        maxab, ratio, mingap, occ["a20_r25_t120", "oracle"] - occ["a20_r25_t120", "predictive"]
}'

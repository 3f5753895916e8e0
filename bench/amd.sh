#!/bin/sh
# Answering-machine detection benchmark: generates 200 calls at run time (flite
# voices slt/awb/rms/kal, sox noise/levels/beeps; evaluation seed 2, never used
# for tuning: bench/amd/tune.sh uses seed 1), runs src/media AMD with its default
# configuration over a G.711 round trip, prints per-call lines and per-class
# accuracy. The last line is "RESULT human_accuracy=H machine_accuracy=M".
# Environment: BUILD_DIR (default <repo>/build-media), AMD_SEED (default 2),
# AMD_CALLS (default 200), AMD_KEEP=dir to keep the generated calls there.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD_DIR:-$root/build-media}
seed=${AMD_SEED:-2}
calls=${AMD_CALLS:-200}

for tool in flite sox soxi awk; do
    command -v "$tool" >/dev/null || { echo "amd.sh: $tool is required" >&2; exit 1; }
done
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j 2 --target amd_bench >/dev/null

if [ -n "${AMD_KEEP:-}" ]; then
    data=$AMD_KEEP
else
    data=$(mktemp -d /tmp/waihu-amd-XXXXXX)
    trap 'rm -rf "$data"' EXIT
fi
echo "generating $calls calls (seed $seed) in $data ..." >&2
"$here/amd/gen.sh" "$seed" "$calls" "$data" >&2
"$build/bench/amd/amd_bench" "$data/list.txt"

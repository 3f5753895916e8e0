#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, tree build-fuzz) and runs each one for a
# bounded time from its corpus in fuzz/corpus/<target>; fails on any crash, leak, sanitizer
# report, timeout or memory blow-up (docs/reliability.md "Fuzzing").
#   bash fuzz/run.sh [SECONDS_PER_TARGET]      default 20 (CI); try 600 or 3600 on demand
#   bash fuzz/run.sh --merge 600               then merge new coverage into fuzz/corpus
#   FUZZ_TARGETS="fuzz_sdp fuzz_phone" ...     a subset; FUZZ_BUILD_DIR=... another tree
# New inputs go to BUILD/fuzz-work/<target> (kept between runs); a failing input is saved as
# BUILD/fuzz-artifacts/<target>-crash-*; reproduce with BUILD/fuzz/<target> FILE.
set -uo pipefail
cd "$(dirname "$0")/.."
merge=0
if [ "${1:-}" = "--merge" ]; then merge=1; shift; fi
secs=${1:-20}
build=${FUZZ_BUILD_DIR:-build-fuzz}
targets=${FUZZ_TARGETS:-fuzz_store_apply fuzz_customer_json fuzz_filter fuzz_csv fuzz_phone
                        fuzz_sdp fuzz_manifest fuzz_trunk_json fuzz_prompt}
jobs=$(( $(nproc) < 2 ? $(nproc) : 2 ))

t0=$(date +%s)
mkdir -p "$build"
# Build type Fuzz has no flags of its own: the WAIHU_FUZZ block sets them (asserts stay on).
if ! { nice -n 5 cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DWAIHU_FUZZ=ON \
         -DCMAKE_BUILD_TYPE=Fuzz >"$build/fuzz-configure.log" 2>&1 &&
       nice -n 5 cmake --build "$build" --target fuzz_all -j"$jobs" \
         >"$build/fuzz-build.log" 2>&1; }; then
  tail -20 "$build/fuzz-configure.log"; tail -40 "$build/fuzz-build.log" 2>/dev/null
  echo "fuzz: build failed (clang, -DWAIHU_FUZZ=ON; see $build/fuzz-build.log)"; exit 1
fi
echo "fuzz: built in $(( $(date +%s) - t0 )) s; ${secs} s per target"

mkdir -p "$build/fuzz-work" "$build/fuzz-artifacts" "$build/fuzz-logs"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/waihu-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=(); total_runs=0
for t in $targets; do
  bin="$build/fuzz/$t" seeds="fuzz/corpus/$t" work="$build/fuzz-work/$t"
  log="$build/fuzz-logs/$t.log"
  mkdir -p "$work" "$seeds"
  dict=(); [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
  # New inputs land in the first directory (work); the seeds are only read. libFuzzer
  # stops in the second after its limit: one less keeps a target within SECONDS.
  TMPDIR="$tmp" nice -n 5 "$bin" -max_total_time=$(( secs > 1 ? secs - 1 : 1 )) -timeout=10 \
    -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$t-" "${dict[@]}" "$work" "$seeds" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  total_runs=$(( total_runs + ${runs:-0} ))
  if [ $rc -ne 0 ] || grep -qE '^(==[0-9]+==ERROR|SUMMARY: )|runtime error:' "$log"; then
    failed+=("$t")
    echo "FAILED $t (exit $rc): $(grep -E 'ERROR|runtime error|SUMMARY' "$log" | head -3)"
    grep -A30 -E '==ERROR|runtime error:' "$log" | head -40
    echo "  input: $(ls -t "$build/fuzz-artifacts/$t-"* 2>/dev/null | head -1); log: $log"
  else
    printf '%-20s ok  %8s runs %7s exec/s  cov %5s  ft %6s  corpus %5s\n' "$t" "${runs:-?}" \
      "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}"
  fi
  if [ "$merge" = 1 ] && [ $rc -eq 0 ]; then
    # Only inputs that add coverage to the seeds are copied into fuzz/corpus/<target>.
    before=$(ls "$seeds" | wc -l)
    TMPDIR="$tmp" nice -n 5 "$bin" -merge=1 -timeout=10 -rss_limit_mb=2048 "$seeds" "$work" \
      >>"$log" 2>&1
    echo "  merged: $(( $(ls "$seeds" | wc -l) - before )) new inputs into $seeds"
  fi
done
n=$(wc -w <<<"$targets")
echo "fuzz: $n targets, ${#failed[@]} failed${failed:+ (${failed[*]})}, $total_runs executions," \
     "${secs} s each, $(( $(date +%s) - t0 )) s in all"
[ ${#failed[@]} -eq 0 ]

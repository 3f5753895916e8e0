#!/usr/bin/env bash
# Recordings (docs/recordings.md): (1) search over a million catalogued recordings, the
# in-memory index every node answers GET /v1/recordings from; (2) keyword search end to
# end: WAIHU_SPEECH_CALLS (default 100) calls through waihud, waihu-carrier (flite customer
# audio per number) and waihu-agents, analysed by the node's speech worker, then found by
# GET /v1/recordings?keyword= (tests/integration/test_recording_speech.py, same machinery).
# bash bench/recordings.sh [BUILD_DIR] [N] [RUNS]
# Last line: RESULT keyword_precision= keyword_recall= search_ms= speech_rtf=
#   search_ms: the median of the per-query medians of the four realistic index queries
#   (newest page; one customer, all time; one agent, last 30 days; campaign + disposition +
#   duration), the no-match full scan left out; speech_rtf: the worker's processing seconds
#   over audio seconds, summed over the calls.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ -x "$build/bench/recordings/recording_search_bench" ] || bash scripts/build.sh "$build"
build=$(cd "$build" && pwd)
out=$("$build/bench/recordings/recording_search_bench" "${2:-1000000}" "${3:-50}")
echo "$out"
search_ms=$(echo "$out" | awk '/median/ && !/no match/ {
    for (i = 1; i <= NF; i++) if ($i == "median") print $(i + 1) }' | sort -g |
    awk '{ a[NR] = $1 } END { printf "%.3f", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
status=0
WAIHU_SPEECH_CALLS=${WAIHU_SPEECH_CALLS:-100} WAIHU_SPEECH_SUMMARY=$summary \
    WAIHU_RECORDINGS_BUILD=$build python3 tests/integration/test_recording_speech.py \
    RecordingSpeechTest.test_keyword_search_precision_recall || status=$?
python3 - "$summary" "$search_ms" <<'PY'
import json, sys
try:
    s = json.load(open(sys.argv[1]))
except ValueError:
    sys.exit("the end-to-end run wrote no figures")
print("RESULT keyword_precision=%.3f keyword_recall=%.3f search_ms=%s speech_rtf=%.4f"
      % (s["precision"], s["recall"], sys.argv[2], s["speech_rtf"]))
PY
exit $status

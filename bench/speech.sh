#!/usr/bin/env bash
# Speech analysis benchmark (docs/speech.md): keyword precision/recall on 100 synthetic
# flite calls (thresholds tuned on another seed), real-time factor of one decoder, and
# 20 concurrent analyses pinned to one core.
#   bench/speech.sh [BUILD_DIR] [extra bench.py args, e.g. --calls 20]
# Last line (printed by bench/speech/bench.py):
#   RESULT keyword_precision=<0..1> keyword_recall=<0..1> speech_rtf=<n> calls_per_core=<n>
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
cmake --build "$build" --target waihu-speech >/dev/null
exec python3 bench/speech/bench.py --tool "$build/tools/waihu-speech/waihu-speech" \
  --calls 100 --seed 2 --tune-seed 1 --tune-calls 40 "$@"

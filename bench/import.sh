#!/usr/bin/env bash
# Issue 3's benchmark: a generated customer CSV (default 1,000,000 rows) imported into a
# 3-node cluster beside PostgreSQL 15's COPY of the same file, then the filter timings.
# Usage: bash bench/import.sh [--rows N]. Last line: RESULT rows_per_s=... copy_ratio=...
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh build
exec python3 bench/import/run_import.py "$@"

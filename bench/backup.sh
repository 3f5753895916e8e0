#!/usr/bin/env bash
# Issue 8's benchmark: a generated store (customers and call records, waihud's column
# families) checkpointed, backed up full, changed by 1%, backed up incrementally and
# restored, to a directory repository; restic (Debian) backs up and restores the same
# checkpoint directories in the same run. See docs/backup.md for figures.
# Usage: bash bench/backup.sh [--gb 1] [--repeat 1] [--work DIR] [--keep] [--reuse]
#   --gb N      checkpoint size on disk in GB, about (the issue asks 5)
#   --repeat R  repeat each tool's full/incremental/restore R times, medians quoted
#   --keep / --reuse  keep the generated checkpoints / use them again (same --gb)
# Env: WAIHU_BUILD (default build-bench-backup), so it never disturbs other build trees.
# Last line: RESULT backup_vs_restic=... restore_vs_restic=... incremental_over_changed=...
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
BUILD=${WAIHU_BUILD:-build-bench-backup}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
make -C "$BUILD" -j2 waihu-backup waihu-rocks-gen >/dev/null
exec python3 bench/backup/run_backup.py --build "$BUILD" "$@"

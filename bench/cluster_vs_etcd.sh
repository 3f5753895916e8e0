#!/usr/bin/env bash
# Waihu vs etcd, side by side on 127.0.0.1 (issue 2's benchmark).
#
#   bench/cluster_vs_etcd.sh              full run (~6-8 min on 2 cores)
#   QUICK=1 bench/cluster_vs_etcd.sh      smoke run (~2 min)
#
# A 3-node waihu cluster (build/src/waihud/waihud via tools/localcluster) and a 3-member etcd
# (Debian etcd-server) run with real fsync, data under one temp dir on the same disk.  The same
# wrk script (bench/cluster/put.lua) writes 128-byte values to random keys out of KEYS=10000:
#   waihu: PUT /v1/settings/bench.<n> {"value":"<128 bytes>"}
#   etcd:  POST /v3/kv/put {"key":"<b64>","value":"<b64>"}  (v3 JSON gateway)
# 64 connections spread over the 3 members: one `wrk -t1` per member (22+21+21 connections,
# started together; followers forward to the leader on both sides).  Debian's wrk 4.1.0 does not
# give Lua the raw histogram, so each wrk dumps a dense quantile grid and the driver merges them
# weighted by request count.  RUNS runs per side, alternating (W E, E W, W E); medians quoted.
# The raft term is read before and after each run: a rise is a spurious election under load.
# Then failover figures (median of FAILOVER_RUNS): kill -9 of the waihu leader -> next acked
# write by an open-loop prober on the survivors; the same for etcd (comparison); and
# `waihuctl drill dc-failover --dc dc2` on a 5-node 2+2+1 layout (dc1,dc1,dc2,dc2,dc3), with the
# leader first moved into dc2 (DC_LEADER_IN_DC=0 to skip), failover_s read from its JSON.
#
# Env: DURATION (s per load run, default 10; QUICK 3), RUNS (3; QUICK 1), FAILOVER_RUNS (10;
#   QUICK 3), WARMUP (2 s), CONNS (64), KEYS (10000), VALUE_BYTES (128),
#   WAIHU_ELECTION_MS / WAIHU_HEARTBEAT_MS (default: localcluster's shipped defaults),
#   PHASES (load,etcd-failover,failover,dc), WAIHU_PORT_BASE (20000: api 28001.., raft 27001..,
#   forward 29001..; the 5-node layout uses +100), ETCD_CLIENT_BASE (23790), ETCD_PEER_BASE
#   (23800), BENCH_TMPDIR (parent of the temp dir, default /tmp), KEEP=1 keeps the temp dir,
#   VERBOSE=1 prints raw wrk output, WAIHUD / WAIHUCTL / ETCD binary paths.
# Last line: RESULT throughput_ratio=<waihu/etcd> p99_ratio=<waihu/etcd> leader_failover_s=<median>
#   dc_failover_s=<median> [more keys]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export WAIHUD=${WAIHUD:-$ROOT/build/src/waihud/waihud}
export WAIHUCTL=${WAIHUCTL:-$ROOT/build/tools/waihuctl/waihuctl}
export ETCD=${ETCD:-etcd}

for tool in "$ETCD" wrk python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "cluster_vs_etcd: '$tool' not found (apt-get install etcd-server wrk python3)" >&2
        exit 2
    fi
done
if [[ ! -x $WAIHUD ]]; then
    echo "cluster_vs_etcd: $WAIHUD not built (bash scripts/build.sh build)" >&2
    exit 2
fi

WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/waihu-bench.XXXXXX")
export BENCH_WORKDIR=$WORK
export BENCH_PIDFILE=$WORK/pids
: >"$BENCH_PIDFILE"
PY_PID=

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $PY_PID ]] && kill -0 "$PY_PID" 2>/dev/null; then
        kill -TERM "$PY_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$PY_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PY_PID" 2>/dev/null || true
    fi
    # Every process the driver started is in the pidfile; kill only those still running one of
    # our binaries (a recycled pid belongs to someone else).
    if [[ -f $BENCH_PIDFILE ]]; then
        while read -r pid; do
            [[ -n $pid ]] || continue
            local exe
            exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
            case $exe in
            */waihud | */etcd | */wrk | */waihuctl) kill -KILL "$pid" 2>/dev/null || true ;;
            esac
        done <"$BENCH_PIDFILE"
    fi
    if [[ ${KEEP:-0} != 0 ]]; then
        echo "cluster_vs_etcd: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

python3 -u "$ROOT/bench/cluster/bench.py" &
PY_PID=$!
wait "$PY_PID"

"""Figures of bench/wallboard: CPU from /proc, delay percentiles from the boards' 1 ms
histograms, and the check that every board saw every acknowledged change."""
import math
import os
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of pid (every thread), in seconds; None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat(5)


class Cpu:
    def __init__(self, pids):
        self.pids = pids                  # name -> pid

    def sample(self):
        return time.monotonic(), {name: cpu_seconds(pid) for name, pid in self.pids.items()}


def cores(s0, s1):
    """Cores used between two samples, per name; softphone processes summed."""
    dt = s1[0] - s0[0]
    out = {}
    for name, c1 in s1[1].items():
        c0 = s0[1].get(name)
        key = "softphones" if name.startswith("agents-") else name
        if c0 is not None and c1 is not None:
            out[key] = out.get(key, 0.0) + (c1 - c0) / dt
    return out


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def percentile(sorted_xs, q):
    """Nearest rank."""
    if not sorted_xs:
        return 0.0
    return sorted_xs[max(0, math.ceil(q * len(sorted_xs)) - 1)]


def hist_percentile(hist, q):
    """hist: {delay_ms: count}; nearest rank."""
    total = sum(hist.values())
    if total == 0:
        return 0
    rank = max(1, math.ceil(q * total))
    seen = 0
    for d in sorted(hist):
        seen += hist[d]
        if seen >= rank:
            return d
    return max(hist)


def window_figures(load, w, seen, s0, s1):
    t0, t1 = w
    acks = [a for a in load.acks if t0 <= a[0] < t1]
    acked, acked_sum = len(acks), sum(a[0] for a in acks)
    lat = sorted(a[2] for a in acks)
    pooled, board_p99, missing, extra, complete, max_ms = {}, [], 0, 0, 0, 0
    for b in seen["boards"]:
        h = {int(d): c for d, c in b["hist"].items()}
        for d, c in h.items():
            pooled[d] = pooled.get(d, 0) + c
        board_p99.append(hist_percentile(h, 0.99))
        missing += max(0, acked - b["count"])
        extra += max(0, b["count"] - acked)
        complete += b["count"] == acked and b["since_sum"] == acked_sum
        max_ms = max(max_ms, b["max_ms"])
    return {"acked": acked, "events_per_s": acked / ((t1 - t0) / 1000.0),
            "events": sum(pooled.values()), "boards": len(seen["boards"]),
            "p50_ms": hist_percentile(pooled, 0.50), "p99_ms": hist_percentile(pooled, 0.99),
            "max_ms": max_ms, "board_p99_min": min(board_p99), "board_p99_max": max(board_p99),
            "missing": missing, "extra": extra, "complete_boards": complete,
            "post_p50_ms": percentile(lat, 0.50), "post_p99_ms": percentile(lat, 0.99),
            "cpu": cores(s0, s1)}

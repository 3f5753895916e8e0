#!/usr/bin/env python3
"""bench/import.sh's driver: imports a generated customer CSV into a 3-node waihu
cluster through POST /v1/imports (replicated, encrypted, deduplicated), then times the
filter "tag A, not tag B, not contacted for 30 days" (first page of 100 and full count,
median of 10), and runs PostgreSQL 15's COPY of the same file as the anchor.
Last line: RESULT rows_per_s=... copy_ratio=... filter_first_page_ms=... filter_count_ms=..."""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "localcluster"))
import gen_customers  # noqa: E402
from localcluster import Cluster  # noqa: E402

PASSWORD = "bench password 1234"
FILTER = 'tag:high_intent AND NOT tag:closed AND last_contact < -30d'


def log(*a):
    print(*a, flush=True)


def rss_peak_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """User+system CPU seconds of a process so far (robust to a noisy machine)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--work", default="/tmp/waihu-bench-import")
    ap.add_argument("--port-base", type=int, default=20300)
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    csv = os.path.join(args.work, "customers.csv")
    log("generating %d rows into %s" % (args.rows, csv))
    subprocess.run([sys.executable, os.path.join(HERE, "gen_customers.py"), "--rows",
                    str(args.rows), "--seed", "1", "--out", csv], check=True,
                   stdout=subprocess.DEVNULL)

    c = Cluster(os.path.join(args.work, "cluster"), 3, port_base=args.port_base,
                snapshot_threshold=1000000, snapshot_trailing=200000)
    c.create()
    shutil.copy(csv, os.path.join(c.import_dir, "customers.csv"))
    c.start()
    try:
        leader = c.wait_ready(timeout=60)
        boot = lambda m, p, b=None: leader.request(m, p, b, timeout=30)  # noqa: E731
        assert boot("POST", "/v1/tenants", {"id": 1, "name": "bench", "default_country": "CN"})[0] == 201
        assert boot("POST", "/v1/users", {"username": "admin", "password": PASSWORD, "role": "admin",
                                          "tenant_id": 1})[0] == 201
        s, doc = leader.request("POST", "/v1/auth/login", {"username": "admin", "password": PASSWORD})
        hdr = {"Authorization": "Bearer " + doc["token"], "Content-Type": "application/json"}
        api = lambda m, p, b=None: leader.request(m, p, b, hdr, timeout=60)  # noqa: E731
        s, doc = api("PUT", "/v1/fields", {"fields": [
            {"name": "city", "type": "string"},
            {"name": "industry", "type": "enum", "enum_values": gen_customers.INDUSTRIES},
            {"name": "company_size", "type": "number"}, {"name": "signup_date", "type": "date"},
            {"name": "budget", "type": "number"}]})
        assert s == 200, doc
        mapping = {h: h for h in ("name", "phone", "city", "address", "industry", "company_size",
                                  "signup_date", "budget", "notes", "tags")}
        cpu0 = [cpu_seconds(n.proc.pid) for n in c.nodes]
        t0 = time.monotonic()
        s, job = api("POST", "/v1/imports", {"file": "customers.csv", "mapping": mapping})
        assert s == 202, job
        last = 0
        while True:
            s, doc = api("GET", "/v1/imports/" + job["id"])
            if doc["state"] != "running":
                break
            if time.monotonic() - last > 10:
                log("  %s rows ok, %.0f rows/s, eta %.0f s" % (doc["rows_ok"], doc["rows_per_s"], doc["eta_s"]))
                last = time.monotonic()
            time.sleep(0.5)  # progress display only; completion is the state above
        elapsed = time.monotonic() - t0
        log("import %s: %d ok, %d failed, %d duplicates in %.1f s" %
            (doc["state"], doc["rows_ok"], doc["rows_failed"], doc["duplicates"], elapsed))
        for e in doc.get("first_errors", [])[:5]:
            log("  error: line %s column %s: %s" % (e["line"], e.get("column"), e["reason"]))
        rows_per_s = (doc["rows_ok"] + doc["rows_failed"] + doc["duplicates"]) / elapsed
        cpu = [cpu_seconds(n.proc.pid) - c0 for n, c0 in zip(c.nodes, cpu0)]
        rows = max(1, doc["rows_ok"] + doc["rows_failed"] + doc["duplicates"])
        log("CPU per row (us) by node: %s (all nodes: %.0f)" %
            (["%.0f" % (x * 1e6 / rows) for x in cpu], sum(cpu) * 1e6 / rows))
        rss = [rss_peak_kib(n.proc.pid) // 1024 for n in c.nodes]
        log("peak RSS per node (MiB): %s" % rss)
        page, count = [], []
        for _ in range(10):
            t = time.monotonic()
            s, d = api("GET", "/v1/customers?limit=100&filter=" + quote(FILTER))
            page.append((time.monotonic() - t) * 1000)
            assert s == 200, d
            t = time.monotonic()
            s, d = api("GET", "/v1/customers/count?filter=" + quote(FILTER))
            count.append((time.monotonic() - t) * 1000)
            assert s == 200, d
        log("filter matches %d customers; first page %.1f ms, count %.1f ms (medians of 10)" %
            (d["count"], statistics.median(page), statistics.median(count)))
    finally:
        c.kill_all()
    log("PostgreSQL 15 COPY of the same file:")
    p = subprocess.run(["bash", os.path.join(HERE, "pg_copy.sh"), csv], capture_output=True, text=True)
    pg = None
    for line in p.stdout.splitlines():
        log("  " + line)
        if line.startswith("pg_copy_rows_per_s="):
            pg = float(line.split("=")[1])
    ratio = rows_per_s / pg if pg else 0
    print("RESULT rows_per_s=%.0f copy_ratio=%.3f filter_first_page_ms=%.1f filter_count_ms=%.1f"
          % (rows_per_s, ratio, statistics.median(page), statistics.median(count)), flush=True)


if __name__ == "__main__":
    main()

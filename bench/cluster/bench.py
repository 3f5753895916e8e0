#!/usr/bin/env python3
"""Driver of bench/cluster_vs_etcd.sh (run that, not this: it owns the temp dir and the trap).

Phases (env PHASES, comma list, default all): load, etcd-failover, failover, dc.
  load           3-node waihu and 3-node etcd side by side on 127.0.0.1; RUNS alternating
                 wrk runs per side (64 connections spread over the 3 members: one wrk per member,
                 -t1, 22+21+21 connections; latency quantiles merged); term checked before/after.
  etcd-failover  kill -9 of the etcd leader -> next acknowledged write (optional comparison).
  failover       kill -9 of the waihu leader -> next acknowledged write (median of FAILOVER_RUNS).
  dc             5-node waihu 2+2+1 (dc1,dc1,dc2,dc2,dc3): waihuctl drill dc-failover --dc dc2,
                 failover_s from its JSON (Python fallback if waihuctl is missing or fails).
Every child pid is appended to $BENCH_PIDFILE so that the shell trap can kill leftovers.
"""
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "localcluster"))

import localcluster  # noqa: E402
from etcdcluster import EtcdCluster  # noqa: E402
import failover  # noqa: E402


def env_int(name, default):
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


QUICK = os.environ.get("QUICK", "0") not in ("", "0")
DURATION = env_int("DURATION", 3 if QUICK else 10)
RUNS = env_int("RUNS", 1 if QUICK else 3)
FAILOVER_RUNS = env_int("FAILOVER_RUNS", 3 if QUICK else 10)
WARMUP = env_int("WARMUP", 1 if QUICK else 2)
CONNS = env_int("CONNS", 64)
KEYS = env_int("KEYS", 10000)
VALUE_BYTES = env_int("VALUE_BYTES", 128)
PORT_BASE = env_int("WAIHU_PORT_BASE", 20000)
ETCD_CLIENT_BASE = env_int("ETCD_CLIENT_BASE", 23790)
ETCD_PEER_BASE = env_int("ETCD_PEER_BASE", 23800)
WORK = os.environ.get("BENCH_WORKDIR") or sys.exit("BENCH_WORKDIR not set (run cluster_vs_etcd.sh)")
PIDFILE = os.environ.get("BENCH_PIDFILE", os.path.join(WORK, "pids"))
WAIHUD = os.environ.get("WAIHUD", os.path.join(ROOT, "build/src/waihud/waihud"))
WAIHUCTL = os.environ.get("WAIHUCTL", os.path.join(ROOT, "build/tools/waihuctl/waihuctl"))
ETCD = os.environ.get("ETCD", "etcd")
PHASES = [p.strip() for p in os.environ.get(
    "PHASES", "load,etcd-failover,failover,dc").split(",") if p.strip()]
VERBOSE = os.environ.get("VERBOSE", "0") not in ("", "0")
LUA = os.path.join(HERE, "put.lua")

# Timeouts: None = whatever localcluster.Cluster ships as its default (the daemon's default).
ELECTION_MS = env_int("WAIHU_ELECTION_MS", 0) or None
HEARTBEAT_MS = env_int("WAIHU_HEARTBEAT_MS", 0) or None
DC_LEADER_IN_DC = os.environ.get("DC_LEADER_IN_DC", "1") not in ("", "0")


def log(*a):
    print(*a, flush=True)


def record_pid(pid):
    with open(PIDFILE, "a") as f:
        f.write("%d\n" % pid)


# Every waihud the localcluster module starts goes into the pidfile too.
_orig_node_start = localcluster.Node.start


def _node_start(self):
    _orig_node_start(self)
    record_pid(self.proc.pid)


localcluster.Node.start = _node_start


def waihu_cluster(name, n, dcs=None, port_base=PORT_BASE):
    kw = {}
    if ELECTION_MS:
        kw["election_timeout_ms"] = ELECTION_MS
    if HEARTBEAT_MS:
        kw["heartbeat_timeout_ms"] = HEARTBEAT_MS
    return BenchCluster(os.path.join(WORK, name), n, dcs, binary=WAIHUD,
                        port_base=port_base, **kw)


class BenchCluster(localcluster.Cluster):
    """Publishes the bootstrap token to wrk's Lua script and the failover writers."""

    def create(self, wipe=True):
        super().create(wipe)
        os.environ["BENCH_TOKEN"] = self.token


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, nd=3):
    return "n/a" if x is None else ("%.*f" % (nd, x))


def cpu_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return int(parts[11]) + int(parts[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


# ---------------------------------------------------------------- load ----

def split_conns(total, n):
    base, extra = divmod(total, n)
    return [base + (1 if i < extra else 0) for i in range(n)]


def run_wrk(side, urls, duration, tag):
    """One wrk per member (-t1), connections split 22/21/21; returns merged stats dict."""
    conns = split_conns(CONNS, len(urls))
    procs = []
    for i, (url, c) in enumerate(zip(urls, conns)):
        out = os.path.join(WORK, "wrk-%s-%s-%d.q" % (side, tag, i))
        txt = os.path.join(WORK, "wrk-%s-%s-%d.txt" % (side, tag, i))
        env = dict(os.environ, BENCH_TARGET=side, BENCH_OUT=out, BENCH_SEED=str(i + 1),
                   BENCH_KEYS=str(KEYS), BENCH_VALUE_BYTES=str(VALUE_BYTES))
        cmd = ["wrk", "-t1", "-c%d" % c, "-d%ds" % duration, "--latency", "-s", LUA, url]
        fo = open(txt, "w")
        p = subprocess.Popen(cmd, env=env, stdout=fo, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        fo.close()
        record_pid(p.pid)
        procs.append((p, out, txt))
    for p, _, _ in procs:
        p.wait(timeout=duration + 60)
    parts = []
    for p, out, txt in procs:
        if VERBOSE:
            with open(txt) as f:
                log(f.read())
        if p.returncode != 0 or not os.path.exists(out):
            with open(txt) as f:
                raise RuntimeError("wrk failed (%s): %s" % (p.returncode, f.read()[-2000:]))
        parts.append(parse_wrk_out(out))
    return merge(parts)


def parse_wrk_out(path):
    d = {"q": []}
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "summary":
                for kv in w[1:]:
                    k, v = kv.split("=")
                    d[k] = int(v)
            elif w[0] == "minmax":
                d["min_us"], d["max_us"] = int(w[1]), int(w[2])
            elif w[0] == "q":
                d["q"].append((float(w[1]), int(w[2])))
    return d


def merge(parts):
    """Weighted merge of quantile grids -> combined p50/p99/p99.9 (ms) and rates."""
    dur_s = max(p["duration_us"] for p in parts) / 1e6
    requests = sum(p["requests"] for p in parts)
    errs = {k: sum(p[k] for p in parts) for k in ("connect", "read", "write", "status", "timeout")}
    mass = []
    for p in parts:
        prev = 0.0
        for q, v in p["q"]:
            mass.append((v, (q - prev) / 100.0 * p["requests"]))
            prev = q
    mass.sort()
    total = sum(m for _, m in mass)

    def pct(x):
        if total <= 0:
            return None
        want = x / 100.0 * total
        acc = 0.0
        for v, m in mass:
            acc += m
            if acc >= want - 1e-9:
                return v / 1000.0
        return mass[-1][0] / 1000.0
    ok = requests - errs["status"]
    return {"rps": ok / dur_s, "all_rps": requests / dur_s, "requests": requests,
            "errors": errs, "p50": pct(50), "p99": pct(99), "p999": pct(99.9),
            "max": max(p.get("max_us", 0) for p in parts) / 1000.0,
            "per_member_rps": [p["requests"] / (p["duration_us"] / 1e6) for p in parts]}


def waihu_term(cluster):
    terms = []
    for n in cluster.nodes:
        st = n.status() if n.alive() else None
        if st and st.get("term") is not None:
            terms.append(int(st["term"]))
    return max(terms) if terms else None


def phase_load(w, e):
    log("== load: %d run(s) per side, %d s each, %d connections over 3 members "
        "(one wrk -t1 per member), %d-byte values, %d keys" %
        (RUNS, DURATION, CONNS, VALUE_BYTES, KEYS))
    wurls = ["http://%s" % n.api_address for n in w.nodes]
    eurls = [m.client_url for m in e.members]
    if WARMUP > 0:
        run_wrk("waihu", wurls, WARMUP, "warm")
        run_wrk("etcd", eurls, WARMUP, "warm")
    res = {"waihu": [], "etcd": []}
    elections = {"waihu": 0, "etcd": 0}
    wpids = [n.proc.pid for n in w.nodes]
    epids = [m.proc.pid for m in e.members]
    hz = os.sysconf("SC_CLK_TCK")
    for r in range(RUNS):
        order = ["waihu", "etcd"] if r % 2 == 0 else ["etcd", "waihu"]
        for side in order:
            if side == "waihu":
                t_before, urls, pids = waihu_term(w), wurls, wpids
            else:
                t_before, urls, pids = e.term(), eurls, epids
            c0 = sum(cpu_ticks(p) for p in pids)
            m = run_wrk(side, urls, DURATION, "r%d" % (r + 1))
            c1 = sum(cpu_ticks(p) for p in pids)
            t_after = waihu_term(w) if side == "waihu" else e.term()
            m["cpu_cores"] = (c1 - c0) / hz / DURATION
            m["term_before"], m["term_after"] = t_before, t_after
            if t_before is not None and t_after is not None and t_after > t_before:
                elections[side] += t_after - t_before
            res[side].append(m)
            er = m["errors"]
            log("  run %d %-5s  %8.0f req/s  p50 %7.2f ms  p99 %7.2f ms  p99.9 %7.2f ms  "
                "max %7.1f ms  servers %.2f cores  term %s->%s%s%s" %
                (r + 1, side, m["rps"], m["p50"] or 0, m["p99"] or 0, m["p999"] or 0,
                 m["max"], m["cpu_cores"], t_before, t_after,
                 "  SPURIOUS ELECTION" if (t_before is not None and t_after is not None
                                           and t_after > t_before) else "",
                 ("  errors %s" % er) if any(er.values()) else ""))
            log("         per-member req/s: %s" %
                " ".join("%.0f" % x for x in m["per_member_rps"]))
            check_alive(w, "after waihu load run")
    out = {}
    for side in ("waihu", "etcd"):
        out[side] = {k: median([m[k] for m in res[side]]) for k in ("rps", "p50", "p99", "p999")}
    out["elections"] = elections
    log("  medians: waihu %.0f req/s p50 %.2f ms p99 %.2f ms | etcd %.0f req/s p50 %.2f ms "
        "p99 %.2f ms" % (out["waihu"]["rps"], out["waihu"]["p50"], out["waihu"]["p99"],
                         out["etcd"]["rps"], out["etcd"]["p50"], out["etcd"]["p99"]))
    log("  term rises during load runs: waihu %d, etcd %d" %
        (elections["waihu"], elections["etcd"]))
    return out


# ------------------------------------------------------------ failover ----

def check_alive(w, when, except_node=None):
    for n in w.nodes:
        if n is except_node:
            continue
        if n.proc is not None and n.proc.poll() is not None:
            rc = n.proc.returncode
            log("  !! waihud %s exited (status %s) %s; last log lines:" % (n.name, rc, when))
            log_tail(n.log)
            raise RuntimeError("waihud %s died (status %s) %s" % (n.name, rc, when))


def log_tail(path, lines=15):
    try:
        with open(path, "rb") as f:
            data = f.read()[-8000:].decode("utf-8", "replace").splitlines()[-lines:]
        for line in data:
            log("     | " + line)
    except OSError:
        pass


def restart_node(w, node, failures):
    """Restarts a killed node and waits for the cluster; on failure (the node does not come
    back) logs why, counts it and rebuilds the cluster from scratch so the next run can go on."""
    off = os.path.getsize(node.log) if os.path.exists(node.log) else 0
    node.start()
    try:
        w.wait_ready(60)
        w.wait_converged(60)
        return w
    except TimeoutError as ex:
        why = None
        if not node.alive():
            why = "exited with status %s" % node.proc.returncode
        err = None
        try:
            with open(node.log, "rb") as f:
                f.seek(off)
                for raw in f:
                    line = raw.decode("utf-8", "replace").strip()
                    if '"level":"error"' in line or '"level":"fatal"' in line:
                        err = line[:400]
                        break
        except OSError:
            pass
        log("  !! restart of %s after kill -9 failed (%s; %s)" % (node.name, why or ex, err))
        failures.append("%s: %s" % (node.name, err or why or ex))
        keep = w.dir + ".failed%d" % len(failures)
        w.kill_all()
        os.rename(w.dir, keep)
        log("     its run dir is kept as %s; rebuilding the cluster from scratch" % keep)
        w.create()
        w.start()
        w.wait_ready(90)
        return w


def phase_waihu_failover(w, failures):
    log("== failover: kill -9 of the waihu leader -> next acknowledged write, %d runs "
        "(election %d ms, heartbeat %d ms)" %
        (FAILOVER_RUNS, w.election_timeout_ms, w.heartbeat_timeout_ms))
    times, bumps = [], []
    for r in range(FAILOVER_RUNS):
        leader = w.wait_ready(60)
        survivors = [n for n in w.nodes if n is not leader]
        term0 = waihu_term(w)
        writers = [failover.waihu_writer(n.api_address) for n in survivors]
        dt, p = failover.measure(writers, leader.kill, timeout=30.0)
        pre = p.acks_before_fault()
        new = w.leader(survivors)
        term1 = waihu_term(w)
        times.append(dt)
        bumps.append((term1 - term0) if term0 is not None and term1 is not None else None)
        log("  run %2d: killed %s -> first ack after %s s (new leader %s, term %s->%s, "
            "probes sent %d, acked before kill %d, failed %d)" %
            (r + 1, leader.name, fmt(dt), new.name if new else "?", term0, term1,
             p.sent, pre, p.fails))
        check_alive(w, "after kill -9 of %s" % leader.name, except_node=leader)
        restart_node(w, leader, failures)
    med = median(times)
    log("  leader failover median %s s  (min %s, max %s; term bumps per kill: %s; "
        "restart failures: %d)" %
        (fmt(med), fmt(min([x for x in times if x is not None], default=None)),
         fmt(max([x for x in times if x is not None], default=None)), bumps, len(failures)))
    return med, times


def phase_etcd_failover(e):
    log("== etcd failover: kill -9 of the etcd leader -> next acknowledged write, %d runs "
        "(election %d ms, heartbeat %d ms)" % (FAILOVER_RUNS, e.election_ms, e.heartbeat_ms))
    times = []
    for r in range(FAILOVER_RUNS):
        leader = e.wait_ready(60)
        survivors = [m for m in e.members if m is not leader]
        term0 = e.term()
        writers = [failover.etcd_writer(m.api_address) for m in survivors]
        dt, p = failover.measure(writers, leader.kill, timeout=30.0)
        term1 = e.term()
        times.append(dt)
        log("  run %2d: killed %s -> first ack after %s s (term %s->%s)" %
            (r + 1, leader.name, fmt(dt), term0, term1))
        leader.start()
        e.wait_ready(60)
    med = median(times)
    log("  etcd leader failover median %s s" % fmt(med))
    return med, times


def transfer_leader(w, to_id):
    """Moves leadership to to_id; follows not_leader redirects (the leader can change between
    reading /v1/cluster and the POST). True when to_id leads and the cluster is ready."""
    for attempt in range(4):
        leader = w.wait_ready(60)
        if leader.id == to_id:
            return True
        try:
            s, body = leader.request("POST", "/v1/leader/transfer", {"to": to_id}, timeout=10)
        except OSError as ex:
            s, body = None, str(ex)
        if s != 200:
            log("  (leader transfer %s -> %d, attempt %d: %s %s)" %
                (leader.name, to_id, attempt + 1, s, body))
            time.sleep(0.2)
            continue
        try:
            w.wait(lambda: (lambda l: l is not None and l.id == to_id)(w.leader()), 15,
                   "leader %d" % to_id)
            w.wait_ready(30)
            return True
        except TimeoutError:
            continue
    return False


def drill_waihuctl(w):
    eps = ",".join(n.api_address for n in w.nodes)
    cmd = [WAIHUCTL, "--endpoints", eps, "-o", "json", "drill", "dc-failover", "--dc", "dc2"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=w.ctl_env())
    record_pid(p.pid)
    try:
        out, err = p.communicate(timeout=150)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return None, "timeout", None
    doc = None
    try:
        doc = json.loads(out)
    except ValueError:
        m = re.search(r"\{.*\}", out, re.S)
        if m:
            try:
                doc = json.loads(m.group(0))
            except ValueError:
                doc = None
    if p.returncode != 0 or not isinstance(doc, dict) or doc.get("failover_s") is None:
        return None, "exit %s: %s %s" % (p.returncode, out.strip()[-500:], err.strip()[-500:]), doc
    return float(doc["failover_s"]), None, doc


def drill_python(w, dc="dc2"):
    """Same measure as the drill: fence every node of dc, first ack on a survivor, unfence."""
    fenced = [n for n in w.nodes if n.dc == dc]
    survivors = [n for n in w.nodes if n.dc != dc]
    old = w.leader()

    def fault():
        for n in fenced:
            s, b = n.request("POST", "/v1/admin/fence", {"duration_ms": 60000}, timeout=5)
            if s != 200:
                raise RuntimeError("fence %s: %s %s" % (n.name, s, b))
    writers = [failover.waihu_writer(n.api_address, key="bench.dcdrill") for n in survivors]
    dt, p = failover.measure(writers, fault, timeout=60.0)
    new = w.leader(survivors)
    t = time.monotonic()
    for n in fenced:
        n.request("POST", "/v1/admin/unfence", {}, timeout=5)
    w.wait_ready(60)
    w.wait_converged(60)
    return dt, {"old_leader": old.id if old else None, "new_leader": new.id if new else None,
                "converge_s": time.monotonic() - t}


def phase_dc(tool_state):
    dcs = ["dc1", "dc1", "dc2", "dc2", "dc3"]
    w = waihu_cluster("waihu5", 5, dcs, port_base=PORT_BASE + 100)
    log("== dc failover: 5 nodes %s, drill dc-failover --dc dc2, %d runs%s" %
        ("+".join(str(dcs.count(d)) for d in ("dc1", "dc2", "dc3")), FAILOVER_RUNS,
         ", leader moved into dc2 first (worst case)" if DC_LEADER_IN_DC else ""))
    w.create()
    w.start()
    tool_state["clusters"].append(w)
    try:
        w.wait_ready(90)
        times, methods, in_dc = [], [], []
        use_ctl = os.access(WAIHUCTL, os.X_OK)
        if not use_ctl:
            log("  waihuctl not found at %s: measuring in Python (fence/probe/unfence)" % WAIHUCTL)
        for r in range(FAILOVER_RUNS):
            check_alive(w, "before drill")
            moved = None
            if DC_LEADER_IN_DC:
                to = (3, 4)[r % 2]
                moved = transfer_leader(w, to)
            w.wait_ready(60)
            w.wait_converged(60)
            leader = w.leader()
            dt, doc, method, why = None, None, None, None
            if use_ctl:
                dt, why, doc = drill_waihuctl(w)
                method = "waihuctl"
                if dt is None:
                    log("  run %2d: waihuctl drill failed (%s); falling back to Python" %
                        (r + 1, why))
                    try:
                        w.wait_ready(60)
                    except TimeoutError:
                        for n in w.nodes:
                            if n.dc == "dc2":
                                try:
                                    n.request("POST", "/v1/admin/unfence", {}, timeout=5)
                                except OSError:
                                    pass
                        w.wait_ready(60)
            if dt is None:
                dt, doc = drill_python(w)
                method = "python"
            times.append(dt)
            methods.append(method)
            if doc and doc.get("old_leader") in (3, 4):
                in_dc.append(dt)
            log("  run %2d: failover %s s via %s (leader before %s%s, old_leader %s -> "
                "new_leader %s, converge %s s)" %
                (r + 1, fmt(dt), method, leader.name if leader else "?",
                 "" if moved in (None, True) else " [transfer failed]",
                 doc.get("old_leader") if doc else "?", doc.get("new_leader") if doc else "?",
                 fmt(doc.get("converge_s")) if doc else "?"))
            w.wait_ready(60)
        med = median(times)
        log("  dc failover median %s s (methods: %s); median of the %d runs whose old leader "
            "was in dc2: %s s" % (fmt(med), ",".join(sorted(set(methods))), len(in_dc),
                                  fmt(median(in_dc))))
        return med, times, sorted(set(methods)), median(in_dc), len(in_dc)
    finally:
        check_logs(w, "waihu5")
        w.stop()


# --------------------------------------------------------------- logs ----

def check_logs(w, label):
    """Counts log levels in each waihud.log and shows distinct error/warn messages."""
    for n in w.nodes:
        counts, samples = {}, {}
        try:
            with open(n.log, "rb") as f:
                for raw in f:
                    line = raw.decode("utf-8", "replace").strip()
                    lvl, msg = "?", line
                    try:
                        doc = json.loads(line)
                        lvl = str(doc.get("level", doc.get("lvl", "?"))).lower()
                        msg = str(doc.get("msg", doc.get("message", line)))
                    except ValueError:
                        m = re.search(r"\b(fatal|error|warn(?:ing)?|info|debug)\b", line, re.I)
                        if m:
                            lvl = m.group(1).lower()
                    counts[lvl] = counts.get(lvl, 0) + 1
                    if lvl in ("fatal", "error", "warn", "warning", "crit", "?"):
                        key = re.sub(r"\d+", "N", msg)[:160]
                        samples.setdefault(lvl, {}).setdefault(key, [0, line[:300]])
                        samples[lvl][key][0] += 1
        except OSError:
            continue
        log("  log %s/%s: %s" % (label, n.name, " ".join("%s=%d" % kv for kv in
                                                        sorted(counts.items()))))
        for lvl in ("fatal", "crit", "error", "warn", "warning", "?"):
            for key, (cnt, line) in sorted(samples.get(lvl, {}).items(),
                                           key=lambda kv: -kv[1][0])[:4]:
                log("     %s x%d: %s" % (lvl, cnt, line))


# --------------------------------------------------------------- main ----

def main():
    state = {"clusters": []}
    result = {}
    failed = []          # phases that raised
    restart_failures = []
    stop = {"sig": None}

    def on_sig(signum, frame):
        stop["sig"] = signum
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_sig)

    df = subprocess.run(["df", "-h", WORK], capture_output=True, text=True).stdout.splitlines()
    log("waihu-vs-etcd bench: work dir %s (%s); %s; QUICK=%d DURATION=%d RUNS=%d "
        "FAILOVER_RUNS=%d; load average %s" %
        (WORK, df[-1].split()[0] if df else "?",
         subprocess.run([ETCD, "--version"], capture_output=True,
                        text=True).stdout.splitlines()[0],
         QUICK, DURATION, RUNS, FAILOVER_RUNS, " ".join(
             "%.2f" % x for x in os.getloadavg())))

    def phase(name, fn):
        try:
            return fn()
        except KeyboardInterrupt:
            raise
        except Exception as ex:
            log("!! phase %s failed: %s: %s" % (name, type(ex).__name__, ex))
            failed.append(name)
            for c in state["clusters"]:
                for n in c.nodes:
                    if n.proc is not None and n.proc.poll() is not None \
                            and n.proc.returncode not in (0, -signal.SIGKILL):
                        log("  !! %s exited with status %s" % (n.name, n.proc.returncode))
                        log_tail(n.log, 5)
            return None

    w = e = None
    try:
        need_w3 = any(p in PHASES for p in ("load", "failover"))
        need_e = any(p in PHASES for p in ("load", "etcd-failover"))
        if need_w3:
            w = waihu_cluster("waihu3", 3)
            w.create()
            w.start()
            state["clusters"].append(w)
            log("waihu: 3 nodes, api %s, election %d ms, heartbeat %d ms, data %s" %
                (",".join(n.api_address for n in w.nodes), w.election_timeout_ms,
                 w.heartbeat_timeout_ms, w.dir))
        if need_e:
            e = EtcdCluster(os.path.join(WORK, "etcd3"), 3, binary=ETCD,
                            client_base=ETCD_CLIENT_BASE, peer_base=ETCD_PEER_BASE,
                            on_start=record_pid)
            e.create()
            e.start()
            state["etcd"] = e
            log("etcd:  3 members, client %s, election %d ms, heartbeat %d ms, data %s" %
                (",".join(m.api_address for m in e.members), e.election_ms, e.heartbeat_ms,
                 e.dir))
        if w:
            t = time.monotonic()
            w.wait_ready(90)
            log("waihu ready in %.1f s, leader %s" % (time.monotonic() - t, w.leader().name))
        if e:
            t = time.monotonic()
            e.wait_ready(60)
            log("etcd ready in %.1f s, leader %s" % (time.monotonic() - t, e.leader().name))

        if "load" in PHASES:
            result["load"] = phase("load", lambda: phase_load(w, e))
        if "etcd-failover" in PHASES:
            r = phase("etcd-failover", lambda: phase_etcd_failover(e))
            result["etcd_failover"] = r[0] if r else None
        if e:
            e.stop()
        if "failover" in PHASES:
            r = phase("failover", lambda: phase_waihu_failover(w, restart_failures))
            result["failover"] = r[0] if r else None
        if w:
            check_logs(w, "waihu3")
            w.kill_all() if "failover" in failed else w.stop()
        if "dc" in PHASES:
            r = phase("dc", lambda: phase_dc(state))
            if r:
                result["dc"] = r[0]
                result["dc_method"] = "+".join(r[2])
                result["dc_leader_in_dc"] = (r[3], r[4])
    except KeyboardInterrupt:
        log("interrupted (signal %s)" % stop["sig"])
        raise SystemExit(130)
    except Exception as ex:
        log("!! bench failed: %s: %s" % (type(ex).__name__, ex))
        failed.append("setup")
    finally:
        for c in state["clusters"]:
            c.kill_all()
        if state.get("etcd"):
            state["etcd"].kill_all()

    load = result.get("load")
    keys = []
    if load:
        wr, er = load["waihu"], load["etcd"]
        keys.append("throughput_ratio=%s" % fmt(wr["rps"] / er["rps"] if er["rps"] else None, 2))
        keys.append("p99_ratio=%s" % fmt(wr["p99"] / er["p99"] if er["p99"] else None, 2))
    else:
        keys += ["throughput_ratio=n/a", "p99_ratio=n/a"]
    keys.append("leader_failover_s=%s" % fmt(result.get("failover")))
    keys.append("dc_failover_s=%s" % fmt(result.get("dc")))
    if load:
        keys += ["waihu_rps=%.0f" % wr["rps"], "etcd_rps=%.0f" % er["rps"],
                 "waihu_p50_ms=%s" % fmt(wr["p50"], 2), "waihu_p99_ms=%s" % fmt(wr["p99"], 2),
                 "etcd_p50_ms=%s" % fmt(er["p50"], 2), "etcd_p99_ms=%s" % fmt(er["p99"], 2),
                 "spurious_elections=%d" % load["elections"]["waihu"],
                 "etcd_spurious_elections=%d" % load["elections"]["etcd"]]
    if "etcd_failover" in result:
        keys.append("etcd_leader_failover_s=%s" % fmt(result["etcd_failover"]))
    if "dc_method" in result:
        keys.append("dc_method=%s" % result["dc_method"])
        keys.append("dc_failover_leader_in_dc_s=%s dc_runs_leader_in_dc=%d" %
                    (fmt(result["dc_leader_in_dc"][0]), result["dc_leader_in_dc"][1]))
    el = ELECTION_MS or (w.election_timeout_ms if w else None)
    hb = HEARTBEAT_MS or (w.heartbeat_timeout_ms if w else None)
    if el:
        keys.append("election_ms=%s heartbeat_ms=%s" % (el, hb))
    if restart_failures:
        log("restart failures after kill -9: %s" % "; ".join(restart_failures))
    keys.append("restart_failures=%d" % len(restart_failures))
    if failed:
        keys.append("failed_phases=%s" % ",".join(failed))
    log("RESULT " + " ".join(keys))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Soak (issue 10): the full stack dialing without a stop while a nemesis restarts nodes.

A 3-node cluster (every node with telephony) trunked to waihu-carrier, 24 waihu-agents
softphones with backup registrars, predictive campaigns over two rotating customer pools
(a new campaign on the other pool whenever the current one runs low), and every few
minutes a seeded fault: kill -9 or SIGTERM of a random node, back 10-60 s later. Every
interval a row (connect, abandon and occupancy figures, API latency of probe requests, RSS
per node, invariant checks against the carrier's log); at the end a plot and a RESULT
line. docs/soak.md says how to run and read it."""
import argparse
import csv
import datetime
import gzip
import json
import os
import random
import shutil
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import stack  # noqa: E402
from ledger import Ledger  # noqa: E402
from summary import FIELDS, Summary  # noqa: E402

# The carrier: answer 30%, the talk-time law of bench/campaign_live (exponential, mean
# 12 s, 3-60 s: time compressed ~10x against a real campaign), rings 2-10 s.
RULES = {"stats": {"answer": 0.30, "no-answer": 0.45, "busy": 0.15, "unreachable": 0.10},
         "ring_ms": {"dist": "uniform", "min_ms": 2000, "max_ms": 10000},
         "talk_ms": {"dist": "exp", "mean_ms": 12000, "min_ms": 3000, "max_ms": 60000}}
WRAP_S = 2
ABANDON_CAP = 0.03
HOUSEKEEPING_S = 15
ORPHAN_MS = 75000        # an agent leg longer than any carrier call (60 s talk + 10 s ring)
STUCK_ONLINE_MS = 30000   # an agent registered but not ready this long is set ready again


def seconds(text):
    """600, 600s, 10m, 72h -> seconds."""
    mult = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(text[-1:], None)
    return float(text[:-1]) * mult if mult else float(text)


def span(text):
    lo, _, hi = text.partition("-")
    return float(lo), float(hi or lo)


class Output:
    """Lines to stdout and to OUT/soak.log."""

    def __init__(self, path):
        self.f = open(path, "a")

    def __call__(self, fmt, *args):
        line = fmt % args if args else fmt
        print(line, flush=True)
        self.f.write(line + "\n")
        self.f.flush()


class Probes(threading.Thread):
    """A few read requests, one per period, to the ready nodes in turn; latencies kept
    until the next row takes them."""

    def __init__(self, soak, period_s):
        super().__init__(daemon=True)
        self.soak, self.period = soak, period_s
        self.lock = threading.Lock()
        self.samples = []   # (ms or None, status, path)
        self.stop = threading.Event()

    def paths(self):
        cid = self.soak.active_id() or "1"
        return ["/v1/wallboard", "/v1/campaigns/" + cid, "/v1/cluster", "/v1/agents/a1",
                "/v1/customers/count?filter=tag:pool_a"]

    def run(self):
        i = 0
        while not self.stop.wait(self.period):
            nodes = self.soak.ready_nodes()
            if not nodes or self.soak.api.token is None:
                continue
            i += 1
            paths = self.paths()
            node, path = nodes[i % len(nodes)], paths[(i // len(nodes)) % len(paths)]
            t0 = time.perf_counter()
            try:
                s, _, _ = self.soak.api.raw("GET", path, node=node, timeout=10)
                ms = (time.perf_counter() - t0) * 1e3
            except OSError:
                s, ms = 0, None
            with self.lock:
                self.samples.append((ms, s, path))

    def take(self):
        with self.lock:
            out, self.samples = self.samples, []
        return out


class Soak:
    def __init__(self, args, out):
        self.a = args
        self.say = out
        self.rng = random.Random(args.seed)
        self.down = {}          # node id -> {"kind", "at", "back_at"}
        self.starting = {}      # node id -> monotonic start time, until /readyz says 200
        self.campaigns = []     # {"id", "pool", "paused", "final", "last"}
        self.pools = []         # [(tag, [numbers])]
        self.dnc_added = 0
        self.events_after = 0
        self.reready = 0
        self.faults = 0
        self.t0 = None
        self.api = None
        self.cluster = None
        self.procs = None
        self.ledger = Ledger(os.path.join(args.work, "carrier.jsonl"))
        self.agent_logs = {}    # path -> offset
        self.orphans = 0        # agents' legs left up by a killed node
        self.carrier_prev = (0, 0)  # the ledger's INVITEs and answers at the last row
        self.cpu_prev = {}      # node id -> (pid, CPU seconds at the last row)
        self.agents = stack.agent_names(args.agents_per_node)
        self.faults_csv = None

    # ---- nodes ----
    def up_nodes(self):
        return [n.id for n in self.cluster.nodes if n.id not in self.down and n.alive()]

    def ready_nodes(self):
        return [i for i in self.up_nodes() if i not in self.starting]

    def elapsed(self):
        return time.monotonic() - self.t0 if self.t0 else 0.0

    def fault_row(self, node, action, detail):
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.faults_csv.writerow(["%.1f" % self.elapsed(), now, "n%d" % node, action, detail])
        self.faults_file.flush()
        self.say("%8.1fs nemesis: n%d %s %s", self.elapsed(), node, action, detail)

    def inject(self):
        """Stops a random node (kill -9 or SIGTERM); it comes back after --down s."""
        leader = self.cluster.leader([self.cluster.node(i) for i in self.ready_nodes()])
        nid = self.rng.choice(self.a.nemesis_nodes)
        if self.a.leader_share > 0 and self.rng.random() < self.a.leader_share and \
                leader is not None and leader.id in self.a.nemesis_nodes:
            nid = leader.id
        kind = "kill-9" if self.rng.random() < self.a.kill_share else "sigterm"
        down_s = self.rng.uniform(*self.a.down)
        self.ledger.read_carrier()
        in_flight = sum(1 for c in self.ledger.calls.values() if c.node == nid and c.end_ms is None)
        node = self.cluster.node(nid)
        self.down[nid] = {"kind": kind, "back_at": time.monotonic() + down_s}
        self.starting.pop(nid, None)
        at = int(time.time() * 1000)
        self.ledger.add_fault(nid, at, "(%s) %s" % (
            "leader" if leader and leader.id == nid else "follower",
            "killed" if kind == "kill-9" else "stopped"))
        t = time.monotonic()
        if kind == "kill-9":
            node.kill(signal.SIGKILL)
            how = "killed"
        else:
            rc = node.stop(timeout=30)
            how = ("stopped (exit %s) in %.1f s" % (rc, time.monotonic() - t) if rc is not None
                   else "did not stop within 30 s: killed")
        self.faults += 1
        self.fault_row(nid, kind, "%s; %s leader; %d carrier calls in flight from it; back in "
                       "%.0f s" % (how, "was" if leader and leader.id == nid else "not",
                                   in_flight, down_s))

    def restore(self, nid):
        node = self.cluster.node(nid)
        node.start()
        self.down.pop(nid)
        self.starting[nid] = time.monotonic()
        self.summary.node_started(nid, self.elapsed())
        self.fault_row(nid, "start", "pid %d" % node.proc.pid)

    def poll_starting(self):
        for nid, t in list(self.starting.items()):
            node = self.cluster.node(nid)
            if not node.alive():
                self.starting.pop(nid)
                self.fault_row(nid, "exited", "rc %s while starting; see its log"
                               % node.proc.returncode)
                self.down[nid] = {"kind": "crashed", "back_at": time.monotonic() + 5}
                continue
            try:
                s, _, _ = self.api.raw("GET", "/readyz", node=nid, auth=False, timeout=2)
            except OSError:
                s = 0
            if s == 200:
                self.starting.pop(nid)
                self.ledger.node_back(nid, int(time.time() * 1000))
                self.fault_row(nid, "ready", "%.1f s after start" % (time.monotonic() - t))
            elif time.monotonic() - t > 120:
                self.starting[nid] = time.monotonic()
                self.fault_row(nid, "slow", "not ready 120 s after start")

    # ---- campaigns ----
    def active_id(self):
        return self.campaigns[-1]["id"] if self.campaigns else None

    def create_campaign(self, pool):
        tag = self.pools[pool][0]
        doc = self.api.call("POST", "/v1/campaigns", {
            "name": "soak %d (%s)" % (len(self.campaigns) + 1, tag), "mode": "predictive",
            "agents": self.agents, "filter": "tag:" + tag,
            "window": {"start": "00:00", "end": "24:00"}, "max_attempts": self.a.max_attempts,
            "max_per_number_day": 20, "retry_after_s": self.a.retry_after, "wrap_s": WRAP_S,
            "abandon_cap": ABANDON_CAP})
        self.campaigns.append({"id": doc["id"], "pool": pool, "paused": False, "final": False,
                               "last": None})
        self.say("%8.1fs campaign %s: predictive over %s (%d leads), %d agents",
                 self.elapsed(), doc["id"], tag, doc["leads"], len(self.agents))

    def progress(self, camp):
        if camp["final"]:
            return camp["last"]
        p = self.api.call("GET", "/v1/campaigns/" + camp["id"])["progress"]
        camp["last"] = p
        if camp["paused"] and p["leads"]["dialing"] == 0 and \
                time.monotonic() - camp["paused_at"] > 300:
            camp["final"] = True
        return p

    def pause(self, camp):
        self.api.call("POST", "/v1/campaigns/%s/pause" % camp["id"], {}, ok=(200, 409))
        camp["paused"] = True
        camp["paused_at"] = time.monotonic()

    def rotate_if_low(self):
        """A new campaign over the other pool when the active one has few leads left to
        dial; the last campaign on that pool is paused first and its calls allowed to end,
        so no number is in two live campaigns."""
        cur = self.campaigns[-1]
        p = self.progress(cur)
        left = p["leads"]["ready"] - p["leads"]["retry_later"]
        if left >= self.a.low_water:
            return
        pool = 1 - cur["pool"]
        prev = [c for c in self.campaigns if c["pool"] == pool and not c["final"]]
        for c in prev:
            if not c["paused"]:
                self.pause(c)
                self.say("%8.1fs campaign %s paused (its pool is reused)", self.elapsed(), c["id"])
            if self.progress(c)["leads"]["dialing"] > 0:
                return  # next round
        self.create_campaign(pool)

    # ---- agents ----
    def sweep_agents(self, wb):
        """Agents registered but left `online` (not ready) for a while are set ready, as
        an agent would click; counted, since the product should bring them back itself."""
        now = int(time.time() * 1000)
        for ag in wb.get("agents", []):
            if ag["name"] in self.agents and ag["registered"] and ag["state"] == "online" and \
                    now - ag["since_ms"] > STUCK_ONLINE_MS:
                try:
                    self.api.call("POST", "/v1/agents/%s/state" % ag["name"], {"state": "ready"},
                                  ok=(200, 409), deadline_s=10)
                    self.reready += 1
                    self.say("%8.1fs agent %s was online (registered on %s, not ready) for %.0f s: "
                             "set ready", self.elapsed(), ag["name"], ag["node"],
                             (now - ag["since_ms"]) / 1e3)
                except stack.ApiError as e:
                    self.say("%8.1fs agent %s: %s", self.elapsed(), ag["name"], e)

    def agent_busy_s(self, lo_ms, hi_ms):
        """Talk + wrap-up of the agents' calls that ended in [lo_ms, hi_ms), from
        waihu-agents' logs (read on from where the last call stopped), and the number of
        orphaned legs: a leg longer than the carrier's longest call (70 s) was left up by
        a node killed mid-call; the softphone hung up at its own 10-minute timer. Those are
        not work and are left out."""
        busy, orphans = 0.0, 0
        for team in stack.TEAMS:
            path = os.path.join(self.a.work, "agents-%s.jsonl" % team)
            off = self.agent_logs.get(path, 0)
            try:
                with open(path, "rb") as f:
                    f.seek(off)
                    data = f.read()
            except FileNotFoundError:
                continue
            cut = data.rfind(b"\n") + 1
            self.agent_logs[path] = off + cut
            for line in data[:cut].splitlines():
                ev = json.loads(line)
                if ev.get("ev") == "call" and ev.get("result") == "answered" and \
                        lo_ms <= ev["ts_ms"] < hi_ms + 1:
                    if ev["talk_ms"] > ORPHAN_MS:
                        orphans += 1
                    else:
                        busy += ev["talk_ms"] / 1e3 + WRAP_S
        self.orphans += orphans
        return busy

    # ---- events ----
    def poll_events(self):
        now = int(time.time() * 1000)
        while True:
            doc = self.api.call("GET", "/v1/events?after=%d&limit=1000" % self.events_after)
            for ev in doc["items"]:
                if ev["type"] == "call.ended":
                    self.ledger.add_cdr(ev["seq"], ev["data"], now)
            self.events_after = doc["next_after"]
            if len(doc["items"]) < 1000:
                return

    def add_dnc(self, number, before_campaigns=False):
        self.api.call("POST", "/v1/dnc", {"number": number}, deadline_s=10)
        self.ledger.add_dnc(number, 0 if before_campaigns else int(time.time() * 1000))
        self.dnc_added += 1

    # ---- setup ----
    def setup(self):
        a = self.a
        stack.check_ports()
        self.procs = stack.Procs(a.work)
        self.cluster = stack.start_cluster(a.work, a.build)
        self.api = stack.Api(self.cluster, self.up_nodes)
        self.summary = Summary(a, [n.id for n in self.cluster.nodes])
        leader = self.cluster.wait_ready(60)
        self.say("cluster up: 3 nodes (api %s), leader %s; data and logs under %s",
                 self.cluster.endpoints(), leader.name, self.cluster.dir)
        with open(self.cluster.token_file) as f:
            stack.setup_tenant(self.api, f.read().strip(), self.agents)
        for i, tag in enumerate(("pool_a", "pool_b")):
            numbers = stack.pool_numbers(i, a.pool)
            t = time.monotonic()
            ids = stack.import_pool(self.api, self.cluster, tag, numbers)
            self.ledger.customer_number.update(ids)
            self.pools.append((tag, numbers))
            self.say("imported %d customers tagged %s in %.1f s", len(ids), tag,
                     time.monotonic() - t)
        # 1% of each pool on the do-not-call list before any campaign: never dialed.
        for tag, numbers in self.pools:
            for n in self.rng.sample(numbers, max(2, len(numbers) // 100)):
                self.add_dnc(n, before_campaigns=True)
        self.say("%d numbers on the do-not-call list before the campaigns", self.dnc_added)
        stack.start_carrier(self.procs, a.work, a.build, RULES, a.seed)
        orders = stack.start_agents(self.procs, a.work, a.build, a.agents_per_node, a.seed,
                                    a.nemesis_nodes)
        self.say("carrier on 127.0.0.1:%d (answer %.0f%%, talk exp mean 12 s), %d softphones "
                 "(%d per node; registrars in order: %s)", stack.CARRIER_SIP,
                 100 * RULES["stats"]["answer"], len(self.agents), a.agents_per_node,
                 ", ".join("%s %s" % (t, ",".join("n%d" % n for n in o))
                           for t, o in zip(stack.TEAMS, orders)))
        end = time.monotonic() + 60
        for name in self.agents:
            while not self.api.call("GET", "/v1/agents/" + name)["registered"]:
                if time.monotonic() > end:
                    raise stack.ApiError("agent %s never registered" % name)
                time.sleep(0.2)
            self.api.call("POST", "/v1/agents/%s/state" % name, {"state": "ready"}, ok=(200, 409))
        self.say("every agent registered and ready")
        self.faults_file = open(os.path.join(a.out, "faults.csv"), "w", newline="")
        self.faults_csv = csv.writer(self.faults_file)
        self.faults_csv.writerow(["t_s", "time", "node", "action", "detail"])
        self.t0 = time.monotonic()
        self.summary.start(self.cluster)
        self.create_campaign(0)

    # ---- the run ----
    def run(self):
        a = self.a
        probes = Probes(self, a.probe_period)
        probes.start()
        rows = open(os.path.join(a.out, "intervals.csv"), "w", newline="")
        w = csv.DictWriter(rows, FIELDS, extrasaction="ignore")
        w.writeheader()
        next_fault = self.rng.uniform(*a.fault_every) if a.nemesis_nodes else float("inf")
        next_house = HOUSEKEEPING_S
        next_row = a.interval
        prev_ms = int(time.time() * 1000)
        self.say("%-8s %5s %6s %6s %6s %7s %7s %6s %6s %6s %7s %7s  %s", "time", "row", "calls",
                 "conn%", "aband%", "occ", "occ_sim", "p50ms", "p99ms", "ready",
                 "rss_MiB", "", "invariant failures")
        try:
            while self.elapsed() < a.duration:
                time.sleep(0.25)
                t = self.elapsed()
                for nid, d in list(self.down.items()):
                    if time.monotonic() >= d["back_at"]:
                        self.restore(nid)
                self.poll_starting()
                dead = [p.name for p in self.procs.procs if p.poll() is not None] + \
                    ["n%d" % n.id for n in self.cluster.nodes
                     if n.id not in self.down and not n.alive()]
                if dead:
                    raise SystemExit("soak: exited on their own: %s (logs in %s)"
                                     % (dead, a.work))
                if t >= next_fault and not self.down and not self.starting:
                    self.inject()
                    next_fault = t + self.rng.uniform(*a.fault_every)
                if t >= next_house:
                    next_house = t + HOUSEKEEPING_S
                    self.rotate_if_low()
                    self.poll_events()
                    self.sweep_agents(self.api.call("GET", "/v1/wallboard"))
                if t >= next_row:
                    next_row += a.interval
                    now_ms = int(time.time() * 1000)
                    row = self.row(prev_ms, now_ms, probes.take())
                    prev_ms = now_ms
                    w.writerow(row)
                    rows.flush()
            self.finish(w, rows, prev_ms, probes)
        finally:
            probes.stop.set()
            rows.close()

    def campaign_totals(self):
        tot = {"attempts": 0, "answered": 0, "abandoned": 0}
        over = []
        for c in self.campaigns:
            p = self.progress(c)
            for k in tot:
                tot[k] += p["calls"][k]
            live = p["calls"]["answered"] + p["calls"]["abandoned"]
            if live and p["calls"]["abandoned"] / live > ABANDON_CAP:
                over.append((c["id"], p["calls"]["abandoned"], live))
        return tot, over

    def row(self, lo_ms, hi_ms, probes):
        # The ledger's running totals: a fault also reads the carrier's log meanwhile.
        self.ledger.read_carrier()
        invites = self.ledger.totals["invites"] - self.carrier_prev[0]
        answered = self.ledger.totals["answered"] - self.carrier_prev[1]
        self.carrier_prev = (self.ledger.totals["invites"], self.ledger.totals["answered"])
        self.poll_events()
        tot, over = self.campaign_totals()
        wb = self.api.call("GET", "/v1/wallboard")
        self.ledger.check(hi_ms)
        busy_sim = self.agent_busy_s(lo_ms, hi_ms)
        rss = {n.id: stack.rss_kib(n.proc.pid) if n.alive() and n.id not in self.down else 0
               for n in self.cluster.nodes}
        cpu = {}  # cores used over the row, by processes that ran all of it
        for n in self.cluster.nodes:
            now_s = stack.cpu_s(n.proc.pid) if n.alive() else 0.0
            was = self.cpu_prev.get(n.id)
            if was and was[0] == n.proc.pid and n.alive():
                cpu[n.id] = (now_s - was[1]) / ((hi_ms - lo_ms) / 1e3)
            self.cpu_prev[n.id] = (n.proc.pid, now_s)
        row = self.summary.add_row(
            elapsed=self.elapsed(), lo_ms=lo_ms, hi_ms=hi_ms, invites=invites,
            carrier_answered=answered, totals=tot, abandon_over=over, wallboard=wb,
            agents=self.agents, busy_sim_s=busy_sim, probes=probes, rss=rss, cpu=cpu,
            nodes_up=len(self.ready_nodes()), ledger=self.ledger, faults=self.faults,
            reready=self.reready, orphans=self.orphans, campaign=self.active_id(),
            leads_left=self.campaigns[-1]["last"]["leads"]["ready"] if self.campaigns[-1]["last"]
            else 0, disk_bytes=stack.dir_bytes(self.cluster.dir))
        self.say(self.summary.line(row))
        # One do-not-call number added while dialing, from the active pool, up to 3%.
        tag, numbers = self.pools[self.campaigns[-1]["pool"]]
        if self.dnc_added < 0.03 * sum(len(p[1]) for p in self.pools):
            n = self.rng.choice(numbers)
            if n.lstrip("+") not in self.ledger.dnc:
                try:
                    self.add_dnc(n)
                except stack.ApiError as e:
                    self.say("dnc %s: %s", n, e)
        return row

    def finish(self, w, rows, prev_ms, probes):
        """Nodes back, campaigns paused, calls in flight ended, a last row and the final
        check over every call."""
        for nid in list(self.down):
            self.restore(nid)
        end = time.monotonic() + 120
        while self.starting and time.monotonic() < end:
            self.poll_starting()
            time.sleep(0.25)
        now_ms = int(time.time() * 1000)
        if now_ms - prev_ms > 1000 * self.a.interval / 2:
            w.writerow(self.row(prev_ms, now_ms, probes.take()))
            rows.flush()
        run_s = self.elapsed()
        for c in self.campaigns:
            if not c["paused"]:
                self.pause(c)
        # The carrier's calls end (at most ring 10 s + talk 60 s; a BYE to a dead node 32 s
        # more). Leads of calls lost with a stopped node stay `dialing` until their lease
        # runs out, so the carrier, not the leads, says when it is over.
        end = time.monotonic() + 120
        while time.monotonic() < end:
            self.ledger.read_carrier()
            if not any(c.end_ms is None for c in self.ledger.calls.values()):
                break
            time.sleep(1)
        time.sleep(5)  # the last CDRs
        stuck = sum(self.progress(c)["leads"]["dialing"] for c in self.campaigns)
        self.say("campaigns paused; carrier calls all ended; leads still marked dialing: %d "
                 "(calls lost with a stopped node hold theirs until the lease runs out)", stuck)
        self.ledger.read_carrier()
        self.poll_events()
        self.ledger.check(int(time.time() * 1000), final=True)
        tot, over = self.campaign_totals()
        self.summary.final(run_s, self.ledger, over, tot, self.faults, self.reready,
                           self.campaigns, self.dnc_added, self.say)

    def stop(self):
        if self.procs:
            self.procs.stop_all()
        if self.cluster:
            for n in self.cluster.nodes:
                n.stop(timeout=30)


def collect(args, say):
    """Node logs, the simulators' stderr and gzipped JSON logs into OUT/logs; data dirs
    removed unless --keep-data."""
    logs = os.path.join(args.out, "logs")
    os.makedirs(logs, exist_ok=True)
    cdir = os.path.join(args.work, "cluster")
    for i in (1, 2, 3):
        src = os.path.join(cdir, "n%d" % i, "waihud.log")
        if os.path.exists(src):
            shutil.copy(src, os.path.join(logs, "n%d.log" % i))
    for name in os.listdir(args.work):
        src = os.path.join(args.work, name)
        if name.endswith(".err"):
            shutil.copy(src, os.path.join(logs, name))
        elif name.endswith(".jsonl"):
            with open(src, "rb") as f, gzip.open(os.path.join(logs, name + ".gz"), "wb") as g:
                shutil.copyfileobj(f, g)
    if not args.keep_data:
        shutil.rmtree(args.work, ignore_errors=True)
        say("logs in %s (work dir removed; --keep-data keeps it)", logs)
    else:
        say("logs in %s; cluster data kept in %s", logs, args.work)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("duration", type=seconds, help="seconds, or 90m, 72h")
    ap.add_argument("--interval", type=seconds, default=300, help="seconds between rows")
    ap.add_argument("--warmup", type=seconds, default=None,
                    help="rows before this are warm-up (default: 10%% of the run, at least two "
                         "intervals, at most 1 h)")
    ap.add_argument("--segment-warmup", type=seconds, default=None,
                    help="a restarted node's RSS counts from this long after its start "
                         "(default: two intervals)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--build", default=os.path.join(stack.ROOT, "build"))
    ap.add_argument("--out", help="results folder (default /var/tmp/waihu-soak-<time>)")
    ap.add_argument("--agents-per-node", type=int, default=8)
    ap.add_argument("--pool", type=int, default=12000, help="customers per pool (two pools)")
    ap.add_argument("--low-water", type=int, default=None,
                    help="leads left that start the next campaign (default 15%% of a pool)")
    ap.add_argument("--max-attempts", type=int, default=2)
    ap.add_argument("--retry-after", type=int, default=120, help="seconds before a retry")
    ap.add_argument("--fault-every", type=span, default=(240, 480), help="seconds, LO-HI")
    ap.add_argument("--down", type=span, default=(10, 60), help="seconds a node stays down")
    ap.add_argument("--kill-share", type=float, default=0.5, help="kill -9 vs SIGTERM")
    ap.add_argument("--leader-share", type=float, default=0.0,
                    help="share of faults aimed at the leader (default 0: any node at random)")
    ap.add_argument("--nemesis-nodes", default="1,2,3",
                    help="node ids the nemesis may stop ('' for none)")
    ap.add_argument("--fluct-rows", type=int, default=1,
                    help="connect-rate fluctuation between blocks of this many rows (e.g. 12 "
                         "five-minute rows: hourly figures)")
    ap.add_argument("--probe-period", type=float, default=1.0, help="seconds between probes")
    ap.add_argument("--keep-data", action="store_true", help="keep the cluster's data dirs")
    args = ap.parse_args()
    args.nemesis_nodes = [int(x) for x in args.nemesis_nodes.split(",") if x]
    if args.warmup is None:
        args.warmup = min(max(2 * args.interval, 0.1 * args.duration), 3600)
    if args.segment_warmup is None:
        args.segment_warmup = 2 * args.interval
    if args.low_water is None:
        args.low_water = max(50, int(0.15 * args.pool))
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    args.out = os.path.abspath(args.out or "/var/tmp/waihu-soak-%s" % stamp)
    args.work = os.path.join(args.out, "work")
    os.makedirs(args.work, exist_ok=True)
    say = Output(os.path.join(args.out, "soak.log"))
    say("soak: %.0f s, rows every %.0f s, warm-up %.0f s, seed %d, faults every %.0f-%.0f s on "
        "%s (down %.0f-%.0f s, kill -9 share %.2f); results in %s; load average %s",
        args.duration, args.interval, args.warmup, args.seed, args.fault_every[0],
        args.fault_every[1], ",".join("n%d" % i for i in args.nemesis_nodes) or "no node",
        args.down[0], args.down[1], args.kill_share, args.out,
        " ".join("%.2f" % x for x in os.getloadavg()))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    soak = Soak(args, say)
    status = 0
    try:
        soak.setup()
        soak.run()
    except (Exception, SystemExit, KeyboardInterrupt) as e:
        say("soak: stopped early: %s: %s", type(e).__name__, e)
        if not isinstance(e, (stack.ApiError, SystemExit, KeyboardInterrupt)):
            import traceback
            say(traceback.format_exc())
        status = 1
        if soak.t0 is not None:
            soak.summary.final(soak.elapsed(), soak.ledger, [], None, soak.faults, soak.reready,
                               soak.campaigns, soak.dnc_added, say, partial=True)
    finally:
        soak.stop()
        if soak.cluster:
            try:
                soak.cluster.check_sanitizers()
            except AssertionError as e:
                say("soak: %s", str(e)[:2000])
                status = 1
        collect(args, say)
        try:
            import plot
            say(plot.render(args.out))
        except Exception as e:  # a missing plotting package must not hide the results
            say("plot: %s", e)
    return status


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Live campaign benchmark (issue 5): one predictive campaign dialed by a 3-node cluster
(every node with telephony, all trunked to one waihu-carrier) for 60 simulated agents
(waihu-agents, 20 registered on each node), measured from real calls for a fixed period,
then the pacing simulator on the same scenario; prints both, their difference and a
RESULT line. See docs/benchmarks.md "bench/campaign_live"."""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "localcluster"))
sys.path.insert(0, os.path.join(ROOT, "tools", "demo"))
from localcluster import Cluster  # noqa: E402
from sipkit import Procs, udp_port_busy  # noqa: E402
from demo_common import agents_ready, import_customers, request, setup_tenant, wait_until  # noqa: E402,E501
from figures import live_figures, sim_means  # noqa: E402

# Ports (127.0.0.1): raft 26001-3, api 27001-3, forward 28001-3 (localcluster adds
# 7000/8000/9000 + node id to the base); SIP and RTP in 27000-29999 around them.
PORT_BASE = 19000
NODE_SIP = 27060                   # + node id
NODE_RTP = ("27100-27499", "27500-27899", "28100-28499")
AGENTS_SIP = 28060                 # + node id
AGENTS_RTP = ("28500-28649", "28650-28799", "28800-28949")
CARRIER_SIP, CARRIER_RTP = 29000, "29100-29899"
TEAMS = "abc"                      # a1..a20 on n1, b1..b20 on n2, c1..c20 on n3
PASSWORD = "live-agent-pw-"        # + the agent's number (waihu-agents --password-prefix)

# The scenario. Time is compressed about 10x against the simulator's built-in world
# (talk lognormal mean 120 s -> 12 s, wrap-up 10-30 s -> 2 s) so that minutes of real
# calls hold as many calls as an hour; ring times are not compressed (2-10 s).
STATS = {"answer": 0.25, "no-answer": 0.50, "busy": 0.15, "unreachable": 0.10}
RING = {"dist": "uniform", "min_ms": 2000, "max_ms": 10000}
TALK = {"dist": "exp", "mean_ms": 12000, "min_ms": 3000, "max_ms": 60000}
WRAP_S = 2


def sim_spec(agents, period_s, seed, guard=False):
    """The same world for pacing_sim: the carrier's laws; no AMD (the bridge picks the
    agent at the carrier's answer); no wait for an agent (no agent at the answer is an
    abandon at once); the live dialer's 200 ms tick; guard: its abandon guard too."""
    ring_out = STATS["no-answer"] / (1 - STATS["answer"])
    return ("name=live,agents=%d,answer=%g,machine=0,ring=uniform:%g:%g,ring_out=%.4f,"
            "talk=exp:%g@%g-%g,detect=fixed:0,wrap=%d-%d,grace_ms=0,tick_ms=200,"
            "guard=%d,shift_s=%d,days=1,seed=%d"
            % (agents, STATS["answer"], RING["min_ms"] / 1e3, RING["max_ms"] / 1e3, ring_out,
               TALK["mean_ms"] / 1e3, TALK["min_ms"] / 1e3, TALK["max_ms"] / 1e3, WRAP_S,
               WRAP_S, guard, round(period_s), seed))


def check_ports():
    udp = [NODE_SIP + i for i in (1, 2, 3)] + [AGENTS_SIP + i for i in (1, 2, 3)] + [CARRIER_SIP]
    tcp = [PORT_BASE + base + i for base in (7000, 8000, 9000) for i in (1, 2, 3)]
    busy = [p for p in udp if udp_port_busy(p)]
    for p in tcp:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", p)) == 0:
                busy.append(p)
    if busy:
        raise SystemExit("campaign_live: ports in use: %s" % busy)


def start_cluster(work, build):
    c = Cluster(os.path.join(work, "cluster"), 3, port_base=PORT_BASE,
                binary=os.path.join(build, "src/waihud/waihud"))
    for node, rtp in zip(c.nodes, NODE_RTP):
        node.extra_args = ["--sip-bind", "127.0.0.1:%d" % (NODE_SIP + node.id),
                           "--rtp-ports", rtp, "--trunk", "127.0.0.1:%d" % CARRIER_SIP,
                           "--caller-id", "+861012345678"]
    c.create()
    c.start()
    return c


def start_sims(procs, work, build, n_per_node, seed):
    rules = os.path.join(work, "carrier-rules.json")
    with open(rules, "w") as f:
        json.dump({"stats": STATS, "ring_ms": RING, "talk_ms": TALK}, f)
    procs.start("carrier", [os.path.join(build, "tools/waihu-carrier/waihu-carrier"),
                            "--listen", "127.0.0.1:%d" % CARRIER_SIP, "--rules", rules,
                            "--log", os.path.join(work, "carrier.jsonl"),
                            "--rtp-ports", CARRIER_RTP, "--seed", str(seed)],
                stdout=subprocess.DEVNULL)
    for i, team in enumerate(TEAMS):
        # A long talk time: the carrier's BYE, not the agent, ends every call.
        procs.start("agents-" + team, [
            os.path.join(build, "tools/waihu-agents/waihu-agents"),
            "--registrar", "127.0.0.1:%d" % (NODE_SIP + i + 1),
            "--listen", "127.0.0.1:%d" % (AGENTS_SIP + i + 1), "--count", str(n_per_node),
            "--user-prefix", team, "--password-prefix", PASSWORD, "--talk-ms", "600000-700000",
            "--rtp-ports", AGENTS_RTP[i], "--log", os.path.join(work, "agents-%s.jsonl" % team)],
            stdout=subprocess.DEVNULL)


def all_registered(cluster, n_per_node):
    for node, team in zip(cluster.nodes, TEAMS):
        with open(node.log, errors="replace") as f:
            log = f.read()
        if not all('"agent %s%d registered' % (team, i) in log for i in range(1, n_per_node + 1)):
            return False
    return True


def progress(api, admin, cid):
    s, doc = request(api, "GET", "/v1/campaigns/" + cid, token=admin)
    if s != 200:
        raise SystemExit("campaign_live: progress: %s %s" % (s, doc))
    return doc["progress"]


def run_campaign(cluster, procs, api, admin, agents, minutes):
    """Dials for `minutes`, pauses, waits for the calls in flight to end; returns the
    campaign's final progress and the measured period [t0_ms, t1_ms)."""
    s, camp = request(api, "POST", "/v1/campaigns", {
        "name": "live bench", "mode": "predictive", "agents": agents,
        "window": {"start": "00:00", "end": "24:00"}, "max_attempts": 1, "wrap_s": WRAP_S}, admin)
    if s != 201:
        raise SystemExit("campaign_live: campaign: %s" % camp)
    t0 = time.time()
    cid = camp["id"]
    print("campaign %s: predictive, %d agents, %d leads, dialing for %.1f min"
          % (cid, len(agents), camp["leads"], minutes), flush=True)
    print("%6s %8s %8s %9s %8s %7s" % ("time", "attempts", "answered", "abandoned", "aband.%",
                                       "ready"), flush=True)
    while time.time() - t0 < minutes * 60:
        time.sleep(min(15, max(0.1, t0 + minutes * 60 - time.time())))
        dead = [p.name for p in procs.procs if p.poll() is not None] + \
            [n.name for n in cluster.nodes if not n.alive()]
        if dead:
            raise SystemExit("campaign_live: exited during the run: %s" % dead)
        p = progress(api, admin, cid)
        c = p["calls"]
        print("%5.0fs %8d %8d %9d %7.2f%% %7d" % (time.time() - t0, c["attempts"], c["answered"],
                                                  c["abandoned"], 100 * c["abandon_rate"],
                                                  p["leads"]["ready"]), flush=True)
        if p["leads"]["ready"] == 0:
            raise SystemExit("campaign_live: out of leads; use more --customers")
    s, doc = request(api, "POST", "/v1/campaigns/%s/pause" % cid, {}, admin)
    t1 = time.time()
    if s != 200:
        raise SystemExit("campaign_live: pause: %s" % doc)
    wait_until(lambda: progress(api, admin, cid)["leads"]["dialing"] == 0, 120,
               "the calls in flight at the pause to end")
    time.sleep(2)  # the nodes' last tallies
    return progress(api, admin, cid), int(t0 * 1000), int(t1 * 1000)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--minutes", type=float, default=5.0, help="measured dialing period")
    ap.add_argument("--agents-per-node", type=int, default=20)
    ap.add_argument("--customers", type=int, default=8000)
    ap.add_argument("--sim-runs", type=int, default=30,
                    help="independent simulator runs (seeds) averaged per prediction")
    ap.add_argument("--seed", type=int, default=7, help="the carrier's random seed")
    ap.add_argument("--dir", help="work dir (default: a new temp dir, removed on success)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # cleanup runs in finally
    check_ports()
    work = args.dir or tempfile.mkdtemp(prefix="waihu-campaign-live-")
    os.makedirs(work, exist_ok=True)
    print("campaign_live: work dir %s" % work, flush=True)
    n = args.agents_per_node
    agents = ["%s%d" % (t, i) for t in TEAMS for i in range(1, n + 1)]
    procs = Procs(work)
    cluster = None
    try:
        cluster = start_cluster(work, args.build)
        leader = cluster.wait_ready(60)
        api = leader.api_address
        admin = setup_tenant(cluster.dir, api, [(a, PASSWORD + a[1:]) for a in agents])
        import_customers(cluster.dir, api, admin, rows=args.customers)
        start_sims(procs, work, args.build, n, args.seed)
        wait_until(lambda: all_registered(cluster, n), 60, "every agent registered")
        agents_ready(api, admin, agents)
        final, t0, t1 = run_campaign(cluster, procs, api, admin, agents, args.minutes)
    finally:
        procs.stop_all()
        if cluster:
            cluster.stop()
    live = live_figures(os.path.join(work, "carrier.jsonl"),
                        [os.path.join(work, "agents-%s.jsonl" % t) for t in TEAMS], final, t0, t1,
                        len(agents), WRAP_S)
    report(args, live, len(agents), n)
    if not args.keep and not args.dir:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("logs kept in %s" % work)
    return 0


def report(args, live, n_agents, n_per_node):
    sim = os.path.join(args.build, "bench/pacing/pacing_sim")
    seeds = range(1, args.sim_runs + 1)
    period = live["period_s"]
    by_node = sim_means(sim, lambda s: sim_spec(n_per_node, period, s), seeds)
    node, prog = by_node["predictive"], by_node["progressive"]
    guarded = sim_means(sim, lambda s: sim_spec(n_per_node, period, s, True), seeds)["predictive"]
    pooled = sim_means(sim, lambda s: sim_spec(n_agents, period, s), seeds)["predictive"]
    t = live["tally"]
    print("\nlive: %.0f s measured, %d INVITEs, answer rate %.3f, %d connects; tallies: answered "
          "%d, abandoned %d, no answer %d (the carrier saw %d abandoned)"
          % (period, live["invites"], live["answer_rate"], live["connects"], t["answered"],
             t["abandoned"], t["no_answer"], live["carrier_abandoned"]))
    print("simulator: pacing_sim --scenario %s\n  mean of %d cold-start runs (seeds) each. "
          "sim/node: our predictive policy with %d agents, as each node's dialer paces only "
          "its own; +guard: with the live dialer's abandon guard; pooled: one %d-agent dialer"
          % (sim_spec(n_per_node, period, 1), args.sim_runs, n_per_node, n_agents))
    print("\n%-26s %9s %9s %9s %9s %9s %9s" % ("figure", "live", "sim/node", "live-sim",
                                               "+guard", "live-sim", "pooled"))
    for label, k, fmt in (("occupancy (talk + wrap)", "occupancy", "%.4f"),
                          ("connects per agent-hour", "connects_per_ah", "%.2f"),
                          ("calls per agent-hour", "calls_per_ah", "%.2f"),
                          ("abandon rate", "abandon_rate", "%.4f")):
        diff = "%+" + fmt[1:]
        print("%-26s %9s %9s %9s %9s %9s %9s"
              % (label, fmt % live[k], fmt % node[k], diff % (live[k] - node[k]),
                 fmt % guarded[k], diff % (live[k] - guarded[k]), fmt % pooled[k]))
    print("\nsimulated progressive (%d agents): occupancy %.4f, connects per agent-hour %.2f"
          % (n_per_node, prog["occupancy"], prog["connects_per_ah"]))
    print("live occupancy counted from the carrier's answer (the agent is reserved during the "
          "agent-leg set-up, %.0f ms per connect, which the simulator counts as talk): %.4f"
          % (live["setup_ms"], live["held_occupancy"]))
    print("RESULT live_occupancy=%.4f sim_occupancy=%.4f occupancy_diff=%.4f "
          "live_connects_per_agent_hour=%.2f sim_connects_per_agent_hour=%.2f "
          "live_abandon_rate=%.4f sim_abandon_rate=%.4f"
          % (live["occupancy"], node["occupancy"], live["occupancy"] - node["occupancy"],
             live["connects_per_ah"], node["connects_per_ah"], live["abandon_rate"],
             node["abandon_rate"]))


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Wallboard benchmark: 1,000 simulated agents (waihu-agents softphones, a third
registered on each node of a 3-node cluster) flip between ready and break every few
seconds through POST /v1/agents/{name}/state, while 50 WebSocket wallboards (/v1/stream)
spread over the nodes receive every change. Prints the changes applied per second, the
delay from a change's commit stamp (since_ms) to its arrival at a wallboard (p50/p99 over
every event every board received), CPU per node and of the drivers, and a RESULT line.
See docs/benchmarks.md "bench/wallboard.sh"."""
import argparse
import concurrent.futures
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
sys.path.insert(0, HERE)
from localcluster import Cluster  # noqa: E402
from sipkit import Procs, udp_port_busy, wait_until  # noqa: E402
from demo_common import request  # noqa: E402
from load import Load  # noqa: E402
from figures import Cpu, hist_percentile, median, window_figures  # noqa: E402

# Ports, all in 127.0.0.1:32000-32700. localcluster's port_base puts raft, api and
# forward 1000 apart (7000/8000/9000 + base + id), wider than this range, so the three
# addresses of each node are set before the configs are written.
RAFT, API, FORWARD = 32000, 32010, 32020          # + node id
NODE_SIP, AGENTS_SIP = 32100, 32200                # + node id
TRUNK = "127.0.0.1:32300"                          # nothing listens: no call is placed
NODE_RTP = ("32400-32459", "32460-32519", "32520-32579")
AGENTS_RTP = ("32600-32629", "32630-32659", "32660-32689")
TEAMS = "abc"                                      # a01u1.. on n1, b.. on n2, c.. on n3
PASSWORD = "wallboard-agent-pw-"                   # + the agent's number
ADMIN_PW, FLOOR_PW = "wallboard-admin-1234", "wallboard-floor-1234"


def log(msg):
    print(msg, flush=True)


def check_ports():
    tcp = [b + i for b in (RAFT, API, FORWARD) for i in (1, 2, 3)]
    udp = [b + i for b in (NODE_SIP, AGENTS_SIP) for i in (1, 2, 3)]
    busy = [p for p in udp if udp_port_busy(p)]
    for p in tcp:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", p)) == 0:
                busy.append(p)
    if busy:
        raise SystemExit("wallboard: ports in use: %s" % busy)


def start_cluster(work, build):
    c = Cluster(os.path.join(work, "cluster"), 3, binary=os.path.join(build, "src/waihud/waihud"))
    for node, rtp in zip(c.nodes, NODE_RTP):
        node.raft_address = "127.0.0.1:%d" % (RAFT + node.id)
        node.api_address = "127.0.0.1:%d" % (API + node.id)
        node.forward_address = "127.0.0.1:%d" % (FORWARD + node.id)
        node.extra_args = ["--sip-bind", "127.0.0.1:%d" % (NODE_SIP + node.id),
                           "--rtp-ports", rtp, "--trunk", TRUNK, "--caller-id", "+861012345678"]
    c.create()
    c.start()
    return c


def split(n_agents):
    """Agents per node: n1 gets the remainder."""
    per = [n_agents // 3] * 3
    for i in range(n_agents % 3):
        per[i] += 1
    return per


def setup_users(cluster, groups, n_admin_tokens):
    """Tenant 1, admin, supervisor 'floor' (no department: sees every agent) and the
    agents; returns ([admin tokens], floor token): one admin session per connection of
    the load. Users are created over every node at once
    (each password is hashed with argon2 on the node that takes the request)."""
    leader = cluster.leader()
    boot = cluster.token
    s, doc = request(leader.api_address, "POST", "/v1/tenants",
                     {"id": 1, "name": "wallboard", "default_country": "CN"}, boot)
    if s not in (201, 409):
        raise SystemExit("wallboard: tenant: %s %s" % (s, doc))
    users = [("admin", "admin", ADMIN_PW), ("floor", "supervisor", FLOOR_PW)]
    for _, _, prefix, count in groups:
        users += [(prefix + str(i), "agent", PASSWORD + str(i)) for i in range(1, count + 1)]
    apis = [n.api_address for n in cluster.nodes]

    def create(k):
        name, role, pw = users[k]
        for attempt in range(5):
            s, doc = request(apis[k % 3], "POST", "/v1/users", {
                "username": name, "password": pw, "role": role, "tenant_id": 1}, boot)
            if s in (201, 409):
                return
            time.sleep(0.5 * (attempt + 1))
        raise SystemExit("wallboard: user %s: %s %s" % (name, s, doc))
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        list(ex.map(create, range(len(users))))
    log("setup: %d users created in %.1f s" % (len(users), time.monotonic() - t0))
    cluster.wait_converged(60)
    tokens = []
    for name, pw in [("floor", FLOOR_PW)] + [("admin", ADMIN_PW)] * n_admin_tokens:
        for attempt in range(20):  # logins per user are rate limited: wait as told
            s, doc = request(leader.api_address, "POST", "/v1/auth/login",
                             {"username": name, "password": pw})
            if s != 429:
                break
            time.sleep(1.0)
        if s != 200:
            raise SystemExit("wallboard: login %s: %s %s" % (name, s, doc))
        tokens.append(doc["token"])
    return tokens[1:], tokens[0]


def softphone_groups(per_node, size):
    """[(node index, source IP, user prefix, count)]: waihud's SIP guard allows a source
    IP 20 requests per second with a burst of 40 and then bans it for 10 minutes, and
    waihu-agents sends every REGISTER (plus its answer to the digest challenge) at once;
    so each process registers at most `size` agents from its own loopback address
    (127.0.1x.g), like softphones on separate machines."""
    groups = []
    for n, (team, count) in enumerate(zip(TEAMS, per_node)):
        for g in range((count + size - 1) // size):
            groups.append((n, "127.0.%d.%d" % (11 + n, g + 1), "%s%02du" % (team, g + 1),
                           min(size, count - g * size)))
    return groups


def start_softphones(procs, work, build, groups):
    for n, ip, prefix, count in groups:
        procs.start("agents-" + prefix, [
            os.path.join(build, "tools/waihu-agents/waihu-agents"),
            "--registrar", "127.0.0.1:%d" % (NODE_SIP + n + 1),
            "--listen", "%s:%d" % (ip, AGENTS_SIP + n + 1), "--count", str(count),
            "--user-prefix", prefix, "--password-prefix", PASSWORD,
            "--rtp-ports", AGENTS_RTP[n], "--log", os.path.join(work, "agents-%s.jsonl" % prefix)],
            stdout=subprocess.DEVNULL)


def banned(cluster):
    """Sources a node's SIP guard banned (its log says so)."""
    out = []
    for node in cluster.nodes:
        with open(node.log, errors="replace") as f:
            out += ["%s: %s" % (node.name, line.split('"msg":"', 1)[-1].rstrip('"}\n'))
                    for line in f if "ban source=" in line]
    return out


def registered(api, admin, total):
    s, doc = request(api, "GET", "/v1/agents", token=admin)
    if s != 200:
        return False
    agents = doc["agents"]
    n = sum(1 for a in agents if a["registered"] and a["state"] == "online")
    return n == total and n


def start_boards(procs, cluster, floor, n_boards):
    p = procs.start("boards", [sys.executable, os.path.join(HERE, "boards.py")],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    p.stdin.write((json.dumps({"token": floor, "clients": n_boards,
                               "nodes": [n.api_address for n in cluster.nodes]}) + "\n").encode())
    p.stdin.flush()
    line = p.stdout.readline()
    if not line:
        raise SystemExit("wallboard: the boards process exited (see boards.err)")
    hello = json.loads(line)
    if not hello["ready"]:
        raise SystemExit("wallboard: boards not connected: %s" % hello["closed"])
    return p, hello["per_node"]


def run_load(args, cluster, procs, admins, names, boards):
    """Warm-up, then args.runs measured windows back to back, then a grace period so that
    the last window's changes reach the boards under the same load. Returns the Load,
    the windows [(t0_ms, t1_ms)] and the CPU samples at their edges."""
    nodes = [n.api_address for n in cluster.nodes]
    lo, hi = (float(x) for x in args.interval.split("-"))
    load = Load(nodes, admins, names, (lo, hi), args.conns_per_node, args.seed)
    pids = {n.name: n.proc.pid for n in cluster.nodes}
    pids["driver"] = os.getpid()
    pids["boards"] = boards.pid
    for p in procs.procs:
        if p.name.startswith("agents-"):
            pids[p.name] = p.pid
    cpu = Cpu(pids)
    mono0, wall0 = time.monotonic(), time.time() * 1000.0
    edges = [args.warmup + k * args.seconds for k in range(args.runs + 1)]
    windows = [(int(wall0 + edges[k] * 1000), int(wall0 + edges[k + 1] * 1000))
               for k in range(args.runs)]
    boards.stdin.write((json.dumps({"windows": windows}) + "\n").encode())
    boards.stdin.flush()
    samples = []

    def sample(k):
        def fn():
            samples.append(cpu.sample())
            if k > 0:
                w = windows[k - 1]
                acked = sum(1 for a in load.acks if w[0] <= a[0] < w[1])
                log("  run %d: %.0f s measured, %d changes acknowledged (%.1f/s), errors %s"
                    % (k, args.seconds, acked, acked / args.seconds, dict(load.errors) or 0))
        return fn
    log("load: %d agents, one change each every %s s (uniform), round-robin over %d nodes, "
        "%d keep-alive connections per node, each with its own admin session; warm-up %.0f s, "
        "%d run(s) of %.0f s" % (len(names), args.interval, len(nodes), args.conns_per_node,
                                 args.warmup, args.runs, args.seconds))
    load.start(mono0)
    load.run(mono0 + edges[-1] + args.grace,
             [(mono0 + e, sample(k)) for k, e in enumerate(edges)])
    load.drain()
    return load, windows, samples


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="build dir with src/waihud/waihud and tools/waihu-agents/waihu-agents")
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--boards", type=int, default=50, help="WebSocket wallboards")
    ap.add_argument("--interval", default="2-5",
                    help="MIN-MAX seconds between two changes of an agent (uniform)")
    ap.add_argument("--seconds", type=float, default=60, help="length of a measured run")
    ap.add_argument("--runs", type=int, default=1, help="measured runs, back to back")
    ap.add_argument("--warmup", type=float, default=10)
    ap.add_argument("--grace", type=float, default=3,
                    help="load kept on after the last run while its changes arrive")
    ap.add_argument("--conns-per-node", type=int, default=4)
    ap.add_argument("--agents-per-softphone", type=int, default=16,
                    help="agents per waihu-agents process (each from its own IP; the nodes' "
                         "SIP guard bans a source after a burst of 40 requests)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dir", help="work dir (default: a new temp dir, removed on success)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # cleanup runs in finally
    for binary in ("src/waihud/waihud", "tools/waihu-agents/waihu-agents"):
        if not os.access(os.path.join(args.build, binary), os.X_OK):
            raise SystemExit("wallboard: no %s in %s (build it first)" % (binary, args.build))
    check_ports()
    work = args.dir or tempfile.mkdtemp(prefix="waihu-wallboard-")
    os.makedirs(work, exist_ok=True)
    log("wallboard bench: work dir %s, build %s, %d agents, %d boards; load average %s"
        % (work, args.build, args.agents, args.boards,
           " ".join(open("/proc/loadavg").read().split()[:3])))
    per_node = split(args.agents)
    groups = softphone_groups(per_node, args.agents_per_softphone)
    names = [prefix + str(i) for _, _, prefix, count in groups for i in range(1, count + 1)]
    procs = Procs(work)
    cluster = None
    boards = None
    try:
        cluster = start_cluster(work, args.build)
        leader = cluster.wait_ready(60)
        log("cluster: 3 nodes, api %s, leader %s"
            % (",".join(n.api_address for n in cluster.nodes), leader.name))
        admins, floor = setup_users(cluster, groups, 3 * args.conns_per_node)
        admin = admins[0]
        t0 = time.monotonic()
        start_softphones(procs, work, args.build, groups)
        try:
            wait_until(lambda: banned(cluster) or registered(leader.api_address, admin,
                                                             args.agents),
                       180, "every agent registered and online", step=0.5)
        except AssertionError as e:
            raise SystemExit("wallboard: %s (see agents-*.jsonl)" % e)
        if banned(cluster):
            raise SystemExit("wallboard: SIP sources banned: %s" % banned(cluster))
        log("softphones: %s agents (n1/n2/n3) registered in %.1f s by %d waihu-agents "
            "processes of up to %d agents, each from its own 127.0.1x.y address"
            % ("/".join(map(str, per_node)), time.monotonic() - t0, len(groups),
               args.agents_per_softphone))
        boards, per_board_node = start_boards(procs, cluster, floor, args.boards)
        log("boards: %d connected as supervisor 'floor' (%s)"
            % (args.boards, ", ".join("%s %d" % kv for kv in sorted(per_board_node.items()))))
        load, windows, samples = run_load(args, cluster, procs, admins, names, boards)
        dead = [n.name for n in cluster.nodes if not n.alive()] + \
            [p.name for p in procs.procs if p.poll() is not None]
        if dead:
            raise SystemExit("wallboard: exited during the run: %s" % dead)
        time.sleep(1)
        boards.stdin.write(b'{"stop": true}\n')
        boards.stdin.flush()
        seen = json.loads(boards.stdout.readline())
        load.close()
    finally:
        procs.stop_all()
        if cluster:
            cluster.stop()
    report(args, load, windows, samples, seen)
    if not args.keep and not args.dir:
        shutil.rmtree(work, ignore_errors=True)
    else:
        log("logs kept in %s" % work)
    return 0


def report(args, load, windows, samples, seen):
    figs = [window_figures(load, w, seen["windows"][k], samples[k], samples[k + 1])
            for k, w in enumerate(windows)]
    log("")
    for k, f in enumerate(figs):
        log("run %d: %.1f changes/s applied (%d acknowledged); wallboard delay p50 %d ms, "
            "p99 %d ms, max %d ms over %d events (%d boards; per-board p99 %d-%d ms); "
            "POST p50 %.1f ms p99 %.1f ms"
            % (k + 1, f["events_per_s"], f["acked"], f["p50_ms"], f["p99_ms"], f["max_ms"],
               f["events"], f["boards"], f["board_p99_min"], f["board_p99_max"],
               f["post_p50_ms"], f["post_p99_ms"]))
        log("       boards that saw every acknowledged change: %d of %d (missing %d, extra %d "
            "events in all)" % (f["complete_boards"], f["boards"], f["missing"], f["extra"]))
        log("       CPU (cores): %s" % " ".join("%s %.2f" % kv for kv in f["cpu"].items()))
    b = seen["boards"]
    log("boards: %d agent and %d totals messages (%.0f/s), %.1f MB in all; closed: %s; events "
        "outside the runs: %d before, %d after; negative delays: %d"
        % (sum(x["agent_msgs"] for x in b), sum(x["totals_msgs"] for x in b),
           sum(x["agent_msgs"] + x["totals_msgs"] for x in b) / seen["elapsed_s"],
           sum(x["bytes"] for x in b) / 1e6, [x["closed"] for x in b if x["closed"]] or "none",
           seen["outside_before"], seen["outside_after"], seen["negative_delays"]))
    passes = {int(d) / 10.0: c for d, c in seen["pass_hist_100us"].items()}
    log("boards' reader: one pass over the ready sockets took p50 %.1f ms, p99 %.1f ms, max "
        "%.1f ms (%d passes)" % (hist_percentile(passes, 0.5), hist_percentile(passes, 0.99),
                                 max(passes or [0]), sum(passes.values())))
    log("errors: %s; idle keep-alive connections the nodes closed (reopened): %d"
        % (dict(load.errors) or "none", load.reconnects))
    p99 = median([f["p99_ms"] for f in figs])
    eps = median([f["events_per_s"] for f in figs])
    p50 = median([f["p50_ms"] for f in figs])
    cpu = {k: median([f["cpu"][k] for f in figs]) for k in figs[0]["cpu"]}
    missing = sum(f["missing"] for f in figs)
    if args.runs > 1:
        log("medians over %d runs: %.1f changes/s, p50 %d ms, p99 %d ms; CPU %s"
            % (args.runs, eps, p50, p99, " ".join("%s %.2f" % kv for kv in cpu.items())))
    log("RESULT p99_update_ms=%d events_per_s=%.1f p50_update_ms=%d cpu_n1=%.2f cpu_n2=%.2f "
        "cpu_n3=%.2f cpu_driver=%.2f cpu_boards=%.2f missed_updates=%d runs=%d"
        % (p99, eps, p50, cpu["n1"], cpu["n2"], cpu["n3"], cpu["driver"], cpu["boards"],
           missing, args.runs))


if __name__ == "__main__":
    sys.exit(main())

"""The soak's full stack on 127.0.0.1: a 3-node cluster (localcluster, port base 3300:
raft 10301-3, API 11301-3, forward 12301-3) whose nodes all run telephony trunked to one
waihu-carrier, and three waihu-agents processes whose softphones have every node as a
registrar (primary first, then the others). SIP and RTP stay in 13000-13999 (below the
kernel's ephemeral ports, 32768-60999, which an outgoing connection may hold).
Also the API client the soak uses: it follows the live nodes, retries through elections
and logs in again when its token expires (12 h)."""
import csv
import http.client
import io
import json
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "localcluster"))
sys.path.insert(0, os.path.join(ROOT, "tools", "demo"))
from localcluster import Cluster  # noqa: E402
from sipkit import Procs, udp_port_busy  # noqa: E402
from ledger import CALLER_PREFIX  # noqa: E402

PORT_BASE = 3300                       # localcluster adds 7000/8000/9000 + node id
NODE_SIP = 13000                       # + node id
AGENTS_SIP = 13010                     # + team index + 1
CARRIER_SIP = 13020
# RTP: even ports, one per call leg. All 24 agents may end up on one node (nothing moves
# them back after a failover): that node then holds ~50 carrier legs (ringing and
# talking) and 24 agent legs at once; 80 pairs ran out in a 60-minute run.
CARRIER_RTP = "13030-13199"
AGENTS_RTP = ("13200-13239", "13240-13279", "13280-13319")
NODE_RTP = ("13320-13539", "13540-13759", "13760-13979")
TEAMS = "abc"                          # team a registers first on n1, b on n2, c on n3
PASSWORD = "soak-agent-pw-"            # + the agent's number (waihu-agents --password-prefix)
ADMIN_PASSWORD = "soak-admin-1234"


def tcp_ports():
    return [PORT_BASE + base + i for base in (7000, 8000, 9000) for i in (1, 2, 3)]


def udp_ports():
    return [NODE_SIP + i for i in (1, 2, 3)] + [AGENTS_SIP + i for i in (1, 2, 3)] + \
        [CARRIER_SIP]


def check_ports():
    """Raises SystemExit naming the ports someone else holds."""
    busy = [p for p in udp_ports() if udp_port_busy(p)]
    for p in tcp_ports():
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", p)) == 0:
                busy.append(p)
    if busy:
        raise SystemExit("soak: ports in use on 127.0.0.1: %s" % busy)


def start_cluster(work, build):
    c = Cluster(os.path.join(work, "cluster"), 3, port_base=PORT_BASE,
                binary=os.path.join(build, "src/waihud/waihud"))
    for node, rtp in zip(c.nodes, NODE_RTP):
        # Each node's own caller ID: the carrier's log then says which node dialed.
        node.extra_args = ["--sip-bind", "127.0.0.1:%d" % (NODE_SIP + node.id),
                           "--rtp-ports", rtp, "--trunk", "127.0.0.1:%d" % CARRIER_SIP,
                           "--caller-id", "%s%d" % (CALLER_PREFIX, node.id)]
    c.create()
    c.start()
    return c


def start_carrier(procs, work, build, rules, seed):
    path = os.path.join(work, "carrier-rules.json")
    with open(path, "w") as f:
        json.dump(rules, f)
    procs.start("carrier", [os.path.join(build, "tools/waihu-carrier/waihu-carrier"),
                            "--listen", "127.0.0.1:%d" % CARRIER_SIP, "--rules", path,
                            "--log", os.path.join(work, "carrier.jsonl"),
                            "--rtp-ports", CARRIER_RTP, "--seed", str(seed)],
                stdout=subprocess.DEVNULL)


def agent_names(per_team):
    return ["%s%d" % (t, i) for t in TEAMS for i in range(1, per_team + 1)]


def registrar_order(team_index, faulted):
    """Node ids team `team_index` registers on, in order: its own node, then the others in
    turn. When some nodes are kept out of the nemesis (witnesses), the teams of faulted
    nodes fail over only among the faulted ones: otherwise, as nothing moves an agent back,
    every agent ends on a witness after a few faults and the faults stop touching calls."""
    own = team_index + 1
    ring = [(own - 1 + k) % 3 + 1 for k in range(3)]
    if own in faulted and len(faulted) >= 2 and len(faulted) < 3:
        return [n for n in ring if n in faulted]
    return ring


def start_agents(procs, work, build, per_team, seed, faulted=(1, 2, 3)):
    """Team i registers on node i+1 first, then on others (registrar_order). The agents
    never hang up (talk 10-12 min): the carrier's BYE ends every call, with its talk-time
    law. Returns each team's registrar order."""
    orders = []
    for i, team in enumerate(TEAMS):
        order = registrar_order(i, faulted)
        orders.append(order)
        procs.start("agents-" + team, [
            os.path.join(build, "tools/waihu-agents/waihu-agents"),
            "--registrar", ",".join("127.0.0.1:%d" % (NODE_SIP + n) for n in order),
            "--listen", "127.0.0.1:%d" % (AGENTS_SIP + i + 1),
            "--count", str(per_team), "--user-prefix", team, "--password-prefix", PASSWORD,
            "--talk-ms", "600000-700000", "--rtp-ports", AGENTS_RTP[i], "--seed",
            str(seed + i), "--log", os.path.join(work, "agents-%s.jsonl" % team)],
            stdout=subprocess.DEVNULL)
    return orders


class ApiError(Exception):
    pass


class Api:
    """JSON requests as the tenant's admin to whichever node is up. `up()` gives the node
    ids the nemesis has not stopped; requests go to them in turn and move on when a node
    does not answer or answers 503 (an election, a view loading)."""

    def __init__(self, cluster, up):
        self.c = cluster
        self.up = up
        self.token = None
        self.rr = 0

    def login(self):
        s, doc, _ = self.raw("POST", "/v1/auth/login", {"username": "admin",
                                                        "password": ADMIN_PASSWORD}, auth=False)
        if s != 200:
            raise ApiError("login: %s %s" % (s, doc))
        self.token = doc["token"]

    def raw(self, method, path, body=None, node=None, auth=True, timeout=10.0):
        """One request to one node (default: the next live one): (status, JSON or text,
        node id); raises OSError when it does not answer."""
        if node is None:
            ids = self.up() or [n.id for n in self.c.nodes]
            self.rr += 1
            node = ids[self.rr % len(ids)]
        host, port = self.c.node(node).api_address.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        try:
            headers = {"Content-Type": "application/json"}
            if auth and self.token:
                headers["Authorization"] = "Bearer " + self.token
            conn.request(method, path, json.dumps(body) if body is not None else None, headers)
            r = conn.getresponse()
            raw = r.read()
            if "json" in r.getheader("Content-Type", "") and raw:
                return r.status, json.loads(raw), node
            return r.status, raw.decode("utf-8", "replace"), node
        finally:
            conn.close()

    def call(self, method, path, body=None, ok=(200, 201, 202), deadline_s=30.0, node=None):
        """Retries through dead nodes and 503s for up to deadline_s; relogs on 401.
        Returns the JSON (or text) of the first answer in `ok`; raises ApiError."""
        end = time.monotonic() + deadline_s
        last = None
        while True:
            try:
                s, doc, _ = self.raw(method, path, body, node=node)
                if s in ok:
                    return doc
                if s == 401 and path != "/v1/auth/login":
                    self.login()
                    continue
                last = "%s %s" % (s, doc)
                if s not in (503, 429, 500, 502, 504):
                    raise ApiError("%s %s: %s" % (method, path, last))
            except OSError as e:
                last = str(e)
            if time.monotonic() > end:
                raise ApiError("%s %s: no answer within %.0f s (last: %s)"
                               % (method, path, deadline_s, last))
            time.sleep(0.3)


def setup_tenant(api, boot_token, agents):
    """Tenant 'soak', its admin and the agents (role agent, API password = SIP password)."""
    leader = api.c.leader()
    node = leader.id if leader else None
    hdr = {"Authorization": "Bearer " + boot_token}
    for path, body in [("/v1/tenants", {"id": 1, "name": "soak", "default_country": "CN"})] + \
            [("/v1/users", {"username": u, "password": p, "role": r, "tenant_id": 1})
             for u, r, p in [("admin", "admin", ADMIN_PASSWORD)] +
             [(a, "agent", PASSWORD + a[1:]) for a in agents]]:
        n = api.c.node(node) if node else api.c.nodes[0]
        s, doc = n.request("POST", path, body, hdr, timeout=10)
        if s not in (200, 201, 409):
            raise ApiError("%s: %s %s" % (path, s, doc))
    api.login()


def pool_numbers(pool_index, size):
    """Distinct valid CN mobiles per pool: +86139 <pool+1> <7 digits>."""
    return ["+86139%d%07d" % (pool_index + 1, i) for i in range(size)]


def import_pool(api, cluster, tag, numbers):
    """Imports one pool's customers (tag `tag`) from CSV; returns {customer id: digits}
    read back through the admin's unmasked export."""
    name = "%s.csv" % tag
    with open(os.path.join(cluster.import_dir, name), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "phone", "tags"])
        for i, n in enumerate(numbers):
            w.writerow(["Soak %s %06d" % (tag, i), n, tag])
    node = api.c.nodes[0].id  # jobs are kept by the node that runs them
    job = api.call("POST", "/v1/imports", {"file": name, "mapping": {
        "name": "name", "phone": "phone", "tags": "tags"}}, node=node)
    end = time.monotonic() + 300
    while job.get("state") == "running":
        if time.monotonic() > end:
            raise ApiError("import %s: still running after 300 s" % name)
        time.sleep(0.5)
        job = api.call("GET", "/v1/imports/" + job["id"], node=node)
    if job["rows_ok"] != len(numbers):
        raise ApiError("import %s: %s" % (name, job))
    text = api.call("GET", "/v1/customers/export.csv?filter=tag:%s&unmask=1" % tag,
                    deadline_s=120)
    ids = {}
    for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff"))):
        # Cells starting with + come out neutralised for spreadsheets: '+86...
        ids[int(row["id"])] = row["phone"].lstrip("'").lstrip("+")
    if len(ids) != len(numbers):
        raise ApiError("export %s: %d customers, want %d" % (tag, len(ids), len(numbers)))
    return ids


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid):
    """User + system CPU seconds of a process so far (0 when it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def dir_bytes(path):
    total = 0
    for d, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(d, name)).st_size
            except OSError:
                pass
    return total


__all__ = ["Procs", "Cluster"]

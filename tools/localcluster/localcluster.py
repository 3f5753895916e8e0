#!/usr/bin/env python3
"""Start and drive a local Waihu cluster: N waihud processes on 127.0.0.1.

Used by the README's run command, the integration tests, the benchmarks and jepsen/.
Ports: raft 7000+i, api 8000+i, forward 9000+i (i = node id), shifted by --port-base.
"""
import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def default_binary():
    return os.environ.get("WAIHUD", os.path.join(ROOT, "build/src/waihud/waihud"))


def waihuctl_binary():
    return os.environ.get("WAIHUCTL", os.path.join(ROOT, "build/tools/waihuctl/waihuctl"))


class Node:
    def __init__(self, cluster, nid, dc, role="voter"):
        self.cluster = cluster
        self.id = nid
        self.name = "n%d" % nid
        self.dc = dc
        self.role = role
        base = cluster.port_base
        self.raft_address = "127.0.0.1:%d" % (base + 7000 + nid)
        self.api_address = "127.0.0.1:%d" % (base + 8000 + nid)
        self.forward_address = "127.0.0.1:%d" % (base + 9000 + nid)
        self.dir = os.path.join(cluster.dir, self.name)
        self.data_dir = os.path.join(self.dir, "data")
        self.conf = os.path.join(self.dir, "waihud.conf")
        self.tls_cert = os.path.join(cluster.dir, "tls", "%s.pem" % self.name)
        self.tls_key = os.path.join(cluster.dir, "tls", "%s.key" % self.name)
        self.log = os.path.join(self.dir, "waihud.log")
        self.proc = None
        self.bootstrap = True
        self.extra_args = []
        self.env = None  # environment of the daemon (None: this process's), e.g. libfaketime

    def member_conf(self):
        return ('    { id = %d; name = "%s"; dc = "%s"; raft_address = "%s";\n'
                '      api_address = "%s"; forward_address = "%s"; role = "%s"; }'
                % (self.id, self.name, self.dc, self.raft_address, self.api_address,
                   self.forward_address, self.role))

    def write_conf(self, members):
        os.makedirs(self.dir, exist_ok=True)
        c = self.cluster
        with open(self.conf, "w") as f:
            f.write('node = {\n  id = %d;\n  name = "%s";\n  dc = "%s";\n  data_dir = "%s";\n'
                    '  raft_address = "%s";\n  api_address = "%s";\n  forward_address = "%s";\n};\n'
                    % (self.id, self.name, self.dc, self.data_dir, self.raft_address,
                       self.api_address, self.forward_address))
            f.write('cluster = {\n  members = (\n%s\n  );\n' %
                    ",\n".join(m.member_conf() for m in members))
            f.write('  election_timeout_ms = %d;\n  heartbeat_timeout_ms = %d;\n'
                    '  snapshot_threshold = %d;\n  snapshot_trailing = %d;\n'
                    % (c.election_timeout_ms, c.heartbeat_timeout_ms, c.snapshot_threshold,
                       c.snapshot_trailing))
            if c.snapshot_inline_max_bytes is not None:
                f.write('  snapshot_inline_max_bytes = %dL;\n' % c.snapshot_inline_max_bytes)
            if c.tls:
                f.write('  tls_cert = "%s";\n  tls_key = "%s";\n  tls_ca = "%s";\n'
                        % (self.tls_cert, self.tls_key, c.tls_ca_file("ca")))
            f.write('};\n')
            f.write('log = { level = "%s"; };\n' % c.log_level)
            f.write('api = { bootstrap_token_file = "%s"; import_dir = "%s"; };\n'
                    % (c.token_file, c.import_dir))
            f.write('customer = { master_key_file = "%s"; };\n' % c.master_key_file)

    def start(self):
        assert self.proc is None or self.proc.poll() is not None
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([self.cluster.binary, "--config", self.conf] + self.extra_args,
                                     stdout=logf, stderr=logf, stdin=subprocess.DEVNULL,
                                     env=self.env)
        logf.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def stop(self, timeout=15):
        """SIGTERM (leadership handed over first), SIGKILL if it hangs."""
        if not self.alive():
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def request(self, method, path, body=None, headers=None, timeout=5.0):
        """Returns (status, parsed JSON or text); raises OSError when unreachable."""
        host, port = self.api_address.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        try:
            data = json.dumps(body) if isinstance(body, (dict, list)) else body
            headers = dict(headers or {})
            if "Authorization" not in headers and self.cluster.token:
                headers["Authorization"] = "Bearer " + self.cluster.token
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            raw = r.read()
            ctype = r.getheader("Content-Type", "")
            if "json" in ctype and raw:
                return r.status, json.loads(raw)
            return r.status, raw.decode("utf-8", "replace")
        finally:
            conn.close()

    def status(self):
        try:
            s, doc = self.request("GET", "/v1/cluster", timeout=2)
            return doc if s == 200 else None
        except OSError:
            return None


class Api:
    """A logged-in user (bearer token) talking to one node."""

    def __init__(self, node, token):
        self.node, self.token = node, token

    def call(self, method, path, body=None):
        return self.node.request(method, path, body, {"Authorization": "Bearer " + self.token},
                                 timeout=10)


class Cluster:
    def __init__(self, dir, n=3, dcs=None, binary=None, port_base=0,
                 election_timeout_ms=300, heartbeat_timeout_ms=50,
                 snapshot_threshold=100000, snapshot_trailing=20000, log_level="info",
                 snapshot_inline_max_bytes=None, tls=False):
        self.dir = os.path.abspath(dir)
        # tls: a cluster CA and one cert per node (openssl CLI) under <dir>/tls, mutual
        # TLS between nodes.
        self.tls = tls
        self.binary = binary or default_binary()
        self.port_base = port_base
        # Slow builds (ASan) run with longer timeouts: behaviour is tested, not speed.
        self.election_timeout_ms = int(os.environ.get("WAIHU_ELECTION_MS", election_timeout_ms))
        self.heartbeat_timeout_ms = int(os.environ.get("WAIHU_HEARTBEAT_MS", heartbeat_timeout_ms))
        self.snapshot_threshold = snapshot_threshold
        self.snapshot_trailing = snapshot_trailing
        self.snapshot_inline_max_bytes = snapshot_inline_max_bytes
        self.log_level = log_level
        self.token = None
        dcs = dcs or ["dc1"] * n
        self.nodes = [Node(self, i + 1, dcs[i]) for i in range(n)]

    @property
    def token_file(self):
        return os.path.join(self.dir, "secrets", "bootstrap.token")

    @property
    def import_dir(self):
        """CSV files here can be imported by name (POST /v1/imports)."""
        return os.path.join(self.dir, "imports")

    @property
    def master_key_file(self):
        return os.path.join(self.dir, "secrets", "master.key")

    def write_secrets(self):
        """The bootstrap token (cluster administration) and the master key that wraps
        customer data keys: the same files for every node, readable by root only."""
        os.makedirs(os.path.dirname(self.token_file), exist_ok=True)
        os.makedirs(self.import_dir, exist_ok=True)
        if not os.path.exists(self.token_file):
            for path, text in ((self.token_file, secrets.token_hex(24)),
                               (self.master_key_file, secrets.token_hex(32))):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(text + "\n")
        with open(self.token_file) as f:
            self.token = f.read().strip()

    def ctl_env(self):
        """Environment for waihuctl: endpoints and the bootstrap token."""
        env = dict(os.environ)
        env["WAIHU_ENDPOINTS"] = self.endpoints()
        env["WAIHU_TOKEN_FILE"] = self.token_file
        return env

    def create(self, wipe=True):
        if wipe and os.path.exists(self.dir):
            shutil.rmtree(self.dir)
        os.makedirs(self.dir, exist_ok=True)
        self.write_secrets()
        for node in self.nodes:
            if self.tls:
                self.tls_issue(node)
            node.write_conf([n for n in self.nodes if n.bootstrap])

    def tls_ca_file(self, ca):
        return os.path.join(self.dir, "tls", ca + ".pem")

    def tls_issue(self, node, ca="ca"):
        """(Re)issues node's cert and key from CA `ca` (created on first use): tests
        issue from another CA to play a stranger."""
        d = os.path.join(self.dir, "tls")
        os.makedirs(d, exist_ok=True)
        ca_pem, ca_key = self.tls_ca_file(ca), os.path.join(d, ca + ".key")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

        def run(*args):
            subprocess.run(["openssl"] + list(args), check=True, capture_output=True)
        if not os.path.exists(ca_pem):
            run("req", "-x509", *ec, "-keyout", ca_key, "-out", ca_pem, "-days", "30",
                "-subj", "/CN=waihu-%s" % ca)
        ext = os.path.join(d, "node.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                    "extendedKeyUsage=serverAuth,clientAuth\n")
        csr = os.path.join(d, node.name + ".csr")
        run("req", *ec, "-keyout", node.tls_key, "-out", csr, "-subj", "/CN=" + node.name)
        run("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-CAcreateserial",
            "-out", node.tls_cert, "-days", "30", "-extfile", ext)

    def start(self):
        for node in self.nodes:
            node.start()

    def add_node(self, dc="dc1"):
        """A new node that is not in the bootstrap list: it starts empty and waits
        to be added with `waihuctl member add`."""
        node = Node(self, max(n.id for n in self.nodes) + 1, dc)
        if self.tls:
            self.tls_issue(node)
        node.write_conf([n for n in self.nodes if n.bootstrap])
        node.bootstrap = False
        self.nodes.append(node)
        return node

    def endpoints(self):
        return ",".join(n.api_address for n in self.nodes)

    def node(self, nid):
        return next(n for n in self.nodes if n.id == nid)

    def stop(self):
        for node in self.nodes:
            node.stop()
        self.check_sanitizers()

    def kill_all(self):
        for node in self.nodes:
            node.kill()
        self.check_sanitizers()

    def check_sanitizers(self):
        """Raises if an ASan/UBSan/LSan build reported anything in a node's log."""
        marks = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
        for node in self.nodes:
            if not os.path.exists(node.log):
                continue
            with open(node.log, errors="replace") as f:
                text = f.read()
            for m in marks:
                i = text.find(m)
                if i >= 0:
                    raise AssertionError("%s reported by %s (%s):\n%s"
                                         % (m, node.name, node.log, text[max(0, i - 200):i + 3000]))

    def leader(self, nodes=None):
        """The node every live node agrees is leader, and is ready; or None."""
        for node in nodes or self.nodes:
            if not node.alive():
                continue
            st = node.status()
            if st and st.get("state") == "leader" and st.get("ready"):
                return node
        return None

    def wait(self, cond, timeout=30.0, what="condition", interval=0.02):
        """Polls cond() until it returns a true value; raises on deadline."""
        deadline = time.monotonic() + timeout
        while True:
            v = cond()
            if v:
                return v
            if time.monotonic() > deadline:
                raise TimeoutError("timed out after %.1fs waiting for %s" % (timeout, what))
            time.sleep(interval)

    def wait_ready(self, timeout=30.0, nodes=None):
        nodes = nodes or [n for n in self.nodes if n.alive()]

        def ready():
            for n in nodes:
                try:
                    s, _ = n.request("GET", "/readyz", timeout=1)
                except OSError:
                    return False
                if s != 200:
                    return False
            return self.leader(nodes)
        return self.wait(ready, timeout, "every node ready with a leader")

    def wait_converged(self, timeout=60.0, nodes=None):
        """Every live node has applied the same index."""
        nodes = nodes or [n for n in self.nodes if n.alive()]

        def same():
            idx = set()
            for n in nodes:
                st = n.status()
                if st is None:
                    return False
                idx.add(st["applied_index"])
            return len(idx) == 1 and idx
        return self.wait(same, timeout, "applied indexes to converge")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("command", choices=["up", "create"])
    ap.add_argument("--dir", default=os.path.join(ROOT, "run"))
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--dcs", default="", help="comma list of DC labels, one per node")
    ap.add_argument("--binary", default=None)
    ap.add_argument("--keep", action="store_true", help="keep existing data")
    ap.add_argument("--tls", action="store_true", help="mutual TLS between nodes")
    ap.add_argument("--telephony", metavar="SIP_IP:PORT",
                    help="node n1 runs telephony: SIP here, RTP 20000-20999, calls to the "
                         "carrier at --trunk, recordings under DIR/recordings")
    ap.add_argument("--trunk", default="127.0.0.1:5070", help="carrier host:port")
    args = ap.parse_args()
    dcs = args.dcs.split(",") if args.dcs else None
    c = Cluster(args.dir, args.nodes, dcs, args.binary, tls=args.tls)
    if args.telephony:
        c.nodes[0].extra_args = ["--sip-bind", args.telephony, "--rtp-ports", "20000-20999",
                                 "--trunk", args.trunk, "--caller-id", "+861012345678",
                                 "--recordings-dir", os.path.join(c.dir, "recordings")]
    c.create(wipe=not args.keep)
    if args.command == "create":
        return 0
    c.start()
    stop = {"now": False}

    def on_sig(signum, frame):
        stop["now"] = True
    signal.signal(signal.SIGINT, on_sig)
    signal.signal(signal.SIGTERM, on_sig)
    try:
        leader = c.wait_ready(60)
        print("cluster up: %d nodes, leader %s; data and logs under %s"
              % (len(c.nodes), leader.name, c.dir), flush=True)
        print("endpoints: %s" % ",".join(n.api_address for n in c.nodes), flush=True)
        while not stop["now"] and all(n.alive() for n in c.nodes):
            time.sleep(0.5)
    finally:
        c.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

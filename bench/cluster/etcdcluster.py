"""A local 3-member etcd cluster (Debian etcd-server) on 127.0.0.1 for the benchmark.

Same shape as tools/localcluster/localcluster.py: .create(), .start(), .wait_ready(),
.leader(), member.kill(), member.start().  Data under one folder; real fsync (etcd's default);
heartbeat/election left at etcd's defaults (100 ms / 1000 ms), which are the same numbers as
waihud's shipped defaults.
"""
import base64
import http.client
import json
import os
import shutil
import signal
import subprocess
import time


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


class Member:
    def __init__(self, cluster, idx):
        self.cluster = cluster
        self.idx = idx
        self.name = "e%d" % idx
        self.client_port = cluster.client_base + idx
        self.peer_port = cluster.peer_base + idx
        self.client_url = "http://127.0.0.1:%d" % self.client_port
        self.peer_url = "http://127.0.0.1:%d" % self.peer_port
        self.api_address = "127.0.0.1:%d" % self.client_port
        self.dir = os.path.join(cluster.dir, self.name)
        self.data_dir = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "etcd.log")
        self.proc = None
        self.member_id = None

    def start(self):
        assert self.proc is None or self.proc.poll() is not None
        os.makedirs(self.dir, exist_ok=True)
        c = self.cluster
        args = [c.binary,
                "--name", self.name,
                "--data-dir", self.data_dir,
                "--listen-client-urls", self.client_url,
                "--advertise-client-urls", self.client_url,
                "--listen-peer-urls", self.peer_url,
                "--initial-advertise-peer-urls", self.peer_url,
                "--initial-cluster", ",".join("%s=%s" % (m.name, m.peer_url) for m in c.members),
                "--initial-cluster-state", "new",
                "--initial-cluster-token", "waihu-bench",
                "--heartbeat-interval", str(c.heartbeat_ms),
                "--election-timeout", str(c.election_ms),
                "--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn"]
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(args, stdout=logf, stderr=logf, stdin=subprocess.DEVNULL)
        logf.close()
        if c.on_start:
            c.on_start(self.proc.pid)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def stop(self, timeout=15):
        if not self.alive():
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def post(self, path, body, timeout=2.0):
        conn = http.client.HTTPConnection("127.0.0.1", self.client_port, timeout=timeout)
        try:
            conn.request("POST", path, body=json.dumps(body),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            raw = r.read()
            try:
                return r.status, json.loads(raw) if raw else None
            except ValueError:
                return r.status, raw.decode("utf-8", "replace")
        finally:
            conn.close()

    def status(self):
        """{'member_id': int, 'leader': int, 'term': int} or None."""
        try:
            s, doc = self.post("/v3/maintenance/status", {}, timeout=1.0)
        except OSError:
            return None
        if s != 200 or not isinstance(doc, dict):
            return None
        hdr = doc.get("header", {})
        mid = int(hdr.get("member_id", 0))
        self.member_id = mid
        return {"member_id": mid, "leader": int(doc.get("leader", 0) or 0),
                "term": int(doc.get("raftTerm", hdr.get("raft_term", 0)) or 0)}

    def put(self, key, value, timeout=2.0):
        return self.post("/v3/kv/put", {"key": b64(key), "value": b64(value)}, timeout=timeout)


class EtcdCluster:
    def __init__(self, dir, n=3, binary="etcd", client_base=23790, peer_base=23800,
                 heartbeat_ms=100, election_ms=1000, on_start=None):
        self.dir = os.path.abspath(dir)
        self.binary = binary
        self.client_base = client_base
        self.peer_base = peer_base
        self.heartbeat_ms = heartbeat_ms
        self.election_ms = election_ms
        self.on_start = on_start
        self.members = [Member(self, i + 1) for i in range(n)]

    def create(self):
        if os.path.exists(self.dir):
            shutil.rmtree(self.dir)
        os.makedirs(self.dir)

    def start(self):
        for m in self.members:
            m.start()

    def stop(self):
        for m in self.members:
            m.stop()

    def kill_all(self):
        for m in self.members:
            m.kill()

    def leader(self, members=None):
        for m in members or self.members:
            if not m.alive():
                continue
            st = m.status()
            if st and st["leader"] != 0 and st["leader"] == st["member_id"]:
                return m
        return None

    def term(self):
        terms = [st["term"] for st in (m.status() for m in self.members if m.alive()) if st]
        return max(terms) if terms else None

    def wait(self, cond, timeout=30.0, what="condition", interval=0.02):
        deadline = time.monotonic() + timeout
        while True:
            v = cond()
            if v:
                return v
            if time.monotonic() > deadline:
                raise TimeoutError("etcd: timed out after %.1fs waiting for %s" % (timeout, what))
            time.sleep(interval)

    def wait_ready(self, timeout=30.0):
        """Every live member answers status with the same leader and accepts a write."""
        def ready():
            leaders = set()
            for m in self.members:
                if not m.alive():
                    continue
                st = m.status()
                if st is None or st["leader"] == 0:
                    return False
                leaders.add(st["leader"])
            if len(leaders) != 1:
                return False
            for m in self.members:
                if m.alive():
                    try:
                        s, _ = m.put("bench.ready", "x", timeout=2.0)
                    except OSError:
                        return False
                    if s != 200:
                        return False
            return self.leader()
        return self.wait(ready, timeout, "every member ready with one leader", 0.05)

#!/usr/bin/env python3
"""Integration tests of the replicated core with real waihud processes on 127.0.0.1."""
import os
import random
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "localcluster"))
from localcluster import Cluster  # noqa: E402

PORT_BASE = 10000  # below the ephemeral range (32768+), where clients could hold our ports


def put(node, key, value, version=None, client=None, seq=None, timeout=5.0):
    body = {"value": value}
    if version is not None:
        body["version"] = version
    headers = {"Content-Type": "application/json"}
    if client is not None:
        headers["X-Waihu-Client"] = str(client)
        headers["X-Waihu-Seq"] = str(seq)
    return node.request("PUT", "/v1/settings/" + key, body, headers, timeout=timeout)


class ClusterTest(unittest.TestCase):
    cluster = None

    def make(self, n=3, **kw):
        self.tmp = tempfile.mkdtemp(prefix="waihu-it-")
        self.cluster = Cluster(self.tmp, n, port_base=PORT_BASE, **kw)
        self.cluster.create()
        self.cluster.start()
        return self.cluster

    def tearDown(self):
        if self.cluster:
            self.cluster.kill_all()
            failed = any(e for _, e in self._outcome.errors) if hasattr(self._outcome, "errors") else False
            if not failed:
                import shutil
                shutil.rmtree(self.tmp, ignore_errors=True)
            else:
                print("logs kept in", self.tmp)


class TestBasics(ClusterTest):
    def test_every_node_accepts_writes_and_reads_are_linearizable(self):
        c = self.make()
        c.wait_ready()
        for i, node in enumerate(c.nodes):
            s, doc = put(node, "greeting.%d" % i, "hello %d" % i)
            self.assertEqual(s, 200, doc)
            self.assertEqual(doc["version"], 1)
            # A linearizable read on any other node sees the write at once.
            other = c.nodes[(i + 1) % len(c.nodes)]
            s, doc = other.request("GET", "/v1/settings/greeting.%d" % i)
            self.assertEqual(s, 200, doc)
            self.assertEqual(doc["value"], "hello %d" % i)

    def test_compare_and_set(self):
        c = self.make()
        c.wait_ready()
        n = c.nodes[1]
        self.assertEqual(put(n, "k", "a", version=0)[0], 200)
        s, doc = put(n, "k", "b", version=0)
        self.assertEqual(s, 409)
        self.assertEqual(doc["current_version"], 1)
        s, doc = put(n, "k", "b", version=1)
        self.assertEqual((s, doc["version"]), (200, 2))
        s, doc = n.request("DELETE", "/v1/settings/k?version=1")
        self.assertEqual(s, 409)
        s, doc = n.request("DELETE", "/v1/settings/k?version=2")
        self.assertEqual(s, 200)
        self.assertEqual(n.request("GET", "/v1/settings/k")[0], 404)

    def test_retry_with_same_client_seq_applies_once(self):
        c = self.make()
        c.wait_ready()
        a, b = c.nodes[0], c.nodes[2]
        s1, d1 = put(a, "counter", "x", client=77, seq=1)
        s2, d2 = put(b, "counter", "x", client=77, seq=1)  # the "retry", via another node
        self.assertEqual((s1, s2), (200, 200))
        self.assertEqual(d1["version"], d2["version"])
        s, doc = a.request("GET", "/v1/settings/counter")
        self.assertEqual(doc["version"], 1, "the retry must not apply a second time")
        s3, d3 = put(a, "counter", "y", client=77, seq=2)
        self.assertEqual(d3["version"], 2)
        s4, d4 = put(a, "counter", "z", client=77, seq=1)
        self.assertEqual(s4, 409, d4)
        self.assertEqual(d4["error"]["code"], "stale")

    def test_bad_requests_get_4xx_with_reason(self):
        c = self.make()
        c.wait_ready()
        n = c.nodes[0]
        cases = [
            ("PUT", "/v1/settings/k", "{not json", 400),
            ("PUT", "/v1/settings/k", '{"value": 5}', 400),
            ("PUT", "/v1/settings/k", '{"value": "v", "version": -1}', 400),
            ("PUT", "/v1/settings/bad%20key", '{"value": "v"}', 400),
            ("GET", "/v1/nothing", None, 404),
            ("POST", "/v1/settings/k", '{"value": "v"}', 405),
            ("PUT", "/v1/settings/k", '{"value": "' + "x" * (70 * 1024) + '"}', 413),
            ("POST", "/v1/admin/fence", '{"duration_ms": "soon"}', 400),
            ("POST", "/v1/members", '{"id": 0, "raft_address": "127.0.0.1:1"}', 400),
        ]
        for method, path, body, want in cases:
            s, doc = n.request(method, path, body, {"Content-Type": "application/json"})
            self.assertEqual(s, want, (method, path, doc))
            self.assertIn("error", doc)
            self.assertTrue(doc["error"]["message"])
        s, doc = n.request("PUT", "/v1/settings/k", '{"value":"v"}', {"X-Waihu-Client": "abc", "X-Waihu-Seq": "1"})
        self.assertEqual(s, 400)
        self.assertEqual(doc["error"]["field"], "X-Waihu-Client")

    def test_metrics_and_health(self):
        c = self.make()
        leader = c.wait_ready()
        put(leader, "m", "1")
        s, text = leader.request("GET", "/metrics")
        self.assertEqual(s, 200)
        self.assertIn('waihu_raft_state{state="leader"} 1', text)
        self.assertIn("waihu_apply_latency_seconds_count", text)
        self.assertEqual(leader.request("GET", "/healthz")[0], 200)


class Writers:
    """Concurrent clients writing distinct keys; remembers every acknowledged write."""

    def __init__(self, cluster, n_threads=8, prefix="w"):
        self.cluster = cluster
        self.acked = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.errors = 0
        self.threads = [threading.Thread(target=self.run, args=(i, prefix)) for i in range(n_threads)]

    def run(self, tid, prefix):
        client = 1000 + tid
        seq = 0
        rnd = random.Random(tid)
        while not self.stop.is_set():
            seq += 1
            key = "%s.%d.%d" % (prefix, tid, seq)
            value = "v%d" % rnd.randrange(10**9)
            # Retry the same (client, seq) until it is acknowledged: exactly-once.
            while not self.stop.is_set():
                live = [n for n in self.cluster.nodes if n.alive()]
                node = rnd.choice(live)
                try:
                    s, _ = put(node, key, value, client=client, seq=seq, timeout=2.0)
                except OSError:
                    s = None
                if s == 200:
                    with self.lock:
                        self.acked[key] = value
                    break
                self.errors += 1

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *a):
        self.stop.set()
        for t in self.threads:
            t.join()

    def count(self):
        with self.lock:
            return len(self.acked)


class TestFaults(ClusterTest):
    def check_all_acked(self, c, acked):
        for node in c.nodes:
            s, doc = node.request("GET", "/v1/settings?prefix=w.&limit=1000&stale=true")
            got = {}
            after = None
            while True:
                q = "/v1/settings?prefix=w.&limit=1000&stale=true" + ("&after=" + after if after else "")
                s, doc = node.request("GET", q)
                self.assertEqual(s, 200)
                for item in doc["settings"]:
                    got[item["key"]] = (item["value"], item["version"])
                after = doc["next"]
                if not after:
                    break
            for k, v in acked.items():
                self.assertIn(k, got, "acknowledged write %s lost on %s" % (k, node.name))
                self.assertEqual(got[k][0], v)
                self.assertEqual(got[k][1], 1, "write %s applied twice" % k)

    def test_kill_leader_under_writes_loses_nothing(self):
        c = self.make()
        leader = c.wait_ready()
        with Writers(c) as w:
            c.wait(lambda: w.count() >= 300, 60, "300 acknowledged writes")
            leader.kill()
            survivors = [n for n in c.nodes if n is not leader]
            c.wait(lambda: c.leader(survivors), 30, "a new leader")
            before = w.count()
            c.wait(lambda: w.count() >= before + 300, 60, "writes to resume")
            leader.start()
            c.wait(lambda: w.count() >= before + 600, 60, "writes with the old leader back")
        acked = dict(w.acked)
        c.wait_ready()
        c.wait_converged()
        self.check_all_acked(c, acked)

    def test_node_down_for_100k_entries_catches_up_by_snapshot(self):
        c = self.make(snapshot_threshold=20000, snapshot_trailing=5000)
        c.wait_ready()
        lagger = next(n for n in c.nodes if n is not c.leader())
        lagger.kill()
        live = [n for n in c.nodes if n is not lagger]
        c.wait(lambda: c.leader(live), 30, "leader without the lagger")

        def start_index():
            return max(n.status()["applied_index"] for n in live)
        base = start_index()
        with Writers(c, n_threads=16) as w:
            c.wait(lambda: start_index() >= base + 100000, 600, "100k entries", interval=0.5)
        acked = dict(w.acked)
        lagger.start()
        c.wait_ready()
        c.wait_converged(120)
        with open(lagger.log) as f:
            self.assertIn("restored snapshot at index", f.read(),
                          "the lagging node must catch up through InstallSnapshot")
        self.check_all_acked(c, acked)


if __name__ == "__main__":
    unittest.main(verbosity=2)

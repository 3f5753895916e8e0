#!/usr/bin/env python3
"""The live event stream, WebSocket /v1/events/stream (docs/events.md "Live stream"), on a
3-node cluster: a subscriber on one node gets the events of changes made through another,
in seq order; it resumes with after=<last seq> on another node and gets exactly what it
missed, then live events; a replay of 1500 events runs while new ones commit, without gap
or repeat; supervisors see their department only, agents are refused, auditors allowed;
after a kill -9 of its node a client reconnects elsewhere and loses nothing. Every stream
is checked against the log itself (GET /v1/events)."""
import itertools
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "localcluster"))
from localcluster import Api, Cluster  # noqa: E402
from wsclient import Closed, WsClient  # noqa: E402

PORT_BASE = 3450  # raft 10451-3, api 11451-3, forward 12451-3
PATH = "/v1/events/stream"
SLOW = float(os.environ.get("WAIHU_SLOW", "1"))
CUSTOMER_TYPES = ("customer.created", "customer.updated")
NAMES = itertools.count(1)  # next() on it is atomic: threads share it


class Subscriber:
    """One WebSocket subscription: the hello, then events (pings are noted, not returned)."""

    def __init__(self, node, token, after=None, types=None):
        self.node = node
        self.ws = WsClient(node.api_address, PATH, timeout=10 * SLOW)
        first = {"token": token}
        if after is not None:
            first["after"] = after
        if types is not None:
            first["types"] = types
        self.ws.send_json(first)
        self.hello = self.ws.recv_json(10 * SLOW)
        self.pings = []

    def next(self, timeout):
        """The next message that is not a ping."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no event from %s in %.1f s" % (self.node.name, timeout))
            doc = self.ws.recv_json(left)
            if doc["type"] == "ping":
                self.pings.append(doc["seq"])
                continue
            return doc

    def events(self, n, timeout=30.0):
        out = []
        deadline = time.monotonic() + timeout * SLOW
        while len(out) < n:
            doc = self.next(deadline - time.monotonic())
            assert doc["type"] == "event", doc
            out.append(doc["event"])
        return out

    def until(self, last_seq, timeout=60.0):
        """Events up to and including seq last_seq."""
        out = []
        deadline = time.monotonic() + timeout * SLOW
        while not out or out[-1]["seq"] < last_seq:
            doc = self.next(deadline - time.monotonic())
            assert doc["type"] == "event", doc
            out.append(doc["event"])
        return out

    def quiet(self, seconds=0.3):
        """True when nothing but pings arrives for a moment (after the expected events)."""
        try:
            doc = self.next(seconds)
        except (TimeoutError, socket.timeout):
            return True
        raise AssertionError("unexpected message %s" % doc)

    def close(self):
        self.ws.close()


class EventStreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="waihu-evstream-")
        cls.c = Cluster(os.path.join(cls.tmp, "cluster"), 3, port_base=PORT_BASE)
        for n in cls.c.nodes:  # bulk loads from a few user tokens
            n.extra_args = ["--rate-limit-per-s", "100000", "--rate-limit-burst", "100000"]
        cls.c.create()
        cls.addClassCleanup(cls.cleanup)
        cls.c.start()
        leader = cls.c.wait_ready(timeout=60 * SLOW)
        boot = Api(leader, cls.c.token)
        assert boot.call("POST", "/v1/tenants", {"id": 1, "name": "t1",
                                                 "default_country": "CN"})[0] == 201
        cls.tok, cls.pw = {}, {}
        for name, role, dept in [("admin1", "admin", ""), ("sup_east", "supervisor", "east"),
                                 ("aud1", "auditor", ""), ("agent1", "agent", "east")]:
            pw = cls.pw[name] = name + "-password-123"
            s, doc = boot.call("POST", "/v1/users", {"username": name, "password": pw,
                                                     "role": role, "tenant_id": 1,
                                                     "department": dept})
            assert s == 201, doc
            s, doc = leader.request("POST", "/v1/auth/login", {"username": name, "password": pw})
            assert s == 200, doc
            cls.tok[name] = doc["token"]
        cls.n1, cls.n2, cls.n3 = cls.c.nodes

    @classmethod
    def cleanup(cls):
        for n in cls.c.nodes:
            if not n.alive():
                n.start()  # a killed node's log is checked too
        cls.c.stop()
        if not os.environ.get("WAIHU_KEEP_LOGS"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def tearDown(self):
        self.c.check_sanitizers()

    # ---- helpers ----

    def call(self, method, path, body=None, user="admin1", node=None):
        node = node or next(n for n in self.c.nodes if n.alive())
        return Api(node, self.tok[user]).call(method, path, body)

    def log(self, after=0, user="admin1", types=CUSTOMER_TYPES):
        """The events the user may see after seq `after` (GET /v1/events, paged), once
        every live node applied the same index (a follower may still lag a write)."""
        self.c.wait_converged(timeout=30 * SLOW)
        out = []
        while True:
            s, doc = self.call("GET", "/v1/events?limit=1000&after=%d" % after, user=user)
            self.assertEqual(s, 200, doc)
            out += [e for e in doc["items"] if types is None or e["type"] in types]
            if doc["next_after"] == after:
                return out
            after = doc["next_after"]

    def last_seq(self):
        items = self.log(types=None)
        return items[-1]["seq"] if items else 0

    def create(self, n, dept="east", node=None, retry=False):
        """n customers through node; retry: keep trying across failovers (a retried create
        may have committed twice: the log, not a count, is the reference)."""
        ids = []
        for _ in range(n):
            name = "Customer %d" % next(NAMES)
            deadline = time.monotonic() + 60 * SLOW
            while True:
                try:
                    s, doc = self.call("POST", "/v1/customers",
                                       {"name": name, "department": dept}, node=node)
                except OSError:
                    s, doc = None, None
                if s == 201:
                    ids.append(doc["id"])
                    break
                if not retry or time.monotonic() > deadline:
                    self.fail("create through %s: %s %s" % (node.name if node else "?", s, doc))
                time.sleep(0.05)
        return ids

    def create_bulk(self, n, threads=6):
        errors = []

        def work(k, node):
            try:
                self.create(k, node=node)
            except BaseException as e:  # noqa: B902 - reported below
                errors.append(e)
        ts = [threading.Thread(target=work, args=(n // threads + (i < n % threads),
                                                  self.c.nodes[i % 3]))
              for i in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])

    def assert_same(self, got, want):
        gs, ws = [e["seq"] for e in got], [e["seq"] for e in want]
        self.assertEqual(len(gs), len(set(gs)), "duplicates")
        self.assertEqual(gs, sorted(gs), "out of order")
        self.assertEqual(gs, ws)
        self.assertEqual(got, want)  # the same documents as the log's

    # ---- tests ----

    def test_1_live_from_another_node_in_order(self):
        sub = Subscriber(self.n3, self.tok["admin1"])
        self.assertEqual(sub.hello["type"], "hello")
        self.assertEqual(sub.hello["node"], "n3")
        start = sub.hello["after"]
        self.assertGreaterEqual(start, self.last_seq())  # only new events
        ids = self.create(20, node=self.n1)
        for cid in ids[:5]:
            s, doc = self.call("PATCH", "/v1/customers/" + cid, {"status": "contacted"},
                               node=self.n1)
            self.assertEqual(s, 200, doc)
        got = sub.events(25)
        seqs = [e["seq"] for e in got]
        self.assertTrue(all(b > a for a, b in zip(seqs, seqs[1:])), seqs)
        self.assertGreater(seqs[0], start)
        self.assertEqual([e["type"] for e in got], ["customer.created"] * 20 +
                         ["customer.updated"] * 5)
        self.assertEqual([e["subject"] for e in got[:20]], ["customer/" + i for i in ids])
        self.assert_same(got, self.log(after=start))
        # Idle: a ping every 10 s says where the stream stands.
        doc = sub.ws.wait_for(lambda d: d["type"] == "ping", timeout=15 * SLOW)
        self.assertGreaterEqual(doc["seq"], seqs[-1])
        sub.close()

    def test_2_resume_on_another_node(self):
        start = self.last_seq()
        sub = Subscriber(self.n1, self.tok["admin1"], after=start)
        self.assertEqual(sub.hello["after"], start)
        self.create(10, node=self.n2)
        seen = sub.events(5)
        sub.close()  # the other five were sent, perhaps, but never read
        self.create(10, node=self.n3)
        last = seen[-1]["seq"]
        sub = Subscriber(self.n2, self.tok["admin1"], after=last)
        self.assertEqual((sub.hello["node"], sub.hello["after"]), ("n2", last))
        missed = sub.events(15)
        self.create(5, node=self.n1)
        live = sub.events(5)
        self.assertTrue(sub.quiet())
        self.assert_same(seen + missed + live, self.log(after=start))
        sub.close()

    def test_3_replay_of_many_then_live(self):
        start = self.last_seq()
        t0 = time.monotonic()
        self.create_bulk(1500)
        print("\n  1500 customers created in %.1f s" % (time.monotonic() - t0))
        sub = Subscriber(self.n2, self.tok["aud1"], after=start)
        # New events commit while the replay runs (nothing is read yet: the replay also
        # waits for the client's queue to drain).
        self.create(30, node=self.n3)
        t0 = time.monotonic()
        want = self.log(after=start)
        self.assertEqual(len(want), 1530)
        got = sub.until(want[-1]["seq"])
        print("  replay + live: %d events read in %.2f s" % (len(got), time.monotonic() - t0))
        self.assert_same(got, want)
        self.create(3, node=self.n1)
        more = sub.events(3)
        self.assert_same(got + more, self.log(after=start))
        sub.close()

    def test_4_roles_and_first_message(self):
        start = self.last_seq()
        sup = Subscriber(self.n2, self.tok["sup_east"], after=start)
        aud = Subscriber(self.n3, self.tok["aud1"], after=start)
        upd = Subscriber(self.n1, self.tok["admin1"], after=start, types=["customer.updated"])
        east = self.create(3, dept="east")
        self.create(3, dept="west")
        last = self.create(1, dept="east")
        s, doc = self.call("PATCH", "/v1/customers/" + east[0], {"status": "contacted"})
        self.assertEqual(s, 200, doc)
        # In seq order: a west event would come before the last east one.
        got = sup.events(5)
        self.assertEqual([e["subject"] for e in got],
                         ["customer/" + i for i in east + last + east[:1]])
        self.assertTrue(all(e["department"] == "east" for e in got))
        self.assert_same(got, self.log(after=start, user="sup_east"))
        self.assert_same(aud.events(8), self.log(after=start))
        got = upd.events(1)
        self.assertEqual((got[0]["type"], got[0]["subject"]),
                         ("customer.updated", "customer/" + east[0]))
        self.assertTrue(upd.quiet())
        for s in (sup, aud, upd):
            s.close()

        def refused(first, why):
            ws = WsClient(self.n2.api_address, PATH)
            ws.send_text(first if isinstance(first, str) else json.dumps(first))
            with self.assertRaises(Closed) as cm:
                ws.recv_json(10 * SLOW)
            ws.close()
            self.assertEqual(cm.exception.code, 1008, cm.exception.reason)
            self.assertIn(why, cm.exception.reason)
        # A token made on the leader a moment ago works on a follower at once.
        leader = self.c.leader()
        follower = next(n for n in self.c.nodes if n is not leader)
        s, doc = leader.request("POST", "/v1/auth/login", {"username": "aud1",
                                                           "password": self.pw["aud1"]})
        self.assertEqual(s, 200, doc)
        fresh = Subscriber(follower, doc["token"])
        self.assertEqual(fresh.hello["type"], "hello", fresh.hello)
        fresh.close()
        refused({"token": self.tok["agent1"]}, "role agent may not read events")
        refused({"token": self.c.token}, "token not valid")  # bootstrap: reads no events
        refused({"token": "wh_" + "0" * 24 + "_" + "0" * 64}, "token not valid")
        refused("not json", "first message")
        refused({"after": 3}, "first message")
        refused({"token": self.tok["admin1"], "after": -1}, "first message")
        refused({"token": self.tok["admin1"], "after": "12"}, "first message")
        refused({"token": self.tok["admin1"], "types": "customer.created"}, "first message")
        refused({"token": self.tok["admin1"], "types": []}, "first message")

    def test_5_kill9_of_the_node_reconnects_elsewhere(self):
        start = self.last_seq()
        leader = self.c.leader()
        victim = leader or self.n1
        others = [n for n in self.c.nodes if n is not victim]
        sub = Subscriber(victim, self.tok["admin1"], after=start)
        done = threading.Event()
        errors = []

        def produce():
            try:
                self.create(150, node=others[0], retry=True)
            except BaseException as e:  # noqa: B902 - reported below
                errors.append(e)
            done.set()
        producer = threading.Thread(target=produce)
        producer.start()
        got = sub.events(20)
        victim.kill()  # SIGKILL: no close frame, the socket just drops
        with self.assertRaises((ConnectionError, OSError, Closed)):
            while True:
                doc = sub.next(30 * SLOW)
                got.append(doc["event"])
        sub.close()
        before = len(got)
        sub = Subscriber(others[1], self.tok["admin1"], after=got[-1]["seq"])
        producer.join(timeout=120 * SLOW)
        self.assertTrue(done.is_set())
        self.assertEqual(errors, [])
        want = self.log(after=start)
        got += sub.until(want[-1]["seq"])
        print("\n  kill -9 of %s (%s) after %d events; resumed on %s: %d more"
              % (victim.name, "the leader" if victim is leader else "a follower", before,
                 others[1].name, len(got) - before))
        self.assert_same(got, want)
        self.assertGreaterEqual(len(want), 150)
        sub.close()
        victim.start()
        self.c.wait_ready(timeout=60 * SLOW)


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""Recordings (docs/recordings.md) on a 3-node cluster whose node n1 runs telephony over a
trunk to waihu-carrier, with waihu-agents as the agents' softphones. Real calls are placed
through POST /v1/calls; each recorded call gets a catalogue row in the same mutation as
its CDR, read on every node. Then: search filters and pagination, metadata, the audio
decrypted by the API equal to `waihu-recording decrypt` of the file, byte ranges (206/416),
roles (an agent sees only its own calls, another tenant nothing), audit rows for every
playback, a tampered and a truncated file refused (422, never audio), bad parameters 4xx,
a customer's erasure removing its recordings, and retention with the clock moved forward:
all nodes run under libfaketime whose offset file the test rewrites (+181 days) and n2
leads; the leader deletes the expired recordings on its clock, n1 (the telephony node)
removes their files, the held one stays, and n1 still places a call after its jump."""
import hashlib
import hmac
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "localcluster"))
from localcluster import Api, Cluster  # noqa: E402
from sipkit import Procs  # noqa: E402
from sipkit import wait_until as _wait_until  # noqa: E402


def build_dir():
    if os.environ.get("WAIHU_RECORDINGS_BUILD"):  # absolute: tools run in a temp dir
        return os.path.abspath(os.environ["WAIHU_RECORDINGS_BUILD"])
    if os.environ.get("WAIHUD"):  # <build>/src/waihud/waihud
        return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
            os.environ["WAIHUD"]))))
    return os.path.join(ROOT, "build")


BUILD = build_dir()
SLOW = float(os.environ.get("WAIHU_SLOW", "1"))
PORT_BASE = 3700  # raft 10701-3, api 11701-3, forward 12701-3
SIP_PORT = 18560  # SIP and RTP stay inside 18500-18999, below the ephemeral ports
RTP = "18600-18749"
CARRIER_PORT = 18570
CARRIER_RTP = "18750-18849"
AGENTS_PORT = 18580
AGENTS_RTP = "18850-18949"
PASSWORD = "agent-password-"  # agents' passwords are this + their number
ADMIN_PASSWORD = "admin-password-1234"
NUMBERS = ["+8613900000011", "+8613900000012", "+8613900000013"]
FAKETIME_LIBS = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
                 "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"]
DAY_MS = 86400 * 1000


def wait_until(pred, timeout, what):
    return _wait_until(pred, timeout, what, SLOW)


def raw_get(node, path, token, headers=None):
    """(status, headers dict lower-cased, body bytes) of a GET."""
    host, port = node.api_address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30 * SLOW)
    try:
        h = {"Authorization": "Bearer " + token}
        h.update(headers or {})
        conn.request("GET", path, headers=h)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


class RecordingsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("tools/waihu-carrier/waihu-carrier", "tools/waihu-agents/waihu-agents",
                     "tools/waihu-recording/waihu-recording", "src/waihud/waihud"):
            if not os.access(os.path.join(BUILD, tool), os.X_OK):
                raise unittest.SkipTest("not built: %s/%s" % (BUILD, tool))
        lib = next((p for p in FAKETIME_LIBS if os.path.exists(p)), None)
        if lib is None:
            raise unittest.SkipTest("libfaketime is not installed (Debian package faketime)")
        cls.tmp = tempfile.mkdtemp(prefix="waihu-recordings-")
        cls.procs = Procs(cls.tmp)
        cls.rec_dir = os.path.join(cls.tmp, "recordings")
        cls.clock_file = os.path.join(cls.tmp, "faketime.rc")
        cls.set_clock(0)
        cls.c = Cluster(os.path.join(cls.tmp, "cluster"), 3, port_base=PORT_BASE,
                        binary=os.path.join(BUILD, "src/waihud/waihud"))
        # Every node's wall clock follows the offset in clock_file (reread every second);
        # monotonic time (raft, timers) stays real. n1 runs telephony: sofia-sip used to
        # assert when the wall clock jumped (nta.c agent_timer); its clock is steady now
        # (src/sip/steady_clock.c) and test_8 places a call after the jump.
        env = dict(os.environ)
        env.update({"LD_PRELOAD": lib, "FAKETIME_TIMESTAMP_FILE": cls.clock_file,
                    "FAKETIME_CACHE_DURATION": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"})
        # An ASan build must accept libfaketime ahead of its runtime.
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                     "verify_asan_link_order=0"]))
        for n in cls.c.nodes:
            n.env = env
        trunks = os.path.join(cls.tmp, "trunks.json")
        with open(trunks, "w") as f:
            json.dump({"trunks": [{"name": "carrier", "target": "127.0.0.1:%d" % CARRIER_PORT,
                                   "channels": 4, "cps": 10,
                                   "caller_ids": ["+861012345678"]}]}, f)
        cls.c.nodes[0].extra_args = [
            "--sip-bind", "127.0.0.1:%d" % SIP_PORT, "--rtp-ports", RTP,
            "--trunks-file", trunks, "--recordings-dir", cls.rec_dir,
            "--rtp-timeout-ms", "4000"]
        cls.c.create()
        cls.addClassCleanup(cls.cleanup)
        cls.c.start()
        cls.leader = cls.c.wait_ready(timeout=60)
        cls.n1, cls.n2, cls.n3 = cls.c.nodes
        boot = Api(cls.n1, cls.c.token)
        for tid in (1, 2):
            s, doc = boot.call("POST", "/v1/tenants", {"id": tid, "name": "t%d" % tid,
                                                       "default_country": "CN"})
            assert s == 201, doc
        cls.passwords = {}
        for name, role, tid, password in [
                ("admin1", "admin", 1, ADMIN_PASSWORD), ("auditor1", "auditor", 1, ADMIN_PASSWORD),
                ("super1", "supervisor", 1, ADMIN_PASSWORD),
                ("agent1", "agent", 1, PASSWORD + "1"), ("agent2", "agent", 1, PASSWORD + "2"),
                ("admin2", "admin", 2, ADMIN_PASSWORD)]:
            s, doc = boot.call("POST", "/v1/users", {"username": name, "password": password,
                                                     "role": role, "tenant_id": tid})
            assert s == 201, doc
            cls.passwords[name] = password
        cls.login_all()
        rules = os.path.join(cls.tmp, "rules.json")
        with open(rules, "w") as f:
            json.dump({"numbers": {n: {"outcome": "answer", "ring_ms": 200, "talk_ms": 3200}
                                   for n in NUMBERS}}, f)
        cls.procs.start("carrier", [os.path.join(BUILD, "tools/waihu-carrier/waihu-carrier"),
                                    "--listen", "127.0.0.1:%d" % CARRIER_PORT, "--rules", rules,
                                    "--log", os.path.join(cls.tmp, "carrier.jsonl"),
                                    "--rtp-ports", CARRIER_RTP, "--seed", "5"])
        cls.procs.start("agents", [os.path.join(BUILD, "tools/waihu-agents/waihu-agents"),
                                   "--registrar", "127.0.0.1:%d" % SIP_PORT,
                                   "--listen", "127.0.0.1:%d" % AGENTS_PORT, "--count", "2",
                                   "--password-prefix", PASSWORD, "--talk-ms", "8000-9000",
                                   "--rtp-ports", AGENTS_RTP,
                                   "--log", os.path.join(cls.tmp, "agents.jsonl")])
        for name in ("agent1", "agent2"):
            wait_until(lambda: cls.api["admin1"].call("GET", "/v1/agents/" + name)[1]
                       .get("registered"), 20, "%s registered on n1" % name)
        cls.place_calls()

    @classmethod
    def set_clock(cls, days):
        with open(cls.clock_file + ".new", "w") as f:
            f.write("+%dd\n" % days)
        os.replace(cls.clock_file + ".new", cls.clock_file)

    @classmethod
    def login_all(cls, via=None):
        cls.api = {}
        for name, password in cls.passwords.items():
            s, doc = (via or cls.leader).request("POST", "/v1/auth/login",
                                        {"username": name, "password": password})
            assert s == 200, doc
            cls.api[name] = Api(cls.n1, doc["token"])

    @classmethod
    def cleanup(cls):
        cls.procs.stop_all()
        cls.c.stop()
        cls.c.check_sanitizers()
        if not os.environ.get("WAIHU_KEEP_LOGS"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def cdrs(cls):
        s, doc = cls.api["admin1"].call("GET", "/v1/calls?limit=200")
        assert s == 200, doc
        return {c["id"]: c for c in doc["items"]}

    @classmethod
    def place(cls, agent, customer=None, number=None):
        body = {"agent": agent}
        if customer:
            body["customer_id"] = customer
        else:
            body["number"] = number
        s, doc = cls.api["admin1"].call("POST", "/v1/calls", body)
        assert s == 202, doc
        return doc["id"]

    @classmethod
    def place_calls(cls):
        """A: agent1 to customer c1 (held later), B: agent2 to customer c2 (erased later),
        C: agent1 by number (tampered later), E: agent2 by number, D: agent1 by number
        (truncated later). An agent takes one call at a time: three rounds."""
        cls.cust = {}
        for key, number, owner in (("c1", NUMBERS[0], "agent1"), ("c2", NUMBERS[1], "agent2")):
            s, doc = cls.api["admin1"].call("POST", "/v1/customers", {
                "name": "Customer " + key, "phone": number, "owner": owner})
            assert s == 201, doc
            cls.cust[key] = doc["id"]
        cls.ids = {}
        rounds = [[("A", "agent1", cls.cust["c1"], None), ("B", "agent2", cls.cust["c2"], None)],
                  [("C", "agent1", None, NUMBERS[2]), ("E", "agent2", None, NUMBERS[2])],
                  [("D", "agent1", None, NUMBERS[2])]]
        for r in rounds:
            placed = {k: cls.place(agent, cust, num) for k, agent, cust, num in r}
            cls.ids.update(placed)
            recs = wait_until(lambda: (lambda m: m if all(i in m for i in placed.values())
                                       else None)(cls.cdrs()), 60, "CDRs of round %s" % list(placed))
            for k, i in placed.items():
                assert recs[i]["result"] == "answered" and recs[i]["recorded"], recs[i]
        # Dispositions: A is a sale (search by disposition).
        s, doc = cls.api["agent1"].call("POST", "/v1/calls/%s/disposition" % cls.ids["A"],
                                        {"disposition": "sale"})
        assert s in (200, 201), doc
        for name in ("agent1", "agent2"):
            cls.api["admin1"].call("POST", "/v1/agents/%s/state" % name, {"state": "ready"})

    # ---- helpers ----

    def get(self, who, path, node=None):
        api = Api(node or self.n1, self.api[who].token)
        return api.call("GET", path)

    def rec(self, key, node=None, who="admin1"):
        s, doc = self.get(who, "/v1/recordings/" + self.ids[key], node)
        return s, doc

    def file_of(self, key):
        s, doc = self.rec(key)
        self.assertEqual(s, 200, doc)
        return os.path.join(self.rec_dir, doc["file"])

    def search(self, query="", who="admin1", node=None):
        s, doc = self.get(who, "/v1/recordings" + query, node)
        self.assertEqual(s, 200, doc)
        return [i["id"] for i in doc["items"]]

    def audit(self):
        rows, cursor = [], None
        while True:
            path = "/v1/audit?limit=500" + ("&cursor=" + cursor if cursor else "")
            s, doc = self.get("auditor1", path)
            self.assertEqual(s, 200, doc)
            rows += doc["items"]
            cursor = doc.get("next_cursor")
            if not cursor:
                return rows

    def decrypt(self, path):
        with open(self.c.master_key_file) as f:
            master = bytes.fromhex(f.read().strip())
        key = hmac.new(master, b"waihu/recording/v1", hashlib.sha256).hexdigest()
        key_file = os.path.join(self.tmp, "rec.key")
        with open(key_file, "w") as f:
            f.write(key)
        out = os.path.join(self.tmp, "decrypted.wav")
        r = subprocess.run([os.path.join(BUILD, "tools/waihu-recording/waihu-recording"),
                            "decrypt", "--key-file", key_file, path, out],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, "rb") as f:
            return f.read()

    # ---- tests ----

    def test_1_catalogue_on_every_node(self):
        for key in "ABCDE":
            path = self.file_of(key)
            with open(path, "rb") as f:
                data = f.read()
            for node in self.c.nodes:
                s, doc = wait_until(lambda: (lambda r: r if r[0] == 200 else None)(
                    self.rec(key, node)), 10, "recording %s on %s" % (key, node.name))
                self.assertEqual(doc["bytes"], len(data), doc)
                self.assertEqual(doc["sha256"], hashlib.sha256(data).hexdigest(), doc)
                self.assertEqual(doc["holders"], [1], doc)
                self.assertFalse(doc["legal_hold"])
                self.assertGreater(doc["end_ms"], doc["start_ms"])
                self.assertGreater(doc["duration_ms"], 2000, doc)
        s, doc = self.rec("A")
        self.assertEqual((doc["agent"], doc["customer_id"]), ("agent1", self.cust["c1"]))
        self.assertEqual(self.rec("B")[1]["agent"], "agent2")

    def test_2_search(self):
        all_ids = self.search()
        self.assertEqual(set(all_ids), set(self.ids.values()))
        starts = [self.rec(k)[1]["start_ms"] for k in "ABCED"]
        by_id = dict(zip([self.ids[k] for k in "ABCED"], starts))
        self.assertEqual(all_ids, sorted(all_ids, key=lambda i: (by_id[i], i), reverse=True))
        self.assertEqual(self.search("?customer_id=" + self.cust["c1"]), [self.ids["A"]])
        self.assertEqual(set(self.search("?agent=agent2")), {self.ids["B"], self.ids["E"]})
        self.assertEqual(self.search("?disposition=sale"), [self.ids["A"]])
        self.assertEqual(self.search("?campaign_id=999"), [])
        self.assertEqual(self.search("?keyword=refund"), [])  # no speech analysis yet
        self.assertEqual(self.search("?min_duration_ms=3600000"), [])
        self.assertEqual(set(self.search("?min_duration_ms=1000&max_duration_ms=3600000")),
                         set(all_ids))
        a = self.rec("A")[1]["start_ms"]
        self.assertEqual(self.search("?from=%d&to=%d" % (a, a + 1)), [self.ids["A"]])
        # Pages of one, cursor to cursor, give the whole list once.
        seen, cursor = [], None
        while True:
            s, doc = self.get("admin1", "/v1/recordings?limit=1" +
                              ("&cursor=" + cursor if cursor else ""))
            self.assertEqual(s, 200, doc)
            seen += [i["id"] for i in doc["items"]]
            cursor = doc["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(seen, all_ids)
        # The same answers on another node.
        self.assertEqual(self.search("?agent=agent2", node=self.n3),
                         self.search("?agent=agent2"))

    def test_3_roles(self):
        mine = set(self.search(who="agent1"))
        self.assertEqual(mine, {self.ids[k] for k in "ACD"})
        self.assertEqual(self.search("?agent=agent2", who="agent1"), [])
        s, doc = self.rec("B", who="agent1")
        self.assertEqual(s, 404, doc)
        s, _, body = raw_get(self.n1, "/v1/recordings/%s/audio" % self.ids["B"],
                             self.api["agent1"].token)
        self.assertEqual(s, 404, body)
        self.assertEqual(self.search(who="admin2"), [])  # another tenant
        s, doc = self.rec("A", who="admin2")
        self.assertEqual(s, 404, doc)
        self.assertEqual(len(self.search(who="super1")), 5)
        self.assertEqual(len(self.search(who="auditor1")), 5)
        s, doc = Api(self.n1, self.api["agent1"].token).call(
            "PUT", "/v1/recordings/%s/hold" % self.ids["A"], {"hold": True})
        self.assertEqual(s, 403, doc)
        s, doc = Api(self.n1, self.api["super1"].token).call(
            "PUT", "/v1/recordings/retention", {"days": 365})
        self.assertEqual(s, 403, doc)

    def test_4_audio_and_ranges(self):
        path = self.file_of("E")
        wav = self.decrypt(path)
        self.assertEqual(wav[:4], b"RIFF")
        s, h, body = raw_get(self.n1, "/v1/recordings/%s/audio" % self.ids["E"],
                             self.api["auditor1"].token)
        self.assertEqual(s, 200, body[:200])
        self.assertEqual(h["content-type"], "audio/wav")
        self.assertEqual(h.get("accept-ranges"), "bytes")
        self.assertEqual(body, wav)
        print("\nrecording E: %d encrypted bytes, %d WAV bytes" % (os.path.getsize(path),
                                                                   len(wav)), end="")
        size = len(wav)
        for rng, first, last in (("bytes=0-99", 0, 99), ("bytes=100-", 100, size - 1),
                                 ("bytes=-50", size - 50, size - 1),
                                 ("bytes=40-%d" % (size + 1000), 40, size - 1)):
            s, h, body = raw_get(self.n1, "/v1/recordings/%s/audio" % self.ids["E"],
                                 self.api["agent2"].token, {"Range": rng})
            self.assertEqual(s, 206, (rng, body[:200]))
            self.assertEqual(h["content-range"], "bytes %d-%d/%d" % (first, last, size), rng)
            self.assertEqual(body, wav[first:last + 1], rng)
        s, h, body = raw_get(self.n1, "/v1/recordings/%s/audio" % self.ids["E"],
                             self.api["agent2"].token, {"Range": "bytes=%d-" % size})
        self.assertEqual(s, 416, body)
        self.assertEqual(h["content-range"], "bytes */%d" % size)
        # Another node has the catalogue but not the file: it names the holder.
        s, h, body = raw_get(self.n2, "/v1/recordings/%s/audio" % self.ids["E"],
                             self.api["admin1"].token)
        err = json.loads(body)["error"]
        self.assertEqual((s, err["code"], err["node"], err["api_address"]),
                         (409, "held_elsewhere", 1, self.n1.api_address), err)
        # Every playback was audited before it was answered.
        plays = [(r["user"], r["detail"]) for r in self.audit()
                 if r["action"] == "recording.play" and r["object"] == "recording/" + self.ids["E"]]
        self.assertIn(("auditor1", "whole/%d" % size), plays)
        self.assertIn(("agent2", "bytes=0-99/%d" % size), plays)
        self.assertIn(("agent2", "unsatisfiable/%d" % size), plays)

    def test_5_tampered_and_truncated_files_are_never_played(self):
        c, d = self.file_of("C"), self.file_of("D")
        with open(c, "r+b") as f:  # one bit inside the second chunk's ciphertext
            f.seek(32 + 8 + 32000 + 16 + 8 + 1234)
            b = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([b[0] ^ 0x01]))
        with open(d, "r+b") as f:  # cut inside the second chunk
            f.truncate(32 + 8 + 32000 + 16 + 8 + 5000)
        for key, why in (("C", "authentication failed"), ("D", "truncated")):
            for rng in (None, "bytes=0-43"):
                s, h, body = raw_get(self.n1, "/v1/recordings/%s/audio" % self.ids[key],
                                     self.api["admin1"].token, {"Range": rng} if rng else {})
                self.assertEqual(s, 422, (key, body[:200]))
                self.assertNotIn(b"RIFF", body)
                err = json.loads(body)["error"]
                self.assertEqual(err["code"], "integrity_failed")
                self.assertIn("recording failed its integrity check", err["message"])
                self.assertIn(why, err["message"])
        refused = [r for r in self.audit() if r["action"] == "recording.play" and
                   r["object"] == "recording/" + self.ids["C"]]
        self.assertTrue(refused and refused[-1]["detail"].startswith("refused:"), refused)

    def test_6_bad_parameters(self):
        for query, status, field in (("?limit=0", 400, "limit"), ("?limit=201", 400, "limit"),
                                     ("?limit=abc", 400, "limit"), ("?from=x", 400, "from"),
                                     ("?from=10&to=5", 422, "from"),
                                     ("?min_duration_ms=9&max_duration_ms=1", 422,
                                      "min_duration_ms"),
                                     ("?customer_id=-1", 400, "customer_id"),
                                     ("?cursor=garbage", 400, "cursor"),
                                     ("?colour=red", 400, "colour"),
                                     ("?max_duration_ms=99999999999", 400, "max_duration_ms")):
            s, doc = self.get("admin1", "/v1/recordings" + query)
            self.assertEqual(s, status, (query, doc))
            self.assertEqual(doc["error"]["field"], field, query)
            self.assertTrue(doc["error"]["message"], query)
        s, doc = self.get("admin1", "/v1/recordings/not-an-id")
        self.assertEqual(s, 400, doc)
        s, doc = self.get("admin1", "/v1/recordings/1-424242")
        self.assertEqual(s, 404, doc)
        admin = self.api["admin1"]
        for body, status in (({"hold": "yes"}, 400), ({}, 400), ({"hold": True, "x": 1}, 400)):
            s, doc = admin.call("PUT", "/v1/recordings/%s/hold" % self.ids["A"], body)
            self.assertEqual(s, status, (body, doc))
        for body, status in (({"days": 30}, 422), ({"days": "x"}, 400), ({"days": 10 ** 9}, 422)):
            s, doc = admin.call("PUT", "/v1/recordings/retention", body)
            self.assertEqual(s, status, (body, doc))

    def test_7_erasure_removes_the_customers_recordings(self):
        b = self.file_of("B")
        self.assertTrue(os.path.exists(b))
        s, doc = self.api["admin1"].call("DELETE", "/v1/customers/" + self.cust["c2"])
        self.assertEqual(s, 200, doc)
        for node in self.c.nodes:
            wait_until(lambda: self.rec("B", node)[0] == 404, 10,
                       "B's catalogue row deleted on %s" % node.name)
        wait_until(lambda: not os.path.exists(b), 10, "B's file removed from n1")
        # The deletion is audited with the erasure; the node's removal of its file after.
        removed = ("(node 1)", "recording.file_removed", "recording/" + self.ids["B"])
        rows = wait_until(lambda: (lambda rows: rows if removed in rows else None)(
            [(r["user"], r["action"], r["object"]) for r in self.audit()]), 10, str(removed))
        self.assertIn(("admin1", "recording.delete", "recording/" + self.ids["B"]), rows)

    def test_8_retention_with_the_clock_moved_forward(self):
        admin = self.api["admin1"]
        s, doc = admin.call("GET", "/v1/recordings/retention")
        self.assertEqual((s, doc["days"]), (200, 180), doc)
        s, doc = admin.call("PUT", "/v1/recordings/retention", {"days": 180})
        self.assertEqual(s, 200, doc)
        s, doc = admin.call("PUT", "/v1/recordings/%s/hold" % self.ids["A"], {"hold": True})
        self.assertEqual(s, 200, doc)
        self.assertTrue(doc["legal_hold"])
        for node in self.c.nodes:
            wait_until(lambda: self.rec("A", node)[1].get("legal_hold"), 10,
                       "the hold on %s" % node.name)
        files = {k: self.file_of(k) for k in "ACDE"}
        self.assertEqual(len(self.search()), 4)  # nothing is due yet
        # The leader's clock decides: n2 leads, then its clock (and n3's) moves 181 days on.
        leader = wait_until(self.c.leader, 10, "a leader")
        if leader.id != 2:
            s, doc = Api(leader, self.c.token).call("POST", "/v1/leader/transfer", {"to": 2})
            self.assertEqual(s, 200, doc)
        wait_until(lambda: (self.c.leader() or self.n1).id == 2, 10, "n2 leading")
        self.set_clock(181)
        due = [k for k in "CDE"]
        for node in self.c.nodes:
            wait_until(lambda: all(self.rec_status(k, node) == 404 for k in due), 60,
                       "expired recordings deleted on %s" % node.name)
            s, doc = self.rec_fresh("A", node)
            self.assertEqual(s, 200, doc)  # held: kept
        for k in due:
            wait_until(lambda: not os.path.exists(files[k]), 10, "%s's file removed" % k)
        self.assertTrue(os.path.exists(files["A"]))
        self.assertEqual(self.search(who="admin1"), [self.ids["A"]])
        want = {("(node 1)", "recording.file_removed", "recording/" + self.ids[k]) for k in due}
        rows = wait_until(lambda: (lambda rows: rows if want <= set(rows) else None)(
            [(r["user"], r["action"], r["object"]) for r in self.audit()]), 10,
            "file removals audited")
        for k in due:
            self.assertIn(("(retention)", "recording.delete", "recording/" + self.ids[k]), rows)
        self.assertNotIn(("(retention)", "recording.delete", "recording/" + self.ids["A"]), rows)
        # The telephony node's clock jumped too: it still places, bridges and records calls.
        self.assertIsNone(self.n1.proc.poll(), "n1 died when its clock jumped")
        type(self).login_all(via=self.n2)
        after = self.place("agent1", number=NUMBERS[2])
        cdr = wait_until(lambda: self.cdrs().get(after), 60, "a call after the clock jump")
        self.assertEqual((cdr["result"], cdr["recorded"]), ("answered", True), cdr)

    # Tokens are valid 12 hours by the clock of the node that checks them: once n2's clock
    # moved, the old ones are expired there; new ones, issued by n2, are valid everywhere.
    def rec_status(self, key, node):
        return self.rec_fresh(key, node)[0]

    def rec_fresh(self, key, node):
        s, doc = self.rec(key, node)
        if s == 401:
            type(self).login_all(via=self.n2)
            s, doc = self.rec(key, node)
        return s, doc


if __name__ == "__main__":
    unittest.main(verbosity=2)

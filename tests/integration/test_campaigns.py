#!/usr/bin/env python3
"""Campaigns dialed by the cluster (docs/campaigns.md): 3 nodes, n1 with telephony routed
to waihu-carrier (ground truth: its log of INVITEs and call ends) and waihu-agents as the
agents' softphones. Progressive and predictive campaigns run end to end: the carrier sees
no do-not-call number, no number twice at once, no number more often than the campaign
allows, and one call record per call it saw; a closed calling window dials nothing and
says why; a pause stops new INVITEs and a resume finishes the leads."""
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "localcluster"))
from localcluster import Api, Cluster  # noqa: E402
from sipkit import Procs  # noqa: E402
from sipkit import wait_until as _wait_until  # noqa: E402

PORT_BASE = 3100  # raft 10101-3, api 11101-3, forward 12101-3
SIP_PORT = 24060
RTP = "24100-24499"
CARRIER_PORT = 24700
CARRIER_RTP = "24800-24999"
AGENTS_PORT = 24080
AGENTS_RTP = "25000-25299"
SIP_PORT_2 = 24062          # n2 dials too, for its own agents (agentb1..3)
RTP_2 = "25400-25799"
AGENTS_PORT_2 = 24082
AGENTS_RTP_2 = "25800-25999"
BUILD = os.path.join(ROOT, os.environ.get("WAIHU_CAMPAIGN_BUILD", "build"))
SLOW = float(os.environ.get("WAIHU_SLOW", "1"))
PASSWORD = "agent-password-"  # agents' passwords are this + their number
N_AGENTS = 3
TRUNK_CHANNELS = 2  # n1's trunk
COLLAPSE = ["+861380005%04d" % i for i in range(8)]  # an answer rate of 0%
RINGING = ["+861380007%04d" % i for i in range(3)]   # ring 6 s, holding n1's 2 channels
PAUSE_LAG_S = 1.0  # an attempt committed just before the pause may still leave this late


def wait_until(pred, timeout, what):
    return _wait_until(pred, timeout, what, SLOW)


def tone_wav(seconds, rate=8000, channels=1, hz=440):
    """A WAV image of a tone (the prompt the carrier hears)."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        n = int(seconds * rate)
        frame = b"".join(int(8000 * math.sin(2 * math.pi * hz * i / rate)).to_bytes(
            2, "little", signed=True) * channels for i in range(n))
        w.writeframes(frame)
    return buf.getvalue()


def put_raw(node, token, path, body):
    req = urllib.request.Request("http://%s%s" % (node.api_address, path), data=body,
                                 method="PUT", headers={"Authorization": "Bearer " + token,
                                                        "Content-Type": "audio/wav"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def carrier_log(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


class CampaignTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="waihu-campaign-")
        cls.procs = Procs(cls.tmp)
        cls.c = Cluster(os.path.join(cls.tmp, "cluster"), 3, port_base=PORT_BASE)
        # n1's trunk has 2 channels for its 3 agents: the dialer must wait for a free one.
        trunks = os.path.join(cls.tmp, "trunks.json")
        with open(trunks, "w") as f:
            json.dump({"trunks": [{"name": "carrier", "target": "127.0.0.1:%d" % CARRIER_PORT,
                                   "channels": TRUNK_CHANNELS, "cps": 10,
                                   "caller_ids": ["+861012345678"]}]}, f)
        cls.c.nodes[0].extra_args = [
            "--sip-bind", "127.0.0.1:%d" % SIP_PORT, "--rtp-ports", RTP,
            "--trunks-file", trunks, "--rtp-timeout-ms", "4000"]
        cls.c.nodes[1].extra_args = [
            "--sip-bind", "127.0.0.1:%d" % SIP_PORT_2, "--rtp-ports", RTP_2,
            "--trunk", "127.0.0.1:%d" % CARRIER_PORT, "--rtp-timeout-ms", "4000"]
        cls.c.create()
        cls.addClassCleanup(cls.cleanup)
        cls.c.start()
        leader = cls.c.wait_ready(timeout=60)
        cls.n1, cls.n2 = cls.c.nodes[0], cls.c.nodes[1]
        # The dialing nodes are followers: their commands are forwarded, and what they read
        # back right after a result must already be applied there.
        if leader is not cls.c.nodes[2]:
            s, doc = leader.request("POST", "/v1/leader/transfer", {"to": 3},
                                    {"Authorization": "Bearer " + cls.c.token}, timeout=15)
            assert s == 200, doc
            leader = cls.c.wait_ready(timeout=60)
        assert leader is cls.c.nodes[2]
        boot = Api(cls.n1, cls.c.token)
        assert boot.call("POST", "/v1/tenants", {"id": 1, "name": "t1",
                                                 "default_country": "CN"})[0] == 201
        cls.api = {}
        users = [("admin1", "admin", "admin-password-1234")] + [
            (prefix + str(i), "agent", PASSWORD + str(i)) for i in range(1, N_AGENTS + 1)
            for prefix in ("agent", "agentb")]
        for name, role, password in users:
            s, doc = boot.call("POST", "/v1/users", {"username": name, "password": password,
                                                     "role": role, "tenant_id": 1})
            assert s == 201, doc
            s, doc = leader.request("POST", "/v1/auth/login",
                                    {"username": name, "password": password})
            assert s == 200, doc
            cls.api[name] = Api(cls.n1, doc["token"])
        cls.admin = cls.api["admin1"]
        cls.carrier_log = os.path.join(cls.tmp, "carrier.jsonl")
        rules = os.path.join(cls.tmp, "rules.json")
        with open(rules, "w") as f:
            numbers = {n: {"outcome": "no-answer", "ring_ms": 300} for n in COLLAPSE}
            numbers.update({n: {"outcome": "no-answer", "ring_ms": 6000} for n in RINGING})
            json.dump({"numbers": numbers,  # nobody answers these
                       "stats": {"answer": 0.6, "busy": 0.2, "no-answer": 0.2},
                       "ring_ms": {"dist": "uniform", "min_ms": 200, "max_ms": 1200},
                       "talk_ms": {"dist": "uniform", "min_ms": 1500, "max_ms": 3000}}, f)
        cls.procs.start("carrier", [os.path.join(BUILD, "tools/waihu-carrier/waihu-carrier"),
                         "--listen", "127.0.0.1:%d" % CARRIER_PORT, "--rules", rules,
                         "--log", cls.carrier_log, "--rtp-ports", CARRIER_RTP, "--seed", "7"])
        cls.procs.start("agents", [os.path.join(BUILD, "tools/waihu-agents/waihu-agents"),
                         "--registrar", "127.0.0.1:%d" % SIP_PORT,
                         "--listen", "127.0.0.1:%d" % AGENTS_PORT, "--count", str(N_AGENTS),
                         "--password-prefix", PASSWORD, "--talk-ms", "800-1500",
                         "--rtp-ports", AGENTS_RTP, "--log", os.path.join(cls.tmp, "agents.jsonl")])
        cls.procs.start("agents-b", [os.path.join(BUILD, "tools/waihu-agents/waihu-agents"),
                         "--registrar", "127.0.0.1:%d" % SIP_PORT_2,
                         "--listen", "127.0.0.1:%d" % AGENTS_PORT_2, "--count", str(N_AGENTS),
                         "--user-prefix", "agentb", "--password-prefix", PASSWORD,
                         "--talk-ms", "800-1500", "--rtp-ports", AGENTS_RTP_2,
                         "--log", os.path.join(cls.tmp, "agents-b.jsonl")])
        wait_until(lambda: all('"agent agent%d registered' % i in cls.n1_log()
                               for i in range(1, N_AGENTS + 1)), 20,
                   "every simulated agent registered on n1")
        wait_until(lambda: all('"agent agentb%d registered' % i in cls.log_of(cls.n2)
                               for i in range(1, N_AGENTS + 1)), 20,
                   "the second team registered on n2")
        # Agents take calls once ready (docs/seat-api.md), as at the start of a shift.
        for name in ["agent%d" % i for i in range(1, N_AGENTS + 1)] + \
                ["agentb%d" % i for i in range(1, N_AGENTS + 1)]:
            wait_until(lambda: cls.admin.call("GET", "/v1/agents/" + name)[1].get("registered"),
                       20, "%s registered, as n1 sees it" % name)
            s, doc = cls.admin.call("POST", "/v1/agents/%s/state" % name, {"state": "ready"})
            assert s == 200, doc

    @classmethod
    def cleanup(cls):
        cls.procs.stop_all()
        cls.c.stop()
        if not os.environ.get("WAIHU_KEEP_LOGS"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def log_of(cls, node):
        with open(node.log, errors="replace") as f:
            return f.read()

    @classmethod
    def n1_log(cls):
        return cls.log_of(cls.n1)

    def customers(self, tag, numbers):
        ids = {}
        for i, number in enumerate(numbers):
            s, doc = self.admin.call("POST", "/v1/customers", {"name": "C%d" % i, "phone": number,
                                                               "tags": [tag]})
            self.assertEqual(s, 201, doc)
            ids[number] = doc["id"]
        return ids

    def campaign(self, body, status=201):
        s, doc = self.admin.call("POST", "/v1/campaigns", body)
        self.assertEqual(s, status, doc)
        return doc

    def progress(self, cid, node=None):
        api = Api(node, self.admin.token) if node else self.admin
        s, doc = api.call("GET", "/v1/campaigns/" + cid)
        self.assertEqual(s, 200, doc)
        return doc

    def finished(self, cid, total):
        s, doc = self.admin.call("GET", "/v1/campaigns/" + cid)
        if s == 503:  # a node just died: no leader for a moment
            return False
        self.assertEqual(s, 200, doc)
        return doc["progress"]["leads"]["done"] == total

    def check_carrier(self, numbers, max_attempts):
        """The carrier's view: numbers dialed within limits, never two calls at once."""
        log = carrier_log(self.carrier_log)
        invites = [e for e in log if e["ev"] == "invite" and e["number"].lstrip("+") in numbers]
        ends = {e["call_id"]: e["ts_ms"] for e in log if e["ev"] == "end"}
        by_number = {}
        for e in invites:
            by_number.setdefault(e["number"].lstrip("+"), []).append(
                (e["ts_ms"], ends.get(e["call_id"], 1 << 62)))
        for number, calls in by_number.items():
            self.assertLessEqual(len(calls), max_attempts, number)
            calls.sort()
            for (s1, e1), (s2, _) in zip(calls, calls[1:]):
                self.assertGreaterEqual(s2, e1, "number %s dialed twice at once" % number)
        return invites

    def max_concurrent(self, numbers):
        """Most calls to these numbers the carrier had up at once."""
        log = carrier_log(self.carrier_log)
        mine = {e["call_id"] for e in log if e["ev"] == "invite" and
                e["number"].lstrip("+") in numbers}
        edges = sorted((e["ts_ms"], 1 if e["ev"] == "invite" else -1) for e in log
                       if e.get("call_id") in mine and e["ev"] in ("invite", "end"))
        up = most = 0
        for _, d in edges:  # an end sorts before an invite of the same millisecond
            up += d
            most = max(most, up)
        return most

    def calls_of(self, cid):
        s, doc = self.admin.call("GET", "/v1/calls?limit=200")
        self.assertEqual(s, 200, doc)
        return [c for c in doc["items"] if c.get("campaign_id") == cid]

    def test_progressive_campaign_dials_every_lead_within_the_rules(self):
        numbers = ["+861380000%04d" % i for i in range(12)]
        dnc = numbers[5]
        self.customers("prog", numbers)
        s, doc = self.admin.call("POST", "/v1/dnc", {"number": dnc})
        self.assertIn(s, (200, 201), doc)
        camp = self.campaign({"name": "progressive", "mode": "progressive",
                              "filter": "tag:prog", "agents": ["agent1", "agent2", "agent3"],
                              "window": {"start": "00:00", "end": "24:00"},
                              "max_attempts": 2, "retry_after_s": 1, "wrap_s": 0})
        self.assertEqual(camp["leads"], len(numbers))
        cid = camp["id"]
        wait_until(lambda: self.finished(cid, len(numbers)), 120, "every lead done")
        digits = {n.lstrip("+") for n in numbers}
        invites = self.check_carrier(digits, 2)
        self.assertNotIn(dnc.lstrip("+"), {e["number"].lstrip("+") for e in invites})
        self.assertEqual({e["number"].lstrip("+") for e in invites}, digits - {dnc.lstrip("+")})
        # One call record per call the carrier saw, replicated (read through n2).
        wait_until(lambda: len(self.calls_of(cid)) == len(invites), 20, "a CDR per call")
        results = [c["result"] for c in self.calls_of(cid)]
        self.assertIn("answered", results)
        # Three agents, two trunk channels: never more than two calls, and no lead spent
        # on a dial the trunk could not take.
        self.assertLessEqual(self.max_concurrent(digits), TRUNK_CHANNELS)
        self.assertNotIn("carrier-failure", results)
        self.assertNotIn("abandoned", results)  # progressive never abandons
        p = self.progress(cid, self.n2)["progress"]
        self.assertEqual(p["calls"]["attempts"], len(invites))
        self.assertEqual(p["calls"]["abandoned"], 0)

    def test_closed_window_dials_nothing_and_says_why(self):
        numbers = ["+861380001%04d" % i for i in range(3)]
        self.customers("closed", numbers)
        # 14:00-15:00 in a zone where it is now outside that hour.
        now_utc = time.gmtime().tm_hour
        zone = "Asia/Tokyo" if (now_utc + 9) % 24 != 14 else "Europe/London"
        camp = self.campaign({"name": "closed", "mode": "progressive", "filter": "tag:closed",
                              "agents": ["agent1"], "timezone": zone,
                              "window": {"start": "14:00", "end": "15:00"}})
        cid = camp["id"]

        def idle_reason():
            nodes = self.progress(cid)["progress"]["nodes"]
            return [n["idle_reason"] for n in nodes]
        wait_until(lambda: any("calling window" in r for r in idle_reason()), 20,
                   "the campaign says it is outside the calling window")
        digits = {n.lstrip("+") for n in numbers}
        self.assertEqual(self.check_carrier(digits, 0), [])
        s, doc = self.admin.call("POST", "/v1/campaigns/%s/pause" % cid)
        self.assertEqual(s, 200, doc)

    def test_pause_stops_new_invites_and_resume_finishes(self):
        numbers = ["+861380002%04d" % i for i in range(24)]
        self.customers("pause", numbers)
        digits = {n.lstrip("+") for n in numbers}
        camp = self.campaign({"name": "pausing", "mode": "predictive", "filter": "tag:pause",
                              "agents": ["agent1", "agent2", "agent3"],
                              "window": {"start": "00:00", "end": "24:00"},
                              "max_attempts": 1, "wrap_s": 0})
        cid = camp["id"]
        wait_until(lambda: len(self.check_carrier(digits, 1)) >= 3, 60, "a few calls placed")
        s, doc = self.admin.call("POST", "/v1/campaigns/%s/pause" % cid)
        self.assertEqual(s, 200, doc)
        acked_ms = time.time() * 1000
        wait_until(lambda: self.progress(cid)["progress"]["leads"]["dialing"] == 0, 60,
                   "calls in progress at the pause ended")
        late = [e for e in self.check_carrier(digits, 1)
                if e["ts_ms"] > acked_ms + PAUSE_LAG_S * 1000]
        self.assertEqual(late, [], "INVITEs after the pause was acknowledged")
        before = len(self.check_carrier(digits, 1))
        self.assertLess(before, len(numbers))
        s, doc = self.admin.call("POST", "/v1/campaigns/%s/resume" % cid)
        self.assertEqual(s, 200, doc)
        wait_until(lambda: self.finished(cid, len(numbers)), 120, "every lead done after resume")
        self.assertEqual(len(self.check_carrier(digits, 1)), len(numbers))
        # Predictive, yet never over the cap: the dialer's guard holds back overdialing
        # until enough live answers make room for an abandon.
        calls = self.progress(cid)["progress"]["calls"]
        self.assertLessEqual(calls["abandon_rate"], 0.03, calls)

    def test_dialing_node_killed_loses_no_lead_and_double_dials_none(self):
        numbers = ["+861380003%04d" % i for i in range(30)]
        self.customers("kill", numbers)
        digits = {n.lstrip("+") for n in numbers}
        agents = ["agent%d" % i for i in range(1, N_AGENTS + 1)] + \
                 ["agentb%d" % i for i in range(1, N_AGENTS + 1)]
        camp = self.campaign({"name": "two nodes", "mode": "progressive", "filter": "tag:kill",
                              "agents": agents, "window": {"start": "00:00", "end": "24:00"},
                              "max_attempts": 2, "retry_after_s": 1, "wrap_s": 0})
        cid = camp["id"]

        def n2_attempts():
            nodes = self.progress(cid)["progress"]["nodes"]
            return sum(n["attempts"] for n in nodes if n["node"] == "2")
        wait_until(lambda: n2_attempts() >= 2, 60, "n2 dialing the campaign too")
        self.c.nodes[1].kill()  # SIGKILL: its leases are left to expire
        try:
            # Leads n2 held are taken over by n1 once their leases (and the drift margin)
            # ran out on the leader's clock; nothing is lost.
            wait_until(lambda: self.finished(cid, len(numbers)), 240,
                       "every lead done after n2 died")
            invites = self.check_carrier(digits, 2)  # never two calls to a number at once
            self.assertEqual({e["number"].lstrip("+") for e in invites}, digits)
            self.assertIn("leads whose holder's lease expired", self.n1_log())
        finally:
            self.c.nodes[1].start()
            self.c.wait_ready(timeout=60)

    def test_ivr_broadcast_plays_the_prompt_to_each_lead(self):
        token = self.admin.token
        s, doc = put_raw(self.n1, token, "/v1/prompts/promo", tone_wav(0.5, rate=44100))
        self.assertEqual((s, doc["error"]["field"]), (400, "body"), doc)
        self.assertIn("8000 Hz", doc["error"]["message"])
        s, doc = put_raw(self.n1, token, "/v1/prompts/Bad.Name", tone_wav(0.5))
        self.assertEqual(s, 400, doc)
        # Longer than one command (4 s = 64 KB): stored in chunks, then named.
        s, doc = put_raw(self.n1, token, "/v1/prompts/long", tone_wav(4.0))
        self.assertEqual((s, doc.get("duration_ms")), (201, 4000), doc)
        # Shorter than the carrier's shortest talk (1.5 s), so it is heard to its end.
        s, doc = put_raw(self.n1, token, "/v1/prompts/promo", tone_wav(0.8))
        self.assertEqual(s, 201, doc)
        s, doc = self.api["agent1"].call("GET", "/v1/prompts")
        self.assertEqual(sorted(p["name"] for p in doc["items"]), ["long", "promo"])
        numbers = ["+861380004%04d" % i for i in range(4)]
        self.customers("ivr", numbers)
        doc = self.campaign({"name": "bad ivr", "mode": "ivr", "filter": "tag:ivr", "agents": [],
                             "ivr": {"prompt": "nosuch"}}, status=400)
        self.assertEqual(doc["error"]["field"], "ivr")
        doc = self.campaign({"name": "bad ivr", "mode": "ivr", "filter": "tag:ivr", "agents": [],
                             "ivr": {"prompt": "promo", "transfer_digit": "1"}}, status=400)
        self.assertEqual(doc["error"]["field"], "agents")  # a transfer needs agents
        camp = self.campaign({"name": "broadcast", "mode": "ivr", "filter": "tag:ivr",
                              "agents": [], "ivr": {"prompt": "promo"},
                              "window": {"start": "00:00", "end": "24:00"}, "max_attempts": 1})
        self.assertEqual(camp["ivr"], {"prompt": "promo", "transfer_digit": "",
                                       "on_machine": False})
        cid = camp["id"]
        wait_until(lambda: self.finished(cid, len(numbers)), 90, "every lead of the broadcast")
        digits = {n.lstrip("+") for n in numbers}
        invites = self.check_carrier(digits, 1)
        self.assertEqual({e["number"].lstrip("+") for e in invites}, digits)
        wait_until(lambda: len(self.calls_of(cid)) == len(invites), 20, "a CDR per call")
        calls = self.calls_of(cid)
        played = [c for c in calls if c["result"] == "played"]
        self.assertTrue(played, calls)  # 60% answer: at least one in practice
        for c in played:
            self.assertEqual((c["ivr"]["prompt"], c["agent"]), ("complete", ""), c)
            self.assertGreaterEqual(c["duration_ms"], 800, c)
        # Any campaign may name the message a live answer hears when no agent is free.
        doc = self.campaign({"name": "sorry", "mode": "predictive", "filter": "tag:ivr",
                             "agents": ["agent1"], "abandon_prompt": "nosuch"}, status=400)
        self.assertEqual(doc["error"]["field"], "abandon_prompt")
        doc = self.campaign({"name": "sorry", "mode": "predictive", "filter": "tag:ivr",
                             "agents": ["agent1"], "abandon_prompt": "promo", "start": False})
        self.assertEqual(doc["abandon_prompt"], "promo")
        # What the phone network heard: 0.8 s of voice (40 frames) on each answered call,
        # and then our hang-up.
        ends = [e for e in carrier_log(self.carrier_log) if e["ev"] == "end" and
                e["number"].lstrip("+") in digits and e["result"] == "answered"]
        self.assertEqual(len(ends), len(played))
        for e in ends:
            self.assertGreaterEqual(e["rx_voiced"], 38, e)
            self.assertEqual(e["hangup"], "caller", e)

    def idle_reasons(self, cid):
        return [n["idle_reason"] for n in self.progress(cid)["progress"]["nodes"]]

    def test_campaigns_that_cannot_dial_say_why_and_nothing_spins(self):
        # Agents who never log in: nobody is called, and each dialing node says why.
        numbers = ["+861380006%04d" % i for i in range(3)]
        self.customers("ghost", numbers)
        camp = self.campaign({"name": "ghosts", "mode": "progressive", "filter": "tag:ghost",
                              "agents": ["ghost1", "ghost2"],
                              "window": {"start": "00:00", "end": "24:00"}})
        wait_until(lambda: any("no agent of the campaign is registered and ready" in r
                               for r in self.idle_reasons(camp["id"])), 20,
                   "the campaign saying it has no agent")
        self.assertEqual(self.check_carrier({n.lstrip("+") for n in numbers}, 0), [])
        self.admin.call("POST", "/v1/campaigns/%s/pause" % camp["id"])
        # Leads without a usable number are finished at once, never dialed.
        for i in range(2):
            s, doc = self.admin.call("POST", "/v1/customers",
                                     {"name": "No phone %d" % i, "tags": ["nophone"]})
            self.assertEqual(s, 201, doc)
        camp = self.campaign({"name": "no numbers", "mode": "progressive",
                              "filter": "tag:nophone", "agents": ["agent1"],
                              "window": {"start": "00:00", "end": "24:00"}})
        wait_until(lambda: self.finished(camp["id"], 2), 30, "leads without numbers done")
        wait_until(lambda: any("every lead is done" in r for r in self.idle_reasons(camp["id"])),
                   20, "the campaign saying every lead is done")
        self.assertEqual(self.progress(camp["id"])["progress"]["calls"]["attempts"], 0)
        # An exhausted trunk: n1's two channels ring for 6 s; its third ready agent waits,
        # and the campaign says why instead of dialing into failures.
        self.customers("ringing", RINGING)
        camp = self.campaign({"name": "exhausted", "mode": "progressive", "filter": "tag:ringing",
                              "agents": ["agent1", "agent2", "agent3"],
                              "window": {"start": "00:00", "end": "24:00"}, "max_attempts": 1})
        wait_until(lambda: any("no trunk channel free" in r
                               for r in self.idle_reasons(camp["id"])), 10,
                   "the campaign saying the trunk is full")
        self.assertLessEqual(self.max_concurrent({n.lstrip("+") for n in RINGING}),
                             TRUNK_CHANNELS)
        wait_until(lambda: self.finished(camp["id"], len(RINGING)), 40, "ringing leads done")
        # The answer rate collapses to 0%: predictive dialing stays within the attempt
        # limits, finishes the leads and says so; nothing spins.
        self.customers("collapse", COLLAPSE)
        camp = self.campaign({"name": "collapse", "mode": "predictive", "filter": "tag:collapse",
                              "agents": ["agent1", "agent2", "agent3"],
                              "window": {"start": "00:00", "end": "24:00"},
                              "max_attempts": 2, "retry_after_s": 1, "wrap_s": 0})
        wait_until(lambda: self.finished(camp["id"], len(COLLAPSE)), 90, "collapsed leads done")
        invites = self.check_carrier({n.lstrip("+") for n in COLLAPSE}, 2)
        self.assertEqual(len(invites), 2 * len(COLLAPSE))
        calls = self.progress(camp["id"])["progress"]["calls"]
        self.assertEqual((calls["answered"], calls["abandoned"]), (0, 0), calls)
        wait_until(lambda: any("every lead is done" in r for r in self.idle_reasons(camp["id"])),
                   20, "the collapsed campaign saying every lead is done")

    def test_bad_campaigns_are_refused_with_reasons(self):
        for body, field in (({"name": "x", "mode": "robocall", "agents": ["agent1"]}, "mode"),
                            ({"name": "x", "mode": "progressive", "agents": []}, "agents"),
                            ({"name": "x", "mode": "progressive", "agents": ["agent1"],
                              "window": {"start": "21:00", "end": "09:00"}}, "window"),
                            ({"name": "x", "mode": "progressive", "agents": ["agent1"],
                              "abandon_cap": 0.2}, "abandon_cap"),
                            ({"name": "x", "mode": "progressive", "agents": ["agent1"],
                              "timezone": "Mars/Base"}, "timezone"),
                            ({"name": "x", "mode": "progressive", "agents": ["agent1"],
                              "colour": "red"}, "colour")):
            doc = self.campaign(body, 400)
            self.assertEqual(doc["error"]["field"], field, doc)
        doc = self.campaign({"name": "empty", "mode": "progressive", "agents": ["agent1"],
                             "filter": "tag:nobody_has_this"}, 422)
        self.assertEqual(doc["error"]["code"], "no_leads")
        s, doc = self.api["agent1"].call("POST", "/v1/campaigns",
                                         {"name": "x", "mode": "progressive",
                                          "agents": ["agent1"]})
        self.assertEqual(s, 403, doc)


if __name__ == "__main__":
    unittest.main(verbosity=2)

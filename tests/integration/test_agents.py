#!/usr/bin/env python3
"""Agents' live states (docs/seat-api.md) on a 3-node cluster: softphones (waihu-agents)
registering on n1 show up online on every node with the same leader-stamped time; agents
and supervisors change states within the rules and nonsense is refused with a reason; a
campaign call moves its agent through on_call and wrap_up, and the agent's disposition
ends the wrap-up; a second softphone for a registered agent, from another machine, is
refused on every node (docs/seat-api.md "Duplicate logins"); when the agents' node dies and
their softphones register on another node, they are back as ready there. The carrier is
waihu-carrier."""
import hashlib
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "localcluster"))
from localcluster import Api, Cluster  # noqa: E402
from sipkit import Procs  # noqa: E402
from sipkit import wait_until as _wait_until  # noqa: E402
from wsclient import Closed, WsClient  # noqa: E402

PORT_BASE = 3200  # raft 10201-3, api 11201-3, forward 12201-3
SIP_1, RTP_1 = 31060, "31100-31299"
SIP_2, RTP_2 = 31062, "31300-31499"
AGENTS_PORT, AGENTS_RTP = 31080, "31500-31599"
CARRIER_PORT, CARRIER_RTP = 31700, "31800-31999"
OTHER_HOST, OTHER_PORT = "127.0.0.2", 31088  # a second machine (127/8 is all loopback)
BUILD = os.path.join(ROOT, os.environ.get("WAIHU_AGENTS_BUILD", "build"))
SLOW = float(os.environ.get("WAIHU_SLOW", "1"))
PASSWORD = "agent-password-"


def wait_until(pred, timeout, what):
    return _wait_until(pred, timeout, what, SLOW)


class RawPhone:
    """A bare UDP softphone on a chosen address: digest REGISTERs whose status line the
    test reads (waihu-agents logs only the status code)."""

    def __init__(self, ip, port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((ip, port))
        self.ip, self.port, self.cseq = ip, port, 0

    def close(self):
        self.s.close()

    def _send(self, user, registrar, expires, auth, call_id):
        self.cseq += 1
        lines = ["REGISTER sip:127.0.0.1:%d SIP/2.0" % registrar,
                 "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%d;rport" % (self.ip, self.port,
                                                                   time.monotonic_ns()),
                 "Max-Forwards: 70", "From: <sip:%s@127.0.0.1>;tag=p%d" % (user, self.cseq),
                 "To: <sip:%s@127.0.0.1>" % user, "Call-ID: " + call_id,
                 "CSeq: %d REGISTER" % self.cseq]
        if expires is not None:  # None: a query (no Contact)
            lines += ["Contact: <sip:%s@%s:%d>" % (user, self.ip, self.port),
                      "Expires: %d" % expires]
        if auth:
            lines.append("Authorization: " + auth)
        self.s.sendto(("\r\n".join(lines + ["Content-Length: 0", "", ""])).encode(),
                      ("127.0.0.1", registrar))
        deadline = time.monotonic() + 3 * SLOW
        while time.monotonic() < deadline:
            self.s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.s.recv(65535).decode()
            except socket.timeout:
                break
            if not data.startswith("SIP/2.0 1") and "%d REGISTER" % self.cseq in data:
                return data
        raise AssertionError("no answer from 127.0.0.1:%d" % registrar)

    def register(self, user, password, registrar, expires=60):
        """(status, phrase, response) of a REGISTER after the digest challenge."""
        call_id = "raw%d@%s" % (time.monotonic_ns(), self.ip)
        r = self._send(user, registrar, expires, None, call_id)
        if r.startswith("SIP/2.0 401"):
            nonce = re.search(r'nonce="([^"]+)"', r).group(1)
            realm = re.search(r'realm="([^"]+)"', r).group(1)
            uri = "sip:127.0.0.1:%d" % registrar

            def md5(x):
                return hashlib.md5(x.encode()).hexdigest()
            resp = md5("%s:%s:00000001:c0ffee:auth:%s" % (
                md5("%s:%s:%s" % (user, realm, password)), nonce, md5("REGISTER:" + uri)))
            r = self._send(user, registrar, expires, 'Digest username="%s", realm="%s", '
                           'nonce="%s", uri="%s", response="%s", algorithm=MD5, qop=auth, '
                           'nc=00000001, cnonce="c0ffee"' % (user, realm, nonce, uri, resp),
                           call_id)
        status, phrase = r.split("\r\n", 1)[0].split(" ", 2)[1:]
        return int(status), phrase, r


class AgentsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="waihu-agents-")
        cls.procs = Procs(cls.tmp)
        cls.c = Cluster(os.path.join(cls.tmp, "cluster"), 3, port_base=PORT_BASE,
                        log_level=os.environ.get("WAIHU_LOG_LEVEL", "info"))
        for node, sip, rtp in ((cls.c.nodes[0], SIP_1, RTP_1), (cls.c.nodes[1], SIP_2, RTP_2)):
            node.extra_args = ["--sip-bind", "127.0.0.1:%d" % sip, "--rtp-ports", rtp,
                               "--trunk", "127.0.0.1:%d" % CARRIER_PORT,
                               "--rtp-timeout-ms", "4000"]
        cls.c.create()
        cls.addClassCleanup(cls.cleanup)
        cls.c.start()
        leader = cls.c.wait_ready(timeout=60)
        # n1, the agents' first home, is a follower: it is the one killed at the end.
        if leader is not cls.c.nodes[2]:
            s, doc = leader.request("POST", "/v1/leader/transfer", {"to": 3},
                                    {"Authorization": "Bearer " + cls.c.token}, timeout=15)
            assert s == 200, doc
            leader = cls.c.wait_ready(timeout=60)
        cls.n1, cls.n2, cls.n3 = cls.c.nodes
        boot = Api(cls.n3, cls.c.token)
        assert boot.call("POST", "/v1/tenants", {"id": 1, "name": "t1",
                                                 "default_country": "CN"})[0] == 201
        cls.api = {}
        users = [("admin1", "admin", "admin-password-1234"),
                 ("sup1", "supervisor", "super-password-1234"),
                 ("aud1", "auditor", "audit-password-1234")] + [
            ("agent%d" % i, "agent", PASSWORD + str(i)) for i in (1, 2, 3)]
        for name, role, password in users:
            s, doc = boot.call("POST", "/v1/users", {"username": name, "password": password,
                                                     "role": role, "tenant_id": 1})
            assert s == 201, doc
            s, doc = leader.request("POST", "/v1/auth/login",
                                    {"username": name, "password": password})
            assert s == 200, doc
            cls.api[name] = Api(cls.n2, doc["token"])
        cls.token = {name: api.token for name, api in cls.api.items()}
        cls.carrier_log = os.path.join(cls.tmp, "carrier.jsonl")
        rules = os.path.join(cls.tmp, "rules.json")
        with open(rules, "w") as f:
            json.dump({"stats": {"answer": 1.0},
                       "ring_ms": {"dist": "uniform", "min_ms": 200, "max_ms": 400},
                       "talk_ms": {"dist": "uniform", "min_ms": 2500, "max_ms": 3000}}, f)
        cls.procs.start("carrier", [os.path.join(BUILD, "tools/waihu-carrier/waihu-carrier"),
                         "--listen", "127.0.0.1:%d" % CARRIER_PORT, "--rules", rules,
                         "--log", cls.carrier_log, "--rtp-ports", CARRIER_RTP, "--seed", "3"])
        # agent1 and agent2 on n1, with n2 as their backup registrar (they ping the one in
        # use with OPTIONS every second and move when it stops answering); agent3 never
        # registers.
        cls.agents = cls.procs.start("agents", [
            os.path.join(BUILD, "tools/waihu-agents/waihu-agents"),
            "--registrar", "127.0.0.1:%d,127.0.0.1:%d" % (SIP_1, SIP_2),
            "--listen", "127.0.0.1:%d" % AGENTS_PORT,
            "--count", "2", "--password-prefix", PASSWORD, "--talk-ms", "60000-60000",
            "--rtp-ports", AGENTS_RTP, "--log", os.path.join(cls.tmp, "agents.jsonl")])

    @classmethod
    def cleanup(cls):
        cls.procs.stop_all()
        cls.c.stop()
        if not os.environ.get("WAIHU_KEEP_LOGS"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def on(self, node, user):
        return Api(node, self.token[user])

    def agent(self, name, node=None, user="admin1"):
        s, doc = self.on(node or self.n2, user).call("GET", "/v1/agents/" + name)
        self.assertEqual(s, 200, doc)
        return doc

    def set_state(self, name, state, user="admin1", reason=None, status=200):
        body = {"state": state}
        if reason is not None:
            body["reason"] = reason
        s, doc = self.api[user].call("POST", "/v1/agents/%s/state" % name, body)
        self.assertEqual(s, status, doc)
        return doc

    def wait_state(self, name, state, timeout=10, node=None):
        wait_until(lambda: self.agent(name, node)["state"] == state, timeout,
                   "%s %s" % (name, state))
        return self.agent(name, node)

    def test_a_registration_shows_online_on_every_node(self):
        for name in ("agent1", "agent2"):
            for node in (self.n1, self.n2, self.n3):  # each node's view, as it applied it
                self.wait_state(name, "online", node=node)
        seen = [self.agent("agent1", node) for node in (self.n1, self.n2, self.n3)]
        self.assertEqual({a["node"] for a in seen}, {"n1"})
        self.assertTrue(all(a["registered"] for a in seen))
        # The leader's stamp, the same on every node.
        self.assertEqual(len({a["since_ms"] for a in seen}), 1, seen)
        self.assertGreater(seen[0]["since_ms"], 0)
        a3 = self.agent("agent3")
        self.assertEqual((a3["state"], a3["registered"]), ("offline", False))
        s, doc = self.api["admin1"].call("GET", "/v1/agents")
        self.assertEqual(s, 200, doc)
        self.assertEqual(sorted(a["name"] for a in doc["agents"]),
                         ["agent1", "agent2", "agent3"])

    def test_b_state_changes_follow_the_rules(self):
        self.wait_state("agent2", "online")
        doc = self.set_state("agent2", "ready", user="agent2")
        self.assertEqual(doc["state"], "ready")
        # Nonsense is refused, with the reason.
        doc = self.set_state("agent2", "wrap_up", user="agent2", status=409)
        self.assertEqual(doc["error"]["code"], "invalid_transition")
        self.assertIn("needs a call", doc["error"]["message"])
        doc = self.set_state("agent3", "ready", status=409)
        self.assertIn("not registered", doc["error"]["message"])
        doc = self.set_state("agent2", "lunch", status=400)
        self.assertEqual(doc["error"]["field"], "state")
        # An agent changes only itself and sees only itself; the floor is not its page.
        self.set_state("agent1", "ready", user="agent2", status=404)
        s, doc = self.api["agent2"].call("GET", "/v1/agents")
        self.assertEqual([a["name"] for a in doc["agents"]], ["agent2"])
        self.assertEqual(self.api["agent2"].call("GET", "/v1/wallboard")[0], 403)
        self.assertEqual(self.api["aud1"].call("POST", "/v1/agents/agent2/state",
                                               {"state": "ready"})[0], 403)
        # A supervisor sends the agent on a break, with a reason; the wallboard counts it.
        before = self.agent("agent2")["since_ms"]
        doc = self.set_state("agent2", "break", user="sup1", reason="training")
        self.assertEqual((doc["state"], doc["reason"]), ("break", "training"))
        self.assertGreaterEqual(doc["since_ms"], before)
        s, board = self.api["aud1"].call("GET", "/v1/wallboard")
        self.assertEqual(s, 200, board)
        self.assertGreaterEqual(board["totals"]["by_state"]["break"], 1)
        # Every change by a user is in the audit log.
        s, audit = self.api["admin1"].call("GET", "/v1/audit?limit=100")
        self.assertEqual(s, 200, audit)
        rows = [r for r in audit["items"] if r["action"] == "agent.state"]
        self.assertTrue(any(r["user"] == "sup1" and "break" in r["detail"] for r in rows), rows)

    def test_b2_the_live_stream_pushes_changes_and_totals(self):
        self.wait_state("agent2", "online")
        ws = WsClient(self.n3.api_address)
        try:
            ws.send_json({"token": self.token["sup1"]})
            hello = ws.recv_json()
            self.assertEqual((hello["type"], hello["user"], hello["node"]),
                             ("hello", "sup1", "n3"))
            ws.wait_for(lambda d: d["type"] == "totals", timeout=3)
            # A change made on n1 reaches a subscriber of n3 as soon as n3 applied it.
            state = "break" if self.agent("agent2")["state"] != "break" else "ready"
            self.set_state("agent2", state, user="sup1", reason="coaching")
            doc = ws.wait_for(lambda d: d["type"] == "agent" and
                              d["agent"]["name"] == "agent2" and d["agent"]["state"] == state,
                              timeout=2)
            self.assertGreater(doc["agent"]["since_ms"], 0)
        finally:
            ws.close()
        # An agent hears only of itself, and gets no totals.
        ws = WsClient(self.n2.api_address)
        try:
            ws.send_json({"token": self.token["agent2"]})
            self.assertEqual(ws.recv_json()["role"], "agent")
            if self.agent("agent1")["state"] in ("online", "ready"):
                self.set_state("agent1", "break", user="admin1", reason="not yours to see")
            self.set_state("agent2", "online", user="agent2")
            doc = ws.wait_for(lambda d: d["type"] in ("agent", "totals"), timeout=3)
            self.assertEqual((doc["type"], doc["agent"]["name"]), ("agent", "agent2"))
        finally:
            ws.close()
        # Bad first messages close the stream with 1008 and a reason.
        for first in ('{"token": "wh_nope"}', "not json", '{"user": "sup1"}'):
            ws = WsClient(self.n1.api_address)
            try:
                ws.send_text(first)
                with self.assertRaises(Closed) as cm:
                    ws.recv()
                self.assertEqual(cm.exception.code, 1008)
            finally:
                ws.close()

    def test_c_a_call_moves_the_agent_and_the_disposition_ends_wrap_up(self):
        wait_until(lambda: self.agent("agent1")["registered"], 10, "agent1 registered")
        if self.agent("agent1")["state"] != "ready":
            self.set_state("agent1", "ready", user="agent1")
        before = self.agent("agent1")["stats"]
        s, cust = self.api["admin1"].call("POST", "/v1/customers", {
            "name": "Wang", "phone": "+8613800009999", "tags": ["seat"]})
        self.assertEqual(s, 201, cust)
        s, camp = self.api["admin1"].call("POST", "/v1/campaigns", {
            "name": "seat", "mode": "progressive", "filter": "tag:seat", "agents": ["agent1"],
            "window": {"start": "00:00", "end": "24:00"}, "max_attempts": 1, "wrap_s": 3600})
        self.assertEqual(s, 201, camp)
        talking = self.wait_state("agent1", "on_call", timeout=30)
        self.assertEqual(talking["campaign_id"], camp["id"])
        self.assertEqual(talking["customer_id"], cust["id"])
        call = talking["call_id"]
        # The carrier hangs up after 2.5-3 s: wrap-up, which lasts until the disposition.
        wrapping = self.wait_state("agent1", "wrap_up", timeout=20)
        self.assertEqual(wrapping["call_id"], call)
        self.assertEqual(wrapping["stats"]["connects"], before["connects"] + 1)
        self.assertGreaterEqual(wrapping["stats"]["talk_s"], 2)
        # Another agent cannot dispose of it; nonsense is refused.
        s, doc = self.api["agent2"].call("POST", "/v1/calls/%s/disposition" % call,
                                         {"disposition": "sale"})
        self.assertEqual(s, 404, doc)
        s, doc = self.api["agent1"].call("POST", "/v1/calls/%s/disposition" % call,
                                         {"disposition": "maybe"})
        self.assertEqual((s, doc["error"]["field"]), (400, "disposition"), doc)
        s, doc = self.api["agent1"].call("POST", "/v1/calls/%s/disposition" % call,
                                         {"disposition": "callback"})
        self.assertEqual((s, doc["error"]["field"]), (400, "callback_at_ms"), doc)
        s, doc = self.api["agent1"].call("POST", "/v1/calls/%s/disposition" % call,
                                         {"disposition": "sale", "notes": "wants the 2-year plan"})
        self.assertEqual(s, 200, doc)
        after = self.wait_state("agent1", "ready")
        self.assertEqual(after["stats"]["conversions"], before["conversions"] + 1)
        self.assertIsNone(after["call_id"])
        s, audit = self.api["admin1"].call("GET", "/v1/audit?limit=200")
        self.assertTrue(any(r["action"] == "call.disposition" and r["object"] == "call/" + call
                            for r in audit["items"]), audit)
        # The same story in the event log a CRM reads (screen pop: docs/crm-integration.md):
        # on_call names the call and the customer, then the call ends and is disposed of.
        events, after_seq = [], 0
        while True:
            s, page = self.api["admin1"].call("GET", "/v1/events?limit=1000&after=%d" % after_seq)
            self.assertEqual(s, 200, page)
            events += page["items"]
            if page["next_after"] == after_seq:
                break
            after_seq = page["next_after"]
        mine = [e for e in events if e["subject"] in ("agent/agent1", "call/" + call)]
        pop = [e for e in mine if e["type"] == "agent.state" and e["data"]["state"] == "on_call"
               and e["data"]["call"] == call]
        self.assertEqual(len(pop), 1, mine)
        self.assertEqual(pop[0]["data"]["customer_id"], int(cust["id"]))
        kinds = [e["type"] for e in mine if e["seq"] > pop[0]["seq"]]
        self.assertIn("call.ended", kinds)
        self.assertIn("call.disposition", kinds)
        self.assertLess(kinds.index("call.ended"), kinds.index("call.disposition"))

    def test_c2_a_callback_puts_the_lead_back_at_its_time(self):
        wait_until(lambda: self.agent("agent1")["registered"], 10, "agent1 registered")
        if self.agent("agent1")["state"] != "ready":
            self.set_state("agent1", "ready", user="agent1")
        phone = "+8613800008888"
        s, cust = self.api["admin1"].call("POST", "/v1/customers", {
            "name": "Call me later", "phone": phone, "tags": ["cb"]})
        self.assertEqual(s, 201, cust)
        s, camp = self.api["admin1"].call("POST", "/v1/campaigns", {
            "name": "callbacks", "mode": "progressive", "filter": "tag:cb", "agents": ["agent1"],
            "window": {"start": "00:00", "end": "24:00"}, "max_attempts": 1, "wrap_s": 3600})
        self.assertEqual(s, 201, camp)
        first = self.wait_state("agent1", "on_call", timeout=30)["call_id"]
        self.wait_state("agent1", "wrap_up", timeout=20)
        at = int(time.time() * 1000) + 3000
        s, doc = self.api["agent1"].call("POST", "/v1/calls/%s/disposition" % first,
                                         {"disposition": "callback", "callback_at_ms": at,
                                          "notes": "after 6 pm"})
        self.assertEqual(s, 200, doc)
        # Called again at the time asked, though the campaign allows one attempt.
        again = self.wait_state("agent1", "on_call", timeout=30)
        self.assertNotEqual(again["call_id"], first)
        self.assertEqual(again["customer_id"], cust["id"])
        with open(self.carrier_log) as f:
            times = [e["ts_ms"] for e in map(json.loads, f)
                     if e["ev"] == "invite" and e["number"].lstrip("+") == phone.lstrip("+")]
        self.assertEqual(len(times), 2, times)
        self.assertGreaterEqual(times[1], at)
        self.wait_state("agent1", "wrap_up", timeout=20)
        s, doc = self.api["agent1"].call("POST", "/v1/calls/%s/disposition" % again["call_id"],
                                         {"disposition": "not_interested"})
        self.assertEqual(s, 200, doc)
        self.wait_state("agent1", "ready")

    def test_d_preview_shows_a_lead_and_the_agent_calls_or_skips_it(self):
        wait_until(lambda: self.agent("agent2")["registered"], 10, "agent2 registered")
        self.set_state("agent2", "ready", user="agent2")
        ids = {}
        for i, phone in enumerate(("+8613800007771", "+8613800007772")):
            s, doc = self.api["admin1"].call("POST", "/v1/customers", {
                "name": "Preview %d" % i, "phone": phone, "tags": ["pv"]})
            self.assertEqual(s, 201, doc)
            ids[doc["id"]] = phone
        s, camp = self.api["admin1"].call("POST", "/v1/campaigns", {
            "name": "preview", "mode": "preview", "filter": "tag:pv", "agents": ["agent2"],
            "window": {"start": "00:00", "end": "24:00"}, "max_attempts": 1,
            "retry_after_s": 3600, "wrap_s": 1})
        self.assertEqual(s, 201, camp)
        at_home = self.on(self.n1, "agent2")  # its softphone is registered on n1

        def offer():
            s, doc = at_home.call("GET", "/v1/agents/agent2/preview")
            self.assertEqual(s, 200, doc)
            return doc["lead"]
        wait_until(lambda: offer() is not None, 10, "a lead offered to agent2")
        first = offer()
        self.assertEqual(offer(), first, "the same lead until the agent decides")
        self.assertEqual(first["campaign_id"], camp["id"])
        # The screen pop: the agent may open the offered customer (masked), another may not.
        s, cust = at_home.call("GET", "/v1/customers/" + first["customer_id"])
        self.assertEqual(s, 200, cust)
        self.assertIn("****", cust["phone"])
        s, _ = self.on(self.n1, "agent1").call("GET", "/v1/customers/" + first["customer_id"])
        self.assertEqual(s, 404)
        # Asked on a node where the softphone is not: no lead, and why.
        s, doc = self.on(self.n2, "agent2").call("GET", "/v1/agents/agent2/preview")
        self.assertIsNone(doc["lead"])
        self.assertIn("not registered on this node", doc["reason"])
        s, doc = at_home.call("POST", "/v1/agents/agent2/preview/skip", first)
        self.assertEqual(s, 200, doc)
        wait_until(lambda: offer() is not None, 10, "the next lead")
        second = offer()
        self.assertNotEqual(second["customer_id"], first["customer_id"])
        s, doc = at_home.call("POST", "/v1/agents/agent2/preview/call", first)
        self.assertEqual(s, 404, doc)  # skipped: no longer the agent's
        s, doc = at_home.call("POST", "/v1/agents/agent2/preview/call", second)
        self.assertEqual(s, 202, doc)
        talking = self.wait_state("agent2", "on_call", timeout=20)
        self.assertEqual(talking["customer_id"], second["customer_id"])
        with open(self.carrier_log) as f:
            dialed = [json.loads(line)["number"] for line in f
                      if json.loads(line)["ev"] == "invite"]
        self.assertIn(ids[second["customer_id"]].lstrip("+"), [n.lstrip("+") for n in dialed])
        self.assertNotIn(ids[first["customer_id"]].lstrip("+"), [n.lstrip("+") for n in dialed])
        # Wrap-up of 1 s, then ready again without a disposition.
        self.wait_state("agent2", "wrap_up", timeout=20)
        self.wait_state("agent2", "ready", timeout=10)

    def test_e_a_disabled_agent_cannot_log_in_or_take_calls(self):
        s, doc = self.api["admin1"].call("PATCH", "/v1/users/agent3", {"disabled": True})
        self.assertEqual(s, 200, doc)
        log = os.path.join(self.tmp, "agents-3.jsonl")
        self.procs.start("agents-3", [
            os.path.join(BUILD, "tools/waihu-agents/waihu-agents"),
            "--registrar", "127.0.0.1:%d" % SIP_1, "--listen", "127.0.0.1:31084",
            "--count", "3", "--password-prefix", PASSWORD, "--rtp-ports", "31600-31699",
            "--log", log])

        def refused():
            try:
                with open(log) as f:
                    return [e for e in map(json.loads, f) if e["ev"] == "register" and
                            e["agent"] == "agent3" and e["status"] != 200]
            except FileNotFoundError:
                return []
        wait_until(lambda: refused(), 10, "agent3's registration refused")
        self.assertNotEqual(refused()[0]["status"], 200)
        a3 = self.agent("agent3")
        self.assertEqual((a3["state"], a3["registered"], a3["disabled"]),
                         ("offline", False, True))
        doc = self.set_state("agent3", "ready", status=409)
        self.assertIn("disabled", doc["error"]["message"])
        s, doc = self.api["admin1"].call("PATCH", "/v1/users/agent3", {"disabled": False})
        self.assertEqual(s, 200, doc)

    def softphone_calls(self, agent):
        calls = []
        for log in ("agents.jsonl", "agents-3.jsonl"):  # test_e's softphones share the host
            try:
                with open(os.path.join(self.tmp, log)) as f:
                    calls += [e for e in map(json.loads, f)
                              if e["ev"] == "call" and e["agent"] == agent]
            except FileNotFoundError:
                pass
        return calls

    def test_f_a_second_device_is_refused_on_every_node(self):
        wait_until(lambda: self.agent("agent1", self.n1)["registered"], 10, "agent1 registered")
        if self.agent("agent1")["state"] != "ready":
            self.set_state("agent1", "ready", user="agent1")
        # n2 applied agent1's registration on n1: its view told its registrar then.
        wait_until(lambda: self.agent("agent1", self.n2)["node"] == "n1" and
                   self.agent("agent1", self.n2)["state"] == "ready", 10, "n2's view of agent1")
        nodes = (self.n1, self.n2, self.n3)
        before = [self.agent("agent1", n) for n in nodes]
        password = PASSWORD + "1"
        phone = RawPhone(OTHER_HOST, OTHER_PORT)
        try:
            # Another machine, at the agent's node and at another node: refused.
            for port in (SIP_1, SIP_2):
                status, phrase, _ = phone.register("agent1", password, port)
                self.assertEqual((status, phrase), (403, "Already registered elsewhere"), port)
            # Nor may it log the first softphone out.
            status, phrase, _ = phone.register("agent1", password, SIP_1, expires=0)
            self.assertEqual((status, phrase), (403, "Already registered elsewhere"))
            # n1's binding still leads to the first softphone (a query: no Contact).
            status, _, resp = phone.register("agent1", password, SIP_1, expires=None)
            self.assertEqual(status, 200, resp)
            self.assertRegex(resp, r"(?mi)^(Contact|m):.*@127\.0\.0\.1:310\d\d")
            # The rule is per agent: another agent may log in from that machine.
            status, _, resp = phone.register("agent3", PASSWORD + "3", SIP_2)
            self.assertEqual(status, 200, resp)
            self.wait_state("agent3", "online", node=self.n1)
            self.assertEqual(phone.register("agent3", PASSWORD + "3", SIP_2, expires=0)[0], 200)
            self.wait_state("agent3", "offline", node=self.n1)
        finally:
            phone.close()
        after = [self.agent("agent1", n) for n in nodes]
        key = [(a["state"], a["node"], a["since_ms"]) for a in before]
        self.assertEqual([(a["state"], a["node"], a["since_ms"]) for a in after], key)
        # Logged where it was refused, with both sources and the node that holds it.
        refused = "duplicate login refused: register of agent1 from %s:%d" % (OTHER_HOST,
                                                                              OTHER_PORT)
        with open(self.n1.log, errors="replace") as f:
            self.assertRegex(f.read(), re.escape(refused) + r": registered here from 127\.0\.0\.1:")
        with open(self.n2.log, errors="replace") as f:
            self.assertIn(refused + ": registered on node n1 from 127.0.0.1", f.read())
        # The first softphone still takes the agent's calls.
        answered = len(self.softphone_calls("agent1"))
        s, call = self.on(self.n1, "agent1").call("POST", "/v1/calls",
                                                  {"number": "+8613800005555"})
        self.assertEqual(s, 202, call)
        wait_until(lambda: len(self.softphone_calls("agent1")) > answered, 30,
                   "the first softphone's call")
        self.assertEqual(self.softphone_calls("agent1")[-1]["result"], "answered")
        self.wait_state("agent1", "wrap_up", timeout=10)
        s, doc = self.on(self.n1, "agent1").call("POST", "/v1/calls/%s/disposition" % call["id"],
                                                 {"disposition": "other"})
        self.assertEqual(s, 200, doc)
        self.wait_state("agent1", "ready")

    def test_g_a_supervisor_frees_an_agent_held_by_a_dead_machine(self):
        # agent2's softphone "died" holding its registration on n1: set offline, the
        # registration goes with it, and the agent may log in from another machine.
        wait_until(lambda: self.agent("agent2", self.n1)["node"] == "n1", 10, "agent2 on n1")
        phone = RawPhone(OTHER_HOST, OTHER_PORT)
        try:
            self.assertEqual(phone.register("agent2", PASSWORD + "2", SIP_1)[0], 403)
            self.set_state("agent2", "offline", user="sup1")
            wait_until(lambda: not self.agent("agent2", self.n2)["registered"], 10,
                       "agent2's registration dropped")
            self.assertEqual(phone.register("agent2", PASSWORD + "2", SIP_1)[:2], (200, "OK"))
            moved = self.wait_state("agent2", "online", node=self.n2)
            self.assertEqual(moved["node"], "n1")
            self.assertEqual(phone.register("agent2", PASSWORD + "2", SIP_1, expires=0)[0], 200)
            self.wait_state("agent2", "offline", node=self.n2)
        finally:
            phone.close()

    def test_z_agents_of_a_dead_node_come_back_ready_elsewhere(self):
        wait_until(lambda: self.agent("agent1")["registered"], 10, "agent1 registered")
        if self.agent("agent1")["state"] != "ready":
            self.set_state("agent1", "ready", user="agent1")
        self.wait_state("agent1", "ready", node=self.n3)
        self.n1.kill()
        killed = time.monotonic()
        # The softphones fail over to their backup registrar on their own; n3's wallboard
        # shows agent1 on n2, still ready, within 5 s (the bound).
        wait_until(lambda: self.agent("agent1", self.n3)["node"] == "n2", 5,
                   "agent1 registered on n2, seen on n3's wallboard")
        back = self.agent("agent1", self.n3)
        self.assertEqual(back["state"], "ready")
        print("agent1 back on n2 %.2f s after n1 was killed" % (time.monotonic() - killed),
              file=sys.stderr)
        # Its new home refuses a second machine as the old one did.
        phone = RawPhone(OTHER_HOST, OTHER_PORT)
        try:
            self.assertEqual(phone.register("agent1", PASSWORD + "1", SIP_2)[:2],
                             (403, "Already registered elsewhere"))
        finally:
            phone.close()

if __name__ == "__main__":
    unittest.main(verbosity=2)

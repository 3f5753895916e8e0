#!/usr/bin/env python3
"""GET /metrics on a 3-node cluster (docs/metrics.md): n1 runs telephony over a trunk set
to waihu-carrier, with waihu-agents as the agents' softphones. Every node's answer is
strict Prometheus text (HELP and TYPE before a family's samples, samples of a family
together, no series twice, escaped label values, histogram buckets cumulative), and the
figures follow reality: calls placed through POST /v1/calls move n1's counters by result
(the CDRs are the ground truth) and its concurrent-call and trunk-channel gauges while a
call rings; agents' state changes show on every node; a running campaign's abandon rate
today comes from the day's call records (written through the leader's forward port as
test_alerts.py does). The Grafana dashboard queries only families the nodes emit, and
docs/metrics.md lists exactly the families a telephony node emits."""
import datetime
import http.client
import json
import math
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "localcluster"))
sys.path.insert(0, os.path.join(ROOT, "bench", "reports"))
sys.path.insert(0, os.path.join(ROOT, "deploy", "grafana"))
from localcluster import Api, Cluster  # noqa: E402
from sipkit import Procs  # noqa: E402
from sipkit import wait_until as _wait_until  # noqa: E402
import cdrload  # noqa: E402
from cdrload import CF_CALL, CF_CAMPAIGN, f_bytes, f_int  # noqa: E402
import lint_dashboard  # noqa: E402

PORT_BASE = 3500  # raft 10501-3, api 11501-3, forward 12501-3
# SIP and RTP stay inside 18000-18499: below the kernel's ephemeral ports (32768-60999),
# where any process's outgoing TCP connection may hold a port the carrier wants to bind
# (CI failed twice here: the carrier could not listen and every INVITE got a local 503).
SIP_PORT = 18060
RTP = "18100-18249"
CARRIER_PORT = 18070
CARRIER_RTP = "18250-18349"
AGENTS_PORT = 18080
AGENTS_RTP = "18350-18449"


def build_dir():
    if os.environ.get("WAIHU_METRICS_BUILD"):
        return os.environ["WAIHU_METRICS_BUILD"]
    if os.environ.get("WAIHUD"):  # <build>/src/waihud/waihud
        return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
            os.environ["WAIHUD"]))))
    return os.path.join(ROOT, "build")


BUILD = build_dir()
SLOW = float(os.environ.get("WAIHU_SLOW", "1"))
PASSWORD = "agent-password-"  # agents' passwords are this + their number
TENANT, LOADED_NODE = 1, 78
TRUNK = "carrier-a"
ANSWER, BUSY, NO_ANSWER, RINGING = ("+8613900000001", "+8613900000002", "+8613900000003",
                                    "+8613900000004")
RING_3S = "+8613900000005"
RINGING_MS = 15000  # long enough to see it ringing on a loaded machine
CAMPAIGN_NAME = 'Winter "A" \\ east\nline 2'  # every character label values escape


def wait_until(pred, timeout, what):
    return _wait_until(pred, timeout, what, SLOW)


# ---- the text format ----

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
VALUE = re.compile(r"^(?:[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|NaN|[+-]Inf)$")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def unescape(v):
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v)


class Scrape:
    """A parsed /metrics answer; parse() raises AssertionError naming the bad line."""

    def __init__(self, text):
        self.text = text
        self.types = {}     # family -> type
        self.samples = {}   # (name, ((label, value), ...) sorted) -> float
        self.parse()

    def family_of(self, name):
        if name in self.types:
            return name
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[:-len(suffix)]
            if name.endswith(suffix) and self.types.get(base) == "histogram":
                return base
        return None

    def parse(self):
        assert self.text.endswith("\n"), "the answer does not end with a newline"
        helps, current, closed = set(), None, set()
        for n, line in enumerate(self.text.split("\n")[:-1], 1):
            where = "line %d %r" % (n, line)
            if line.startswith("# HELP "):
                name = line.split(" ", 3)[2]
                assert NAME.fullmatch(name) and name not in helps, where
                assert name not in self.types, "%s: HELP after TYPE" % where
                helps.add(name)
                continue
            if line.startswith("# TYPE "):
                parts = line.split(" ")
                assert len(parts) == 4 and NAME.fullmatch(parts[2]) and parts[3] in TYPES, where
                assert parts[2] not in self.types, "%s: a second TYPE" % where
                assert parts[2] in helps, "%s: no HELP" % where
                if current is not None:
                    closed.add(current)
                self.types[parts[2]] = parts[3]
                current = parts[2]
                continue
            assert not line.startswith("#") and line.strip() == line and line, where
            m = NAME.match(line)
            assert m, where
            name, rest = m.group(0), line[m.end():]
            labels = []
            if rest.startswith("{"):
                pos = 1
                while rest[pos] != "}":
                    lm = LABEL.match(rest, pos)
                    assert lm, "%s: bad label at %d" % (where, pos)
                    labels.append((lm.group(1), unescape(lm.group(2))))
                    pos = lm.end()
                    if rest[pos] == ",":
                        pos += 1
                rest = rest[pos + 1:]
                keys = [k for k, _ in labels]
                assert len(set(keys)) == len(keys), "%s: a label twice" % where
            assert rest.startswith(" ") and VALUE.match(rest[1:]), "%s: bad value" % where
            family = self.family_of(name)
            assert family is not None, "%s: sample before its TYPE" % where
            assert family == current and family not in closed, \
                "%s: sample outside its family's block" % where
            key = (name, tuple(sorted(labels)))
            assert key not in self.samples, "%s: series twice" % where
            self.samples[key] = float(rest[1:])
            if self.types[family] == "counter":
                assert name.endswith("_total") and self.samples[key] >= 0, where
        for family, kind in self.types.items():
            if kind == "histogram":
                self.check_histogram(family)

    def check_histogram(self, family):
        buckets = sorted((float(dict(k[1])["le"]), v) for k, v in self.samples.items()
                         if k[0] == family + "_bucket")
        assert buckets and math.isinf(buckets[-1][0]), "%s: no +Inf bucket" % family
        for (_, a), (_, b) in zip(buckets, buckets[1:]):
            assert a <= b, "%s: buckets not cumulative" % family
        assert buckets[-1][1] == self.samples[(family + "_count", ())], family

    def get(self, metric, /, **labels):
        """The sample's value, or None when the series is absent."""
        return self.samples.get((metric, tuple(sorted(labels.items()))))

    def series(self, name):
        return {k[1]: v for k, v in self.samples.items() if k[0] == name}


def scrape(node):
    """GET /metrics without a token, as Prometheus scrapes it."""
    host, port = node.api_address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        body = r.read().decode()
        assert r.status == 200, (r.status, body)
        assert r.getheader("Content-Type") == "text/plain; version=0.0.4", r.getheaders()
    finally:
        conn.close()
    return Scrape(body)


# ---- records written as the dialer and the FSM write them ----

def campaign_record(cid, name, state, cap):
    return b"".join([f_int(1, 1), f_int(2, cid), f_int(3, TENANT), f_bytes(4, name),
                     f_bytes(5, "progressive"), f_bytes(6, state),
                     bytes([0x81, 0x01]) + struct.pack("<d", cap)])  # field 16, double


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("tools/waihu-carrier/waihu-carrier", "tools/waihu-agents/waihu-agents"):
            if not os.access(os.path.join(BUILD, tool), os.X_OK):
                raise unittest.SkipTest("not built: %s/%s" % (BUILD, tool))
        cls.tmp = tempfile.mkdtemp(prefix="waihu-metrics-")
        cls.procs = Procs(cls.tmp)
        cls.c = Cluster(os.path.join(cls.tmp, "cluster"), 3, port_base=PORT_BASE)
        trunks = os.path.join(cls.tmp, "trunks.json")
        with open(trunks, "w") as f:
            json.dump({"trunks": [{"name": TRUNK, "target": "127.0.0.1:%d" % CARRIER_PORT,
                                   "channels": 4, "cps": 10,
                                   "caller_ids": ["+861012345678"]}]}, f)
        cls.c.nodes[0].extra_args = [
            "--sip-bind", "127.0.0.1:%d" % SIP_PORT, "--rtp-ports", RTP,
            "--trunks-file", trunks, "--rtp-timeout-ms", "4000"]
        cls.c.create()
        cls.addClassCleanup(cls.cleanup)
        cls.c.start()
        cls.leader = cls.c.wait_ready(timeout=60)
        cls.n1, cls.n2, cls.n3 = cls.c.nodes
        boot = Api(cls.n1, cls.c.token)
        assert boot.call("POST", "/v1/tenants", {"id": TENANT, "name": "t1",
                                                 "default_country": "CN"})[0] == 201
        for name, role, password in [("admin1", "admin", "admin-password-1234"),
                                     ("agent1", "agent", PASSWORD + "1"),
                                     ("agent2", "agent", PASSWORD + "2")]:
            s, doc = boot.call("POST", "/v1/users", {"username": name, "password": password,
                                                     "role": role, "tenant_id": TENANT})
            assert s == 201, doc
        s, doc = cls.leader.request("POST", "/v1/auth/login",
                                    {"username": "admin1", "password": "admin-password-1234"})
        assert s == 200, doc
        cls.admin = Api(cls.n1, doc["token"])
        rules = os.path.join(cls.tmp, "rules.json")
        with open(rules, "w") as f:
            json.dump({"numbers": {
                ANSWER: {"outcome": "answer", "ring_ms": 200, "talk_ms": 1500},
                BUSY: "busy",
                NO_ANSWER: {"outcome": "no-answer", "ring_ms": 300},
                RINGING: {"outcome": "no-answer", "ring_ms": RINGING_MS},
                RING_3S: {"outcome": "no-answer", "ring_ms": 3000}}}, f)
        cls.carrier = cls.procs.start("carrier", [
                         os.path.join(BUILD, "tools/waihu-carrier/waihu-carrier"),
                         "--listen", "127.0.0.1:%d" % CARRIER_PORT, "--rules", rules,
                         "--log", os.path.join(cls.tmp, "carrier.jsonl"),
                         "--rtp-ports", CARRIER_RTP, "--seed", "3"])
        cls.procs.start("agents", [os.path.join(BUILD, "tools/waihu-agents/waihu-agents"),
                         "--registrar", "127.0.0.1:%d" % SIP_PORT,
                         "--listen", "127.0.0.1:%d" % AGENTS_PORT, "--count", "2",
                         "--password-prefix", PASSWORD, "--talk-ms", "5000-6000",
                         "--rtp-ports", AGENTS_RTP,
                         "--log", os.path.join(cls.tmp, "agents.jsonl")])
        for name in ("agent1", "agent2"):
            wait_until(lambda: cls.admin.call("GET", "/v1/agents/" + name)[1].get("registered"),
                       20, "%s registered on n1" % name)

    @classmethod
    def cleanup(cls):
        cls.procs.stop_all()
        cls.c.stop()
        cls.c.check_sanitizers()
        if not os.environ.get("WAIHU_KEEP_LOGS"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers ----

    def call_records(self):
        s, doc = self.admin.call("GET", "/v1/calls?limit=200")
        self.assertEqual(s, 200, doc)
        return {c["id"]: c for c in doc["items"]}

    def place(self, number):
        s, doc = self.admin.call("POST", "/v1/calls", {"number": number, "agent": "agent1"})
        self.assertEqual(s, 202, doc)
        return doc["id"]

    def ended(self, call_id):
        return wait_until(lambda: self.call_records().get(call_id), 30,
                          "the CDR of call %s" % call_id)

    # ---- tests ----

    def test_1_every_node_answers_strict_text(self):
        common = {"waihu_node_info", "waihu_raft_term", "waihu_raft_applied_index",
                  "waihu_raft_state", "waihu_apply_latency_seconds", "waihu_http_requests_total",
                  "waihu_http_responses_total", "waihu_store_sst_bytes", "waihu_store_keys",
                  "waihu_store_pending_compaction_bytes", "waihu_telephony_enabled",
                  "waihu_agents", "waihu_campaign_info", "waihu_campaign_abandon_cap"}
        telephony = {"waihu_calls_total", "waihu_calls_active", "waihu_trunk_up",
                     "waihu_trunk_channels_in_use", "waihu_sip_registrations_total",
                     "waihu_sip_bans_total", "waihu_sip_dup_refused_total"}
        for node in self.c.nodes:
            t0 = time.monotonic()
            m = scrape(node)
            took_ms = (time.monotonic() - t0) * 1000
            self.assertLessEqual(common, set(m.types), node.name)
            self.assertEqual(m.get("waihu_node_info", id=str(node.id), name=node.name,
                                   dc=node.dc), 1.0)
            self.assertEqual(sum(m.series("waihu_raft_state").values()), 1.0, node.name)
            for cf in ("meta", "customer", "call", "agent", "event"):
                self.assertIsNotNone(m.get("waihu_store_keys", cf=cf), cf)
            on = node is self.n1
            self.assertEqual(m.get("waihu_telephony_enabled"), 1.0 if on else 0.0)
            self.assertEqual(telephony <= set(m.types), on, node.name)
            print("\n%s: /metrics %d bytes, %d series, %.1f ms"
                  % (node.name, len(m.text), len(m.samples), took_ms), end="")
        m = scrape(self.n1)
        self.assertEqual(m.get("waihu_trunk_up", trunk=TRUNK), 1.0)
        self.assertEqual(m.get("waihu_trunk_channels_limit", trunk=TRUNK), 4.0)
        self.assertGreaterEqual(m.get("waihu_sip_registrations_total"), 2.0)  # two softphones

    def test_2_agents_by_state_on_every_node(self):
        def counts(node):
            m = scrape(node)
            return {dict(k)["state"]: v for k, v in m.series("waihu_agents").items()
                    if dict(k)["tenant"] == str(TENANT)}

        s, doc = self.admin.call("POST", "/v1/agents/agent2/state",
                                 {"state": "break", "reason": "lunch"})
        self.assertEqual(s, 200, doc)
        for node in self.c.nodes:
            c = wait_until(lambda: (lambda c: c if c.get("break") == 1 else None)(counts(node)),
                           10, "agent2 on a break as %s reports it" % node.name)
            self.assertEqual(set(c), {"offline", "online", "ready", "reserved", "on_call",
                                      "wrap_up", "break"})
            self.assertEqual(sum(c.values()), 2, c)  # agent1 and agent2 have state records
        s, doc = self.admin.call("POST", "/v1/agents/agent2/state", {"state": "ready"})
        self.assertEqual(s, 200, doc)
        for node in self.c.nodes:
            wait_until(lambda: (lambda c: c.get("break") == 0 and c.get("ready", 0) >= 1)(
                counts(node)), 10, "agent2 ready as %s reports it" % node.name)

    def test_3_calls_move_the_counters_of_the_node_that_placed_them(self):
        before = scrape(self.n1)
        results = {dict(k)["result"]: v for k, v in before.series("waihu_calls_total").items()}
        placed = before.get("waihu_calls_placed_total")
        picks = before.get("waihu_trunk_picks_total", trunk=TRUNK)
        outcomes = {dict(k)["outcome"]: v for k, v in
                    before.series("waihu_trunk_outcomes_total").items()}
        n2_before = scrape(self.n2)
        # A call that rings for 5 s: concurrent and in a trunk channel meanwhile.
        ringing = self.place(RINGING)
        seen = {}

        def ringing_counted():
            m = scrape(self.n1)
            seen.update(active=m.get("waihu_calls_active"),
                        channels=m.get("waihu_trunk_channels_in_use", trunk=TRUNK),
                        waiting=m.get("waihu_calls_waiting_trunk"))
            return seen["active"] == 1 and seen["channels"] == 1

        try:
            wait_until(ringing_counted, RINGING_MS / 1000 - 1, "the ringing call counted as active")
        except AssertionError as e:  # say what was seen
            with open(os.path.join(self.tmp, "carrier.err"), errors="replace") as f:
                carrier = f.read()[-2000:]
            raise AssertionError("%s; last scrape %s; CDR %s; carrier exit %s, stderr %s" % (
                e, seen, self.call_records().get(ringing), self.carrier.poll(), carrier)) from None
        ids = [ringing]
        self.assertEqual(self.ended(ringing)["result"], "no-answer")
        for number in (BUSY, NO_ANSWER, ANSWER):
            ids.append(self.place(number))
            self.ended(ids[-1])
        cdrs = self.call_records()
        got = {}
        for i in ids:
            got[cdrs[i]["result"]] = got.get(cdrs[i]["result"], 0) + 1
        self.assertEqual(got, {"no-answer": 2, "busy": 1, "answered": 1}, cdrs)

        def counted():
            m = scrape(self.n1)
            now = {dict(k)["result"]: v for k, v in m.series("waihu_calls_total").items()}
            delta = {r: now[r] - results[r] for r in now if now[r] != results[r]}
            return (m, delta) if delta == got else None

        m, delta = wait_until(counted, 10, "waihu_calls_total moved by the CDRs' results")
        self.assertEqual(m.get("waihu_calls_placed_total") - placed, 4)
        self.assertEqual(m.get("waihu_calls_active"), 0)
        self.assertEqual(m.get("waihu_trunk_channels_in_use", trunk=TRUNK), 0)
        self.assertEqual(m.get("waihu_trunk_picks_total", trunk=TRUNK) - picks, 4)
        now = {dict(k)["outcome"]: v for k, v in m.series("waihu_trunk_outcomes_total").items()}
        self.assertEqual({o: now[o] - outcomes[o] for o in now},
                         {"answered": 1, "normal": 3, "carrier": 0})
        self.assertEqual(m.get("waihu_trunk_up", trunk=TRUNK), 1.0)
        # Counted once, where the calls were placed: n2 has no calls family at all, and
        # its HTTP counters moved only by the scrapes.
        n2 = scrape(self.n2)
        self.assertNotIn("waihu_calls_total", n2.types)
        self.assertGreater(n2.get("waihu_http_requests_total"),
                           n2_before.get("waihu_http_requests_total"))
        print("\ncalls by result on n1: %s" % delta, end="")

    def test_4_abandon_rate_today_per_running_campaign(self):
        now = int(time.time() * 1000)
        midnight = int(time.mktime(datetime.date.today().timetuple()) * 1000)
        muts = [[(CF_CAMPAIGN, cdrload.campaign_key(TENANT, 9),
                  campaign_record(9, CAMPAIGN_NAME, "running", 0.03))],
                [(CF_CAMPAIGN, cdrload.campaign_key(TENANT, 10),
                  campaign_record(10, "Quiet", "running", 0.05))],
                [(CF_CAMPAIGN, cdrload.campaign_key(TENANT, 11),
                  campaign_record(11, "Over", "done", 0.03))]]
        cid = 0
        # Today: 60 answered, 2 abandoned (3.2%); yesterday's abandons do not count.
        for i in range(62):
            cid += 1
            start = max(now - 1000 * (i + 1), midnight + i)
            result, agent = ("abandoned", "") if i < 2 else ("answered", "agent1")
            muts.append([(CF_CALL, cdrload.call_key(TENANT, start, LOADED_NODE, cid),
                          cdrload.call_record(TENANT, LOADED_NODE, cid, start, agent, result,
                                              30000 if agent else 0, 3000, 9))])
        for i in range(5):
            cid += 1
            start = midnight - 3600 * 1000 - i
            muts.append([(CF_CALL, cdrload.call_key(TENANT, start, LOADED_NODE, cid),
                          cdrload.call_record(TENANT, LOADED_NODE, cid, start, "", "abandoned",
                                              0, 3000, 9))])
        leader = self.c.wait_ready(timeout=30)
        out = cdrload.Loader(leader.forward_address, window=8)
        for ops in muts:
            out.add(ops)
        self.assertEqual(out.close(), len(muts))
        for node in self.c.nodes:
            m = wait_until(lambda: (lambda m: m if m.get(
                "waihu_campaign_calls_today", tenant="1", campaign="9",
                outcome="answered") == 60 else None)(scrape(node)), 20,
                "campaign 9's calls today on %s" % node.name)
            self.assertEqual(m.get("waihu_campaign_calls_today", tenant="1", campaign="9",
                                   outcome="abandoned"), 2)
            self.assertAlmostEqual(m.get("waihu_campaign_abandon_rate_today", tenant="1",
                                         campaign="9"), 2 / 62, places=9)
            self.assertEqual(m.get("waihu_campaign_abandon_cap", tenant="1", campaign="9"), 0.03)
            self.assertEqual(m.get("waihu_campaign_info", tenant="1", campaign="9",
                                   name=CAMPAIGN_NAME, mode="progressive"), 1)
            self.assertEqual(m.get("waihu_campaign_abandon_rate_today", tenant="1",
                                   campaign="10"), 0)
            self.assertEqual(sum(m.series("waihu_campaign_calls_today").values()), 62)
            self.assertEqual({dict(k)["campaign"] for k in m.series("waihu_campaign_info")},
                             {"9", "10"})  # campaign 11 is done

    def test_5_dashboard_and_docs_use_emitted_names(self):
        emitted = {}
        for node in self.c.nodes:
            emitted.update(scrape(node).types)
        problems = lint_dashboard.check(emitted)
        self.assertEqual(problems, [])
        documented = lint_dashboard.documented_families()
        n1 = scrape(self.n1)
        self.assertEqual(documented, n1.types)  # n1: telephony, a trunk set, the book built
        # The command-line form, on one node's text.
        path = os.path.join(self.tmp, "n1.metrics")
        with open(path, "w") as f:
            f.write(n1.text)
        r = subprocess.run([sys.executable, os.path.join(ROOT, "deploy/grafana/lint_dashboard.py"),
                            "--metrics", path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


    def test_6_a_cdr_written_while_the_cluster_has_no_quorum_is_not_lost(self):
        """A CDR whose first commit fails (no leader can be elected: both other nodes are
        stopped) is written once the cluster is back, exactly once (regression: the soak
        lost 44 CDRs of calls that ended during elections)."""
        ringing = self.place(RING_3S)
        wait_until(lambda: scrape(self.n1).get("waihu_calls_active") == 1, 10,
                   "the call ringing on n1")
        others = [self.n2, self.n3]
        for n in others:
            os.kill(n.proc.pid, signal.SIGSTOP)
        try:
            # Once the call has ended and n1 knows no leader, the CDR's first commit has
            # failed: a write pending at a lost leader fails when n1 gives it up, and one
            # submitted without a leader fails at once.
            wait_until(lambda: (lambda m: m.get("waihu_calls_active") == 0 and
                                m.get("waihu_raft_leader_id") == 0)(scrape(self.n1)), 30,
                       "the call ended on n1, which knows no leader")
        finally:
            for n in others:
                os.kill(n.proc.pid, signal.SIGCONT)
        self.c.wait_ready(timeout=30)  # reads are audited: they need a leader again
        cdr = self.ended(ringing)
        self.assertEqual(cdr["result"], "no-answer", cdr)

        def ended_events():
            s, doc = self.admin.call("GET", "/v1/events?limit=1000")
            self.assertEqual(s, 200, doc)
            return [e for e in doc["items"] if e["type"] == "call.ended" and
                    e["subject"] == "call/" + ringing]
        self.assertEqual(len(wait_until(ended_events, 10, "its call.ended event")), 1)
        self.c.wait_converged()
        self.assertEqual(len(ended_events()), 1)  # a retry of a committed try is not applied

if __name__ == "__main__":
    unittest.main(verbosity=2)

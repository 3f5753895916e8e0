#!/usr/bin/env python3
"""Performance reports and rankings (docs/reports.md) on a 3-node cluster. Call records
and dispositions are written through the leader's forward port as MutationBatch commands
(bench/reports/cdrload.py: the same commands the dialer's CDRs are, without telephony);
every node's report book must show the hand-computed figures, the previous period, CSV
that a CSV reader reads back, role limits, 400s naming the field, live updates through
the watchers, the same figures after a restart (the book rebuilt from the store), and no
sanitizer report."""
import calendar
import csv
import io
import os
import shutil
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "localcluster"))
sys.path.insert(0, os.path.join(ROOT, "bench", "reports"))
from localcluster import Api, Cluster  # noqa: E402
import cdrload  # noqa: E402
from cdrload import CF_AGENT, CF_CALL, CF_CAMPAIGN  # noqa: E402

PORT_BASE = 3800  # raft 10801-3, api 11801-3, forward 12801-3
TENANT, NODE = 1, 77
OFFSET_MS = time.localtime().tm_gmtoff * 1000
SPRING = 'Spring, "A"'  # needs quoting in CSV


def day_num(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%d")) // 86400


def noon(text, minute=0):
    """ms of local noon (+ minutes) of a day, in the nodes' zone (they share ours)."""
    return day_num(text) * 86400000 - OFFSET_MS + 12 * 3600000 + minute * 60000


# (call id, day, agent, campaign, result, talk seconds)
CDRS = [
    (1, "2026-03-02", "ann", 5, "answered", 60), (2, "2026-03-02", "ann", 5, "answered", 120),
    (3, "2026-03-02", "ann", 5, "busy", 0), (4, "2026-03-02", "bob", 5, "answered", 30),
    (5, "2026-03-02", "bob", 6, "no-answer", 0), (6, "2026-03-02", "", 5, "abandoned", 0),
    (7, "2026-03-03", "ann", 5, "answered", 90), (8, "2026-03-03", "ann", 6, "machine", 0),
    (9, "2026-03-03", "bob", 5, "no-answer", 0), (10, "2026-03-03", "bob", 5, "no-answer", 0),
    (11, "2026-03-03", "bob", 5, "no-answer", 0), (12, "2026-03-03", "dan", 6, "answered", 40),
    (13, "2026-03-03", "dan", 6, "answered", 20),
    (14, "2026-02-24", "ann", 5, "answered", 10), (15, "2026-02-24", "bob", 5, "busy", 0),
]
# (call id, day, agent, campaign, disposition)
DISPOSITIONS = [(1, "2026-03-02", "ann", 5, "sale"), (2, "2026-03-02", "ann", 5, "not_interested"),
                (4, "2026-03-02", "bob", 5, "sale"), (7, "2026-03-03", "ann", 5, "sale"),
                (12, "2026-03-03", "dan", 6, "callback")]


def cdr_ops(cid, day, agent, campaign, result, talk_s, minute=0):
    start = noon(day, minute + cid)
    return [(CF_CALL, cdrload.call_key(TENANT, start, NODE, cid),
             cdrload.call_record(TENANT, NODE, cid, start, agent, result, talk_s * 1000, 3000,
                                 campaign))]


def disp_ops(cid, day, agent, campaign, what):
    return [(CF_AGENT, cdrload.disposition_key(TENANT, NODE, cid),
             cdrload.disposition(what, agent, noon(day, 30 + cid), campaign))]


class ReportsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="waihu-reports-")
        cls.c = Cluster(os.path.join(cls.tmp, "cluster"), 3, port_base=PORT_BASE)
        cls.c.create()
        cls.addClassCleanup(cls.cleanup)
        cls.c.start()
        leader = cls.c.wait_ready(timeout=60)
        cls.n1, cls.n2, cls.n3 = cls.c.nodes
        boot = Api(leader, cls.c.token)
        assert boot.call("POST", "/v1/tenants", {"id": TENANT, "name": "t1",
                                                 "default_country": "CN"})[0] == 201
        cls.tok = {}
        for name, role, dept in [("admin1", "admin", ""), ("sup_east", "supervisor", "east"),
                                 ("aud1", "auditor", ""), ("ann", "agent", "east"),
                                 ("bob", "agent", "east"), ("dan", "agent", "west")]:
            pw = name + "-password-123"
            s, doc = boot.call("POST", "/v1/users", {"username": name, "password": pw,
                                                     "role": role, "tenant_id": TENANT,
                                                     "department": dept})
            assert s == 201, doc
            s, doc = leader.request("POST", "/v1/auth/login", {"username": name, "password": pw})
            assert s == 200, doc
            cls.tok[name] = doc["token"]
        cls.load(leader, [[(CF_CAMPAIGN, cdrload.campaign_key(TENANT, 5),
                            cdrload.campaign_record(TENANT, 5, SPRING))],
                          [(CF_CAMPAIGN, cdrload.campaign_key(TENANT, 6),
                            cdrload.campaign_record(TENANT, 6, "Plain"))]] +
                 [cdr_ops(*r) for r in CDRS] + [disp_ops(*d) for d in DISPOSITIONS])
        # Recorded again: the new disposition replaces the callback.
        cls.load(leader, [disp_ops(12, "2026-03-03", "dan", 6, "sale")])

    @classmethod
    def load(cls, leader, mutations):
        out = cdrload.Loader(leader.forward_address, window=4)
        for ops in mutations:
            out.add(ops)
        assert out.close() == len(mutations)

    @classmethod
    def cleanup(cls):
        cls.c.stop()
        # LeakSanitizer reports when a node exits: look again once all are stopped.
        cls.c.check_sanitizers()
        if not os.environ.get("WAIHU_KEEP_LOGS"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def get(self, path, user="admin1", node=None, status=200):
        s, doc = Api(node or self.n2, self.tok[user]).call("GET", path)
        self.assertEqual(s, status, doc)
        return doc

    def wait_for(self, path, pred, what, nodes=None, user="admin1"):
        """Waits on every node until pred(answer) holds (replication, the book's build)."""
        for node in nodes or self.c.nodes:
            deadline = time.time() + 30
            while True:
                s, doc = Api(node, self.tok[user]).call("GET", path)
                if s == 200 and pred(doc):
                    break
                self.assertLess(time.time(), deadline, "%s on %s: %s %s" % (what, node.name,
                                                                            s, doc))
                time.sleep(0.05)
        return doc

    @staticmethod
    def rows_by(doc, key):
        return {r[key]: r for r in doc["rows"]}

    def test_a_daily_agents_with_the_previous_day(self):
        path = "/v1/reports/agents?from=2026-03-03&to=2026-03-03&group=day"
        self.wait_for(path, lambda d: len(d["rows"]) == 3 and
                      self.rows_by(d, "agent")["dan"]["current"]["conversions"] == 1,
                      "3 agents, dan's sale")
        for node in self.c.nodes:  # every node's book alike
            doc = self.get(path, node=node)
            self.assertEqual(doc["utc_offset_min"] * 60000, OFFSET_MS)
            rows = self.rows_by(doc, "agent")
            ann, bob, dan = rows["ann"], rows["bob"], rows["dan"]
            self.assertEqual((ann["period"], ann["from"], ann["previous_from"], ann["department"]),
                             ("2026-03-03", "2026-03-03", "2026-03-02", "east"))
            c, p = ann["current"], ann["previous"]
            self.assertEqual((c["calls"], c["answered"], c["machine"], c["talk_s"],
                              c["conversions"], c["ring_s"]), (2, 1, 1, 90, 1, 6))
            self.assertEqual((c["connect_rate"], c["conversion_rate"], c["avg_talk_s"]),
                             (0.5, 1.0, 90.0))
            self.assertEqual((p["calls"], p["answered"], p["busy"], p["talk_s"],
                              p["conversions"], p["not_interested"]), (3, 2, 1, 180, 1, 1))
            self.assertEqual((p["connect_rate"], p["conversion_rate"]), (0.6667, 0.5))
            self.assertEqual(ann["change"]["calls"], {"abs": -1, "pct": -33.33})
            self.assertEqual(ann["change"]["connect_rate"]["abs"], -0.1667)
            self.assertEqual(ann["change"]["conversion_rate"], {"abs": 0.5, "pct": 100.0})
            self.assertEqual((bob["current"]["calls"], bob["current"]["no_answer"]), (3, 3))
            self.assertIsNone(bob["current"]["conversion_rate"])  # nothing answered
            self.assertIsNone(bob["change"]["conversion_rate"]["abs"])
            self.assertEqual((bob["previous"]["calls"], bob["previous"]["conversions"]), (2, 1))
            self.assertEqual((dan["department"], dan["current"]["answered"],
                              dan["current"]["conversions"], dan["current"]["callback"]),
                             ("west", 2, 1, 0))
            self.assertEqual(dan["change"]["calls"], {"abs": 2, "pct": None})

    def test_b_weeks_campaigns_departments(self):
        doc = self.get("/v1/reports/agents?from=2026-03-02&to=2026-03-08&group=week")
        rows = self.rows_by(doc, "agent")
        ann = rows["ann"]
        self.assertEqual((ann["period"], ann["from"], ann["to"], ann["previous_from"],
                          ann["previous_to"]),
                         ("2026-W10", "2026-03-02", "2026-03-08", "2026-02-23", "2026-03-01"))
        self.assertEqual((ann["current"]["calls"], ann["previous"]["calls"]), (5, 1))
        self.assertEqual(ann["change"]["calls"], {"abs": 4, "pct": 400.0})
        self.assertEqual((rows["bob"]["current"]["calls"], rows["bob"]["previous"]["busy"]),
                         (5, 1))
        doc = self.get("/v1/reports/campaigns?from=2026-03-02&to=2026-03-03&group=total")
        rows = self.rows_by(doc, "campaign_id")
        self.assertEqual(rows["5"]["period"], "2026-03-02/2026-03-03")
        self.assertEqual(rows["5"]["campaign_name"], SPRING)
        self.assertEqual((rows["5"]["current"]["calls"], rows["5"]["current"]["abandoned"],
                          rows["5"]["current"]["conversions"]), (9, 1, 3))
        self.assertEqual((rows["5"]["previous_from"], rows["5"]["previous"]["calls"]),
                         ("2026-02-28", 0))
        self.assertEqual(rows["6"]["current"]["calls"], 4)
        doc = self.get("/v1/reports/departments?from=2026-03-02&to=2026-03-03&group=total")
        rows = self.rows_by(doc, "department")
        self.assertEqual((rows["east"]["current"]["calls"], rows["west"]["current"]["calls"]),
                         (10, 2))

    def test_c_csv(self):
        text = self.get("/v1/reports/campaigns?from=2026-03-02&to=2026-03-03&group=total"
                        "&format=csv")
        self.assertTrue(text.endswith("\r\n"))
        self.assertIn('"Spring, ""A"""', text)  # RFC 4180 quoting
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        self.assertEqual([r["campaign_id"] for r in rows], ["5", "6"])
        self.assertEqual((rows[0]["campaign_name"], rows[0]["calls"], rows[0]["abandoned"],
                          rows[0]["previous_calls"], rows[0]["change_calls"],
                          rows[0]["change_pct_calls"]), (SPRING, "9", "1", "0", "9", ""))
        text = self.get("/v1/reports/agents?from=2026-03-03&to=2026-03-03&format=csv")
        header = text.split("\r\n")[0].split(",")
        self.assertEqual(header[:7], ["period", "from", "to", "previous_from", "previous_to",
                                      "agent", "department"])
        self.assertIn("change_pct_connect_rate", header)
        rows = {r["agent"]: r for r in csv.DictReader(io.StringIO(text, newline=""))}
        self.assertEqual((rows["ann"]["calls"], rows["ann"]["connect_rate"],
                          rows["ann"]["previous_calls"], rows["ann"]["change_pct_calls"]),
                         ("2", "0.5000", "3", "-33.33"))
        self.assertEqual(rows["bob"]["conversion_rate"], "")  # undefined: empty
        text = self.get("/v1/rankings?metric=connect_rate&from=2026-03-02&to=2026-03-03"
                        "&format=csv")
        rows = {r["agent"]: r for r in csv.DictReader(io.StringIO(text, newline=""))}
        self.assertEqual((rows["bob"]["flagged"], rows["bob"]["value"]), ("true", "0.2000"))

    def test_d_rankings(self):
        doc = self.get("/v1/rankings?metric=calls_per_day&from=2026-03-02&to=2026-03-03")
        ranks = {r["agent"]: r for r in doc["agents"]}
        self.assertEqual((doc["scope"], doc["flag_below_pct"]), ("department", 20))
        self.assertEqual((ranks["ann"]["value"], ranks["ann"]["days_worked"],
                          ranks["dan"]["value"], ranks["dan"]["group"]), (2.5, 2, 2.0, "west"))
        self.assertFalse(any(r["flagged"] for r in doc["agents"]))
        doc = self.get("/v1/rankings?metric=connect_rate&from=2026-03-02&to=2026-03-03")
        ranks = {r["agent"]: r for r in doc["agents"]}
        self.assertEqual((ranks["ann"]["value"], ranks["bob"]["value"]), (0.6, 0.2))
        self.assertEqual((ranks["bob"]["group_mean"], ranks["bob"]["vs_mean_pct"],
                          ranks["bob"]["flagged"], ranks["bob"]["rank"]), (0.4, -50.0, True, 2))
        self.assertFalse(ranks["ann"]["flagged"])
        doc = self.get("/v1/rankings?metric=connect_rate&scope=tenant&from=2026-03-02"
                       "&to=2026-03-03")
        ranks = {r["agent"]: r for r in doc["agents"]}
        self.assertEqual((ranks["dan"]["rank"], ranks["ann"]["group_mean"],
                          ranks["ann"]["flagged"], ranks["bob"]["flagged"]), (1, 0.6, False, True))
        self.assertIsNone(ranks["ann"]["group"])
        doc = self.get("/v1/rankings?metric=conversion_rate&from=2026-03-02&to=2026-03-03"
                       "&scope=tenant")
        ranks = {r["agent"]: r for r in doc["agents"]}
        self.assertEqual((ranks["ann"]["value"], ranks["bob"]["value"], ranks["dan"]["value"]),
                         (0.6667, 1.0, 0.5))

    def test_e_roles(self):
        for path in ("/v1/reports/agents?from=2026-03-02&to=2026-03-03",
                     "/v1/rankings?metric=connect_rate&from=2026-03-02&to=2026-03-03"):
            self.assertEqual(self.get(path, user="ann", status=403)["error"]["code"], "forbidden")
        self.get("/v1/reports/agents?from=2026-03-02&to=2026-03-03", user="aud1")
        # A supervisor sees its department: no dan, no calls nobody took.
        doc = self.get("/v1/reports/agents?from=2026-03-02&to=2026-03-03&group=total",
                       user="sup_east")
        self.assertEqual(doc["department"], "east")
        self.assertEqual(sorted(self.rows_by(doc, "agent")), ["ann", "bob"])
        doc = self.get("/v1/reports/campaigns?from=2026-03-02&to=2026-03-03&group=total",
                       user="sup_east")
        rows = self.rows_by(doc, "campaign_id")
        self.assertEqual((rows["5"]["current"]["calls"], rows["5"]["current"]["abandoned"],
                          rows["6"]["current"]["calls"]), (8, 0, 2))
        doc = self.get("/v1/rankings?metric=connect_rate&from=2026-03-02&to=2026-03-03"
                       "&scope=tenant", user="sup_east")
        self.assertEqual(sorted(r["agent"] for r in doc["agents"]), ["ann", "bob"])
        # The bootstrap credential reads no tenant's data.
        s, doc = self.n1.request("GET", "/v1/reports/agents?from=2026-03-02&to=2026-03-03")
        self.assertEqual(s, 403, doc)

    def test_f_bad_input_names_the_field(self):
        cases = [("/v1/reports/agents?to=2026-03-03", "from"),
                 ("/v1/reports/agents?from=2026-02-30&to=2026-03-03", "from"),
                 ("/v1/reports/agents?from=2026-03-02", "to"),
                 ("/v1/reports/agents?from=2026-03-04&to=2026-03-03", "to"),
                 ("/v1/reports/agents?from=2025-01-01&to=2026-03-03", "to"),
                 ("/v1/reports/agents?from=2026-03-02&to=2026-03-03&group=month", "group"),
                 ("/v1/reports/campaigns?from=2026-03-02&to=2026-03-03&format=xml", "format"),
                 ("/v1/rankings?from=2026-03-02&to=2026-03-03", "metric"),
                 ("/v1/rankings?metric=calls_per_hour&from=2026-03-02&to=2026-03-03", "metric"),
                 ("/v1/rankings?metric=connect_rate&from=2026-03-02&to=2026-03-03&scope=x",
                  "scope")]
        for path, field in cases:
            doc = self.get(path, status=400)
            self.assertEqual(doc["error"]["field"], field, path)
        self.get("/v1/reports/nothing?from=2026-03-02&to=2026-03-03", status=404)
        s, doc = Api(self.n2, self.tok["admin1"]).call(
            "POST", "/v1/reports/agents?from=2026-03-02&to=2026-03-03", {})
        self.assertEqual(s, 405, doc)
        # A full year is fine.
        self.get("/v1/reports/agents?from=2025-03-04&to=2026-03-03&group=week")

    def test_g_new_records_show_at_once_and_survive_a_restart(self):
        self.load(self.c.leader(), [cdr_ops(16, "2026-03-03", "dan", 6, "answered", 50)])
        path = "/v1/reports/agents?from=2026-03-03&to=2026-03-03"
        self.wait_for(path, lambda d: self.rows_by(d, "agent")["dan"]["current"]["calls"] == 3,
                      "dan's third call")
        before = self.get(path, node=self.n3)
        self.n3.stop()
        self.n3.start()
        self.c.wait_ready(timeout=60)
        after = self.wait_for(path, lambda d: d == before, "the same report after a restart",
                              nodes=[self.n3])
        self.assertEqual(after, before)

    def test_z_no_sanitizer_reports(self):
        self.c.check_sanitizers()


if __name__ == "__main__":
    unittest.main(verbosity=2)

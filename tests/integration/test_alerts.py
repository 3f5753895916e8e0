#!/usr/bin/env python3
"""Supervisor alerts (docs/alerts.md) on a 3-node cluster: an agent whose conversion rate
fell two weeks in a row, a campaign's abandon rate near its cap and a floor whose
occupancy is under its threshold each fire one alert; it reaches a supervisor's live
stream on another node, the list of alerts by role and department, and a local webhook
receiver (signed, retried after a 500); acknowledging is audited; rules with bad fields
are refused naming the field. Call records, dispositions and agent states are written
through the leader's forward port (bench/reports/cdrload.py), as the dialer and the seat
service write them."""
import datetime
import hashlib
import hmac
import http.server
import json
import os
import shutil
import struct
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "localcluster"))
sys.path.insert(0, os.path.join(ROOT, "bench", "reports"))
from localcluster import Api, Cluster  # noqa: E402
from wsclient import WsClient  # noqa: E402
import cdrload  # noqa: E402
from cdrload import CF_AGENT, CF_CALL, CF_CAMPAIGN, f_bytes, f_int  # noqa: E402

PORT_BASE = 3600  # raft 10601-3, api 11601-3, forward 12601-3
TENANT, NODE = 1, 78
SECRET = "east-webhook-secret-0123"
SLOW = float(os.environ.get("WAIHU_SLOW", "1"))


def local_noon_ms(day, minute=0):
    t = datetime.datetime(day.year, day.month, day.day, 12, 0) + datetime.timedelta(minutes=minute)
    return int(time.mktime(t.timetuple()) * 1000)


def last_weeks(n):
    """Tuesdays of the last n whole ISO weeks, oldest first."""
    today = datetime.date.today()
    monday = today - datetime.timedelta(days=today.weekday())
    return [monday - datetime.timedelta(days=7 * (n - k)) + datetime.timedelta(days=1)
            for k in range(n)]


def week_label(day):
    y, w, _ = day.isocalendar()
    return "%d-W%02d" % (y, w)


def campaign_record(cid, name, cap):
    return b"".join([f_int(1, 1), f_int(2, cid), f_int(3, TENANT), f_bytes(4, name),
                     f_bytes(5, "predictive"), f_bytes(6, "running"),
                     bytes([0x81, 0x01]) + struct.pack("<d", cap)])  # field 16, double


def agent_state(name, department, state):
    key = b"s" + struct.pack(">Q", TENANT) + name.encode()
    rec = b"".join([f_int(1, 1), f_bytes(2, name), f_int(3, TENANT), f_bytes(4, department),
                    f_bytes(5, state), f_bytes(8, "n1")])
    return [(CF_AGENT, key, rec)]


class Receiver(http.server.BaseHTTPRequestHandler):
    """A CRM's webhook endpoint: the first request fails with 500, the rest succeed."""
    got = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with Receiver.lock:
            Receiver.got.append((dict(self.headers), body))
            first = len(Receiver.got) == 1
        self.send_response(500 if first else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class AlertsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="waihu-alerts-")
        cls.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=cls.http.serve_forever, daemon=True).start()
        cls.hook = "http://127.0.0.1:%d/crm/alerts" % cls.http.server_address[1]
        cls.c = Cluster(os.path.join(cls.tmp, "cluster"), 3, port_base=PORT_BASE)
        for n in cls.c.nodes:  # the receiver is on loopback
            n.extra_args = ["--webhook-allow-private", "1"]
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
                                 ("sup_west", "supervisor", "west"), ("aud1", "auditor", ""),
                                 ("ann", "agent", "east"), ("bob", "agent", "east"),
                                 ("dan", "agent", "west")]:
            pw = name + "-password-123"
            s, doc = boot.call("POST", "/v1/users", {"username": name, "password": pw,
                                                     "role": role, "tenant_id": TENANT,
                                                     "department": dept})
            assert s == 201, doc
            s, doc = leader.request("POST", "/v1/auth/login", {"username": name, "password": pw})
            assert s == 200, doc
            cls.tok[name] = doc["token"]
        cls.load(leader, cls.history())

    @classmethod
    def history(cls):
        """Three whole weeks: ann converts 40% -> 30% -> 20% of 40 answered calls; dan
        (west) 50% -> 40% -> 30%; bob is steady at 30% of 10. Today campaign 9 (cap 3%)
        had 60 answered and 2 abandoned calls: 3.2%."""
        muts, cid = [], 0
        weeks = last_weeks(3)
        for agent, answered, sales in [("ann", 40, [16, 12, 8]), ("dan", 40, [20, 16, 12]),
                                       ("bob", 10, [3, 3, 3])]:
            for day, sold in zip(weeks, sales):
                for i in range(answered):
                    cid += 1
                    start = local_noon_ms(day, i)
                    muts.append([(CF_CALL, cdrload.call_key(TENANT, start, NODE, cid),
                                  cdrload.call_record(TENANT, NODE, cid, start, agent,
                                                      "answered", 60000, 3000, 5))])
                    if i < sold:
                        muts.append([(CF_AGENT, cdrload.disposition_key(TENANT, NODE, cid),
                                      cdrload.disposition("sale", agent, start + 90000, 5))])
        muts.append([(CF_CAMPAIGN, cdrload.campaign_key(TENANT, 9),
                      campaign_record(9, "Winter", 0.03))])
        now = int(time.time() * 1000)
        midnight = int(time.mktime(datetime.date.today().timetuple()) * 1000)
        for i in range(62):
            cid += 1
            start = max(now - 1000 * (i + 1), midnight + i)
            result, agent = ("abandoned", "") if i < 2 else ("answered", "bob")
            muts.append([(CF_CALL, cdrload.call_key(TENANT, start, NODE, cid),
                          cdrload.call_record(TENANT, NODE, cid, start, agent, result,
                                              30000 if agent else 0, 3000, 9))])
        return muts

    @classmethod
    def load(cls, leader, mutations):
        out = cdrload.Loader(leader.forward_address, window=8)
        for ops in mutations:
            out.add(ops)
        assert out.close() == len(mutations)

    @classmethod
    def cleanup(cls):
        cls.c.stop()
        cls.http.shutdown()
        cls.c.check_sanitizers()
        if not os.environ.get("WAIHU_KEEP_LOGS"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def call(self, method, path, body=None, user="admin1", node=None):
        return Api(node or self.n2, self.tok[user]).call(method, path, body)

    def alerts(self, user="admin1", query=""):
        s, doc = self.call("GET", "/v1/alerts" + query, user=user)
        self.assertEqual(s, 200, doc)
        return doc["items"]

    def wait_alert(self, pred, user="admin1", timeout=30):
        found = []

        def check():
            found[:] = [a for a in self.alerts(user) if pred(a)]
            return found
        self.c.wait(check, timeout=timeout * SLOW, what="an alert", interval=0.2)
        return found

    def put_rule(self, name, body, user="admin1", status=(200, 201)):
        s, doc = self.call("PUT", "/v1/alert-rules/" + name, body, user=user)
        self.assertIn(s, status, doc)
        return doc

    # ---- the tests ----

    def test_1_conversion_falling_two_weeks(self):
        """A supervisor's rule fires for her agent, once; the alert reaches her live stream
        on another node, her list, and her CRM's webhook, signed and retried; the other
        department's supervisor sees nothing of it; acknowledging is recorded."""
        ws = WsClient(self.n3.api_address)
        try:
            ws.send_json({"token": self.tok["sup_east"]})
            self.assertEqual(ws.recv_json()["type"], "hello")
            rule = self.put_rule("conversion-drop", {
                "kind": "metric_falling", "metric": "conversion_rate", "weeks": 2,
                "webhook_url": self.hook, "webhook_secret": SECRET}, user="sup_east")
            self.assertEqual((rule["department"], rule["webhook_secret_set"]), ("east", True))
            self.assertNotIn("webhook_secret", rule)
            pushed = ws.wait_for(lambda d: d["type"] == "alert", timeout=30 * SLOW)["alert"]
        finally:
            ws.close()
        weeks = last_weeks(3)
        self.assertEqual((pushed["rule"], pushed["subject_type"], pushed["subject"],
                          pushed["department"], pushed["period"]),
                         ("conversion-drop", "agent", "ann", "east", week_label(weeks[-1])))
        self.assertEqual([round(v, 4) for v in pushed["history"]], [0.4, 0.3, 0.2])
        self.assertIn("ann's conversion rate fell 2 weeks in a row", pushed["message"])
        self.wait_alert(lambda a: a["id"] == pushed["id"], user="sup_east")  # n2 applied it
        mine = self.alerts("sup_east")
        self.assertEqual([a["subject"] for a in mine], ["ann"])  # not bob (steady)
        # The webhook: the first attempt got a 500, the second was delivered.
        a = self.wait_alert(lambda a: a["id"] == pushed["id"] and a["webhook"]["state"] ==
                            "delivered", user="sup_east")[0]
        self.assertEqual(a["webhook"]["attempts"], 2)
        with Receiver.lock:
            got = list(Receiver.got)
        self.assertEqual(len(got), 2)
        for headers, body in got:
            t, v1 = (kv.split("=", 1)[1] for kv in headers["Waihu-Signature"].split(","))
            want = hmac.new(SECRET.encode(), t.encode() + b"." + body, hashlib.sha256)
            self.assertEqual(v1, want.hexdigest())
            doc = json.loads(body)
            self.assertEqual((doc["type"], doc["alert"]["id"], headers["Waihu-Event-Id"]),
                             ("alert", pushed["id"], doc["event_id"]))
        # Evaluated again (the rule changed): still one alert for ann this week. Changed
        # rules are judged at once, in name order, on the leader: when the probe rule's
        # alert is there, conversion-drop was judged again in the same pass or before.
        self.put_rule("conversion-drop", {"kind": "metric_falling", "weeks": 2,
                                          "webhook_url": self.hook, "webhook_secret": SECRET},
                      user="sup_east")
        self.put_rule("z-probe-1", {"kind": "metric_falling", "department": "west"})
        self.wait_alert(lambda a: a["rule"] == "z-probe-1")
        self.assertEqual(len([x for x in self.alerts("sup_east") if x["subject"] == "ann"]), 1)
        # The west supervisor sees nothing of east; an agent nothing at all.
        self.assertEqual([x for x in self.alerts("sup_west") if x["department"] == "east"], [])
        self.assertEqual(self.call("GET", "/v1/alerts", user="ann")[0], 403)
        s, doc = self.call("POST", "/v1/alerts/%s/ack" % pushed["id"], user="sup_west")
        self.assertEqual(s, 404, doc)
        # Acknowledged by sup_east on n1; audited; gone from the unacknowledged list.
        s, doc = self.call("POST", "/v1/alerts/%s/ack" % pushed["id"], user="sup_east",
                           node=self.n1)
        self.assertEqual((s, doc["acknowledged"]["by"]), (200, "sup_east"), doc)
        self.c.wait(lambda: not [x for x in self.alerts("sup_east", "?unacknowledged=true")
                                 if x["id"] == pushed["id"]], timeout=10 * SLOW,
                    what="the acknowledgement on n2")
        actions, cursor = [], None
        while True:
            s, page = self.call("GET", "/v1/audit?limit=500" +
                                ("&cursor=" + cursor if cursor else ""), user="admin1")
            self.assertEqual(s, 200, page)
            actions += [(r["action"], r["user"], r["object"]) for r in page["items"]]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        self.assertIn(("alert.ack", "sup_east", pushed["id"]), actions)
        self.assertIn(("alert_rule.put", "sup_east", "conversion-drop"), actions)

    def test_2_other_department_and_thin_weeks(self):
        """An admin's rule for department west fires for dan only; with more volume
        required than ann's weeks had, nothing fires for her."""
        self.put_rule("west-drop", {"kind": "metric_falling", "department": "west"})
        a = self.wait_alert(lambda a: a["rule"] == "west-drop")
        self.assertEqual([x["subject"] for x in a], ["dan"])
        self.assertEqual({x["subject"] for x in self.alerts("sup_west")}, {"dan"})
        self.put_rule("east-thin", {"kind": "metric_falling", "department": "east",
                                    "min_volume": 41})
        # Changed rules are judged at once in name order: once the probe (named after it)
        # fired, east-thin was judged too.
        self.put_rule("west-probe-2", {"kind": "metric_falling", "department": "west"})
        self.wait_alert(lambda a: a["rule"] == "west-probe-2")
        self.assertEqual([x for x in self.alerts() if x["rule"] == "east-thin"], [])

    def test_3_abandon_near_cap(self):
        self.put_rule("abandon", {"kind": "abandon_near_cap", "threshold": 0.8})
        a = self.wait_alert(lambda a: a["rule"] == "abandon")[0]
        self.assertEqual((a["subject_type"], a["subject"], a["period"]),
                         ("campaign", "9", datetime.date.today().isoformat()))
        self.assertAlmostEqual(a["value"], 2 / 62, places=6)
        self.assertIn("'Winter' (9): abandon rate 3.23% today", a["message"])
        self.assertIsNone(a["webhook"])

    def test_4_occupancy_below(self):
        """Two east agents ready and nobody on a call for 30 s: occupancy 0 < 50%."""
        self.load(self.c.leader(), [agent_state("ann", "east", "ready"),
                                    agent_state("bob", "east", "ready")])
        rule = self.put_rule("east-occupancy", {"kind": "occupancy_below", "threshold": 0.5,
                                                "window_s": 30, "min_agents": 2},
                             user="sup_east")
        self.assertEqual(rule["window_s"], 30)
        a = self.wait_alert(lambda a: a["rule"] == "east-occupancy", user="sup_east",
                            timeout=90)[0]
        self.assertEqual((a["subject_type"], a["subject"], a["value"]), ("floor", "east", 0.0))
        self.assertIn("occupancy of department east was 0%", a["message"])

    def test_5_bad_rules(self):
        cases = [({"kind": "sometimes"}, "kind"),
                 ({"kind": "occupancy_below"}, "threshold"),
                 ({"kind": "occupancy_below", "threshold": 1.5}, "threshold"),
                 ({"kind": "occupancy_below", "threshold": 0.5, "window_s": 5}, "window_s"),
                 ({"kind": "metric_falling", "weeks": 9}, "weeks"),
                 ({"kind": "metric_falling", "metric": "talk"}, "metric"),
                 ({"kind": "metric_falling", "webhook_url": "ftp://crm.example/x"},
                  "webhook_url"),
                 ({"kind": "metric_falling", "webhook_url": self.hook,
                   "webhook_secret": "short"}, "webhook_secret"),
                 ({"kind": "metric_falling", "enabled": "yes"}, "enabled")]
        for body, field in cases:
            s, doc = self.call("PUT", "/v1/alert-rules/bad", body)
            self.assertEqual((s, doc["error"]["field"]), (400, field), (body, doc))
        s, doc = self.call("PUT", "/v1/alert-rules/Bad%20Name", {"kind": "metric_falling"})
        self.assertEqual(s, 400, doc)
        s, doc = self.call("PUT", "/v1/alert-rules/west-by-east",
                           {"kind": "metric_falling", "department": "west"}, user="sup_east")
        self.assertEqual((s, doc["error"]["field"]), (403, "department"), doc)
        self.assertEqual(self.call("PUT", "/v1/alert-rules/x", {"kind": "metric_falling"},
                                   user="ann")[0], 403)
        self.assertEqual(self.call("PUT", "/v1/alert-rules/x", {"kind": "metric_falling"},
                                   user="aud1")[0], 403)
        self.assertEqual(self.call("POST", "/v1/alerts/zz/ack")[0], 400)
        self.assertEqual(self.call("POST", "/v1/alerts/0123456789abcdef/ack")[0], 404)
        s, rules = self.call("GET", "/v1/alert-rules")
        self.assertNotIn("bad", [r["name"] for r in rules["items"]])
        # Deleting: gone from the list; a second delete is a 404.
        self.put_rule("to-delete", {"kind": "metric_falling", "enabled": False})
        self.assertEqual(self.call("DELETE", "/v1/alert-rules/to-delete")[0], 200)
        self.assertEqual(self.call("DELETE", "/v1/alert-rules/to-delete")[0], 404)


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""The customer API on a real 3-node cluster: tenants, users and logins, roles and
object-level denials, validation, masking and unmasking (audited), phone dedup, filters,
do-not-call, PIPL export/erase, the audit log, and encryption at rest (no personal data
in any RocksDB or raft file)."""
import glob
import json
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "localcluster"))
from localcluster import Cluster  # noqa: E402

PORT_BASE = 10600  # below the ephemeral port range

PASSWORD = "correct horse battery staple"
NAME = "张三丰测试"                 # looked for in every file after the test
PHONE_NATIONAL = "13912345678"
PHONE_E164 = "+8613912345678"


class Api:
    """A logged-in user talking to one node."""

    def __init__(self, node, token):
        self.node, self.token = node, token

    def call(self, method, path, body=None, raw=None):
        headers = {"Authorization": "Bearer " + self.token} if self.token else {"Authorization": ""}
        if body is not None or raw is not None:
            headers["Content-Type"] = "application/json"
        return self.node.request(method, path, raw if raw is not None else body, headers,
                                 timeout=10)


class CustomerApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="waihu-cust-")
        cls.c = Cluster(cls.tmp, 3, port_base=PORT_BASE)
        cls.c.create()
        cls.c.start()
        cls.leader = cls.c.wait_ready(timeout=60)
        boot = Api(cls.leader, cls.c.token)
        for tid, country in ((1, "CN"), (2, "CN")):
            s, doc = boot.call("POST", "/v1/tenants",
                               {"id": tid, "name": "tenant %d" % tid, "default_country": country})
            assert s == 201, doc
        users = [("admin1", 1, "admin", ""), ("supa", 1, "supervisor", "a"),
                 ("supb", 1, "supervisor", "b"), ("agent1", 1, "agent", "a"),
                 ("agent2", 1, "agent", "a"), ("auditor1", 1, "auditor", ""),
                 ("admin2", 2, "admin", "")]
        for name, tid, role, dept in users:
            s, doc = boot.call("POST", "/v1/users", {"username": name, "password": PASSWORD,
                                                     "role": role, "department": dept,
                                                     "tenant_id": tid})
            assert s == 201, (name, doc)
        cls.api = {}
        for name, *_ in users:
            s, doc = cls.leader.request("POST", "/v1/auth/login",
                                        {"username": name, "password": PASSWORD})
            assert s == 200, (name, doc)
            cls.api[name] = Api(cls.leader, doc["token"])
        s, doc = cls.api["admin1"].call("PUT", "/v1/fields", {"fields": [
            {"name": "industry", "type": "enum", "enum_values": ["education", "retail"]},
            {"name": "size", "type": "number"},
            {"name": "signup", "type": "date"}]})
        assert s == 200, doc

    @classmethod
    def tearDownClass(cls):
        cls.c.kill_all()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def create(self, who, body, status=201):
        s, doc = self.api[who].call("POST", "/v1/customers", body)
        self.assertEqual(s, status, doc)
        return doc

    # ---- authentication ----
    def test_login_and_tokens(self):
        s, doc = self.leader.request("POST", "/v1/auth/login",
                                     {"username": "agent1", "password": "wrong password!"})
        self.assertEqual(s, 401, doc)
        s, unknown = self.leader.request("POST", "/v1/auth/login",
                                         {"username": "nobody", "password": "wrong password!"})
        self.assertEqual((s, unknown), (401, doc))  # no hint which part was wrong
        self.assertEqual(Api(self.leader, "")
                         .call("GET", "/v1/customers")[0], 401)
        self.assertEqual(Api(self.leader, "wh_" + "0" * 24 + "_" + "0" * 64)
                         .call("GET", "/v1/customers")[0], 401)
        # A token works on every node (followers catch up behind a read barrier).
        for node in self.c.nodes:
            s, doc = Api(node, self.api["agent1"].token).call("GET", "/v1/customers")
            self.assertEqual(s, 200, doc)

    def test_user_admin_and_mass_assignment(self):
        s, doc = self.api["agent1"].call("PATCH", "/v1/users/agent1", {"role": "admin"})
        self.assertEqual(s, 403, doc)
        s, doc = self.api["agent1"].call("POST", "/v1/users", {
            "username": "sneaky", "password": PASSWORD, "role": "admin"})
        self.assertEqual(s, 403, doc)
        s, doc = self.api["admin2"].call("PATCH", "/v1/users/agent1", {"role": "admin"})
        self.assertEqual(s, 404, doc)  # another tenant's user does not exist for admin2
        s, doc = self.api["admin1"].call("POST", "/v1/users", {
            "username": "x-tenant", "password": PASSWORD, "role": "agent", "tenant_id": 2})
        self.assertEqual(s, 403, doc)
        s, doc = self.api["admin1"].call("POST", "/v1/users", {
            "username": "weak", "password": "short", "role": "agent"})
        self.assertEqual(s, 400, doc)
        self.assertEqual(doc["error"]["field"], "password")
        # The bootstrap token administers, it does not read customers.
        s, doc = Api(self.leader, self.c.token).call("GET", "/v1/customers")
        self.assertEqual(s, 403, doc)
        # ...and tenant users do not administer the cluster.
        s, doc = self.api["admin1"].call("PUT", "/v1/settings/x", {"value": "y"})
        self.assertEqual(s, 403, doc)

    # ---- customers ----
    def test_create_masks_and_unmask_is_audited(self):
        doc = self.create("agent1", {"name": "Li Lei", "phone": "139 1111 2222",
                                     "tags": ["high_intent"], "fields": {"industry": "retail"}})
        self.assertEqual(doc["owner"], "agent1")
        self.assertEqual(doc["department"], "a")
        self.assertEqual(doc["phone"], "139****2222")
        self.assertTrue(doc["phone_masked"])
        cid = doc["id"]
        s, doc = self.api["agent1"].call("GET", "/v1/customers/%s?unmask=1" % cid)
        self.assertEqual(s, 403, doc)
        s, doc = self.api["supa"].call("GET", "/v1/customers/%s?unmask=1" % cid)
        self.assertEqual(s, 200, doc)
        self.assertEqual(doc["phone"], "+8613911112222")
        s, audit = self.api["auditor1"].call("GET", "/v1/audit?limit=500")
        self.assertEqual(s, 200, audit)
        rows = [(r["user"], r["action"], r["object"]) for r in audit["items"]]
        self.assertIn(("supa", "customer.unmask", "customer/" + cid), rows)
        self.assertIn(("agent1", "customer.create", "customer/" + cid), rows)
        s, doc = self.api["agent1"].call("GET", "/v1/audit")
        self.assertEqual(s, 403, doc)

    def test_object_level_denials(self):
        cid = self.create("agent1", {"name": "Han Meimei", "phone": "13922223333"})["id"]
        path = "/v1/customers/" + cid
        self.assertEqual(self.api["agent1"].call("GET", path)[0], 200)
        self.assertEqual(self.api["agent2"].call("GET", path)[0], 404)   # not the owner
        self.assertEqual(self.api["supb"].call("GET", path)[0], 404)     # other department
        self.assertEqual(self.api["supa"].call("GET", path)[0], 200)
        self.assertEqual(self.api["admin2"].call("GET", path)[0], 404)   # other tenant
        self.assertEqual(self.api["auditor1"].call("GET", path)[0], 403) # role
        s, doc = self.api["agent1"].call("PATCH", path, {"owner": "agent2"})
        self.assertEqual(s, 403, doc)
        s, doc = self.api["agent2"].call("PATCH", path, {"status": "won"})
        self.assertEqual(s, 404, doc)
        s, doc = self.api["supb"].call("POST", "/v1/customers", {"name": "x", "department": "a"})
        self.assertEqual(s, 403, doc)
        s, doc = self.api["agent1"].call("DELETE", path)
        self.assertEqual(s, 403, doc)
        # Lists only show what the caller may touch.
        s, doc = self.api["agent2"].call("GET", "/v1/customers?limit=500")
        self.assertEqual(s, 200, doc)
        self.assertNotIn(cid, [c["id"] for c in doc["items"]])
        s, doc = self.api["admin2"].call("GET", "/v1/customers?limit=500")
        self.assertEqual(s, 200, doc)
        self.assertNotIn(cid, [c["id"] for c in doc["items"]])

    def test_validation(self):
        bad = [({"phone": "12345"}, "phone"), ({"id": "1"}, "id"), ({"tenant_id": 2}, "tenant_id"),
               ({"version": 9}, "version"), ({"fields": {"industry": "mining"}}, "industry"),
               ({"fields": {"size": "big"}}, "size"), ({"fields": {"nope": 1}}, "nope"),
               ({"fields": {"signup": "2026-02-30"}}, "signup"), ({"tags": ["Bad Tag"]}, "tags"),
               ({"last_contact": "yesterday"}, "last_contact"), ({"name": 5}, "name")]
        for body, field in bad:
            s, doc = self.api["admin1"].call("POST", "/v1/customers", body)
            self.assertEqual(s, 400, (body, doc))
            self.assertEqual(doc["error"]["field"], field, doc)
        s, doc = self.api["admin1"].call("POST", "/v1/customers", raw='{"name": "x",')
        self.assertEqual(s, 400, doc)
        self.assertIn("not JSON", doc["error"]["message"])
        s, doc = self.api["admin1"].call("POST", "/v1/customers", raw='{"name": "' + "x" * (2 << 20) + '"}')
        self.assertEqual(s, 413, doc)
        s, doc = self.api["admin1"].call("PUT", "/v1/fields", {"fields": [{"name": "phone", "type": "string"}]})
        self.assertEqual(s, 400, doc)

    def test_duplicate_phone_is_refused(self):
        self.create("admin1", {"name": "A", "phone": "+86 139 5555 6666"})
        s, doc = self.api["admin1"].call("POST", "/v1/customers", {"name": "B", "phone": "13955556666"})
        self.assertEqual(s, 409, doc)
        self.assertEqual(doc["error"]["code"], "duplicate_phone")
        # The same number in another tenant is another customer.
        self.create("admin2", {"name": "C", "phone": "13955556666"})

    def test_filters_and_pages(self):
        tags = [["seg_a"], ["seg_a", "seg_closed"], ["seg_a"], ["seg_b"], ["seg_a"]]
        contact = ["2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", None, "2020-01-01T00:00:00Z",
                   "2099-01-01T00:00:00Z"]
        ids = []
        for i, (t, lc) in enumerate(zip(tags, contact)):
            ids.append(self.create("admin1", {"name": "F%d" % i, "tags": t, "last_contact": lc,
                                              "fields": {"industry": "education", "size": i}})["id"])
        want = {ids[0], ids[2]}  # tag A, not closed, never or long ago contacted
        q = "tag:seg_a AND NOT tag:seg_closed AND last_contact < -30d AND industry = \"education\""
        from urllib.parse import quote
        got, cursor = set(), None
        while True:
            path = "/v1/customers?limit=1&filter=" + quote(q) + ("&cursor=" + cursor if cursor else "")
            s, doc = self.api["admin1"].call("GET", path)
            self.assertEqual(s, 200, doc)
            got |= {c["id"] for c in doc["items"]}
            cursor = doc["next_cursor"]
            if not cursor:
                break
        self.assertEqual(got, want)
        s, doc = self.api["admin1"].call("GET", "/v1/customers/count?filter=" + quote(q))
        self.assertEqual(doc["count"], 2)
        s, doc = self.api["admin1"].call("GET", "/v1/customers/count?filter=" + quote("size >= 3 AND tag:seg_a"))
        self.assertEqual(doc["count"], 1)
        s, doc = self.api["admin1"].call("GET", "/v1/customers?filter=" + quote("tag:seg_a AND (last_contact <"))
        self.assertEqual(s, 400, doc)
        self.assertIn("col", doc["error"]["message"])
        s, doc = self.api["admin1"].call("GET", "/v1/customers?filter=" + quote("size = \"big\""))
        self.assertEqual(s, 400, doc)
        s, doc = self.api["admin1"].call("GET", "/v1/customers?limit=100000")
        self.assertEqual(s, 400, doc)

    def test_dnc(self):
        a = self.api["agent1"]
        s, doc = a.call("POST", "/v1/dnc", {"number": "139 7777 8888", "reason": "asked on call"})
        self.assertEqual(s, 201, doc)
        self.assertEqual(a.call("GET", "/v1/dnc/check?number=%2B8613977778888")[1]["match"], "number")
        s, doc = self.api["admin1"].call("POST", "/v1/dnc", {"prefix": "+86170"})
        self.assertEqual(s, 201, doc)
        s, doc = a.call("GET", "/v1/dnc/check?number=17012345678")
        self.assertEqual((doc["blocked"], doc["match"]), (True, "prefix"))
        s, doc = a.call("GET", "/v1/dnc/check?number=13600001111")
        self.assertEqual((doc["blocked"], doc["match"]), (False, None))
        self.assertEqual(self.api["admin2"].call("GET", "/v1/dnc/check?number=13977778888")[1]["blocked"], False)
        self.assertEqual(a.call("DELETE", "/v1/dnc?number=13977778888")[0], 403)
        self.assertEqual(self.api["admin1"].call("DELETE", "/v1/dnc?number=13977778888")[0], 200)
        self.assertEqual(a.call("GET", "/v1/dnc/check?number=13977778888")[1]["blocked"], False)
        self.assertEqual(a.call("POST", "/v1/dnc", {"number": "12"})[0], 400)

    def test_export_and_erase(self):
        cid = self.create("admin1", {"name": "Wang Wu", "phone": "13944445555", "notes": "vip"})["id"]
        s, doc = self.api["supa"].call("GET", "/v1/customers/%s/export" % cid)
        self.assertEqual(s, 403, doc)
        s, doc = self.api["admin1"].call("GET", "/v1/customers/%s/export" % cid)
        self.assertEqual(s, 200, doc)
        self.assertEqual((doc["customer"]["phone"], doc["customer"]["notes"]), ("+8613944445555", "vip"))
        s, doc = self.api["admin1"].call("DELETE", "/v1/customers/" + cid)
        self.assertEqual((s, doc), (200, {"erased": cid}))
        self.assertEqual(self.api["admin1"].call("GET", "/v1/customers/" + cid)[0], 404)
        # The phone is free again (its index went with the record).
        self.create("admin1", {"name": "Wang Wu 2", "phone": "13944445555"})
        s, audit = self.api["admin1"].call("GET", "/v1/audit?limit=500")
        actions = [(r["action"], r["object"]) for r in audit["items"]]
        for a in ("customer.export", "customer.erase"):
            self.assertIn((a, "customer/" + cid), actions)

    def test_openapi_matches_routes(self):
        """docs/openapi.json lists every route of src/api, and every documented
        operation is routed (never "no route" nor 405)."""
        import re
        root = os.path.join(os.path.dirname(__file__), "..", "..")
        with open(os.path.join(root, "docs", "openapi.json")) as f:
            doc = json.load(f)
        paths = doc["paths"]
        literals = set()
        for src in glob.glob(os.path.join(root, "src", "api", "*.c")):
            with open(src) as f:
                literals |= set(re.findall(r'"(/(?:v1/[a-z0-9/_.]+|healthz|readyz|metrics))"', f.read()))
        for lit in literals:
            if lit.endswith("/"):  # a prefix that routes or guards a group of paths
                self.assertTrue(any(p.startswith(lit) for p in paths), lit)
            else:
                self.assertTrue(any(p == lit or p.startswith(lit + "/") for p in paths),
                                "%s is routed but not in docs/openapi.json" % lit)
        probe = self.api["auditor1"]
        for path, ops in paths.items():
            concrete = path.replace("{id}", "424242").replace("{key}", "probe.key").replace("{name}", "nobody")
            for method in ops:
                if method == "parameters":
                    continue
                s, body = probe.call(method.upper(), concrete, {} if method in ("post", "put", "patch") else None)
                self.assertNotEqual(s, 405, (method, path, body))
                if s == 404:
                    self.assertNotIn("no route", body["error"]["message"], (method, path))

    def test_import_csv_with_bad_rows(self):
        lines = ["Name,Mobile,Tags,Industry,Size"]
        for i in range(60):
            lines.append("Imported %d,139%08d,imp_batch;vip,education,%d" % (i, 20000000 + i, i))
        bad = {62: "phone", 63: "phone", 64: "size"}
        lines.append("Bad Phone,12345,imp_batch,education,1")         # line 62
        lines.append("Bad Phone 2,not a number,imp_batch,retail,1")   # line 63
        lines.append("Bad Size,13900000001,imp_batch,retail,big")     # line 64
        lines.append("Dup,139%08d,imp_batch,retail,1" % 20000000)      # line 65: duplicate phone
        lines.append('Broken "quote,13900000002,imp_batch,retail,1')  # line 66: stray quote
        lines.append("=cmd|' /C calc'!A0,13900000003,imp_batch,retail,2")  # formula: kept as text
        with open(os.path.join(self.c.import_dir, "leads.csv"), "w") as f:
            f.write("\r\n".join(lines) + "\r\n")
        a = self.api["supa"]
        s, job = a.call("POST", "/v1/imports", {"file": "leads.csv", "mapping": {
            "Name": "name", "Mobile": "phone", "Tags": "tags", "Industry": "industry", "Size": "size"}})
        self.assertEqual(s, 202, job)

        def done():
            s, doc = a.call("GET", "/v1/imports/" + job["id"])
            return doc if s == 200 and doc["state"] != "running" else None
        doc = self.c.wait(done, timeout=60, what="import finished")
        self.assertEqual(doc["state"], "done", doc)
        self.assertEqual((doc["rows_ok"], doc["rows_failed"], doc["duplicates"]), (61, 4, 1), doc)
        self.assertEqual(doc["bytes_done"], doc["bytes_total"])
        s, errs = a.call("GET", "/v1/imports/%s/errors" % job["id"])
        by_line = {e["line"]: e for e in errs["errors"]}
        self.assertEqual(sorted(by_line), [62, 63, 64, 66], errs)
        for line, field in bad.items():
            self.assertEqual(by_line[line].get("column"), field, by_line[line])
        self.assertIn("quote", by_line[66]["reason"], by_line[66])
        from urllib.parse import quote
        s, cnt = a.call("GET", "/v1/customers/count?filter=" + quote("tag:imp_batch"))
        self.assertEqual(cnt["count"], 61)
        # Imported customers land in the supervisor's department, encrypted like the rest.
        s, page = self.api["supb"].call("GET", "/v1/customers/count?filter=" + quote("tag:imp_batch"))
        self.assertEqual(page["count"], 0)
        # Bad requests: unknown file, path tricks, agents.
        self.assertEqual(a.call("POST", "/v1/imports", {"file": "missing.csv", "mapping": {"A": "name"}})[0], 404)
        self.assertEqual(a.call("POST", "/v1/imports", {"file": "../secrets/master.key", "mapping": {"A": "name"}})[0], 400)
        self.assertEqual(self.api["agent1"].call("POST", "/v1/imports", {"file": "leads.csv", "mapping": {"A": "name"}})[0], 403)

    def test_key_rotation(self):
        """A rotation makes a new data key that every node loads; the pass re-seals
        every customer under it; old and new customers read back on every node."""
        made = []
        for i in range(5):
            doc = self.create("admin1", {"name": "轮换客户%d" % i, "phone": "1370555%04d" % i,
                                         "address": "road %d" % i})
            made.append((doc["id"], "轮换客户%d" % i))
        boot = Api(self.leader, self.c.token)
        s, keys = boot.call("GET", "/v1/admin/keys")
        self.assertEqual(s, 200, keys)
        before = keys["current"]
        self.assertIsNotNone(before)
        s, doc = self.api["admin1"].call("POST", "/v1/admin/keys/rotate", {})
        self.assertEqual(s, 403, doc)  # cluster administration: the bootstrap token
        s, keys = boot.call("POST", "/v1/admin/keys/rotate", {})
        self.assertEqual(s, 202, keys)
        self.assertEqual(keys["current"], before + 1)
        self.assertIn(before + 1, keys["keys"])

        def pass_done():
            s, k = boot.call("GET", "/v1/admin/keys")
            return k if s == 200 and k["reencryption"]["state"] == "done" else None
        deadline = time.monotonic() + 60
        while (done := pass_done()) is None:
            self.assertLess(time.monotonic(), deadline, "re-encryption did not finish")
            time.sleep(0.1)
        r = done["reencryption"]
        self.assertEqual(r["failed"], 0, r)
        self.assertGreaterEqual(r["resealed"], len(made), r)
        self.assertEqual(r["key_id"], before + 1)
        # Nothing is left under the old key: a second pass re-seals nothing.
        s, keys = boot.call("POST", "/v1/admin/keys/reencrypt", {})
        self.assertEqual(s, 202, keys)
        deadline = time.monotonic() + 60
        while (done := pass_done()) is None:
            self.assertLess(time.monotonic(), deadline, "second pass did not finish")
            time.sleep(0.1)
        self.assertEqual(done["reencryption"]["resealed"], 0, done)
        self.assertEqual(done["reencryption"]["failed"], 0, done)
        self.assertEqual(done["reencryption"]["scanned"], r["scanned"])
        # Every node loaded the new key: old and new customers open everywhere.
        after = self.create("admin1", {"name": "新钥匙客户", "phone": "13705559999"})
        made.append((after["id"], "新钥匙客户"))
        token = self.api["admin1"].token
        for node in self.c.nodes:
            api = Api(node, token)
            for cid, name in made:
                deadline = time.monotonic() + 10
                while True:
                    s, doc = api.call("GET", "/v1/customers/%s?unmask=1" % cid)
                    if s == 200 or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)  # a follower may not have applied the create yet
                self.assertEqual(s, 200, (node.name, doc))
                self.assertEqual(doc["name"], name, node.name)
                self.assertNotIn("damaged", doc)
            s, k = Api(node, self.c.token).call("GET", "/v1/admin/keys")
            self.assertEqual(k["current"], before + 1, node.name)
        s, audit = boot.call("GET", "/v1/audit?limit=500")
        self.assertEqual(s, 200, audit)
        self.assertIn("key.rotate", [x["action"] for x in audit["items"]], audit)

    def test_zz_encrypted_at_rest(self):
        """Runs last (name order): the known name and phone appear in no file."""
        self.create("admin1", {"name": NAME, "phone": PHONE_NATIONAL, "address": NAME + "路1号",
                               "tags": ["plaintext_marker_tag"]})
        self.c.wait_converged()
        self.c.stop()
        needles = [NAME.encode(), PHONE_NATIONAL.encode(), PHONE_E164.encode()]
        control = b"plaintext_marker_tag"  # not personal: stored in clear, proves the search works
        found_control = False
        files = [p for n in self.c.nodes for p in glob.glob(os.path.join(n.data_dir, "**"), recursive=True)
                 if os.path.isfile(p)]
        self.assertTrue(any("/raft/" in p for p in files), files[:5])
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
            found_control = found_control or control in data
            for n in needles:
                self.assertNotIn(n, data, "%r in clear in %s" % (n, path))
        self.assertTrue(found_control, "the control string was not found: the search is broken")
        self.c.start()
        self.c.wait_ready(timeout=60)


class RateLimitTest(unittest.TestCase):
    def test_429_over_the_limit(self):
        tmp = tempfile.mkdtemp(prefix="waihu-rl-")
        c = Cluster(tmp, 1, port_base=PORT_BASE + 50)
        c.create()
        c.nodes[0].extra_args = ["--rate-limit-per-s", "2", "--rate-limit-burst", "5"]
        try:
            c.start()
            node = c.wait_ready()
            assert node.request("POST", "/v1/tenants", {"id": 1, "name": "t", "default_country": "CN"})[0] == 201
            assert node.request("POST", "/v1/users", {"username": "u", "password": PASSWORD,
                                                      "role": "admin", "tenant_id": 1})[0] == 201
            s, doc = node.request("POST", "/v1/auth/login", {"username": "u", "password": PASSWORD})
            user = Api(node, doc["token"])
            start = time.monotonic()
            answers = [user.call("GET", "/v1/cluster") for _ in range(20)]
            elapsed = time.monotonic() - start
            codes = [s for s, _ in answers]
            self.assertIn(429, codes, codes)
            # Never more than the burst plus what the rate refilled meanwhile.
            self.assertLessEqual(codes.count(200), 5 + 2 * elapsed + 1, (codes, elapsed))
            limited = [doc for s, doc in answers if s == 429][0]
            self.assertEqual(limited["error"]["code"], "rate_limited")
            self.assertGreater(limited["error"]["retry_after_ms"], 0)
        finally:
            c.kill_all()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Bulk import of bad CSV files on a real 3-node cluster (issue 3, "Bad input"), and the
filtered CSV export: broken quoting, wrong encodings, invalid phones, duplicates and
formula injection each give exact counts and error lines; no valid row is lost; formula
cells import as text and come back neutralised in the export; a file of hundreds of MB
imports in bounded memory. WAIHU_SLOW_IMPORT=1 adds the issue's 2 GB import.

Binaries: $WAIHUD and $WAIHUCTL (default build/...), as tools/localcluster says.
docs/import-csv.md lists the counts measured here."""
import csv
import http.client
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from urllib.parse import quote

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "localcluster"))
from localcluster import Cluster, default_binary, waihuctl_binary  # noqa: E402

PORT_BASE = 10700  # 10700-10799 belong to this file
PASSWORD = "correct horse battery staple"
MIB = 1024 * 1024
RSS_LIMIT_MIB = 400
# The 2 GB import leaves 1.5M customers behind: each node's customer view (~80 B per
# customer, arrays grown by doubling), RocksDB memtables and up to snapshot_threshold
# raft entries are held. Measured 570-782 MiB (2026-11-24); with localcluster's default
# threshold the nodes passed 1.4 GiB within 2 minutes.
SLOW_RSS_LIMIT_MIB = 1024


def vm_hwm_mib(pid):
    """Peak resident set of a process (VmHWM), in MiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmHWM for pid %d" % pid)


def asan_extra_mib(binary):
    """ASan keeps up to 256 MiB of freed memory in quarantine (and adds shadow memory):
    an ASan build of waihud gets that much more room under the RSS limits."""
    with open(binary, "rb") as f:
        return 256 if b"__asan_init" in f.read() else 0


def csv_bytes(rows, encoding="utf-8", newline="\r\n"):
    return (newline.join(rows) + newline).encode(encoding)


class Api:
    """A logged-in user talking to one node."""

    def __init__(self, node, token):
        self.node, self.token = node, token

    def call(self, method, path, body=None, raw=None, timeout=30):
        headers = {"Authorization": "Bearer " + self.token}
        if body is not None or raw is not None:
            headers["Content-Type"] = "application/json"
        return self.node.request(method, path, raw if raw is not None else body, headers,
                                 timeout=timeout)

    def get_bytes(self, path, timeout=60):
        """(status, content type, raw body) of a GET."""
        host, port = self.node.api_address.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        try:
            conn.request("GET", path, headers={"Authorization": "Bearer " + self.token})
            r = conn.getresponse()
            return r.status, r.getheader("Content-Type", ""), r.read()
        finally:
            conn.close()


class ImportBadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="waihu-impbad-")
        cls.c = Cluster(cls.tmp, 3, port_base=PORT_BASE)
        cls.c.create()
        cls.c.start()
        cls.leader = cls.c.wait_ready(timeout=60)
        boot = Api(cls.leader, cls.c.token)
        s, doc = boot.call("POST", "/v1/tenants", {"id": 1, "name": "t1", "default_country": "CN"})
        assert s == 201, doc
        users = [("admin1", "admin", ""), ("sup1", "supervisor", ""), ("agent1", "agent", "a"),
                 ("auditor1", "auditor", "")]
        cls.api = {}
        for name, role, dept in users:
            s, doc = boot.call("POST", "/v1/users", {"username": name, "password": PASSWORD,
                                                     "role": role, "department": dept,
                                                     "tenant_id": 1})
            assert s == 201, (name, doc)
            s, doc = cls.leader.request("POST", "/v1/auth/login",
                                        {"username": name, "password": PASSWORD})
            assert s == 200, (name, doc)
            cls.api[name] = Api(cls.leader, doc["token"])
        s, doc = cls.api["admin1"].call("PUT", "/v1/fields", {"fields": [
            {"name": "industry", "type": "enum", "enum_values": ["education", "retail"]}]})
        assert s == 200, doc
        cls.imported_ok = 0  # every row any test imported (and customers it created)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.c.stop()  # SIGTERM: an ASan build reports leaks at exit
        finally:
            cls.c.kill_all()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers ----
    def write(self, name, data):
        path = os.path.join(self.c.import_dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def wait_job(self, job_id, who="admin1", timeout=120):
        def done():
            s, doc = self.api[who].call("GET", "/v1/imports/" + job_id)
            self.assertEqual(s, 200, doc)
            return doc if doc["state"] != "running" else None
        doc = self.c.wait(done, timeout=timeout, what="import %s finished" % job_id,
                          interval=0.1)
        # The job may run on a follower (leadership moves under load on 2 cores): its
        # rows are committed, but reads right after could miss the last ones there.
        self.c.wait_converged()
        s, errs = self.api[who].call("GET", "/v1/imports/%s/errors" % job_id)
        self.assertEqual(s, 200, errs)
        return doc, errs["errors"]

    def run_import(self, name, data, mapping, encoding=None, who="admin1", timeout=120):
        if data is not None:
            self.write(name, data)
        body = {"file": name, "mapping": mapping}
        if encoding is not None:
            body["encoding"] = encoding
        s, job = self.api[who].call("POST", "/v1/imports", body)
        self.assertEqual(s, 202, job)
        doc, errors = self.wait_job(job["id"], who, timeout)
        self.assertEqual(doc["state"], "done", doc)
        self.assertEqual(doc["bytes_done"], doc["bytes_total"], doc)
        type(self).imported_ok += doc["rows_ok"]
        return doc, errors

    def assert_counts(self, doc, ok, failed, duplicates):
        self.assertEqual((doc["rows_ok"], doc["rows_failed"], doc["duplicates"]),
                         (ok, failed, duplicates), doc)

    def count(self, flt=None):
        path = "/v1/customers/count" + ("?filter=" + quote(flt) if flt else "")
        s, doc = self.api["admin1"].call("GET", path)
        self.assertEqual(s, 200, doc)
        return doc["count"]

    def customers(self, flt, unmask=True):
        """Every customer matching flt (admin view), by name."""
        out, cursor = {}, None
        while True:
            path = "/v1/customers?limit=500&filter=" + quote(flt) + ("&unmask=1" if unmask else "")
            if cursor:
                path += "&cursor=" + cursor
            s, doc = self.api["admin1"].call("GET", path)
            self.assertEqual(s, 200, doc)
            for c in doc["items"]:
                out[c["name"]] = c
            cursor = doc["next_cursor"]
            if not cursor:
                return out

    def export(self, query, who="admin1", node=None):
        api = self.api[who] if node is None else Api(node, self.api[who].token)
        return api.get_bytes("/v1/customers/export.csv?" + query)

    # ---- broken quoting ----
    def test_broken_quoting(self):
        rows = ["Name,Mobile,Tags"]
        good = {}

        def ok_row(i):
            good["Quote %d" % i] = "+86139%08d" % (10000000 + i)
            rows.append("Quote %d,139%08d,t_quote" % (i, 10000000 + i))
        for i in range(10):
            ok_row(i)                                            # lines 2-11
        rows.append('Bro"ken,13910001000,t_quote')               # line 12: stray quote
        for i in range(10, 15):
            ok_row(i)                                            # lines 13-17
        rows.append('"Never closed,13910001001,t_quote')         # line 18: quote not closed
        for i in range(15, 25):
            ok_row(i)                                            # lines 19-28
        rows.append('"Closed"x,13910001002,t_quote')             # line 29: text after quote
        ok_row(25)                                               # line 30
        rows.append('"Multi\nline",13910001003,t_quote')         # lines 31-32: a good record
        good["Multi\nline"] = "+8613910001003"
        ok_row(26)                                               # line 33
        doc, errors = self.run_import("quote.csv", csv_bytes(rows),
                                      {"Name": "name", "Mobile": "phone", "Tags": "tags"})
        self.assert_counts(doc, 28, 3, 0)
        self.assertEqual([e["line"] for e in errors], [12, 18, 29], errors)
        for e in errors:
            self.assertIn("quote", e["reason"], e)
        self.assertIn("stray quote", errors[0]["reason"])
        self.assertIn("not closed", errors[1]["reason"])
        self.assertIn("after the closing quote", errors[2]["reason"])
        # No valid row lost, none of the broken ones half-imported.
        got = self.customers("tag:t_quote")
        self.assertEqual({n: c["phone"] for n, c in got.items()}, good)

    # ---- encodings ----
    def test_encodings(self):
        def rows(base, tag):
            out = ["姓名,手机,标签"]
            names = {}
            for i in range(20):
                # 15 Chinese names, 5 ASCII ones (every 4th row).
                name = "Ascii %d" % i if i % 4 == 0 else "张三丰%d号" % i
                names[name] = "+86139%08d" % (base + i)
                out.append("%s,139%08d,%s" % (name, base + i, tag))
            return out, names
        mapping = {"姓名": "name", "手机": "phone", "标签": "tags"}
        # GB18030 read as auto: detected, every row imported with the right characters.
        lines, names = rows(11000000, "t_gb_auto")
        doc, errors = self.run_import("gb_auto.csv", csv_bytes(lines, "gb18030"), mapping,
                                      encoding="auto")
        self.assert_counts(doc, 20, 0, 0)
        self.assertEqual(errors, [])
        got = self.customers("tag:t_gb_auto")
        self.assertEqual({n: c["phone"] for n, c in got.items()}, names)
        # The same bytes declared utf-8: the header itself is not UTF-8, a fatal error.
        doc_fail = self.api["admin1"].call("POST", "/v1/imports", {
            "file": "gb_auto.csv", "mapping": mapping, "encoding": "utf-8"})
        self.assertEqual(doc_fail[0], 202, doc_fail)
        doc, errors = self.wait_job(doc_fail[1]["id"])
        self.assertEqual(doc["state"], "failed", doc)
        self.assertEqual((doc["rows_ok"], doc["rows_failed"]), (0, 0), doc)
        self.assertIn("UTF-8", doc["error"], doc)
        # An ASCII header, GB18030 cells declared utf-8: each Chinese row fails alone.
        lines, names = rows(11100000, "t_gb_as_utf8")
        lines[0] = "Name,Mobile,Tags"
        doc, errors = self.run_import("gb_utf8.csv", csv_bytes(lines, "gb18030"),
                                      {"Name": "name", "Mobile": "phone", "Tags": "tags"},
                                      encoding="utf-8")
        self.assert_counts(doc, 5, 15, 0)
        self.assertEqual([e["line"] for e in errors], [i + 2 for i in range(20) if i % 4], errors)
        for e in errors:
            self.assertEqual(e["column"], "Name", e)
            self.assertIn("invalid UTF-8", e["reason"], e)
        self.assertEqual(set(self.customers("tag:t_gb_as_utf8")),
                         {n for n in names if n.startswith("Ascii")})
        # Invalid UTF-8 bytes and a NUL in an otherwise UTF-8 file (auto).
        data = csv_bytes(["Name,Mobile,Tags"] +
                         ["Valid 李%d,139%08d,t_badutf8" % (i, 11200000 + i) for i in range(7)])
        data += b"Bad \xff\xfe,13911200100,t_badutf8\r\n"          # line 9
        data += b"Bad \xc3\x28,13911200101,t_badutf8\r\n"          # line 10: cut sequence
        data += b"Bad \x00nul,13911200102,t_badutf8\r\n"           # line 11
        data += b"Overlong \xc0\xaf,13911200103,t_badutf8\r\n"     # line 12
        data += "Valid end,13911200104,t_badutf8\r\n".encode()     # line 13
        doc, errors = self.run_import("badutf8.csv", data,
                                      {"Name": "name", "Mobile": "phone", "Tags": "tags"})
        self.assert_counts(doc, 8, 4, 0)
        self.assertEqual([e["line"] for e in errors], [9, 10, 11, 12], errors)
        for e in errors:
            self.assertEqual(e["column"], "Name", e)
        self.assertEqual(self.count("tag:t_badutf8"), 8)

    # ---- invalid phones (10%), through waihuctl ----
    def test_invalid_phones_ten_percent_with_waihuctl(self):
        bad_values = ["12345", "not a number", "+1 555", "139123456789999", "0000000000",
                      "+86 139 1234", "1391234567x", "++8613900000000", "139-", "(139)"]
        rows, bad_lines, good = ["Name,Mobile,Tags,Industry"], [], {}
        for i in range(200):
            if i % 10 == 9:
                rows.append("Badphone %d,%s,t_phone,retail" % (i, bad_values[i // 10 % 10]))
                bad_lines.append(i + 2)
            else:
                rows.append("Phone %d,139 %04d %04d,t_phone,education" % (i, 1230, 1000 + i))
                good["Phone %d" % i] = "+86139%04d%04d" % (1230, 1000 + i)
        self.write("phones.csv", csv_bytes(rows))
        env = dict(os.environ, WAIHU_TOKEN=self.api["admin1"].token,
                   WAIHU_ENDPOINTS=self.leader.api_address)
        ctl = waihuctl_binary()
        p = subprocess.run([ctl, "-o", "json", "import", "start", "phones.csv", "--map",
                            "Name=name,Mobile=phone,Tags=tags,Industry=industry",
                            "--encoding", "utf-8"],
                           capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        job = json.loads(p.stdout)
        p = subprocess.run([ctl, "import", "status", job["id"], "--wait", "--timeout-s", "120"],
                           capture_output=True, text=True, timeout=150, env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("done", p.stdout)
        self.assertIn("rows_ok 180", p.stdout)
        self.assertIn("rows_failed 20", p.stdout)
        self.assertIn("line 11: phone:", p.stdout)  # first errors are printed
        doc, errors = self.wait_job(job["id"])
        type(self).imported_ok += doc["rows_ok"]
        self.assert_counts(doc, 180, 20, 0)
        self.assertEqual([e["line"] for e in errors], bad_lines)
        for e in errors:
            self.assertEqual(e["column"], "phone", e)
            self.assertTrue(e["reason"], e)
        got = self.customers("tag:t_phone")
        self.assertEqual({n: c["phone"] for n, c in got.items()}, good)
        # A usage error and a failing job give a non-zero exit.
        p = subprocess.run([ctl, "import", "start", "phones.csv", "--map", "Name"],
                           capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(p.returncode, 2, p.stderr)
        p = subprocess.run([ctl, "import", "start", "missing.csv", "--map", "Name=name"],
                           capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("not_found", p.stderr)

    # ---- duplicates ----
    def test_duplicate_phones(self):
        # 5 customers exist before the import.
        for i in range(5):
            s, doc = self.api["admin1"].call("POST", "/v1/customers", {
                "name": "Existing %d" % i, "phone": "139%08d" % (13000000 + i), "tags": ["t_dup"]})
            self.assertEqual(s, 201, doc)
        type(self).imported_ok += 5
        rows = ["Name,Mobile,Tags"]
        for i in range(40):
            rows.append("New %d,139%08d,t_dup" % (i, 13000100 + i))          # lines 2-41
        for i in range(10):  # the same numbers again, written differently
            rows.append("Again %d,+86 139 %04d %04d,t_dup" % (i, 1300, 100 + i))  # 42-51
        for i in range(5):
            rows.append("Clash %d,139%08d,t_dup" % (i, 13000000 + i))        # lines 52-56
        doc, errors = self.run_import("dup.csv", csv_bytes(rows),
                                      {"Name": "name", "Mobile": "phone", "Tags": "tags"})
        self.assert_counts(doc, 40, 0, 15)
        self.assertEqual(errors, [])
        got = self.customers("tag:t_dup")
        self.assertEqual(len(got), 45)
        # The first row with a number wins; the later ones were skipped.
        self.assertTrue(all(n.startswith(("New", "Existing")) for n in got), sorted(got))
        # Within one replicated command too (rows of one command stand alone).
        rows = ["Name,Mobile,Tags", "Twin A,13913000900,t_dup2", "Twin B,13913000900,t_dup2"]
        doc, errors = self.run_import("dup2.csv", csv_bytes(rows),
                                      {"Name": "name", "Mobile": "phone", "Tags": "tags"})
        self.assert_counts(doc, 1, 0, 1)
        self.assertEqual(set(self.customers("tag:t_dup2")), {"Twin A"})

    # ---- formula injection and the CSV export ----
    def test_formula_cells_import_as_text_and_export_neutralised(self):
        formulas = ["=cmd|' /C calc'!A0", "+1+1", "@SUM(1)", "-2+3", "=HYPERLINK(\"http://x\")",
                    "\t=1+2"]
        w = io.StringIO()
        cw = csv.writer(w, lineterminator="\r\n", quoting=csv.QUOTE_ALL)  # keeps the tab
        cw.writerow(["Name", "Mobile", "Notes", "Tags"])
        for i, f in enumerate(formulas):
            cw.writerow([f, "139%08d" % (14000000 + i), f, "t_formula"])
        cw.writerow(["Plain name", "13914000099", "plain", "t_formula"])
        doc, errors = self.run_import("formula.csv", w.getvalue().encode(),
                                      {"Name": "name", "Mobile": "phone", "Notes": "notes",
                                       "Tags": "tags"})
        self.assert_counts(doc, 7, 0, 0)
        # Stored as text, exactly as written (the JSON API shows the raw value)...
        got = self.customers("tag:t_formula")
        self.assertEqual(set(got), set(formulas) | {"Plain name"})
        for f in formulas:
            self.assertEqual(got[f]["notes"], f)
        # ...and neutralised in the CSV export: a leading apostrophe, quoted.
        s, ctype, body = self.export("filter=" + quote("tag:t_formula"))
        self.assertEqual(s, 200, body[:300])
        self.assertTrue(ctype.startswith("text/csv"), ctype)
        self.assertIn(b"\"'=cmd|' /C calc'!A0\"", body)
        table = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
        header = table[0]
        self.assertEqual(header[:6], ["id", "name", "phone", "address", "notes", "tags"])
        self.assertIn("industry", header)
        by_name = {r[1]: dict(zip(header, r)) for r in table[1:]}
        self.assertEqual(len(by_name), 7)
        for f in formulas:
            row = by_name["'" + f]
            self.assertEqual(row["notes"], "'" + f)
            self.assertEqual(row["tags"], "t_formula")
            self.assertRegex(row["phone"], r"^139\*+\d{4}$")  # masked without unmask=1
        self.assertEqual(by_name["Plain name"]["notes"], "plain")
        for cell in (c for r in table[1:] for c in r):
            self.assertFalse(cell[:1] in ("=", "+", "-", "@", "\t", "\r"), cell)
        # Unmasked for admins who ask (audited separately); a BOM on request.
        s, _, body = self.export("unmask=1&bom=1&filter=" + quote("tag:t_formula"))
        self.assertEqual(s, 200, body[:300])
        self.assertTrue(body.startswith(b"\xef\xbb\xbf"))
        self.assertIn(b"+8613914000099", body)
        # The rows committed before the answers; the node asked may apply them a little
        # later if it is no longer the leader (audit reads have no read barrier).
        def audited():
            s, audit = self.api["auditor1"].call("GET", "/v1/audit?limit=500")
            self.assertEqual(s, 200, audit)
            actions = {(r["user"], r["action"]) for r in audit["items"]}
            return {("admin1", "customer.export_csv"),
                    ("admin1", "customer.export_csv.unmask")} <= actions
        self.c.wait(audited, timeout=10, what="export audit rows", interval=0.1)

    def test_export_roles_parts_and_bad_requests(self):
        for i in range(5):
            s, doc = self.api["admin1"].call("POST", "/v1/customers", {
                "name": "Part %d" % i, "phone": "139%08d" % (15000000 + i), "tags": ["t_part"]})
            self.assertEqual(s, 201, doc)
        type(self).imported_ok += 5
        for who in ("agent1", "sup1", "auditor1"):
            s, _, body = self.export("filter=tag:t_part", who)
            self.assertEqual(s, 403, body)
            self.assertIn(b"forbidden", body)
        s, _, body = self.export("filter=" + quote("tag:t_part AND (last_contact <"))
        self.assertEqual(s, 400, body)
        self.assertIn(b"invalid_filter", body)
        s, _, body = self.export("filter=" + quote("industry = 5"))
        self.assertEqual(s, 400, body)
        for q in ("limit=0", "limit=100001", "limit=x", "after=-1"):
            s, _, body = self.export(q)
            self.assertEqual(s, 400, (q, body))
        s, doc = self.api["admin1"].call("POST", "/v1/customers/export.csv", {})
        self.assertEqual(s, 405, doc)
        # In parts: rows come in id order; after= the last id continues. Asked of another
        # node than the one that took the writes: its read barrier makes them visible.
        other = [n for n in self.c.nodes if n is not self.leader][0]
        ids, after = [], None
        while True:
            q = "limit=2&filter=tag:t_part" + ("&after=" + after if after else "")
            s, _, body = self.export(q, node=other)
            self.assertEqual(s, 200, body)
            part = list(csv.reader(io.StringIO(body.decode(), newline="")))[1:]
            ids += [r[0] for r in part]
            if len(part) < 2:
                break
            after = part[-1][0]
        self.assertEqual(len(ids), 5)
        self.assertEqual(ids, sorted(ids, key=int))
        self.assertEqual(len(set(ids)), 5)
        # Nothing matches: the header alone.
        s, _, body = self.export("filter=tag:t_nothing_has_this")
        self.assertEqual((s, body.count(b"\r\n")), (200, 1), body)

    def test_y_export_cap_of_100k_rows(self):
        """One answer holds at most 100,000 rows: more is 413 without limit, parts with it.
        Runs late (name order): its 100k customers would weigh on the RSS checks."""
        n = 100001
        data = b"Name,Mobile,Tags\n" + b"".join(
            b"Cap %d,137%08d,t_cap\n" % (i, i) for i in range(n))
        doc, errors = self.run_import("cap.csv", data, {"Name": "name", "Mobile": "phone",
                                                        "Tags": "tags"}, timeout=300)
        self.assert_counts(doc, n, 0, 0)
        s, _, body = self.export("filter=tag:t_cap")
        self.assertEqual(s, 413, body[:300])
        self.assertIn(b"export in parts", body)
        leader_pid = self.leader.proc.pid
        t0 = time.monotonic()
        s, _, body = self.export("limit=100000&filter=tag:t_cap")
        took = time.monotonic() - t0
        self.assertEqual(s, 200, body[:300])
        table = list(csv.reader(io.StringIO(body.decode(), newline="")))
        self.assertEqual(len(table), 100001)  # header + 100,000
        sys.stderr.write("\nexport of 100,000 rows: %d bytes in %.2f s, leader VmHWM %.0f MiB\n"
                         % (len(body), took, vm_hwm_mib(leader_pid)))
        s, _, body = self.export("limit=100000&filter=tag:t_cap&after=" + table[-1][0])
        self.assertEqual(s, 200, body[:300])
        rest = list(csv.reader(io.StringIO(body.decode(), newline="")))[1:]
        self.assertEqual(len(rest), 1)
        self.assertNotIn(rest[0][0], {r[0] for r in table[1:]})

    # ---- bad requests to the import API (what test_customers.py does not cover) ----
    def test_import_requests_rejected_with_reasons(self):
        a = self.api["admin1"]
        self.write("small.csv", csv_bytes(["Name,Mobile", "A,13916000000"]))
        s, doc = a.call("POST", "/v1/imports", raw='{"file": "small.csv", "mapping": {')
        self.assertEqual(s, 400, doc)
        self.assertIn("not JSON", doc["error"]["message"])
        s, doc = a.call("POST", "/v1/imports", raw='["small.csv"]')
        self.assertEqual(s, 400, doc)
        self.assertIn("JSON object", doc["error"]["message"])
        s, doc = a.call("POST", "/v1/imports", raw='{"file": "' + "x" * (MIB + 10) + '"}')
        self.assertEqual(s, 413, doc)
        self.assertEqual(doc["error"]["code"], "too_large")
        for body, field in (({"file": "small.csv", "mapping": {}}, "mapping"),
                            ({"file": "small.csv", "mapping": {"Name": 5}}, "mapping"),
                            ({"file": "small.csv", "mapping": {"Name": "name"},
                              "encoding": "latin-1"}, "encoding"),
                            ({"file": ".hidden", "mapping": {"Name": "name"}}, "file"),
                            ({"mapping": {"Name": "name"}}, "file")):
            s, doc = a.call("POST", "/v1/imports", body)
            self.assertEqual(s, 400, (body, doc))
            self.assertEqual(doc["error"]["field"], field, doc)
        s, doc = a.call("GET", "/v1/imports/imp-0000000000000000")
        self.assertEqual(s, 404, doc)
        # A mapping to a column missing from the file: the job fails with the reason.
        s, job = a.call("POST", "/v1/imports", {"file": "small.csv",
                                                 "mapping": {"Name": "name", "Phone": "phone"}})
        self.assertEqual(s, 202, job)
        doc, _ = self.wait_job(job["id"])
        self.assertEqual(doc["state"], "failed", doc)
        self.assertIn("Phone", doc["error"], doc)

    def test_import_unknown_fields_are_400(self):
        """Unknown body keys and mappings to fields that do not exist are refused before
        a job starts (a job started by mistake would fail every row)."""
        a = self.api["admin1"]
        # Rows that fail anyway: a job started by mistake imports nothing.
        self.write("unknown.csv", csv_bytes(["Name,Mobile", "A,12345"]))
        s, doc = a.call("POST", "/v1/imports", {"file": "unknown.csv", "delimiter": ";",
                                                 "mapping": {"Name": "name", "Mobile": "phone"}})
        self.assertEqual(s, 400, doc)
        s, doc = a.call("POST", "/v1/imports", {"file": "unknown.csv", "mapping": {
            "Name": "no_such_field", "Mobile": "phone"}})
        self.assertEqual(s, 400, doc)

    # ---- a large file in bounded memory ----
    def test_large_file_bounded_memory(self):
        """~300 MiB, mostly six 50 MiB lines that must be rejected with their line
        numbers between ordinary rows; the importing node's peak RSS stays bounded."""
        path = os.path.join(self.c.import_dir, "large.csv")
        huge = 50 * MIB
        blob = b"x" * huge
        line, bad, good = 1, [], 0
        with open(path, "wb") as f:
            f.write(b"Name,Mobile,Tags\n")
            for block in range(6):
                for i in range(100):
                    line += 1
                    f.write(b"Large %d,139%08d,t_large\n" % (block * 100 + i,
                                                           17000000 + block * 100 + i))
                    good += 1
                line += 1
                bad.append(line)
                if block == 5:  # a quote opened and never closed, on one 50 MiB line
                    f.write(b'"' + blob + b",13917999999,t_large\n")
                elif block % 2:  # one 50 MiB cell
                    f.write(b"Huge," + blob + b",t_large\n")
                else:
                    f.write(blob + b",13917999998,t_large\n")
            for i in range(10):
                line += 1
                f.write(b"Tail %d,139%08d,t_large\n" % (i, 17100000 + i))
                good += 1
        size = os.path.getsize(path)
        self.assertGreater(size, 300 * MIB)
        before = {n.id: vm_hwm_mib(n.proc.pid) for n in self.c.nodes}
        t0 = time.monotonic()
        doc, errors = self.run_import("large.csv", None,
                                      {"Name": "name", "Mobile": "phone", "Tags": "tags"},
                                      timeout=600)
        elapsed = time.monotonic() - t0
        after = {n.id: vm_hwm_mib(n.proc.pid) for n in self.c.nodes}
        sys.stderr.write("\nlarge file: %d MiB in %.1f s; VmHWM MiB before %s after %s\n"
                         % (size // MIB, elapsed, before, after))
        self.assert_counts(doc, good, 6, 0)
        self.assertEqual([e["line"] for e in errors], bad, errors)
        for e in errors:
            self.assertRegex(e["reason"], r"limit|longer than", e)
        self.assertEqual(self.count("tag:t_large"), good)
        extra = asan_extra_mib(default_binary())
        for nid, mib in after.items():
            self.assertLess(mib, RSS_LIMIT_MIB + extra, (nid, before, after))
            # Reading 300 MiB costs the node about one chunk and one record buffer
            # (measured +1 MiB; ASan's quarantine keeps the freed ones: +110 MiB).
            self.assertLess(mib - before[nid], 64 + extra, (nid, before, after))

    # ---- runs last (name order): nothing valid was lost overall ----
    def test_zz_total_count(self):
        self.assertEqual(self.count(), type(self).imported_ok)
        # Every node holds the same customers.
        self.c.wait_converged()
        for n in self.c.nodes:
            s, doc = Api(n, self.api["admin1"].token).call("GET", "/v1/customers/count")
            self.assertEqual((s, doc["count"]), (200, type(self).imported_ok), n.name)



@unittest.skipUnless(os.environ.get("WAIHU_SLOW_IMPORT") == "1",
                     "2 GB import: set WAIHU_SLOW_IMPORT=1 (about 8 minutes here)")
class SlowImportTest(unittest.TestCase):
    """The issue's 2 GB file: 1.51M rows of ~1.43 KB (notes are sealed), all imported,
    counted on every node, peak RSS bounded on every node (SLOW_RSS_LIMIT_MIB).

    Raft keeps the entries since the last snapshot in memory; an import command is up to
    40 KiB, so localcluster's default snapshot_threshold (100,000 entries) would let each
    node hold up to ~4 GB of log. Bulk imports need a threshold sized in bytes: this
    cluster snapshots every WAIHU_SLOW_SNAPSHOT_ENTRIES (default 2,048) entries, which
    with checkpoint snapshots (docs/design-notes.md) costs ~1 KiB of memory each."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="waihu-imp2g-")
        entries = int(os.environ.get("WAIHU_SLOW_SNAPSHOT_ENTRIES", "2048"))
        cls.c = Cluster(cls.tmp, 3, port_base=PORT_BASE + 50, snapshot_threshold=entries,
                        snapshot_trailing=max(entries // 4, 64))
        cls.c.create()
        cls.c.start()
        cls.leader = cls.c.wait_ready(timeout=60)
        boot = Api(cls.leader, cls.c.token)
        s, doc = boot.call("POST", "/v1/tenants", {"id": 1, "name": "t1", "default_country": "CN"})
        assert s == 201, doc
        s, doc = boot.call("POST", "/v1/users", {"username": "admin1", "password": PASSWORD,
                                                 "role": "admin", "tenant_id": 1})
        assert s == 201, doc
        s, doc = cls.leader.request("POST", "/v1/auth/login",
                                    {"username": "admin1", "password": PASSWORD})
        assert s == 200, doc
        cls.api = {"admin1": Api(cls.leader, doc["token"])}
        cls.imported_ok = 0

    @classmethod
    def tearDownClass(cls):
        try:
            cls.c.stop()  # SIGTERM: an ASan build reports leaks at exit
        finally:
            cls.c.kill_all()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    wait_job = ImportBadInputTest.wait_job
    run_import = ImportBadInputTest.run_import
    assert_counts = ImportBadInputTest.assert_counts
    count = ImportBadInputTest.count

    def test_2gb_import(self):
        target = int(float(os.environ.get("WAIHU_SLOW_IMPORT_GB", "2")) * 1024 * MIB)
        notes = b"n" * 1400  # personal (sealed) field: every row is ~1.43 KB
        path = os.path.join(self.c.import_dir, "big2g.csv")
        rows, t0 = 0, time.monotonic()
        with open(path, "wb") as f:
            f.write(b"Name,Mobile,Notes,Tags\n")
            written = 0
            while written < target:
                chunk = b"".join(b"Big %d,150%08d,%s,t_big\n" % (rows + i, rows + i, notes)
                                 for i in range(10000))
                f.write(chunk)
                written += len(chunk)
                rows += 10000
        gen_s = time.monotonic() - t0
        size = os.path.getsize(path)
        t0 = time.monotonic()
        doc, errors = self.run_import("big2g.csv", None, {"Name": "name", "Mobile": "phone",
                                                          "Notes": "notes", "Tags": "tags"},
                                      timeout=4 * 3600)
        elapsed = time.monotonic() - t0
        hwm = {n.id: vm_hwm_mib(n.proc.pid) for n in self.c.nodes}
        sys.stderr.write("\n2 GB import: %d bytes, %d rows (generated in %.0f s); imported in "
                         "%.0f s = %.0f rows/s, %.1f MB/s; VmHWM MiB %s\n"
                         % (size, rows, gen_s, elapsed, rows / elapsed, size / elapsed / 1e6, hwm))
        self.assert_counts(doc, rows, 0, 0)
        self.c.wait_converged(timeout=600)
        for n in self.c.nodes:  # every node holds every row
            s, doc = Api(n, self.api["admin1"].token).call(
                "GET", "/v1/customers/count?filter=" + quote("tag:t_big"))
            self.assertEqual((s, doc["count"]), (200, rows), n.name)
        limit = SLOW_RSS_LIMIT_MIB + asan_extra_mib(default_binary())
        for nid, mib in hwm.items():
            self.assertLess(mib, limit, (nid, hwm))
        os.unlink(path)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Runs the built waihuctl against fake_waihud.FakeCluster (in-process, 127.0.0.1).

    python3 tests/integration/test_waihuctl_fake.py [-v]
The binary is $WAIHUCTL, else build-ctl/tools/waihuctl/waihuctl, else build/tools/waihuctl/waihuctl.
Exit code is nonzero when a test fails.
"""
import json
import os
import socket
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from fake_waihud import FakeCluster  # noqa: E402


def find_binary():
    cands = [os.environ.get("WAIHUCTL"),
             os.path.join(ROOT, "build-ctl", "tools", "waihuctl", "waihuctl"),
             os.path.join(ROOT, "build", "tools", "waihuctl", "waihuctl")]
    for c in cands:
        if c and os.access(c, os.X_OK):
            return c
    sys.exit("waihuctl binary not found; build it or set WAIHUCTL")


BIN = find_binary()


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "127.0.0.1:%d" % port


def wait_for(pred, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


class Base(unittest.TestCase):
    dcs = ("dc1", "dc1", "dc2")
    leader = 1

    def setUp(self):
        self.fake = FakeCluster(dcs=self.dcs, leader=self.leader).start()

    def tearDown(self):
        self.fake.close()

    def run_ctl(self, *args, endpoints=None, env_endpoints=None, timeout=60):
        env = dict(os.environ)
        env.pop("WAIHU_ENDPOINTS", None)
        if env_endpoints is not None:
            env["WAIHU_ENDPOINTS"] = env_endpoints
        argv = [BIN]
        if endpoints is None and env_endpoints is None:
            endpoints = self.fake.endpoints()
        if endpoints is not None:
            argv += ["--endpoints", endpoints]
        p = subprocess.run(argv + list(args), capture_output=True, text=True, env=env,
                           timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def ok(self, *args, **kw):
        rc, out, err = self.run_ctl(*args, **kw)
        self.assertEqual(rc, 0, "waihuctl %s: rc %d\n%s%s" % (" ".join(args), rc, out, err))
        return out

    def json_ok(self, *args, **kw):
        return json.loads(self.ok("-o", "json", *args, **kw))


class UsageTest(Base):
    def test_help_everywhere(self):
        for args in (["--help"], ["settings", "--help"], ["settings", "put", "--help"],
                     ["drill", "dc-failover", "-h"], ["-h", "member"]):
            rc, out, _ = self.run_ctl(*args)
            self.assertEqual(rc, 0, args)
            self.assertIn("usage: waihuctl", out)
        self.assertIn("--version N", self.ok("settings", "put", "--help"))

    def test_usage_errors_exit_2(self):
        for args, want in ((["bogus"], 'unknown command "bogus"'),
                           (["settings", "nope"], 'unknown command "settings nope"'),
                           (["settings", "get"], "missing argument"),
                           (["settings", "get", "k", "--frob"], 'unknown flag "--frob"'),
                           (["-o", "yaml", "member", "list"], "bad --output"),
                           (["settings", "get", "bad key"], "bad key"),
                           (["member", "add", "--id", "4"], "required"),
                           (["member", "demote", "2", "--role", "voter"], "bad --role"),
                           ([], "usage:")):
            rc, _, err = self.run_ctl(*args)
            self.assertEqual(rc, 2, (args, err))
            self.assertIn(want, err)
            self.assertIn("usage: waihuctl", err)
        rc, _, err = self.run_ctl("member", "list", endpoints="nohostport")
        self.assertEqual(rc, 2)
        self.assertIn('bad endpoint "nohostport"', err)

    def test_global_flags_after_command(self):
        out = self.ok("settings", "put", "k", "v", "-o", "json")
        self.assertEqual(json.loads(out)["value"], "v")


class EndpointTest(Base):
    def test_unreachable_exit_3(self):
        rc, _, err = self.run_ctl("settings", "get", "k",
                                  endpoints=closed_port() + "," + closed_port())
        self.assertEqual(rc, 3)
        self.assertIn("no endpoint reachable", err)

    def test_failover_order_dead_then_503_then_live(self):
        self.fake.fence(self.fake.node(3), 60000)
        n1 = self.fake.node(1).api_address
        eps = ",".join([closed_port(), self.fake.node(3).api_address, n1])
        self.ok("settings", "put", "a", "1", endpoints=eps)
        puts = [e for e in self.fake.log if e[1] == "PUT"]
        self.assertEqual([e[0] for e in puts], [3, 1])
        # Both tries carried the same exactly-once identity.
        self.assertEqual(puts[0][3]["x-waihu-client"], puts[1][3]["x-waihu-client"])
        self.assertEqual(puts[0][3]["x-waihu-seq"], puts[1][3]["x-waihu-seq"])
        self.assertEqual(len(self.fake.applied_writes), 1)

    def test_4xx_is_final(self):
        rc, _, err = self.run_ctl("settings", "get", "missing")
        self.assertEqual(rc, 1)
        self.assertIn("waihuctl: settings get missing: not_found", err)
        self.assertEqual(len([e for e in self.fake.log if e[1] == "GET"]), 1)

    def test_all_unavailable_exit_1(self):
        for n in self.fake.nodes:
            self.fake.fence(n, 60000)
        rc, _, err = self.run_ctl("settings", "get", "k")
        self.assertEqual(rc, 1)
        self.assertIn("every endpoint unavailable", err)

    def test_env_endpoints(self):
        self.ok("settings", "put", "e", "1", env_endpoints=self.fake.endpoints([2]))
        self.assertEqual(self.fake.log[-1][0], 2)


class SettingsTest(Base):
    def test_put_get_cas_delete(self):
        self.assertEqual(self.json_ok("settings", "put", "dial.rate", "5")["version"], 1)
        got = self.json_ok("settings", "get", "dial.rate")
        self.assertEqual((got["value"], got["version"]), ("5", 1))
        self.assertEqual(self.json_ok("settings", "get", "dial.rate", "--stale")["value"], "5")
        self.assertIn("?stale=true", [e for e in self.fake.log if e[1] == "GET"][-1][2] + "?stale=true")
        rc, _, err = self.run_ctl("settings", "put", "dial.rate", "6", "--version", "7")
        self.assertEqual(rc, 1)
        self.assertEqual(err.strip(),
                         "waihuctl: settings put dial.rate: conflict: version mismatch (current 1)")
        self.ok("settings", "put", "dial.rate", "6", "--version", "1")
        out = self.ok("settings", "get", "dial.rate")
        self.assertEqual(out.split("\n")[0].split(), ["KEY", "VERSION", "VALUE"])
        self.assertEqual(out.split("\n")[1].split(), ["dial.rate", "2", "6"])
        rc, _, err = self.run_ctl("settings", "delete", "dial.rate", "--version", "1")
        self.assertEqual(rc, 1)
        self.assertIn("conflict", err)
        self.assertIn("deleted dial.rate", self.ok("settings", "delete", "dial.rate"))
        rc, _, _ = self.run_ctl("settings", "delete", "dial.rate")
        self.assertEqual(rc, 1)

    def test_value_with_newline_and_slash_key(self):
        self.ok("settings", "put", "a/b:c", "x\ny")
        self.assertEqual(self.json_ok("settings", "get", "a/b:c")["value"], "x\ny")
        self.assertIn("x\\ny", self.ok("settings", "get", "a/b:c"))

    def test_list_prefix_and_paging(self):
        self.fake.page_cap = 2
        for k in ("p.a", "p.b", "p.c", "p.d", "p.e", "q.a"):
            self.ok("settings", "put", k, "v-" + k)
        items = self.json_ok("settings", "list", "--prefix", "p.")
        self.assertEqual([i["key"] for i in items], ["p.a", "p.b", "p.c", "p.d", "p.e"])
        self.assertEqual(len(self.json_ok("settings", "list")), 6)
        lines = self.ok("settings", "list", "--prefix", "q").strip().split("\n")
        self.assertEqual(len(lines), 2)


class MemberTest(Base):
    def test_member_commands(self):
        members = self.json_ok("member", "list")
        self.assertEqual([m["id"] for m in members], [1, 2, 3])
        out = self.ok("member", "list")
        self.assertIn("RAFT ADDRESS", out.split("\n")[0])
        m = self.json_ok("member", "add", "--id", "4", "--address", "127.0.0.1:7004")
        self.assertEqual((m["id"], m["role"]), (4, "standby"))
        posts = [e for e in self.fake.log if e[1] == "POST" and e[2] == "/v1/members"]
        self.assertEqual(posts[-1][4], {"id": 4, "raft_address": "127.0.0.1:7004",
                                         "role": "standby"})
        self.assertEqual(self.json_ok("member", "promote", "4")["role"], "voter")
        self.assertEqual(self.json_ok("member", "demote", "4", "--role", "spare")["role"], "spare")
        self.assertEqual(self.json_ok("member", "demote", "4")["role"], "standby")
        self.assertIn("member 4 removed", self.ok("member", "remove", "4"))
        rc, _, err = self.run_ctl("member", "remove", "4")
        self.assertEqual(rc, 1)
        self.assertIn("member remove 4: not_found", err)

    def test_leader_transfer(self):
        self.assertIn("leader is now 3", self.ok("leader", "transfer", "--to", "3"))
        self.assertEqual(self.fake.leader_id, 3)
        self.assertEqual(self.json_ok("leader", "transfer")["leader_id"], 1)
        self.assertEqual([e[4] for e in self.fake.log if e[2] == "/v1/leader/transfer"],
                         [{"to": 3}, {}])


class ClusterStatusTest(Base):
    def test_healthy(self):
        out = self.ok("cluster", "status")
        lines = out.strip().split("\n")
        self.assertEqual(lines[0].split(), ["ID", "NAME", "DC", "ROLE", "STATE", "TERM",
                                            "APPLIED", "LEADER", "REACHABLE"])
        self.assertEqual(lines[1].split()[:5], ["1", "n1", "dc1", "voter", "leader"])
        self.assertEqual(lines[-1], "cluster healthy: leader n1 (id 1), 3/3 voters up")
        rows = self.json_ok("cluster", "status")
        self.assertEqual([r["id"] for r in rows], [1, 2, 3])
        self.assertTrue(all(r["reachable"] for r in rows))
        self.assertEqual(rows[0]["state"], "leader")

    def test_degraded_when_voter_down(self):
        self.fake.stop_node(3)
        rc, out, err = self.run_ctl("cluster", "status", endpoints=self.fake.endpoints([1, 2]))
        self.assertEqual(rc, 1, out + err)
        self.assertIn("cluster DEGRADED: leader n1 (id 1), 2/3 voters up (down: n3)", out)
        self.assertEqual(out.split("\n")[3].split()[-1], "no")

    def test_degraded_without_leader(self):
        self.fake.election_ms = 10 ** 9
        self.fake.fence(self.fake.node(1), 60000)
        rc, out, _ = self.run_ctl("cluster", "status")
        self.assertEqual(rc, 1)
        self.assertIn("cluster DEGRADED: no leader, 2/3 voters up (down: n1)", out)


class DrillTest(Base):
    leader = 3  # the leader sits in dc2, so fencing dc2 forces an election

    def drill(self, *args):
        return self.json_ok("drill", "dc-failover", *args)

    def test_dc_failover(self):
        r = self.drill("--dc", "dc2", "--fence-ms", "30000", "--timeout-s", "10")
        self.assertEqual(set(r), {"dc", "fenced", "old_leader", "new_leader", "failover_s",
                                  "converge_s"})
        self.assertEqual((r["dc"], r["fenced"], r["old_leader"]), ("dc2", [3], 3))
        self.assertIn(r["new_leader"], (1, 2))
        # The fake elects after 300 ms and needs 200 ms to catch up after unfencing.
        self.assertGreaterEqual(r["failover_s"], 0.29)
        self.assertLess(r["failover_s"], 3)
        self.assertGreaterEqual(r["converge_s"], 0.19)
        self.assertEqual(round(r["failover_s"], 3), r["failover_s"])
        fences = [e for e in self.fake.log if e[2] == "/v1/admin/fence"]
        self.assertEqual([(e[0], e[4]) for e in fences], [(3, {"duration_ms": 30000})])
        self.assertFalse(self.fake.node(3).fenced)
        drill_puts = [e for e in self.fake.log if e[1] == "PUT" and "/drill." in e[2]]
        self.assertTrue(drill_puts)
        self.assertTrue(all(e[0] in (1, 2) for e in drill_puts))
        self.assertTrue(all("x-waihu-client" in e[3] and "x-waihu-seq" in e[3]
                            for e in drill_puts))
        self.assertEqual(len({e[3]["x-waihu-seq"] for e in drill_puts}), 1)
        self.assertFalse([k for k in self.fake.settings if k.startswith("drill.")])

    def test_table_report(self):
        out = self.ok("drill", "dc-failover", "--dc", "dc2", "--timeout-s", "10")
        self.assertIn("fenced:       n3 (id 3)", out)
        self.assertIn("old leader:   n3 (id 3), in the fenced dc", out)
        self.assertRegex(out, r"failover:     \d+\.\d{3} s")
        self.assertRegex(out, r"convergence:  \d+\.\d{3} s")

    def test_retry_cannot_apply_twice(self):
        # Survivors answer their first write only after 800 ms: the 500 ms probe times out
        # after the write was applied, and the retry must get the stored answer back.
        self.fake.election_ms = 0
        self.fake.node(1).slow_writes = 1
        self.fake.node(2).slow_writes = 1
        self.drill("--dc", "dc2", "--timeout-s", "10")
        drill_applies = [w for w in self.fake.applied_writes
                         if w[2] == "PUT" and "/drill." in w[3]]
        self.assertEqual(len(drill_applies), 1)

    def test_unknown_dc(self):
        rc, _, err = self.run_ctl("drill", "dc-failover", "--dc", "mars")
        self.assertEqual(rc, 1)
        self.assertIn('no member in dc "mars" (dcs: dc1, dc2)', err)
        self.assertFalse([e for e in self.fake.log if e[2] == "/v1/admin/fence"])

    def test_dc_failover_without_quorum_times_out_and_unfences(self):
        t = time.monotonic()
        rc, _, err = self.run_ctl("drill", "dc-failover", "--dc", "dc1", "--timeout-s", "1")
        self.assertEqual(rc, 1)
        self.assertLess(time.monotonic() - t, 5)
        self.assertIn("no survivor acknowledged a write within 1 s", err)
        self.assertFalse(self.fake.node(1).fenced or self.fake.node(2).fenced)
        self.assertTrue(wait_for(lambda: self.fake.leader_id != 0))

    def test_missing_dc_is_usage(self):
        rc, _, err = self.run_ctl("drill", "dc-failover")
        self.assertEqual(rc, 2)
        self.assertIn("--dc is required", err)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Membership, roles and datacenter failover with real processes and the real CLI."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "localcluster"))
from localcluster import Cluster, waihuctl_binary  # noqa: E402

PORT_BASE = 10200  # below the ephemeral port range


def ctl(cluster, *args, timeout=120):
    p = subprocess.run([waihuctl_binary(), "--endpoints", cluster.endpoints()] + list(args),
                       capture_output=True, text=True, timeout=timeout, env=cluster.ctl_env())
    return p.returncode, p.stdout, p.stderr


class MembershipTest(unittest.TestCase):
    def make(self, n, dcs=None, **kw):
        self.tmp = tempfile.mkdtemp(prefix="waihu-mem-")
        self.c = Cluster(self.tmp, n, dcs, port_base=PORT_BASE, **kw)
        self.c.create()
        self.c.start()
        return self.c

    def tearDown(self):
        self.c.kill_all()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def members(self):
        leader = self.c.leader()
        return {m["id"]: m for m in leader.status()["members"]}

    def test_five_nodes_two_dcs_and_a_tiebreaker_survive_losing_a_dc(self):
        c = self.make(5, ["dc1", "dc1", "dc2", "dc2", "dc3"])
        c.wait_ready()
        rc, out, err = ctl(c, "cluster", "status")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("5/5 voters up", out + err)
        rc, out, err = ctl(c, "-o", "json", "drill", "dc-failover", "--dc", "dc2",
                           "--fence-ms", "60000", "--timeout-s", "60")
        self.assertEqual(rc, 0, out + err)
        report = json.loads(out)
        self.assertEqual(sorted(report["fenced"]), [3, 4])
        self.assertLess(report["failover_s"], 30.0)
        print("dc-failover: %.3f s to the next acknowledged write, converged in %.3f s"
              % (report["failover_s"], report["converge_s"]))
        # After the drill every node serves again and agrees on the data.
        c.wait_ready()
        rc, out, err = ctl(c, "settings", "put", "after.drill", "ok")
        self.assertEqual(rc, 0, out + err)
        c.wait_converged()

    def test_join_a_new_node_and_promote_it(self):
        c = self.make(3)
        c.wait_ready()
        for i in range(20):
            self.assertEqual(ctl(c, "settings", "put", "k%d" % i, "v")[0], 0)
        new = c.add_node("dc2")
        new.start()
        rc, out, err = ctl(c, "member", "add", "--id", str(new.id), "--address",
                           new.raft_address, "--role", "standby")
        self.assertEqual(rc, 0, out + err)
        c.wait(lambda: self.members().get(new.id, {}).get("role") == "standby", 30, "standby")
        c.wait_converged(nodes=c.nodes)
        rc, out, err = ctl(c, "member", "promote", str(new.id))
        self.assertEqual(rc, 0, out + err)
        c.wait(lambda: self.members()[new.id]["role"] == "voter", 30, "promotion")
        s, doc = new.request("GET", "/v1/settings/k19")
        self.assertEqual((s, doc["value"]), (200, "v"))
        rc, out, err = ctl(c, "member", "remove", str(new.id))
        self.assertEqual(rc, 0, out + err)
        c.wait(lambda: new.id not in self.members(), 30, "removal")

    def test_role_manager_replaces_a_lost_voter_with_a_standby(self):
        c = self.make(3, ["dc1", "dc2", "dc3"])
        c.wait_ready()
        spare = c.add_node("dc2")
        spare.start()
        rc, out, err = ctl(c, "member", "add", "--id", str(spare.id), "--address",
                           spare.raft_address, "--role", "standby")
        self.assertEqual(rc, 0, out + err)
        c.wait(lambda: self.members().get(spare.id, {}).get("role") == "standby", 30, "standby")
        victim = c.node(2)  # dc2's voter
        if c.leader() is victim:
            rc, out, err = ctl(c, "leader", "transfer", "--to", "1")
            self.assertEqual(rc, 0, out + err)
        victim.kill()
        c.wait(lambda: c.leader([n for n in c.nodes if n is not victim]), 30, "leader")
        c.wait(lambda: self.members()[spare.id]["role"] == "voter", 60, "standby promoted")
        c.wait(lambda: self.members()[victim.id]["role"] == "standby", 60, "lost voter demoted")


if __name__ == "__main__":
    unittest.main(verbosity=2)

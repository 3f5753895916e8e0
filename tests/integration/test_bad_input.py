#!/usr/bin/env python3
"""Bad configuration and damaged data: each gives a clear error naming the file or option,
and nothing is silently lost."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "localcluster"))
from localcluster import Cluster, default_binary  # noqa: E402

PORT_BASE = 10100  # below the ephemeral port range


def run_waihud(args, timeout=20):
    p = subprocess.run([default_binary()] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


class TestConfig(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="waihu-bad-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def conf(self, text):
        path = os.path.join(self.tmp, "waihud.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_malformed_file_names_file_and_line(self):
        path = self.conf('node = {\n  id = 1;\n  name = "n1"\n  dc = ;\n};\n')
        rc, out = run_waihud(["--config", path])
        self.assertEqual(rc, 2, out)
        self.assertIn(path + ":4", out)

    def test_unknown_key_is_an_error(self):
        path = self.conf('node = { id = 1; data_dir = "%s/d"; raft_address = "127.0.0.1:1";\n'
                         ' api_address = "127.0.0.1:2"; forward_address = "127.0.0.1:3";\n'
                         ' electon_timeout = 5; };\n' % self.tmp)
        rc, out = run_waihud(["--config", path])
        self.assertEqual(rc, 2, out)
        self.assertIn("node.electon_timeout: unknown key", out)

    def test_wrong_type_and_range(self):
        path = self.conf('node = { id = "one"; };\n')
        rc, out = run_waihud(["--config", path])
        self.assertEqual(rc, 2, out)
        self.assertIn(path + ":1: node.id", out)
        rc, out = run_waihud(["--id", "0"])
        self.assertEqual(rc, 2, out)
        self.assertIn("--id", out)

    def test_bad_address(self):
        rc, out = run_waihud(["--id", "1", "--data-dir", self.tmp + "/d", "--raft-address",
                              "localhost:7001", "--api-address", "127.0.0.1:8001",
                              "--forward-address", "127.0.0.1:9001"])
        self.assertEqual(rc, 2, out)
        self.assertIn("node.raft_address: 'localhost:7001' is not an IPv4 host:port", out)

    def test_unknown_flag(self):
        rc, out = run_waihud(["--no-such-flag", "1"])
        self.assertEqual(rc, 2)
        self.assertIn("--no-such-flag: unknown flag", out)

    def test_missing_required_option(self):
        rc, out = run_waihud(["--id", "1"])
        self.assertEqual(rc, 2)
        self.assertIn("is required", out)

    def test_help(self):
        rc, out = run_waihud(["--help"])
        self.assertEqual(rc, 0)
        self.assertIn("--raft-address", out)


class TestDamagedData(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="waihu-dmg-")
        self.c = Cluster(self.tmp, 3, port_base=PORT_BASE)
        self.c.create()
        self.c.start()
        leader = self.c.wait_ready()
        for i in range(50):
            s, _ = leader.request("PUT", "/v1/settings/k%d" % i, {"value": "v%d" % i})
            self.assertEqual(s, 200)
        self.c.wait_converged()

    def tearDown(self):
        self.c.kill_all()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def restart_fails(self, node):
        node.stop()
        return node

    def start_and_wait_exit(self, node, timeout=20):
        node.start()
        try:
            rc = node.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
            print("still running after %ds; raft dir: %s" % (timeout, os.listdir(os.path.join(node.data_dir, "raft"))))
        with open(node.log) as f:
            return rc, f.read()

    def test_other_clusters_data_is_refused(self):
        node = self.c.nodes[2]
        node.stop()
        with open(os.path.join(node.data_dir, "identity"), "w") as f:
            f.write("cluster=other node=7\n")
        rc, log = self.start_and_wait_exit(node)
        self.assertEqual(rc, 2)
        self.assertIn("this data belongs to 'cluster=other node=7'", log)

    def test_corrupted_raft_segment_is_reported(self):
        node = self.c.nodes[2]
        node.stop()
        segs = [p for p in glob.glob(os.path.join(node.data_dir, "raft", "*"))
                if os.path.basename(p)[0].isdigit() or os.path.basename(p).startswith("open-")]
        self.assertTrue(segs, "no raft segment written")
        # Flip bytes inside every segment's entries (past the 8-byte format header).
        for seg in segs:
            size = os.path.getsize(seg)
            if size < 200:
                continue
            with open(seg, "r+b") as f:
                f.seek(min(100, size - 1))
                b = f.read(16)
                f.seek(min(100, size - 1))
                f.write(bytes((x ^ 0xFF) for x in b))
        rc, log = self.start_and_wait_exit(node)
        self.assertNotEqual(rc, 0)
        self.assertIn("raft", log)
        self.assertTrue("checksum" in log or "corrupt" in log.lower() or "load" in log, log[-2000:])

    def test_corrupted_rocksdb_is_reported(self):
        node = self.c.nodes[2]
        node.stop()
        current = os.path.join(node.data_dir, "store", "CURRENT")
        with open(current, "w") as f:
            f.write("MANIFEST-999999\n")
        rc, log = self.start_and_wait_exit(node)
        self.assertEqual(rc, 1)
        self.assertIn(os.path.join(node.data_dir, "store"), log)



class TestDiskFull(unittest.TestCase):
    """A node whose disk fills up stops with a clear error; the others go on and lose nothing."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="waihu-full-")
        self.c = Cluster(self.tmp, 3, port_base=PORT_BASE)
        self.c.create()
        self.small = self.c.nodes[2]
        os.makedirs(self.small.data_dir, exist_ok=True)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", self.small.data_dir],
                           capture_output=True, text=True)
        if p.returncode != 0:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.skipTest("cannot mount a small tmpfs here: " + p.stderr.strip())
        # more than a raft segment (8 MiB, preallocated) of margin
        self.small.extra_args = ["--min-free-bytes", str(20 << 20)]
        self.c.start()

    def tearDown(self):
        self.c.kill_all()
        subprocess.run(["umount", self.small.data_dir], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_full_disk_stops_the_node_cleanly(self):
        c = self.c
        c.wait_ready()
        if c.leader() is self.small:
            c.leader().request("POST", "/v1/leader/transfer", {"to": 1})
            c.wait(lambda: c.leader() and c.leader() is not self.small, 30, "leader moved")
        value = "x" * 60000
        acked = []
        i = 0
        while self.small.alive() and i < 5000:
            leader = c.leader(c.nodes[:2]) or c.nodes[0]
            try:
                s, _ = leader.request("PUT", "/v1/settings/big%d" % i, {"value": value}, timeout=10)
            except OSError:
                s = None
            if s == 200:
                acked.append("big%d" % i)
            i += 1
        self.assertFalse(self.small.alive(), "node with a full disk should have stopped")
        with open(self.small.log) as f:
            log = f.read()
        self.assertRegex(log, r"(?i)no space left on device", "the log must say why")
        self.assertEqual(self.small.proc.returncode, 1)
        # The other two carry on and keep every acknowledged write.
        s, _ = c.nodes[0].request("PUT", "/v1/settings/after", {"value": "ok"})
        self.assertEqual(s, 200)
        for k in acked[-5:]:
            s, doc = c.nodes[1].request("GET", "/v1/settings/" + k)
            self.assertEqual(s, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)

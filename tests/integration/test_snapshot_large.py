#!/usr/bin/env python3
"""Large-state snapshots: a follower that fell behind a log truncation catches up from a
RocksDB checkpoint fetched over the forward port (manifest in raft, files on the side)."""
import glob
import os
import shutil
import socket
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "localcluster"))
from localcluster import Cluster  # noqa: E402

PORT_BASE = 10300  # below the ephemeral range (32768+)


def put(node, key, value, timeout=5.0):
    return node.request("PUT", "/v1/settings/" + key, {"value": value},
                        {"Content-Type": "application/json"}, timeout=timeout)


class TestCheckpointSnapshot(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="waihu-snap-")
        # inline max of 1 byte: every snapshot takes the checkpoint path.
        self.c = Cluster(self.tmp, 3, port_base=PORT_BASE, snapshot_threshold=16,
                         snapshot_trailing=8, snapshot_inline_max_bytes=1)
        self.c.create()
        self.c.start()

    def tearDown(self):
        self.c.kill_all()
        failed = any(e for _, e in self._outcome.errors) if hasattr(self._outcome, "errors") \
            else False
        if failed:
            print("logs kept in", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def write_many(self, n, prefix):
        acked = {}
        for i in range(n):
            key, value = "%s.%04d" % (prefix, i), "v%d-%s" % (i, "x" * (i % 50))
            leader = self.c.wait_ready(30, nodes=[x for x in self.c.nodes if x.alive()])
            s, doc = put(leader, key, value)
            if s == 200:
                acked[key] = value
        return acked

    def test_follower_restores_from_checkpoint(self):
        c = self.c
        c.wait_ready(30)
        acked = self.write_many(40, "before")
        lagger = next(n for n in c.nodes if n is not c.leader())
        lagger.kill()
        acked.update(self.write_many(150, "during"))
        leader = c.leader()
        # The leader snapshotted (checkpoint dirs, at most 2 kept) and truncated its log.
        snaps = [d for d in glob.glob(os.path.join(leader.data_dir, "snapshots", "*"))
                 if os.path.basename(d).isdigit()]
        self.assertTrue(1 <= len(snaps) <= 2, snaps)
        with open(leader.log, errors="replace") as f:
            self.assertIn("checkpoint", f.read())
        lagger.start()
        c.wait_ready(60)
        c.wait_converged(60)
        acked.update(self.write_many(5, "after"))
        c.wait_converged(60)
        for key, value in acked.items():
            s, doc = lagger.request("GET", "/v1/settings/" + key)
            self.assertEqual(s, 200, (key, doc))
            self.assertEqual(doc["value"], value, key)
        with open(lagger.log, errors="replace") as f:
            log = f.read()
        self.assertIn("restored from checkpoint", log)
        self.assertIn("fetched", log)
        c.stop()

    def test_unfetchable_checkpoint_exits_cleanly(self):
        """raft 0.15 uses freed memory after a failed InstallSnapshot restore: the node
        must exit with a clear error instead (and refuse to start while it cannot fetch)."""
        c = self.c
        c.wait_ready(30)
        self.write_many(30, "before")
        lagger = next(n for n in c.nodes if n is not c.leader())
        lagger.kill()
        self.write_many(100, "during")
        for n in c.nodes:
            if n is not lagger:
                for d in glob.glob(os.path.join(n.data_dir, "snapshots", "*")):
                    shutil.rmtree(d, ignore_errors=True)
        lagger.start()
        c.wait(lambda: not lagger.alive(), 60, "the lagger to exit")
        self.assertEqual(lagger.proc.returncode, 1)
        lagger.start()
        c.wait(lambda: not lagger.alive(), 60, "the lagger to refuse to start")
        self.assertEqual(lagger.proc.returncode, 1)
        with open(lagger.log, errors="replace") as f:
            log = f.read()
        self.assertIn("refused: not found", log)
        self.assertIn("restore of a received snapshot failed", log)
        c.check_sanitizers()

    def test_side_channel_serves_only_checkpoint_files(self):
        c = self.c
        leader = c.wait_ready(30)
        self.write_many(40, "k")
        snaps = sorted(int(os.path.basename(d)) for d in
                       glob.glob(os.path.join(leader.data_dir, "snapshots", "*"))
                       if os.path.basename(d).isdigit())
        self.assertTrue(snaps)
        host, port = leader.forward_address.split(":")
        sock = socket.create_connection((host, int(port)), timeout=5)

        def fetch(index, name, offset=0, size=64):
            p = struct.pack(">QQI", index, offset, size) + name
            sock.sendall(struct.pack(">IBQ", 9 + len(p), 5, 7) + p)
            head = b""
            while len(head) < 4:
                head += sock.recv(4 - len(head))
            (n,) = struct.unpack(">I", head)
            body = b""
            while len(body) < n:
                body += sock.recv(n - len(body))
            self.assertEqual(body[0], 6)  # CHUNK
            return struct.unpack(">q", body[9:17])[0], body[17:]

        status, data = fetch(snaps[-1], b"CURRENT")
        self.assertEqual(status, 0)
        self.assertTrue(data.startswith(b"MANIFEST-"))
        for bad in (b"../../identity", b"../%d/CURRENT" % snaps[-1], b"/etc/passwd", b".",
                    b"..", b"a/b", b"CURRENT\x00x"):
            self.assertEqual(fetch(snaps[-1], bad)[0], -2, bad)  # WAIHU_EINVAL
        self.assertEqual(fetch(0, b"identity")[0], -5)  # WAIHU_ENOTFOUND
        sock.close()


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Mutual TLS between nodes (cluster.tls_*), with real waihud processes on 127.0.0.1."""
import os
import json
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools", "localcluster"))
from localcluster import Cluster, waihuctl_binary  # noqa: E402

PORT_BASE = 10400  # below the ephemeral port range


def put(node, key, value, timeout=5.0):
    return node.request("PUT", "/v1/settings/" + key, {"value": value},
                        {"Content-Type": "application/json"}, timeout=timeout)


def try_put(node, key, value, timeout=3.0):
    try:
        return put(node, key, value, timeout)[0]
    except OSError:
        return None


class LoopbackSniffer:
    """Collects TCP payloads on lo to/from the given ports (AF_PACKET: needs CAP_NET_RAW,
    no tcpdump). Raises PermissionError when not allowed."""

    def __init__(self, ports):
        self.ports = set(ports)
        self.data = {p: bytearray() for p in ports}
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.2)
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                frame, addr = self.sock.recvfrom(65600)
            except socket.timeout:
                continue
            if addr[2] == socket.PACKET_OUTGOING:
                continue  # lo shows every packet twice
            ip = frame[14:]
            if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
                continue
            ihl = (ip[0] & 15) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            tcp = ip[ihl:total]
            sport, dport = struct.unpack("!HH", tcp[:4])
            payload = tcp[(tcp[12] >> 4) * 4:]
            for p in (sport, dport):
                if p in self.ports and payload:
                    self.data[p] += payload

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


class TlsTest(unittest.TestCase):
    c = None

    def make(self, n=3, tls=True, start=True, **kw):
        self.tmp = tempfile.mkdtemp(prefix="waihu-tls-")
        self.c = Cluster(self.tmp, n, port_base=PORT_BASE, tls=tls, **kw)
        self.c.create()
        if start:
            self.c.start()
        return self.c

    def tearDown(self):
        if self.c:
            self.c.kill_all()
            self.c.check_sanitizers()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def test_writes_through_every_node_and_failover(self):
        c = self.make()
        c.wait_ready()
        for i, node in enumerate(c.nodes):
            s, doc = put(node, "tls.%d" % i, "v%d" % i)
            self.assertEqual(s, 200, doc)
        leader = c.leader()
        leader.kill()
        rest = [n for n in c.nodes if n is not leader]
        c.wait_ready(nodes=rest)
        for i, node in enumerate(rest):
            c.wait(lambda: try_put(node, "after.%d" % i, "x") == 200, 20,
                   "a write through %s after the leader died" % node.name)
        leader.start()
        c.wait_ready()
        c.wait_converged()
        # A graceful stop runs the transport's close path (and LSan, in ASan builds).
        c.stop()
        for node in c.nodes:
            self.assertEqual(node.proc.returncode, 0, node.name)

    def test_fence_drill_cuts_tls_links_and_heals(self):
        c = self.make(3, dcs=["dc1", "dc2", "dc3"])
        c.wait_ready()
        leader = c.leader()
        p = subprocess.run([waihuctl_binary(), "--endpoints", c.endpoints(), "-o", "json",
                            "drill", "dc-failover", "--dc", leader.dc, "--fence-ms", "5000",
                            "--timeout-s", "60"], capture_output=True, text=True, timeout=120,
                           env=c.ctl_env())
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(json.loads(p.stdout)["fenced"], [leader.id])
        c.wait_ready(timeout=60)
        self.assertEqual(put(leader, "after.fence", "ok")[0], 200)
        c.wait_converged()

    def test_lagging_follower_catches_up_by_snapshot_over_tls(self):
        c = self.make(snapshot_threshold=64, snapshot_trailing=16)
        c.wait_ready()
        lagger = next(n for n in c.nodes if n is not c.leader())
        lagger.kill()
        node = c.leader()
        for i in range(300):
            self.assertEqual(put(node, "lag.%d" % i, "x" * 2000)[0], 200)
        lagger.start()
        c.wait_converged(timeout=60)

    def test_node_with_a_foreign_ca_never_joins_a_quorum(self):
        c = self.make(start=False)
        n1, n2, n3 = c.nodes
        c.tls_issue(n3, ca="stranger")
        c.start()
        c.wait_ready(nodes=[n1, n2])
        for node in (n1, n2):
            self.assertEqual(put(node, "k." + node.name, "v")[0], 200)
        # The stranger never hears from a leader and applies nothing.
        time.sleep(2)
        st = n3.status()
        self.assertIsNotNone(st)
        self.assertNotEqual(st.get("state"), "leader")
        self.assertEqual(st.get("leader_id"), 0, st)
        self.assertLessEqual(st.get("applied_index"), 1, st)  # its bootstrap entry only
        self.assertGreater(n1.status()["applied_index"], 1)
        self.assertNotEqual(try_put(n3, "k.n3", "v"), 200)
        with open(n1.log) as f1, open(n2.log) as f2:
            logs = f1.read() + f2.read()
        self.assertIn("raft tls", logs)
        # It does not count toward a quorum either: with one of the two others gone, no
        # write can commit.
        leader = c.leader([n1, n2])
        other = n2 if leader is n1 else n1
        other.kill()
        c.wait(lambda: try_put(leader, "no.quorum", "v", timeout=2) != 200, 30,
               "writes to stop without a quorum")
        self.assertNotEqual(try_put(n3, "no.quorum", "v", timeout=2), 200)
        self.assertEqual(c.leader([n3]), None)

    def test_raft_traffic_is_encrypted(self):
        marker = "WAIHU-PLAINTEXT-MARKER-7f3a"
        for tls in (False, True):
            c = self.make(tls=tls)
            raft_ports = [int(n.raft_address.split(":")[1]) for n in c.nodes]
            api_port = int(c.nodes[0].api_address.split(":")[1])
            try:
                sniffer = LoopbackSniffer(raft_ports + [api_port])
            except PermissionError:
                self.skipTest("no CAP_NET_RAW for the loopback sniffer")
            try:
                c.wait_ready()
                for i in range(5):
                    self.assertEqual(put(c.nodes[0], "secret.%d" % i, marker)[0], 200)
                c.wait_converged()
                time.sleep(0.3)
            finally:
                sniffer.close()
            raft_bytes = b"".join(bytes(sniffer.data[p]) for p in raft_ports)
            self.assertGreater(len(raft_bytes), 1000)
            # The sniffer sees plaintext when there is some: the API is plain HTTP.
            self.assertIn(marker.encode(), bytes(sniffer.data[api_port]))
            if tls:
                self.assertNotIn(marker.encode(), raft_bytes)
            else:
                self.assertIn(marker.encode(), raft_bytes)  # the check can fail
            c.kill_all()
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.c = None


class TlsConfigTest(unittest.TestCase):
    def test_missing_or_unreadable_tls_files_are_clear_errors(self):
        import subprocess
        from localcluster import default_binary
        tmp = tempfile.mkdtemp(prefix="waihu-tlsconf-")
        try:
            c = Cluster(tmp, 1, port_base=PORT_BASE, tls=True)
            c.create()
            node = c.nodes[0]
            with open(node.conf) as f:
                text = f.read()
            cases = [
                (text.replace('  tls_key = "%s";\n' % node.tls_key, ""),
                 "cluster.tls_key: missing"),
                (text.replace(c.tls_ca_file("ca"), "/nonexistent/ca.pem"),
                 "cluster.tls_ca: cannot read '/nonexistent/ca.pem'"),
            ]
            for conf, want in cases:
                with open(node.conf, "w") as f:
                    f.write(conf)
                p = subprocess.run([default_binary(), "--config", node.conf],
                                   capture_output=True, text=True, timeout=20)
                self.assertNotEqual(p.returncode, 0)
                self.assertRegex(p.stderr + p.stdout, node.conf + r":\d+: " + want)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)

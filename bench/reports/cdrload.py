#!/usr/bin/env python3
"""Bulk writer of call records (CDRs) and dispositions for the reports benchmark and its
integration test (docs/reports.md, docs/design-notes.md "Report benchmark data").

CDRs come only from calls; placing millions of calls is not practical on a test machine,
so this tool writes the records the way a follower node does: it connects to the
leader's forward port (cluster-internal, no HTTP route or daemon flag involved) and
submits MutationBatch commands (each under 64 KiB) of puts in the call family (key
be64 tenant | be64 start_ms | be64 node | be64 id, CallRecord) and the agent family
("d" | be64 tenant | be64 node | be64 call id, Disposition). The records go through
raft, the FSM and every node's store watchers exactly like the dialer's.

Usage as a module: Loader(host, port).put_cdrs([...]); or as a tool:
  cdrload.py --forward 127.0.0.1:9001 --cdrs 1000000 --days 90 [--agents 200 ...]
"""
import argparse
import random
import socket
import struct
import sys
import time

CF_CAMPAIGN, CF_AGENT, CF_CALL = 3, 5, 6
F_SUBMIT, F_RESULT = 1, 2
ETIMEDOUT = -10  # WAIHU_ETIMEDOUT: the deadline passed, the outcome is unknown
COMMAND_MAX = 60000  # bytes of one command (the cluster's limit is 64 KiB)


def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_int(num, v):
    return varint(num << 3) + varint(v) if v else b""


def f_bytes(num, v):
    if isinstance(v, str):
        v = v.encode()
    return varint(num << 3 | 2) + varint(len(v)) + v if v else b""


def call_record(tenant, node, cid, start_ms, agent, result, talk_ms=0, ring_ms=0,
                campaign=0, customer=0):
    return b"".join([
        f_int(1, 1), f_int(2, cid), f_int(3, node), f_int(4, tenant), f_bytes(5, agent),
        f_int(6, customer), f_bytes(8, result), f_bytes(9, "bench"),
        f_bytes(10, "carrier"), f_int(12, start_ms), f_int(13, ring_ms), f_int(14, talk_ms),
        f_int(15, ring_ms + talk_ms), f_bytes(19, "dialer"), f_int(20, campaign)])


def call_key(tenant, start_ms, node, cid):
    return struct.pack(">QQQQ", tenant, start_ms, node, cid)


def disposition(what, agent, at_ms, campaign=0, customer=0):
    return b"".join([f_int(1, 1), f_bytes(2, what), f_bytes(5, agent), f_bytes(6, agent),
                     f_int(7, at_ms), f_int(8, campaign), f_int(9, customer)])


def disposition_key(tenant, node, cid):
    return b"d" + struct.pack(">QQQ", tenant, node, cid)


def campaign_record(tenant, cid, name):
    return b"".join([f_int(1, 1), f_int(2, cid), f_int(3, tenant), f_bytes(4, name),
                     f_bytes(5, "progressive"), f_bytes(6, "done"), f_bytes(18, "bench")])


def campaign_key(tenant, cid):
    return b"c" + struct.pack(">QQ", tenant, cid)


def mutation(ops):
    """ops: [(cf, key, value)] -> one Mutation (all-or-nothing)."""
    return b"".join(f_bytes(2, f_int(1, cf) + f_bytes(2, k) + f_bytes(3, v))
                    for cf, k, v in ops)


class Loader:
    """Submits MutationBatch commands to the leader's forward port, window in flight."""

    def __init__(self, address, window=16):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.window = window
        self.next_id = 1
        self.inflight = 0
        self.buf = b""
        self.applied = 0
        self.items = []
        self.size = 0
        self.sent = {}  # id -> command, until its result came
        self.retries = 0

    def _read_result(self):
        while len(self.buf) < 4 or len(self.buf) < 4 + struct.unpack(">I", self.buf[:4])[0]:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise IOError("forward connection closed")
            self.buf += chunk
        n = struct.unpack(">I", self.buf[:4])[0]
        frame, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        ftype, fid = frame[0], struct.unpack(">Q", frame[1:9])[0]
        payload = frame[9:]
        status = struct.unpack(">q", payload[:8])[0]
        code = struct.unpack(">q", payload[24:32])[0] if len(payload) >= 32 else 0
        command = self.sent.pop(fid, None)
        if ftype == F_RESULT and status == ETIMEDOUT and command is not None \
                and self.retries < 20:
            # Outcome unknown (a busy leader): every op is a put of a fixed key, so sending
            # it again is safe; only the answered copy's count is added.
            self.retries += 1
            self.inflight -= 1
            self._send(command)
            return
        if ftype != F_RESULT or status != 0 or code != 0:
            raise IOError("command %d failed: type %d status %d code %d (is this the leader?)"
                          % (fid, ftype, status, code))
        counts = struct.unpack(">Q", payload[40:48])[0] if len(payload) >= 48 else 0
        self.applied += counts >> 32
        self.inflight -= 1

    def _send(self, command):
        frame = struct.pack(">IBQ", 9 + len(command), F_SUBMIT, self.next_id) + command
        self.sent[self.next_id] = command
        self.next_id += 1
        self.sock.sendall(frame)
        self.inflight += 1
        while self.inflight >= self.window:
            self._read_result()

    def add(self, ops):
        """Adds one mutation (a list of (cf, key, value)); flushed in batches."""
        m = mutation(ops)
        item = f_bytes(1, m)
        if self.items and self.size + len(item) > COMMAND_MAX:
            self.flush()
        self.items.append(item)
        self.size += len(item)

    def flush(self):
        if self.items:
            batch = b"".join(self.items)
            self._send(f_bytes(15, batch))  # Command.mutation_batch, no dedup identity
            self.items, self.size = [], 0

    def close(self):
        self.flush()
        while self.inflight:
            self._read_result()
        self.sock.close()
        return self.applied


def generate(args, out):
    """Writes args.cdrs CDRs spread over args.days local days ending yesterday."""
    rng = random.Random(args.seed)
    agents = ["agent%03d" % i for i in range(args.agents)]
    # Each agent works two campaigns; campaigns numbered from 1.
    theirs = {a: (1 + i % args.campaigns, 1 + (i * 7 + 3) % args.campaigns)
              for i, a in enumerate(agents)}
    offset_ms = time.localtime().tm_gmtoff * 1000
    today = (int(time.time() * 1000) + offset_ms) // 86400000
    first = today - args.days
    outcomes = [("answered", 35), ("no-answer", 30), ("busy", 10), ("machine", 10),
                ("abandoned", 3), ("unreachable", 12)]
    table = [r for r, w in outcomes for _ in range(w)]
    disps = ["sale"] * 12 + ["not_interested"] * 50 + ["callback"] * 18 + \
        ["wrong_number"] * 5 + ["other"] * 15
    for c in range(1, args.campaigns + 1):
        out.add([(CF_CAMPAIGN, campaign_key(args.tenant, c),
                  campaign_record(args.tenant, c, "bench campaign %d" % c))])
    for i in range(args.cdrs):
        day = first + i * args.days // args.cdrs
        start = day * 86400000 - offset_ms + rng.randrange(8 * 3600000, 20 * 3600000)
        result = rng.choice(table)
        agent = "" if result in ("abandoned", "machine", "no-answer", "busy",
                                 "unreachable") and rng.random() < 0.5 else rng.choice(agents)
        if result == "abandoned":
            agent = ""
        camp = theirs[agent][rng.randrange(2)] if agent else rng.randrange(1, args.campaigns + 1)
        talk = rng.randrange(20000, 300000) if result == "answered" else 0
        ring = rng.randrange(2000, 25000)
        cid = i + 1
        ops = [(CF_CALL, call_key(args.tenant, start, args.node, cid),
                call_record(args.tenant, args.node, cid, start, agent, result, talk, ring,
                            camp))]
        if result == "answered" and agent:
            ops.append((CF_AGENT, disposition_key(args.tenant, args.node, cid),
                        disposition(rng.choice(disps), agent, start + talk + 5000, camp)))
        out.add(ops)
        if args.progress and i and i % 250000 == 0:
            print("  %d CDRs written" % i, file=sys.stderr, flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--forward", required=True, help="leader's forward address host:port")
    p.add_argument("--cdrs", type=int, default=1000000)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--agents", type=int, default=200)
    p.add_argument("--campaigns", type=int, default=20)
    p.add_argument("--tenant", type=int, default=1)
    p.add_argument("--node", type=int, default=99, help="node id written in the CDRs")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--progress", action="store_true")
    args = p.parse_args()
    t0 = time.time()
    out = Loader(args.forward)
    generate(args, out)
    applied = out.close()
    print("loaded %d mutations (%d CDRs) in %.1f s" % (applied, args.cdrs, time.time() - t0))


if __name__ == "__main__":
    main()

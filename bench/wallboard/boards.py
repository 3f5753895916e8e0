#!/usr/bin/env python3
"""The wallboards of bench/wallboard: N WebSocket clients of /v1/stream (docs/seat-api.md)
read by one selector loop in a process of their own, so that the load driver and the
readers do not share an interpreter lock. For every {"type":"agent"} message the delay is
its arrival time (wall clock, taken once per recv) minus the agent's since_ms (the leader's
commit stamp); delays go to 1 ms histograms per client and per measured window.

Talks to its parent over stdin/stdout, one JSON document per line:
  in:  {"token", "nodes": [api address, ...], "clients": N}
  out: {"ready": true, "per_node": {...}} once every client has its hello
  in:  {"windows": [[t0_ms, t1_ms], ...]} (by since_ms)
  in:  {"stop": true}
  out: the results (see results()), then the process exits.
"""
import base64
import json
import os
import re
import selectors
import socket
import struct
import sys
import time

HIST_MS = 10000                       # delays at or above this land in the last bin
SINCE = re.compile(rb'"since_ms":(\d+)')
AGENT_PREFIX = b'{"type":"agent"'
TOTALS_PREFIX = b'{"type":"totals"'


class Board:
    """One wallboard: a WebSocket client whose frames are parsed in place."""

    def __init__(self, idx, address):
        self.idx, self.address = idx, address
        self.node = None
        self.buf = bytearray()
        self.frag = None                  # a fragmented message being put together
        self.hello = None
        self.closed = None                # (code, reason) or an error text
        self.agent_msgs = self.totals_msgs = self.other_msgs = 0
        self.bytes = 0
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET /v1/stream HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n" % (address, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("%s: closed during the upgrade" % address)
            head += chunk
        head, rest = head.split(b"\r\n\r\n", 1)
        if int(head.split(b" ", 2)[1]) != 101:
            raise ConnectionError("%s: upgrade refused: %s" % (address, head[:200]))
        self.buf += rest
        self.sock.setblocking(False)

    def send_text(self, text):
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                                bytes([0x80 | 126]) + struct.pack("!H", n))
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.setblocking(True)
        self.sock.sendall(head + mask + body)
        self.sock.setblocking(False)

    def frames(self):
        """Complete messages in the buffer (bytes), consumed; close frames set closed."""
        buf, pos, out = self.buf, 0, []
        end_buf = len(buf)
        while end_buf - pos >= 2:
            b0, n = buf[pos], buf[pos + 1] & 0x7F
            hl = 2
            if n == 126:
                if end_buf - pos < 4:
                    break
                n, hl = (buf[pos + 2] << 8) | buf[pos + 3], 4
            elif n == 127:
                if end_buf - pos < 10:
                    break
                n, hl = struct.unpack_from("!Q", buf, pos + 2)[0], 10
            if end_buf - pos < hl + n:
                break
            op, data = b0 & 0x0F, bytes(buf[pos + hl:pos + hl + n])
            pos += hl + n
            if op == 8:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                self.closed = (code, data[2:].decode(errors="replace"))
            elif op in (1, 2) and b0 & 0x80:
                out.append(data)
            elif op in (1, 2):
                self.frag = [data]
            elif op == 0 and self.frag is not None:
                self.frag.append(data)
                if b0 & 0x80:
                    out.append(b"".join(self.frag))
                    self.frag = None
            # ping/pong: the server sends none
        del buf[:pos]
        return out


class Window:
    """What the boards saw of the changes stamped in one measured window."""

    def __init__(self, t0_ms, t1_ms, n_boards):
        self.t0, self.t1 = t0_ms, t1_ms
        self.hist = [[0] * (HIST_MS + 1) for _ in range(n_boards)]
        self.count = [0] * n_boards
        self.since_sum = [0] * n_boards   # with count: did each board see the acked set?
        self.max_ms = [0] * n_boards

    def summary(self):
        per = []
        for i, h in enumerate(self.hist):
            per.append({"count": self.count[i], "since_sum": self.since_sum[i],
                        "max_ms": self.max_ms[i],
                        "hist": {str(d): c for d, c in enumerate(h) if c}})
        return {"t0_ms": self.t0, "t1_ms": self.t1, "boards": per}


def read_first_line(fd):
    """The first line on fd (unbuffered, so that the selector sees what follows)."""
    data = b""
    while b"\n" not in data:
        chunk = os.read(fd, 65536)
        if not chunk:
            raise SystemExit("boards: parent closed stdin")
        data += chunk
    line, rest = data.split(b"\n", 1)
    return json.loads(line), rest


def main():
    stdin_fd = sys.stdin.fileno()
    conf, stdin_buf = read_first_line(stdin_fd)
    nodes, n = conf["nodes"], conf["clients"]
    boards = [Board(i, nodes[i % len(nodes)]) for i in range(n)]
    auth = json.dumps({"token": conf["token"]})
    for b in boards:
        b.send_text(auth)
    sel = selectors.DefaultSelector()
    for b in boards:
        sel.register(b.sock, selectors.EVENT_READ, b)
    os.set_blocking(stdin_fd, False)
    sel.register(stdin_fd, selectors.EVENT_READ, None)
    windows = []
    before = late = negative = 0
    announced = stop = False
    since_re, agent_prefix, totals_prefix = SINCE, AGENT_PREFIX, TOTALS_PREFIX
    # How long one pass over the ready sockets takes: a message that arrives during a pass
    # waits for the rest of it, so this bounds the delay the reader itself adds (when it
    # gets a CPU at all: see its CPU use).
    pass_hist = [0] * 1001                # 0.1 ms bins, the last one: >= 100 ms
    perf = time.perf_counter
    rbuf = bytearray(262144)
    rview = memoryview(rbuf)
    while not stop:
        ready = sel.select(1.0)
        p0 = perf()
        for key, _ in ready:
            b = key.data
            if b is None:
                chunk = os.read(stdin_fd, 65536)
                if not chunk:
                    raise SystemExit("boards: parent closed stdin")
                stdin_buf += chunk
                while b"\n" in stdin_buf:
                    line, stdin_buf = stdin_buf.split(b"\n", 1)
                    msg = json.loads(line)
                    if "windows" in msg:
                        windows = [Window(t0, t1, n) for t0, t1 in msg["windows"]]
                    stop = stop or bool(msg.get("stop"))
                continue
            try:
                got = b.sock.recv_into(rbuf)  # into one buffer: no 256 KiB allocation each
            except BlockingIOError:
                continue
            except OSError as e:
                got, b.closed = 0, b.closed or str(e)
            now_ms = time.time() * 1000.0
            if not got:
                b.closed = b.closed or "connection dropped"
                sel.unregister(b.sock)
                continue
            b.bytes += got
            b.buf += rview[:got]
            for m in b.frames():
                if m.startswith(agent_prefix):
                    b.agent_msgs += 1
                    since = int(since_re.search(m).group(1))
                    delay = int(now_ms - since)
                    for w in windows:
                        if w.t0 <= since < w.t1:
                            i = b.idx
                            if delay < 0:
                                negative += 1
                                delay = 0
                            w.hist[i][delay if delay < HIST_MS else HIST_MS] += 1
                            w.count[i] += 1
                            w.since_sum[i] += since
                            if delay > w.max_ms[i]:
                                w.max_ms[i] = delay
                            break
                    else:
                        if windows and since >= windows[-1].t1:
                            late += 1
                        else:
                            before += 1
                elif m.startswith(totals_prefix):
                    b.totals_msgs += 1
                else:
                    doc = json.loads(m)
                    if doc.get("type") == "hello":
                        b.hello, b.node = doc, doc.get("node")
                    else:
                        b.other_msgs += 1
            if b.closed and b.sock in sel.get_map():
                sel.unregister(b.sock)
        if windows:
            pass_hist[min(1000, int((perf() - p0) * 10000))] += 1
        if not announced and all(b.hello or b.closed for b in boards):
            bad = [(b.idx, b.address, b.closed) for b in boards if b.closed]
            per_node = {}
            for b in boards:
                per_node[b.node] = per_node.get(b.node, 0) + 1
            print(json.dumps({"ready": not bad, "closed": bad, "per_node": per_node}), flush=True)
            announced, t_ready = True, time.monotonic()
    out = {"windows": [w.summary() for w in windows],
           "boards": [{"node": b.node, "address": b.address, "agent_msgs": b.agent_msgs,
                       "totals_msgs": b.totals_msgs, "other_msgs": b.other_msgs,
                       "bytes": b.bytes, "closed": b.closed} for b in boards],
           "elapsed_s": time.monotonic() - t_ready,
           "pass_hist_100us": {str(d): c for d, c in enumerate(pass_hist) if c},
           "outside_before": before, "outside_after": late, "negative_delays": negative}
    print(json.dumps(out), flush=True)
    for b in boards:
        b.sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

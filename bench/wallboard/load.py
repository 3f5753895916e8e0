"""The agents' state changes of bench/wallboard: every agent flips between ready and break
(POST /v1/agents/{name}/state, docs/seat-api.md) after a uniform random pause, one change
at a time per agent, the requests spread round-robin over the nodes. One thread, one
selector, a few keep-alive HTTP/1.1 connections per node (standard library only): the
driver must stay light on a 2-core machine that also runs the three nodes."""
import heapq
import random
import re
import selectors
import socket
import time

SINCE = re.compile(rb'"since_ms":(\d+)')
REASONS = ("coffee", "training", "lunch", "coaching")


class Conn:
    """A keep-alive connection to one node carrying one request at a time."""

    def __init__(self, node_idx, address):
        self.node_idx, self.address = node_idx, address
        self.sock = None
        self.buf = bytearray()
        self.agent = None                 # the agent whose request is in flight
        self.sent_mono = 0.0

    def open(self):
        host, port = self.address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buf.clear()

    def response(self):
        """(status, body, keep_alive) once a whole response is buffered, else None."""
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self.buf[:end]).lower()
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line.startswith(b"content-length:"):
                length = int(line[15:])
        if len(self.buf) < end + 4 + length:
            return None
        status = int(head[9:12])
        body = bytes(self.buf[end + 4:end + 4 + length])
        del self.buf[:end + 4 + length]
        return status, body, b"connection: close" not in head


class Load:
    """names: the agents (each starts online: its first change is to ready).
    interval_s: (min, max) of the uniform pause between two changes of an agent.
    tokens: one per connection, used in turn: a node allows one token 200 requests/s
    (api.rate_limit_per_s), and on a real floor each agent changes its state itself."""

    def __init__(self, nodes, tokens, names, interval_s=(2.0, 5.0), conns_per_node=4, seed=1):
        self.nodes, self.names = nodes, names
        self.lo, self.hi = interval_s
        self.rng = random.Random(seed)
        self.ready = [False] * len(names)     # the state last acknowledged
        self.heap = []
        self.rr = 0
        self.sel = selectors.DefaultSelector()
        self.conns = [[Conn(i, a) for _ in range(conns_per_node)] for i, a in enumerate(nodes)]
        self.idle = [list(c) for c in self.conns]
        self.waiting = [[] for _ in nodes]     # agents due while every connection was busy
        k = 0
        for c in (c for cs in self.conns for c in cs):
            c.head = ("Host: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json"
                      "\r\n" % (c.address, tokens[k % len(tokens)]))
            k += 1
        # Acknowledged changes: (since_ms, ack wall ms, latency ms, node index).
        self.acks = []
        self.errors = {}                       # "409 ..." / "io" -> count
        self.sent = 0
        self.reconnects = 0                    # idle connections the server closed

    def start(self, now=None):
        now = time.monotonic() if now is None else now
        for c in (c for cs in self.conns for c in cs):
            c.open()
            self.sel.register(c.sock, selectors.EVENT_READ, c)
        # First changes spread over one mean interval: the rate is steady from the start.
        for i in range(len(self.names)):
            heapq.heappush(self.heap, (now + self.rng.uniform(0, self.hi), i))

    def _send(self, conn, agent):
        ready = not self.ready[agent]
        body = ('{"state":"ready"}' if ready else
                '{"state":"break","reason":"%s"}' % REASONS[agent % len(REASONS)])
        req = ("POST /v1/agents/%s/state HTTP/1.1\r\n" % self.names[agent] +
               conn.head + "Content-Length: %d\r\n\r\n" % len(body) + body)
        conn.agent, conn.sent_mono = agent, time.monotonic()
        try:
            conn.sock.sendall(req.encode())
        except OSError:
            self._io_error(conn)
            return
        self.sent += 1

    def _dispatch(self, agent):
        n = self.rr % len(self.nodes)
        self.rr += 1
        if self.idle[n]:
            self._send(self.idle[n].pop(), agent)
        else:
            self.waiting[n].append(agent)

    def _schedule(self, agent, now):
        heapq.heappush(self.heap, (now + self.rng.uniform(self.lo, self.hi), agent))

    def _free(self, conn):
        conn.agent = None
        w = self.waiting[conn.node_idx]
        if w:
            self._send(conn, w.pop(0))
        else:
            self.idle[conn.node_idx].append(conn)

    def _reconnect(self, conn):
        try:
            self.sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()
        conn.open()
        self.sel.register(conn.sock, selectors.EVENT_READ, conn)

    def _io_error(self, conn):
        """The connection broke. An idle one (the server may close those) is just opened
        again; a request in flight is lost (it may have been applied: its agent's next
        change may then be no change, which the wallboard check would show)."""
        self._reconnect(conn)
        if conn.agent is None:
            self.reconnects += 1
            return
        self.errors["io"] = self.errors.get("io", 0) + 1
        self._schedule(conn.agent, time.monotonic())
        self._free(conn)

    def _on_readable(self, conn):
        try:
            chunk = conn.sock.recv(16384)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._io_error(conn)
            return
        conn.buf += chunk
        if conn.agent is None:
            return                             # nothing asked: not an answer
        r = conn.response()
        if r is None:
            return
        status, body, keep = r
        now = time.monotonic()
        agent = conn.agent
        if status == 200:
            m = SINCE.search(body)
            self.ready[agent] = not self.ready[agent]
            self.acks.append((int(m.group(1)) if m else 0, time.time() * 1000.0,
                              (now - conn.sent_mono) * 1000.0, conn.node_idx))
        else:
            key = "%d" % status
            if status == 409:
                key += " " + body[:120].decode(errors="replace")
            self.errors[key] = self.errors.get(key, 0) + 1
        self._schedule(agent, now)
        if not keep:
            self._reconnect(conn)
        self._free(conn)

    def run(self, until_mono, ticks=()):
        """Drives changes until until_mono; ticks: [(mono time, fn)] called in time."""
        ticks = sorted(ticks, key=lambda t: t[0])
        heap, sel = self.heap, self.sel
        while True:
            now = time.monotonic()
            while ticks and ticks[0][0] <= now:
                ticks.pop(0)[1]()
            if now >= until_mono:
                return
            while heap and heap[0][0] <= now:
                self._dispatch(heapq.heappop(heap)[1])
            nxt = min(heap[0][0] if heap else now + 0.05, ticks[0][0] if ticks else until_mono,
                      until_mono)
            for key, _ in sel.select(max(0.0, min(0.05, nxt - now))):
                self._on_readable(key.data)

    def drain(self, timeout_s=10.0):
        """Waits for the requests in flight (no new ones)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and any(c.agent is not None
                                                   for cs in self.conns for c in cs):
            for key, _ in self.sel.select(0.05):
                conn = key.data
                if conn.agent is not None:
                    self._on_readable(conn)

    def close(self):
        for c in (c for cs in self.conns for c in cs):
            if c.sock:
                c.sock.close()
        self.sel.close()

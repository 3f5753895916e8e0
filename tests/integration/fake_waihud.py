#!/usr/bin/env python3
"""A fake Waihu cluster speaking docs/api-cluster.md, for testing waihuctl without waihud.

One process serves N nodes (one ThreadingHTTPServer each on 127.0.0.1) that share one
simulated replicated state: settings with versions and compare-and-set, members, a leader,
exactly-once sessions (X-Waihu-Client/X-Waihu-Seq), fencing, leader election after a delay when
the leader is fenced or stopped (only with a voter majority), and catch-up after unfencing.

Tests import FakeCluster and poke it directly; run as a script it serves until Ctrl-C:
    python3 fake_waihud.py --dcs dc1,dc1,dc2 [--leader 1]
"""
import argparse
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def now_ms():
    return time.monotonic() * 1000.0


def err(status, code, message, field=None, **extra):
    body = {"error": {"code": code, "message": message, "field": field}}
    body.update(extra)
    return status, body


class Node:
    def __init__(self, cluster, nid, dc):
        self.cluster = cluster
        self.id = nid
        self.name = "n%d" % nid
        self.dc = dc
        self.role = "voter"
        self.raft_address = "127.0.0.1:%d" % (7000 + nid)
        self.api_address = None
        self.port = 0
        self.server = None
        self.down = False
        self.fenced_until = None  # ms; None = not fenced
        self.frozen_index = None  # applied index while fenced / catching up
        self.catchup_until = 0.0
        self.slow_writes = 0      # next N writes: apply, then answer after slow_ms
        self.conns = set()
        self.conns_lock = threading.Lock()

    @property
    def fenced(self):
        return self.fenced_until is not None

    def member(self, leader_view):
        m = {"id": self.id, "name": self.name, "raft_address": self.raft_address,
             "api_address": self.api_address, "dc": self.dc, "role": self.role,
             "match_index": None, "reachable": None}
        if leader_view:
            up = not self.down and not self.fenced
            m["reachable"] = up
            m["match_index"] = self.cluster.applied(self) if up else self.frozen_index
        return m


class FakeCluster:
    def __init__(self, dcs=("dc1", "dc1", "dc2"), leader=1, election_ms=300, catchup_ms=200,
                 page_cap=1000, slow_ms=800):
        self.lock = threading.RLock()
        self.nodes = [Node(self, i + 1, dc) for i, dc in enumerate(dcs)]
        self.extra_members = []   # added with POST /v1/members (no server behind them)
        self.index = 10
        self.term = 2
        self.leader_id = leader
        self.leader_lost_at = None
        self.election_ms = election_ms
        self.catchup_ms = catchup_ms
        self.page_cap = page_cap
        self.slow_ms = slow_ms
        self.settings = {}        # key -> {"value", "version"}
        self.sessions = {}        # client -> (seq, status, body)
        self.applied_writes = []  # (client, seq, method, path) actually applied
        self.log = []             # (node id, method, path, headers dict, body)

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self):
        for n in self.nodes:
            self._serve(n)
        return self

    def _serve(self, node):
        handler = type("Handler", (FakeHandler,), {"node": node})
        srv = ThreadingHTTPServer(("127.0.0.1", node.port), handler)
        srv.daemon_threads = True
        node.port = srv.server_address[1]
        node.api_address = "127.0.0.1:%d" % node.port
        node.server = srv
        node.down = False
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def stop_node(self, nid):
        """Makes a node unreachable: closes its listener and its open keep-alive connections."""
        node = self.node(nid)
        with self.lock:
            node.down = True
        node.server.shutdown()
        node.server.server_close()
        with node.conns_lock:
            for c in list(node.conns):
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def start_node(self, nid):
        self._serve(self.node(nid))

    def close(self):
        for n in self.nodes:
            if not n.down:
                self.stop_node(n.id)

    def endpoints(self, ids=None):
        return ",".join(n.api_address for n in self.nodes if ids is None or n.id in ids)

    def node(self, nid):
        return next(n for n in self.nodes if n.id == nid)

    # ---- simulated raft ------------------------------------------------------------------
    def applied(self, node):
        if node.frozen_index is not None:
            if node.fenced or now_ms() < node.catchup_until:
                return node.frozen_index
            node.frozen_index = None
        return self.index

    def up_voters(self):
        return [n for n in self.nodes if n.role == "voter" and not n.fenced and not n.down]

    def tick(self):
        """Advances the simulation lazily; called under the lock on every request."""
        t = now_ms()
        for n in self.nodes:
            if n.fenced and t >= n.fenced_until:
                self.unfence(n)
        leader = next((n for n in self.nodes if n.id == self.leader_id), None)
        voters = [n for n in self.nodes if n.role == "voter"]
        up = self.up_voters()
        # A leader that lost its voter majority steps down (raft's check-quorum).
        if leader is None or leader.fenced or leader.down or len(up) * 2 <= len(voters):
            if self.leader_lost_at is None:
                self.leader_lost_at = t
                self.leader_id = 0
            if t - self.leader_lost_at >= self.election_ms and len(up) * 2 > len(voters):
                self.leader_id = min(n.id for n in up)
                self.term += 1
                self.index += 1  # the new leader's barrier entry
                self.leader_lost_at = None

    def fence(self, node, duration_ms):
        node.frozen_index = self.applied(node)
        node.fenced_until = now_ms() + duration_ms
        self.tick()

    def unfence(self, node):
        if node.fenced:
            node.fenced_until = None
            node.catchup_until = now_ms() + self.catchup_ms

    def ready(self, node):
        return (not node.fenced and self.leader_id != 0 and
                self.applied(node) >= self.index)

    def view(self, node):
        is_leader = node.id == self.leader_id and not node.fenced
        leader = next((n for n in self.nodes if n.id == self.leader_id), None)
        applied = self.applied(node)
        members = [n.member(is_leader) for n in self.nodes] + [dict(m) for m in self.extra_members]
        return {"id": node.id, "name": node.name, "dc": node.dc,
                "state": "unavailable" if node.fenced else ("leader" if is_leader else "follower"),
                "term": self.term,
                "leader_id": None if node.fenced or not self.leader_id else self.leader_id,
                "leader_api_address": leader.api_address if leader and not node.fenced else None,
                "commit_index": applied, "applied_index": applied,
                "ready": self.ready(node), "fenced": node.fenced, "members": members}

    # ---- writes ----------------------------------------------------------------------------
    def write(self, node, method, path, query, body, headers):
        """Applies a write exactly once per (client, seq); returns (status, body)."""
        if self.leader_id == 0:
            return err(503, "unavailable", "no leader known")
        client = int(headers.get("x-waihu-client", "0") or 0)
        seq = int(headers.get("x-waihu-seq", "0") or 0)
        if client:
            last = self.sessions.get(client)
            if last is not None and seq == last[0]:
                return last[1], last[2]
            if last is not None and seq < last[0]:
                return err(409, "stale", "seq %d below last applied %d" % (seq, last[0]))
        status, out = self.apply(method, path, query, body)
        if status < 300:
            self.index += 1
            self.applied_writes.append((client, seq, method, path))
        if client:
            self.sessions[client] = (seq, status, out)
        return status, out

    def apply(self, method, path, query, body):
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "settings"] and len(parts) > 2:
            key = "/".join(parts[2:])
            cur = self.settings.get(key)
            if method == "PUT":
                if not isinstance(body, dict) or not isinstance(body.get("value"), str):
                    return err(400, "bad_request", "value must be a string", "value")
                want = body.get("version")
                have = cur["version"] if cur else 0
                if want is not None and want != have:
                    return err(409, "conflict", "version mismatch", current_version=have)
                self.settings[key] = {"value": body["value"], "version": have + 1}
                return 200, {"key": key, **self.settings[key]}
            if method == "DELETE":
                if cur is None:
                    return err(404, "not_found", "no such key: " + key)
                want = query.get("version")
                if want is not None and int(want) != cur["version"]:
                    return err(409, "conflict", "version mismatch",
                               current_version=cur["version"])
                del self.settings[key]
                return 200, {"key": key, "deleted": True}
        if parts == ["v1", "members"] and method == "POST":
            ids = {n.id for n in self.nodes} | {m["id"] for m in self.extra_members}
            if not isinstance(body, dict) or not isinstance(body.get("id"), int):
                return err(400, "bad_request", "id required", "id")
            if body["id"] in ids:
                return err(409, "conflict", "member %d exists" % body["id"])
            m = {"id": body["id"], "name": "n%d" % body["id"],
                 "raft_address": body.get("raft_address"), "api_address": None, "dc": None,
                 "role": body.get("role", "spare"), "match_index": None, "reachable": None}
            self.extra_members.append(m)
            return 201, m
        if len(parts) >= 3 and parts[:2] == ["v1", "members"]:
            try:
                mid = int(parts[2])
            except ValueError:
                return err(400, "bad_request", "bad member id")
            node = next((n for n in self.nodes if n.id == mid), None)
            extra = next((m for m in self.extra_members if m["id"] == mid), None)
            if node is None and extra is None:
                return err(404, "not_found", "no member %d" % mid)
            if len(parts) == 3 and method == "DELETE":
                if node is not None:
                    return err(400, "bad_request", "fake cannot remove a served node")
                self.extra_members.remove(extra)
                return 204, None
            if len(parts) == 4 and parts[3] == "role" and method == "POST":
                role = body.get("role") if isinstance(body, dict) else None
                if role not in ("voter", "standby", "spare"):
                    return err(400, "bad_request", "bad role", "role")
                if node is not None:
                    node.role = role
                    return 200, node.member(False)
                extra["role"] = role
                return 200, extra
        if parts == ["v1", "leader", "transfer"] and method == "POST":
            to = body.get("to") if isinstance(body, dict) else None
            cands = [n for n in self.up_voters() if n.id != self.leader_id]
            if to is not None:
                cands = [n for n in cands if n.id == to]
            if not cands:
                return err(400, "bad_request", "no eligible voter", "to")
            self.leader_id = cands[0].id
            self.term += 1
            return 200, {"leader_id": self.leader_id}
        return err(404, "not_found", "no route %s %s" % (method, path))

    # ---- reads -----------------------------------------------------------------------------
    def handle(self, node, method, path, query, body, headers):
        """Returns (status, body, slow) for one request; body None means no body."""
        with self.lock:
            self.log.append((node.id, method, path, dict(headers), body))
            self.tick()
            if path == "/healthz":
                return 200, {"status": "ok"}, False
            if path == "/v1/cluster" and method == "GET":
                return 200, self.view(node), False
            if path == "/v1/admin/fence" and method == "POST":
                if not isinstance(body, dict) or not isinstance(body.get("duration_ms"), int):
                    return (*err(400, "bad_request", "duration_ms required", "duration_ms"),
                            False)
                self.fence(node, body["duration_ms"])
                return 200, {"fenced": True}, False
            if path == "/v1/admin/unfence" and method == "POST":
                self.unfence(node)
                self.tick()
                return 200, {"fenced": False}, False
            if node.fenced:
                return (*err(503, "unavailable", "node is fenced"), False)
            if path == "/readyz":
                if self.ready(node):
                    return 200, {"status": "ready", "leader_id": self.leader_id}, False
                return (*err(503, "unavailable", "not ready"), False)
            if path == "/v1/settings" and method == "GET":
                if self.leader_id == 0 and query.get("stale") != "true":
                    return (*err(503, "unavailable", "no leader known"), False)
                prefix = query.get("prefix", "")
                after = query.get("after")
                limit = min(int(query.get("limit", "100")), self.page_cap)
                keys = sorted(k for k in self.settings
                              if k.startswith(prefix) and (after is None or k > after))
                page = keys[:limit]
                items = [{"key": k, **self.settings[k]} for k in page]
                nxt = page[-1] if len(keys) > limit else None
                return 200, {"settings": items, "next": nxt}, False
            if path.startswith("/v1/settings/") and method == "GET":
                if self.leader_id == 0 and query.get("stale") != "true":
                    return (*err(503, "unavailable", "no leader known"), False)
                key = path[len("/v1/settings/"):]
                cur = self.settings.get(key)
                if cur is None:
                    return (*err(404, "not_found", "no such key: " + key), False)
                return 200, {"key": key, **cur}, False
            if method in ("PUT", "POST", "DELETE"):
                status, out = self.write(node, method, path, query, body, headers)
                slow = node.slow_writes > 0
                if slow:
                    node.slow_writes -= 1
                return status, out, slow
            return (*err(404, "not_found", "no route %s %s" % (method, path)), False)


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    node = None  # set per server

    def setup(self):
        super().setup()
        with self.node.conns_lock:
            self.node.conns.add(self.connection)

    def finish(self):
        with self.node.conns_lock:
            self.node.conns.discard(self.connection)
        super().finish()

    def log_message(self, fmt, *args):
        pass

    def _do(self):
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length", "0") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(*err(400, "bad_request", "malformed JSON"))
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, out, slow = self.node.cluster.handle(self.node, self.command, url.path, query,
                                                     body, headers)
        if slow:
            time.sleep(self.node.cluster.slow_ms / 1000.0)
        self._send(status, out)

    def _send(self, status, out):
        data = b"" if out is None else json.dumps(out).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout) or the node was stopped

    do_GET = do_PUT = do_POST = do_DELETE = _do


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dcs", default="dc1,dc1,dc2", help="one dc name per node")
    ap.add_argument("--leader", type=int, default=1)
    args = ap.parse_args()
    c = FakeCluster(dcs=args.dcs.split(","), leader=args.leader).start()
    print("WAIHU_ENDPOINTS=" + c.endpoints(), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        c.close()


if __name__ == "__main__":
    main()

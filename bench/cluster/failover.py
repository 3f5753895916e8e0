"""Failover measurement helpers (Python 3 stdlib only).

The measure: a client writing in a tight loop against the survivors; the figure is the time
from the fault (kill -9 of the leader, or fencing a datacenter) to the first write that was
*sent after the fault* and acknowledged (HTTP 200).

The prober is open-loop: every `interval` seconds it starts one write on a fresh connection
(round-robin over the survivors, each with a short timeout), as long as fewer than
`max_inflight` are outstanding.  So the resolution is `interval` (10 ms) whether the
survivors fail fast (503) or hang (a request forwarded to a dead leader), which a closed
loop with one connection per survivor would not give.
"""
import http.client
import json
import os
import threading
import time


def http_write(address, method, path, body, timeout, headers=None):
    """Returns the HTTP status, or None on a network error / timeout."""
    host, port = address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=body,
                     headers=headers or {"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        return r.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


class Prober:
    def __init__(self, writers, interval=0.01, max_inflight=32):
        """writers: list of callables taking a sequence number, returning True when acked."""
        self.writers = writers
        self.interval = interval
        self.max_inflight = max_inflight
        self.lock = threading.Lock()
        self.inflight = 0
        self.acks = []        # (t_send, t_ack)
        self.fails = 0
        self.sent = 0
        self.stop_ev = threading.Event()
        self.ack_ev = threading.Event()
        self.t_fault = None   # acks are only waited for when sent at/after this
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _one(self, seq, writer):
        t_send = time.monotonic()
        ok = False
        try:
            ok = writer(seq)
        except Exception:  # a probe must never kill the measurement
            ok = False
        t_ack = time.monotonic()
        with self.lock:
            self.inflight -= 1
            if ok:
                self.acks.append((t_send, t_ack))
                if self.t_fault is not None and t_send >= self.t_fault:
                    self.ack_ev.set()
            else:
                self.fails += 1

    def _run(self):
        seq = 0
        nxt = time.monotonic()
        while not self.stop_ev.is_set():
            with self.lock:
                can = self.inflight < self.max_inflight
                if can:
                    self.inflight += 1
            if can:
                seq += 1
                self.sent += 1
                w = self.writers[seq % len(self.writers)]
                threading.Thread(target=self._one, args=(seq, w), daemon=True).start()
            nxt += self.interval
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                nxt = time.monotonic()

    def start(self):
        self.thread.start()

    def mark_fault(self):
        with self.lock:
            self.t_fault = time.monotonic()
        return self.t_fault

    def acks_before_fault(self):
        with self.lock:
            return sum(1 for s, _ in self.acks if self.t_fault is None or s < self.t_fault)

    def wait_first_ack(self, timeout):
        """Seconds from mark_fault() to the first ack of a write sent after it, or None."""
        if not self.ack_ev.wait(timeout):
            return None
        with self.lock:
            t = min(a for s, a in self.acks if s >= self.t_fault)
        return t - self.t_fault

    def stop(self):
        self.stop_ev.set()
        self.thread.join()
        # Outstanding probes have short timeouts and are daemon threads: no need to join.


def waihu_writer(address, timeout=0.5, key="bench.failover"):
    body = json.dumps({"value": "f" * 128})
    path = "/v1/settings/" + key

    headers = {"Content-Type": "application/json",
               "Authorization": "Bearer " + os.environ.get("BENCH_TOKEN", "")}

    def w(seq):
        return http_write(address, "PUT", path, body, timeout, headers) == 200
    return w


def etcd_writer(address, timeout=0.5, key="bench.failover"):
    import base64
    body = json.dumps({"key": base64.b64encode(key.encode()).decode(),
                       "value": base64.b64encode(b"f" * 128).decode()})

    def w(seq):
        return http_write(address, "POST", "/v3/kv/put", body, timeout) == 200
    return w


def measure(writers, fault, timeout=30.0, warm=0.3, interval=0.01):
    """Runs the prober, applies fault() (after marking t0), returns (seconds or None, prober)."""
    p = Prober(writers, interval=interval)
    p.start()
    try:
        time.sleep(warm)
        p.mark_fault()
        fault()
        return p.wait_first_ack(timeout), p
    finally:
        p.stop()

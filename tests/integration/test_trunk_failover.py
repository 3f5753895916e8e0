#!/usr/bin/env python3
"""Trunk failover in real calls (issue 4, docs/bridge.md "Trunks"): waihu-pbx-test routes a
run of calls over a trunk set (--trunks) to two simulated carriers (tools/waihu-carrier, A
with the higher weight, B) and bridges every answer to simulated agents (tools/waihu-agents)
with media relayed and recorded. Mid-run carrier A starts answering 503 to INVITEs and
OPTIONS (SIGUSR1): the calls it fails are retried on B, A is taken out of rotation after a
few failures, and probed with OPTIONS; once A answers again (SIGUSR2) the probes succeed
and A comes back (probation, then up).

Checks: under 1% of the calls fail (every 503 is retried on B), A got only a handful of
INVITEs while it was failing, B carried the calls meanwhile, A came back and took calls
again, each CDR names the trunks tried and a caller ID from the pool of the trunk that
carried it (the carrier saw that number in From), and at the end no call, SIP leg, media
session or trunk channel is left and no state machine made an illegal move.

Real processes on 127.0.0.1, ports 21000-21999 only; waits are on conditions with
deadlines. Binaries come from $WAIHU_FAILOVER_BUILD (default build/); WAIHU_SLOW
stretches deadlines (ASan builds); WAIHU_FAILOVER_CALLS and WAIHU_FAILOVER_RATE size the
run (default 400 calls at 25 per second)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "localcluster"))
from sipkit import Procs  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("WAIHU_FAILOVER_BUILD", "build"))
PBX = os.path.join(BUILD, "tools/waihu-pbx-test/waihu-pbx-test")
CARRIER = os.path.join(BUILD, "tools/waihu-carrier/waihu-carrier")
AGENTS = os.path.join(BUILD, "tools/waihu-agents/waihu-agents")
SLOW = float(os.environ.get("WAIHU_SLOW", "1"))
CALLS = int(os.environ.get("WAIHU_FAILOVER_CALLS", "400"))
RATE = float(os.environ.get("WAIHU_FAILOVER_RATE", "25"))

PBX_PORT = 21060
CARRIER_PORT = {"a": 21070, "b": 21080}
AGENTS_PORT = 21090
CARRIER_RTP = {"a": "21100-21249", "b": "21250-21399"}
AGENTS_RTP = "21400-21599"
PBX_RTP = "21600-21999"
N_AGENTS = 20
NUMBER_BASE = 15557000000

CALLER_IDS = {"a": ["+15550001001", "+15550001002"], "b": ["+15550002001"]}
TRUNKS = {
    # Probes every 300 ms while out; back after 3 good ones and 1 s of hold-down, then 20
    # calls of probation. Keep-alives off: only calls and probes move the state.
    "health": {"down_consecutive": 5, "probe_interval_ms": 300, "probe_timeout_ms": 250,
               "up_probes": 3, "hold_ms": 1000, "hold_max_ms": 8000,
               "probation_calls": 20, "keepalive_interval_ms": 0},
    "trunks": [
        {"name": "a", "target": "127.0.0.1:%d" % CARRIER_PORT["a"], "weight": 3,
         "channels": 200, "cps": 200, "caller_ids": CALLER_IDS["a"]},
        {"name": "b", "target": "127.0.0.1:%d" % CARRIER_PORT["b"], "weight": 1,
         "channels": 200, "cps": 200, "caller_ids": CALLER_IDS["b"]},
    ]}
RULES = {"stats": {"answer": 1.0},
         "ring_ms": {"dist": "uniform", "min_ms": 100, "max_ms": 300},
         "talk_ms": {"dist": "uniform", "min_ms": 1200, "max_ms": 1800}}


def read_jsonl(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip().endswith("}"):
                    out.append(json.loads(line))
    return out


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class Pbx:
    """waihu-pbx-test: JSON commands in, JSON events and CDRs out (one reader thread)."""

    def __init__(self, procs, args):
        self.events = []
        self.cond = threading.Condition()
        self.p = procs.start("pbx", [PBX, "--bind", "127.0.0.1:%d" % PBX_PORT,
                                     "--rtp-ports", PBX_RTP] + list(args),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()
        self.wait(lambda e: e["ev"] == "ready", 10, "pbx ready")

    def _read(self):
        for line in self.p.stdout:
            with self.cond:
                self.events.append(json.loads(line))
                self.cond.notify_all()

    def send(self, **cmd):
        self.p.stdin.write(json.dumps(cmd) + "\n")
        self.p.stdin.flush()

    def find(self, pred):
        with self.cond:
            return [e for e in self.events if pred(e)]

    def wait(self, pred, timeout, what, count=1):
        deadline = time.monotonic() + timeout * SLOW
        with self.cond:
            while True:
                hits = [e for e in self.events if pred(e)]
                if len(hits) >= count:
                    return hits[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    raise AssertionError("timed out waiting for %s (have %d of %d)" %
                                         (what, len(hits), count))
                self.cond.wait(min(left, 0.2))

    def ask(self, cmd, ev):
        n = len(self.find(lambda e: e["ev"] == ev))
        self.send(cmd=cmd)
        return self.wait(lambda e: e["ev"] == ev, 5, cmd, count=n + 1)


class TrunkFailoverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for b in (PBX, CARRIER, AGENTS):
            if not os.path.exists(b):
                raise unittest.SkipTest("build first: " + b)
        for tool in ("flite", "sox"):
            if not shutil.which(tool):
                raise unittest.SkipTest("missing " + tool)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="waihu-failover-")
        self.procs = Procs(self.tmp, stop_timeout=20 * SLOW)

    def tearDown(self):
        self.procs.stop_all()
        result = getattr(self._outcome, "result", None)
        failed = bool(result) and any(t is self for t, _ in result.failures + result.errors)
        reports = self.procs.sanitizer_reports()
        reports += ["%s exit %s" % (p.name, p.returncode) for p in self.procs.procs
                    if p.name == "pbx" and p.returncode != 0]
        if failed or reports or os.environ.get("WAIHU_KEEP_LOGS"):
            print("logs kept in", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertEqual(reports, [], "sanitizer reports in " + self.tmp)

    def speech(self, name, text):
        raw = os.path.join(self.tmp, name + "-16k.wav")
        subprocess.run(["flite", "-t", text, "-o", raw], check=True)
        out = os.path.join(self.tmp, name + ".wav")
        subprocess.run(["sox", raw, "-r", "8000", "-c", "1", "-b", "16", out], check=True)
        return out

    def start_carrier(self, name, wav):
        rules = os.path.join(self.tmp, "rules.json")
        with open(rules, "w") as f:
            json.dump(RULES, f)
        log = os.path.join(self.tmp, "carrier-%s.log" % name)
        p = self.procs.start("carrier-" + name, [
            CARRIER, "--listen", "127.0.0.1:%d" % CARRIER_PORT[name], "--rules", rules,
            "--log", log, "--human-wav", wav, "--rtp-ports", CARRIER_RTP[name],
            "--options-503", "--seed", str(ord(name))], stdout=subprocess.DEVNULL)
        return p, log

    def test_carrier_a_fails_mid_run_calls_move_to_b_and_a_comes_back(self):
        key = os.path.join(self.tmp, "rec.key")
        with open(key, "w") as f:
            f.write(os.urandom(32).hex())
        rec_dir = os.path.join(self.tmp, "rec")
        os.mkdir(rec_dir)
        trunks = os.path.join(self.tmp, "trunks.json")
        with open(trunks, "w") as f:
            json.dump(TRUNKS, f)
        customer = self.speech("customer", "Hello? Yes, speaking.")
        agent_wav = self.speech("agent", "Good morning, this is Waihu.")

        carrier = {}
        for name in ("a", "b"):
            carrier[name] = self.start_carrier(name, customer)
        pbx = Pbx(self.procs, ["--trunks", trunks, "--record-dir", rec_dir, "--key-file", key,
                               "--carrier-timeout-ms", "5000", "--sip-timer-ms", "4000",
                               # trunks and the agents' burst of REGISTERs: not a flood
                               "--exempt", "127.0.0.1"])
        for i in range(1, N_AGENTS + 1):
            pbx.send(cmd="cred", user="agent%d" % i, password="secret%d" % i)
        agents_log = os.path.join(self.tmp, "agents.log")
        self.procs.start("agents", [
            AGENTS, "--registrar", "127.0.0.1:%d" % PBX_PORT, "--listen",
            "127.0.0.1:%d" % AGENTS_PORT, "--count", str(N_AGENTS), "--ring-ms", "100",
            "--talk-ms", "20000-30000", "--wav", agent_wav, "--rtp-ports", AGENTS_RTP,
            "--log", agents_log], stdout=subprocess.DEVNULL)
        pbx.wait(lambda e: e["ev"] == "registered" and e["expires"] > 0, 15,
                 "agents registered", count=N_AGENTS)

        t0 = time.monotonic()
        pbx.send(cmd="burst", n=CALLS, rate_per_s=RATE, number_base="+%d" % NUMBER_BASE,
                 agents=N_AGENTS, tag="run")
        dialed = lambda n: pbx.wait(lambda e: e["ev"] == "dialed", 10 + n / RATE,
                                    "%d calls dialed" % n, count=n)
        # A fails from the first quarter of the run...
        dialed(CALLS // 4)
        carrier["a"][0].send_signal(signal.SIGUSR1)
        t_fail = time.monotonic()
        down = pbx.wait(lambda e: e["ev"] == "trunk" and e["trunk"] == "a" and
                        e["state"] == "down", 10, "trunk a down")
        t_down = time.monotonic()
        # ...until the middle of it.
        dialed(CALLS // 2)
        carrier["a"][0].send_signal(signal.SIGUSR2)
        t_heal = time.monotonic()
        pbx.wait(lambda e: e["ev"] == "trunk" and e["trunk"] == "a" and
                 e["state"] == "probation", 15, "trunk a back (probation)")
        t_back = time.monotonic()
        done = pbx.wait(lambda e: e["ev"] == "burst-done", 20 + CALLS / RATE, "burst done")
        pbx.wait(lambda e: e["ev"] == "cdr", 60, "every CDR", count=done["sent"])
        t_end = time.monotonic()
        pbx.wait(lambda e: e["ev"] == "trunk" and e["trunk"] == "a" and e["state"] == "up",
                 15, "trunk a up after probation")

        # Nothing left behind: calls, legs, media, trunk channels, probes.
        keys = ("calls_active", "media_open", "sip_legs_live", "sip_calls_active",
                "trunk_channels", "calls_waiting")
        last = {}

        def idle():
            last.update(pbx.ask("stats", "stats"))
            return all(last[k] == 0 for k in keys)
        wait_until(idle, 15, "no call, leg, session or channel left")
        st = last
        self.assertTrue(all(st[k] == 0 for k in keys), st)
        for k in ("illegal_moves", "sip_illegal_moves", "trunk_illegal_moves"):
            self.assertEqual(st[k], 0, st)
        info = {t["name"]: t for t in pbx.ask("trunks", "trunks")["trunks"]}
        self.assertEqual([info[n]["in_use"] for n in ("a", "b")], [0, 0], info)

        cdrs = pbx.find(lambda e: e["ev"] == "cdr")
        errors = pbx.find(lambda e: e["ev"] == "error")
        failed = [c for c in cdrs if c["result"] != "answered"]
        retried = [c for c in cdrs if c["attempts"] > 1]
        by_trunk = {n: sum(1 for c in cdrs if c.get("trunk") == n and c["result"] == "answered")
                    for n in ("a", "b")}
        log_a = read_jsonl(carrier["a"][1])
        a_503 = [e for e in log_a if e["ev"] == "invite" and e["code"] == 503]
        a_opts = [e["code"] for e in log_a if e["ev"] == "options"]
        late_a = [c for c in cdrs if c.get("trunk") == "a" and c["id"] > CALLS // 2 + 10]
        print("\nfailover: %d calls in %.1f s (%.1f/s), failed %d (+%d dial errors), retried %d "
              "(%s), answered via a %d / b %d; a down %.2f s after the 503s began (%d INVITEs got "
              "503), back %.2f s after it healed, %d OPTIONS to a (%d x 503); probes sent %d"
              % (len(cdrs), t_end - t0, len(cdrs) / (t_end - t0), len(failed), len(errors),
                 len(retried), sorted(set(c["trunks_tried"] for c in retried)), by_trunk["a"],
                 by_trunk["b"], t_down - t_fail, len(a_503), t_back - t_heal, len(a_opts),
                 a_opts.count(503), st["probes_sent"]))
        for c in failed[:5]:
            print("failed:", {k: c.get(k) for k in ("id", "result", "status", "end_reason",
                                                     "trunks_tried", "attempts")})
        self.assertEqual(done["sent"], CALLS)
        self.assertLess(len(failed) + len(errors), CALLS / 100.0)
        # Every 503 was retried on B, and A was taken out after a handful of them.
        self.assertGreater(len(a_503), 0)
        self.assertLessEqual(len(a_503), 10)
        self.assertEqual(down["reason"], "consecutive")
        self.assertGreaterEqual(len(retried), len(a_503))
        for c in retried:
            self.assertEqual((c["trunks_tried"], c["trunk"]), ("a,b", "b"), c)
        # While A was out, probes found it failing, then healthy.
        self.assertIn(503, a_opts)
        self.assertIn(200, a_opts)
        # A took calls again after coming back; B carried the middle of the run.
        self.assertGreater(len(late_a), 20)
        self.assertGreater(by_trunk["b"], CALLS // 4)
        # Caller IDs come from the pool of the trunk that carried the call, and the carrier
        # saw them in From.
        seen_from = {}
        for name in ("a", "b"):
            for e in read_jsonl(carrier[name][1]):
                if e["ev"] == "invite":
                    seen_from[e["call_id"]] = (name, e["from"].split("@")[0])
        for c in cdrs:
            if c["result"] == "answered":
                self.assertIn(c["caller_id"], CALLER_IDS[c["trunk"]], c)
                self.assertEqual(seen_from.get(c["carrier_dialog"]),
                                 (c["trunk"], c["caller_id"]), c)
                self.assertTrue(c.get("recording"), c)


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""Integration tests of SIP signalling: waihu-carrier against sipp, src/sip (hosted by
waihu-sipd-test) against waihu-carrier, baresip and waihu-agents, and the registrar's
security behaviour. Real processes on 127.0.0.1, ports 15000-17999 only; waits are on
conditions with deadlines.

Binaries come from $WAIHU_SIP_BUILD (default build/). Audio is generated with flite/sox."""
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "localcluster"))
from sipkit import Procs  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("WAIHU_SIP_BUILD", "build"))
CARRIER = os.path.join(BUILD, "tools/waihu-carrier/waihu-carrier")
AGENTS = os.path.join(BUILD, "tools/waihu-agents/waihu-agents")
SIPD = os.path.join(BUILD, "tools/waihu-sipd-test/waihu-sipd-test")
SCENARIOS = os.path.join(ROOT, "tests/integration/sip")
SLOW = float(os.environ.get("WAIHU_SLOW", "1"))  # ASan builds: stretch deadlines

CARRIER_PORT = 15060
ENGINE_PORT = 15070
BARESIP_PORT = 15080
AGENTS_PORT = 15200
SIPP_PORT = 15100


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def read_jsonl(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    out.append(json.loads(line))
    return out


def make_audio(tmp):
    """8 kHz WAVs (human, voicemail greeting + beep) and a raw mu-law file for sipp."""
    paths = {}
    for name, text in (("human", "hello? who is this?"), ("vm", "please leave a message")):
        raw = os.path.join(tmp, name + "16.wav")
        subprocess.run(["flite", "-t", text, "-o", raw], check=True)
        paths[name] = os.path.join(tmp, name + ".wav")
        subprocess.run(["sox", raw, "-r", "8000", "-c", "1", "-b", "16", paths[name]], check=True)
    beep = os.path.join(tmp, "beep.wav")
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", beep, "synth", "0.5",
                    "sine", "1000"], check=True)
    greeting = os.path.join(tmp, "voicemail.wav")
    subprocess.run(["sox", paths["vm"], beep, greeting], check=True)
    paths["voicemail"] = greeting
    paths["ulaw"] = os.path.join(tmp, "hello.ulaw")
    subprocess.run(["sox", paths["human"], "-t", "ul", "-r", "8000", "-c", "1", paths["ulaw"]],
                   check=True)
    return paths


class Engine:
    """waihu-sipd-test: JSON commands in, JSON events out."""

    def __init__(self, procs, args=()):
        self.events = []
        self.cond = threading.Condition()
        self.p = procs.start("sipd", [SIPD, "--bind", "127.0.0.1:%d" % ENGINE_PORT] + list(args),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.wait(lambda e: e["ev"] == "ready", 10, "engine ready")

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
                    return hits[0] if count == 1 else hits
                left = deadline - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    raise AssertionError("timed out waiting for %s (have %d of %d)" %
                                         (what, len(hits), count))
                self.cond.wait(min(left, 0.2))

    def originate(self, **kw):
        tag = "t%d" % time.monotonic_ns()
        self.send(cmd="originate", tag=tag, **kw)
        return self.wait(lambda e: e["ev"] == "originated" and e.get("tag") == tag, 5,
                         "originated")["call"]

    def final(self, call, timeout=10):
        return self.wait(lambda e: e.get("call") == call and e["ev"] in ("failed", "ended"),
                         timeout, "final event of call %d" % call)

    def stats(self):
        n = len(self.find(lambda e: e["ev"] == "stats"))
        self.send(cmd="stats")
        hits = self.wait(lambda e: e["ev"] == "stats", 5, "stats", count=n + 1)
        return hits[-1] if isinstance(hits, list) else hits


class SipTest(unittest.TestCase):
    def setUp(self):
        for b in (CARRIER, SIPD):
            if not os.path.exists(b):
                self.skipTest("build first: " + b)
        self.tmp = tempfile.mkdtemp(prefix="waihu-sip-")
        self.procs = Procs(self.tmp, stop_timeout=10 * SLOW)

    def tearDown(self):
        self.procs.stop_all()
        result = getattr(self._outcome, "result", None)
        failed = bool(result) and any(t is self for t, _ in result.failures + result.errors)
        failed = failed or bool(os.environ.get("WAIHU_KEEP_LOGS"))
        reports = self.procs.sanitizer_reports()
        if failed or reports:
            print("logs kept in", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertEqual(reports, [], "sanitizer reports in " + self.tmp)

    def carrier(self, rules, *extra):
        path = os.path.join(self.tmp, "rules.json")
        with open(path, "w") as f:
            json.dump(rules, f)
        self.carrier_log = os.path.join(self.tmp, "carrier.jsonl")
        p = self.procs.start("carrier", [CARRIER, "--listen", "127.0.0.1:%d" % CARRIER_PORT,
                                         "--rules", path, "--log", self.carrier_log,
                                         "--rtp-ports", "16000-16199"] + list(extra))
        wait_until(lambda: self._port_busy(CARRIER_PORT), 10, "carrier listening")
        return p

    @staticmethod
    def _port_busy(port):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", port))
            return False
        except OSError:
            return True
        finally:
            s.close()

    def carrier_events(self, ev):
        return [e for e in read_jsonl(self.carrier_log) if e["ev"] == ev]

    def sipp(self, scenario, numbers, rate=10, transport="u1", extra=(), timeout=60):
        csv = os.path.join(self.tmp, "numbers.csv")
        with open(csv, "w") as f:
            f.write("SEQUENTIAL\n" + "".join(n + ";\n" for n in numbers))
        argv = ["sipp", "127.0.0.1:%d" % CARRIER_PORT, "-i", "127.0.0.1", "-p", str(SIPP_PORT),
                "-t", transport, "-inf", csv, "-m", str(len(numbers)), "-r", str(rate),
                "-nostdin", "-timeout", str(timeout), "-timeout_error",
                "-trace_stat", "-stf", os.path.join(self.tmp, "sipp_stat.csv"),
                "-mi", "127.0.0.1", "-mp", "16400", "-max_socket", "100"] + list(extra)
        if scenario.startswith("-"):
            argv += ["-sn", scenario[1:]]
        else:
            argv += ["-sf", os.path.join(SCENARIOS, scenario)]
        r = subprocess.run(argv, cwd=self.tmp, capture_output=True, text=True,
                           timeout=timeout + 30)
        ok = re.search(r"Successful call\s+\|\s+\d+\s+\|\s+(\d+)", r.stdout)
        bad = re.search(r"Failed call\s+\|\s+\d+\s+\|\s+(\d+)", r.stdout)
        rate_m = re.search(r"Call Rate\s+\|[^|]+\|\s+([\d.]+) cps", r.stdout)
        return (r.returncode, int(ok.group(1)) if ok else -1, int(bad.group(1)) if bad else -1,
                float(rate_m.group(1)) if rate_m else 0.0, r.stdout[-3000:] + r.stderr[-2000:])


RULES = {
    "numbers": {
        "1001": {"outcome": "answer", "ring_ms": 100, "talk_ms": 30000},
        "1002": "busy",
        "1003": {"outcome": "no-answer", "ring_ms": 200},
        "1004": "unreachable",
        "1005": {"outcome": "voicemail", "ring_ms": 0, "talk_ms": 30000},
        "1006": {"outcome": "reject", "code": 603, "ring_ms": 50},
        "1007": {"outcome": "human", "ring_ms": 0, "talk_ms": 30000},
    },
    "ring_ms": 0,
    "talk_ms": 30000,
}
EXPECTED = {"1001": ("answered", 200), "1002": ("rejected", 486), "1003": ("rejected", 480),
            "1004": ("rejected", 404), "1005": ("answered", 200), "1006": ("rejected", 603),
            "1007": ("answered", 200)}


class TestCarrierWithSipp(SipTest):
    def check_outcomes(self, numbers):
        ends = wait_until(lambda: len(self.carrier_events("end")) >= len(numbers) and
                          self.carrier_events("end"), 15, "carrier end lines")
        invites = self.carrier_events("invite")
        self.assertEqual([i["number"] for i in invites], numbers)
        by_call = {e["call_id"]: e for e in ends}
        for inv in invites:
            end = by_call[inv["call_id"]]
            self.assertEqual((end["result"], end["code"]), EXPECTED[inv["number"]], inv)

    def test_per_number_rules_over_udp_and_tcp(self):
        self.carrier(RULES)
        numbers = sorted(EXPECTED) * 2
        rc, ok, bad, _, out = self.sipp("uac_any.xml", numbers)
        self.assertEqual((rc, ok, bad), (0, len(numbers), 0), out)
        self.check_outcomes(numbers)
        invites = self.carrier_events("invite")
        self.assertTrue(all(i["transport"] == "UDP" for i in invites))
        # The same over TCP (one connection per call).
        rc, ok, bad, _, out = self.sipp("uac_any.xml", ["1001", "1002"], transport="tn")
        self.assertEqual((rc, ok, bad), (0, 2, 0), out)
        wait_until(lambda: len(self.carrier_events("end")) >= len(numbers) + 2, 10, "tcp ends")
        self.assertEqual([i["transport"] for i in self.carrier_events("invite")[-2:]],
                         ["TCP", "TCP"])

    def test_builtin_uac_scenario(self):
        self.carrier(RULES)
        rc, ok, bad, _, out = self.sipp("-uac", ["1001"] * 5, extra=["-s", "1001"])
        self.assertEqual((rc, ok, bad), (0, 5, 0), out)
        ends = wait_until(lambda: len(self.carrier_events("end")) >= 5 and
                          self.carrier_events("end"), 10, "ends")
        self.assertTrue(all(e["result"] == "answered" and e["hangup"] == "caller" for e in ends))

    def test_rtp_both_ways_with_voicemail_greeting(self):
        audio = make_audio(self.tmp)  # hello.ulaw lands in sipp's working directory
        self.carrier(RULES, "--human-wav", audio["human"], "--voicemail-wav", audio["voicemail"])
        rc, ok, bad, _, out = self.sipp("uac_rtp.xml", ["1005", "1007"], rate=2)
        self.assertEqual((rc, ok, bad), (0, 2, 0), out)
        ends = wait_until(lambda: len(self.carrier_events("end")) >= 2 and
                          self.carrier_events("end"), 10, "ends")
        for e in ends:
            # ~2.7 s answered: the carrier sent its prompt, sipp's rtp_stream arrived.
            self.assertGreater(e["rtp_sent"], 100, e)
            self.assertGreater(e["rtp_recv"], 80, e)

    def test_503_burst_after_n_and_by_signal(self):
        p = self.carrier(RULES, "--fail-503-after", "3", "--fail-503-count", "4")
        rc, ok, bad, _, out = self.sipp("uac_any.xml", ["1002"] * 10, rate=50)
        self.assertEqual((rc, ok, bad), (0, 10, 0), out)
        wait_until(lambda: len(self.carrier_events("end")) >= 10, 10, "ends")
        codes = [i["code"] for i in self.carrier_events("invite")]
        self.assertEqual(codes, [486] * 3 + [503] * 4 + [486] * 3)
        p.send_signal(signal.SIGUSR1)
        wait_until(lambda: self._sipp_one("1002") == 503, 10, "503 after SIGUSR1")
        p.send_signal(signal.SIGUSR2)
        wait_until(lambda: self._sipp_one("1002") == 486, 10, "486 after SIGUSR2")

    def _sipp_one(self, number):
        before = len(self.carrier_events("invite"))
        self.sipp("uac_any.xml", [number])
        invites = wait_until(lambda: len(self.carrier_events("invite")) > before and
                             self.carrier_events("invite"), 5, "invite")
        return invites[-1]["code"]

    def test_carrier_keeps_up_with_500_calls_per_second(self):
        self.carrier({"ring_ms": 0, "talk_ms": 60000}, "--no-rtp")
        n = int(os.environ.get("WAIHU_SIP_LOAD_CALLS", "2500"))
        rc, ok, bad, cps, out = self.sipp("-uac", ["1"], rate=500,
                                          extra=["-s", "1001", "-m", str(n), "-l", "2000"])
        self.assertEqual((rc, ok, bad), (0, n, 0), out)
        print("\ncarrier: %d calls, sipp call rate %.0f cps" % (n, cps), file=sys.stderr)
        wait_until(lambda: len(self.carrier_events("end")) >= n, 20, "all ends logged")


class TestEngineWithCarrier(SipTest):
    def test_originated_calls_match_carrier_log(self):
        self.carrier({"stats": {"answer": 0.4, "voicemail": 0.1, "busy": 0.2, "no-answer": 0.1,
                                "unreachable": 0.2},
                      "ring_ms": {"dist": "uniform", "min_ms": 0, "max_ms": 300},
                      "talk_ms": {"dist": "uniform", "min_ms": 100, "max_ms": 600}}, "--no-rtp")
        eng = Engine(self.procs)
        n = 300
        targets = ["sip:2%05d@127.0.0.1:%d" % (i, CARRIER_PORT) for i in range(n)]
        eng.send(cmd="burst", n=n, rate_per_s=150, targets=targets)
        finals = eng.wait(lambda e: e["ev"] in ("failed", "ended"), 30, "all finals", count=n)
        self.assertEqual(len({e["call"] for e in finals}), n, "one final event per call")
        invites = {i["call_id"]: i for i in self.carrier_events("invite")}
        self.assertEqual(len(invites), n)
        answered = {e["call"] for e in eng.find(lambda e: e["ev"] == "answered")}
        want = {"answer": ("ended", 200), "voicemail": ("ended", 200), "busy": ("failed", 486),
                "no-answer": ("failed", 480), "unreachable": ("failed", 404)}
        seen = {}
        for f in finals:
            inv = invites[f["dialog"]]
            self.assertEqual((f["ev"], f["status"]), want[inv["outcome"]], (f, inv))
            self.assertEqual(f["call"] in answered, f["ev"] == "ended")
            if f["ev"] == "ended":
                self.assertEqual(f["reason"], "remote-bye")
            seen[inv["outcome"]] = seen.get(inv["outcome"], 0) + 1
        self.assertEqual(set(seen), set(want), seen)
        st = eng.stats()
        self.assertEqual((st["illegal_moves"], st["calls_active"], st["calls_out"]), (0, 0, n))

    def test_timeout_hangup_and_allow_list(self):
        self.carrier({"numbers": {"3001": {"outcome": "no-answer", "ring_ms": 20000},
                                  "3004": "busy",
                                  "3002": {"outcome": "answer", "ring_ms": 0, "talk_ms": 30000},
                                  "3003": {"outcome": "no-answer", "ring_ms": 20000}}})
        eng = Engine(self.procs, ["--dest", "acme=300,!3009"])
        t = lambda n: "sip:%s@127.0.0.1:%d" % (n, CARRIER_PORT)
        c1 = eng.originate(target=t("3001"), timeout_ms=300)
        self.assertEqual((eng.final(c1)["ev"], eng.final(c1)["status"]), ("failed", 408))
        c2 = eng.originate(target=t("3002") + ";transport=tcp", tenant="acme")
        eng.wait(lambda e: e["ev"] == "answered" and e["call"] == c2, 5, "answered")
        eng.send(cmd="hangup", call=c2)
        f2 = eng.final(c2)
        self.assertEqual((f2["ev"], f2["reason"]), ("ended", "local-bye"))
        c3 = eng.originate(target=t("3003"))
        eng.wait(lambda e: e["ev"] == "progress" and e["call"] == c3, 5, "ringing")
        eng.send(cmd="hangup", call=c3)
        self.assertEqual(eng.final(c3)["status"], 487)
        # Toll-fraud guard: denied destinations never leave.
        for number in ("3009", "9001"):
            c = eng.originate(target=t(number), tenant="acme")
            f = eng.final(c)
            self.assertEqual((f["ev"], f["status"]), ("failed", 403))
        c5 = eng.originate(target=t("3002"), tenant="other")
        self.assertEqual(eng.final(c5)["status"], 403)
        # A trunk reached through an outbound proxy (pre-loaded Route), over TCP.
        c6 = eng.originate(target=t("3004"), proxy="sip:127.0.0.1:%d;transport=tcp" % CARRIER_PORT)
        self.assertEqual(eng.final(c6)["status"], 486)
        ends = wait_until(lambda: len(self.carrier_events("end")) >= 4 and
                          self.carrier_events("end"), 10, "carrier ends")
        self.assertEqual(sorted((e["number"], e["result"]) for e in ends),
                         [("3001", "cancelled"), ("3002", "answered"), ("3003", "cancelled"),
                          ("3004", "rejected")])
        self.assertEqual(sorted((i["number"], i["transport"]) for i in self.carrier_events("invite")),
                         [("3001", "UDP"), ("3002", "TCP"), ("3003", "UDP"), ("3004", "TCP")])
        self.assertEqual(eng.stats()["illegal_moves"], 0)


    def test_options_pings_get_exactly_one_event_each(self):
        p = self.carrier({"ring_ms": 0}, "--no-rtp", "--options-503")
        eng = Engine(self.procs)
        # A black hole that answers only once the ping has timed out, and a closed port.
        hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        hole.bind(("127.0.0.1", 15090))
        self.addCleanup(hole.close)
        car = "127.0.0.1:%d" % CARRIER_PORT
        pings = {1: {"target": car}, 2: {"target": car, "transport": "tcp"},
                 3: {"target": "sip:%s;transport=tcp" % car},
                 4: {"target": car, "proxy": car},
                 5: {"target": "127.0.0.1:15090", "timeout_ms": 300},
                 6: {"target": "127.0.0.1:15091", "timeout_ms": 1000}}
        for n, kw in pings.items():
            eng.send(cmd="options", ping=n, **kw)
        evs = eng.wait(lambda e: e["ev"] == "options", 10, "ping answers", count=len(pings))
        got = {e["ping"]: (e["status"], e["call"]) for e in evs}
        self.assertEqual({n: got[n][0] for n in (1, 2, 3, 4, 5)},
                         {1: 200, 2: 200, 3: 200, 4: 200, 5: 408}, evs)
        self.assertIn(got[6][0], (503, 408))  # ICMP port unreachable, or nothing
        self.assertTrue(all(call == 0 for _, call in got.values()))
        # The late 200 to ping 5 must not make a second event.
        req, src = hole.recvfrom(8192)
        hole.sendto(sip_reply(req.decode(), 200, "OK").encode(), src)
        # The carrier answers 503 during a burst (with --options-503), 200 after it.
        p.send_signal(signal.SIGUSR1)
        n = [len(pings)]

        def ping_status(want):
            n[0] += 1
            eng.send(cmd="options", ping=n[0], target=car)
            ev = eng.wait(lambda e: e["ev"] == "options" and e["ping"] == n[0], 5, "ping %d" % n[0])
            return ev["status"] == want
        wait_until(lambda: ping_status(503), 10, "OPTIONS 503 during the burst")
        p.send_signal(signal.SIGUSR2)
        wait_until(lambda: ping_status(200), 10, "OPTIONS 200 after the burst")
        st = eng.stats()
        events = eng.find(lambda e: e["ev"] == "options")
        self.assertEqual(sorted(e["ping"] for e in events), list(range(1, n[0] + 1)))
        self.assertEqual((st["pings_sent"], st["pings_pending"]), (n[0], 0), st)
        want = 4 + n[0] - len(pings)  # pings 1-4 and those after the black hole
        seen = wait_until(lambda: len(self.carrier_events("options")) >= want and
                          self.carrier_events("options"), 5, "carrier log of the pings")
        self.assertEqual(len(seen), want)
        self.assertTrue(all(o["from"] == "ping" for o in seen), seen)
        codes = [o["code"] for o in seen]
        self.assertEqual(codes[:4], [200] * 4)  # pings 1-4 (ping 4 through itself as proxy)
        self.assertIn(503, codes)
        self.assertEqual(codes[-1], 200)
        # Bad arguments are refused before anything is sent.
        eng.send(cmd="options", ping=99, target="bad target")
        eng.wait(lambda e: e["ev"] == "error" and e["cmd"] == "options", 5, "refusal")


def sip_reply(req, status, phrase):
    """A response to req (text) with its Via, From, To (tagged), Call-ID and CSeq."""
    lines = [f"SIP/2.0 {status} {phrase}"]
    for line in req.split("\r\n")[1:]:
        name = line.split(":", 1)[0].strip().lower()
        if name in ("via", "v", "from", "f", "call-id", "i", "cseq"):
            lines.append(line)
        elif name in ("to", "t"):
            lines.append(line if ";tag=" in line else line + ";tag=late1")
    return "\r\n".join(lines + ["Content-Length: 0", "", ""])


def digest_response(user, realm, password, method, uri, nonce, nc="00000001", cnonce="abc123"):
    ha1 = hashlib.md5(("%s:%s:%s" % (user, realm, password)).encode()).hexdigest()
    ha2 = hashlib.md5(("%s:%s" % (method, uri)).encode()).hexdigest()
    return hashlib.md5(("%s:%s:%s:%s:auth:%s" % (ha1, nonce, nc, cnonce, ha2)).encode()).hexdigest()


class RawUA:
    """A minimal UDP SIP client bound to a chosen 127.0.0.x source, for the security tests."""

    def __init__(self, ip, port, ua="waihu-test"):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((ip, port))
        self.ip, self.port, self.ua = ip, port, ua
        self.cseq = 0

    def close(self):
        self.s.close()

    def request(self, method, user, auth=None, call_id=None, wait=2.0, body=""):
        self.cseq += 1
        call_id = call_id or "c%d-%d@%s" % (self.cseq, time.monotonic_ns(), self.ip)
        uri = "sip:%s@127.0.0.1:%d" % (user, ENGINE_PORT) if method == "INVITE" else \
            "sip:127.0.0.1:%d" % ENGINE_PORT
        self.branch = "z9hG4bK%d" % time.monotonic_ns()
        self.last = (call_id, self.cseq)
        lines = ["%s %s SIP/2.0" % (method, uri),
                 "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (self.ip, self.port, self.branch),
                 "Max-Forwards: 70",
                 "From: <sip:%s@127.0.0.1>;tag=f%d" % (user, self.cseq),
                 "To: <sip:%s@127.0.0.1>" % user,
                 "Call-ID: " + call_id,
                 "CSeq: %d %s" % (self.cseq, method),
                 "Contact: <sip:%s@%s:%d>" % (user, self.ip, self.port),
                 "User-Agent: " + self.ua]
        if method == "REGISTER":
            lines.append("Expires: 60")
        if auth:
            lines.append("Authorization: " + auth)
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append("Content-Length: %d" % len(body))
        self.s.sendto(("\r\n".join(lines) + "\r\n\r\n" + body).encode(), ("127.0.0.1", ENGINE_PORT))
        self.uri = uri
        return self.recv(wait) if wait else None

    def recv(self, wait):
        """The final response to the last request (retransmissions of older ones skipped)."""
        deadline = time.monotonic() + wait * SLOW
        while True:
            self.s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.s.recv(65535).decode()
            except socket.timeout:
                return None
            cseq = self.header(data, "CSeq") or ""
            if data.startswith("SIP/2.0 1") or self.header(data, "Call-ID") != self.last[0] or \
                    not cseq.startswith("%d " % self.last[1]):
                continue
            return data

    def ack(self, resp, user):
        """ACK of a failure response to the last INVITE (same branch and CSeq)."""
        lines = ["ACK %s SIP/2.0" % self.uri,
                 "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (self.ip, self.port, self.branch),
                 "Max-Forwards: 70", "From: " + self.header(resp, "From"),
                 "To: " + self.header(resp, "To"), "Call-ID: " + self.last[0],
                 "CSeq: %d ACK" % self.last[1], "Content-Length: 0"]
        self.s.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), ("127.0.0.1", ENGINE_PORT))

    @staticmethod
    def status(resp):
        return int(resp.split()[1]) if resp else None

    @staticmethod
    def header(resp, name):
        m = re.search(r"^%s:\s*(.*?)\r$" % name, resp, re.M | re.I)
        return m.group(1) if m else None

    def auth_header(self, challenge, user, password, method):
        nonce = re.search(r'nonce="([^"]+)"', challenge).group(1)
        realm = re.search(r'realm="([^"]+)"', challenge).group(1)
        resp = digest_response(user, realm, password, method, self.uri, nonce)
        return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", '
                'algorithm=MD5, qop=auth, nc=00000001, cnonce="abc123"' %
                (user, realm, nonce, self.uri, resp))

    def register(self, user, password):
        r = self.request("REGISTER", user)
        if self.status(r) != 401:
            return r
        return self.request("REGISTER", user, self.auth_header(
            self.header(r, "WWW-Authenticate"), user, password, "REGISTER"))


def shape(resp):
    """A reply with its per-request values blanked: what a scanner could compare."""
    out = []
    for line in resp.split("\r\n"):
        line = re.sub(r'nonce="[0-9a-f]+"', 'nonce="N"', line)
        line = re.sub(r"(tag|branch)=[^;>\s]+", r"\1=X", line)
        line = re.sub(r"^(Call-ID|CSeq|From|To|Via):.*", r"\1: X", line)
        out.append(line)
    return out


class TestRegistrar(SipTest):
    def test_baresip_registers_with_digest_and_auto_answers(self):
        eng = Engine(self.procs, ["--udp-only"])
        eng.send(cmd="cred", user="agent1", password="secret1", tenant="t1")
        audio = make_audio(self.tmp)
        padded = os.path.join(self.tmp, "agent.wav")
        subprocess.run(["sox", audio["human"], padded, "pad", "0", "30"], check=True)
        conf = os.path.join(self.tmp, "baresip")
        os.mkdir(conf)
        with open(os.path.join(conf, "config"), "w") as f:
            f.write("poll_method epoll\nsip_listen 127.0.0.1:%d\nsip_transports udp\n"
                    "net_interface 127.0.0.1\naudio_source aufile,%s\naudio_player aubridge,nil\n"
                    "audio_alert aubridge,nil\nrtp_ports 16600-16699\n"
                    "module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n"
                    "module aubridge.so\nmodule_app account.so\nmodule_app menu.so\n"
                    % (BARESIP_PORT, padded))
        with open(os.path.join(conf, "accounts"), "w") as f:
            f.write("<sip:agent1@127.0.0.1:%d;transport=udp>;auth_pass=secret1;regint=60;"
                    "answermode=auto;audio_codecs=PCMU\n" % ENGINE_PORT)
        self.procs.start("baresip", ["baresip", "-f", conf], stdout=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL)
        reg = eng.wait(lambda e: e["ev"] == "registered" and e["expires"] > 0, 15, "registration")
        self.assertEqual((reg["agent"], reg["tenant"]), ("agent1", "t1"))
        self.assertIn("127.0.0.1:%d" % BARESIP_PORT, reg["target"])
        c = eng.originate(agent="agent1", **{"from": "sip:dialer@waihu"})
        ans = eng.wait(lambda e: e["ev"] == "answered" and e["call"] == c, 10, "baresip answers")
        self.assertIn("PCMU", ans["sdp"])
        eng.send(cmd="hangup", call=c)
        self.assertEqual(eng.final(c)["reason"], "local-bye")
        # An unregistered agent cannot be called.
        c2 = eng.originate(agent="nobody", **{"from": "sip:dialer@waihu"})
        self.assertEqual(eng.final(c2)["status"], 404)
        self.assertEqual(eng.stats()["illegal_moves"], 0)

    def test_simulated_agents_register_answer_and_hang_up(self):
        if not os.path.exists(AGENTS):
            self.skipTest("no waihu-agents")
        eng = Engine(self.procs)
        n = 5
        for i in range(1, n + 1):
            eng.send(cmd="cred", user="agent%d" % i, password="secret%d" % i)
        log = os.path.join(self.tmp, "agents.jsonl")
        agents = self.procs.start("agents", [AGENTS, "--registrar", "127.0.0.1:%d" % ENGINE_PORT,
                                    "--listen", "127.0.0.1:%d" % AGENTS_PORT, "--count", str(n),
                                    "--talk-ms", "300-600", "--ring-ms", "50",
                                    "--rtp-ports", "17000-17099", "--log", log])
        eng.wait(lambda e: e["ev"] == "registered" and e["expires"] > 0, 10, "registrations",
                 count=n)
        calls = [eng.originate(agent="agent%d" % i, **{"from": "sip:dialer@waihu"})
                 for i in range(1, n + 1)]
        # Blind transfer of an answered call: the agent's stack accepts the REFER.
        eng.wait(lambda e: e["ev"] == "answered" and e["call"] == calls[0], 5, "answered")
        eng.send(cmd="refer", call=calls[0], to="sip:1001@127.0.0.1:%d" % CARRIER_PORT)
        ref = eng.wait(lambda e: e["ev"] == "refer" and e["call"] == calls[0], 5, "refer result")
        self.assertEqual(ref["status"], 202)
        for c in calls:
            f = eng.final(c)
            self.assertEqual((f["ev"], f["reason"]), ("ended", "remote-bye"), f)
        lines = wait_until(lambda: len([l for l in read_jsonl(log) if l["ev"] == "call"]) >= n
                           and read_jsonl(log), 10, "agent call lines")
        done = [l for l in lines if l["ev"] == "call"]
        self.assertEqual(sorted(l["agent"] for l in done), ["agent%d" % i for i in range(1, n + 1)])
        self.assertTrue(all(l["result"] == "answered" and l["hangup"] == "agent" for l in done))
        # On SIGTERM the agents unregister (authenticated REGISTER with expires 0).
        agents.send_signal(signal.SIGTERM)
        eng.wait(lambda e: e["ev"] == "registered" and e["expires"] == 0, 10, "unregistrations",
                 count=n)
        self.assertEqual(agents.wait(10 * SLOW), 0)

    def test_wrong_password_and_unknown_user_look_the_same(self):
        eng = Engine(self.procs)
        eng.send(cmd="cred", user="alice", password="right")
        eng.stats()  # the credential is in place once the engine has answered a later command
        ua = RawUA("127.0.0.1", 15301)
        try:
            self.assertEqual(RawUA.status(ua.register("alice", "right")), 200)
            replies = {}
            for user, password in (("alice", "wrong"), ("mallory", "whatever")):
                r = ua.register(user, password)
                self.assertEqual(RawUA.status(r), 401, r)
                replies[user] = r
            self.assertEqual(shape(replies["alice"]), shape(replies["mallory"]))
            self.assertEqual(len("".join(shape(replies["alice"]))),
                             len("".join(shape(replies["mallory"]))))
            # No product token to fingerprint.
            self.assertIsNone(RawUA.header(replies["alice"], "User-Agent"))
            self.assertIsNone(RawUA.header(replies["alice"], "Server"))
        finally:
            ua.close()

    def test_register_flood_gets_banned_others_unaffected(self):
        eng = Engine(self.procs, ["--guard-rate", "20", "--guard-burst", "40", "--ban-ms", "60000"])
        eng.send(cmd="cred", user="bob", password="pw")
        flooder = RawUA("127.0.0.66", 15302)
        good = RawUA("127.0.0.1", 15303)
        try:
            for _ in range(300):
                flooder.request("REGISTER", "bob", wait=0)
            ban = eng.wait(lambda e: e["ev"] == "banned", 10, "ban")
            self.assertEqual((ban["source"].split(":")[0], ban["reason"]), ("127.0.0.66", "flood"))
            time.sleep(0)  # drain replies of the flood
            while flooder.recv(0.2):
                pass
            # Banned: even the right password gets the same challenge, never a 200.
            self.assertEqual(RawUA.status(flooder.register("bob", "pw")), 401)
            self.assertEqual(RawUA.status(good.register("bob", "pw")), 200)
            self.assertGreater(eng.stats()["guard_rejects"], 0)
        finally:
            flooder.close()
            good.close()

    def test_scanner_gets_banned_and_learns_nothing(self):
        eng = Engine(self.procs)
        for u in ("1001", "1005"):
            eng.send(cmd="cred", user=u, password="pw" + u)
        normal = RawUA("127.0.0.1", 15304)
        r_normal = normal.request("OPTIONS", "1001")
        normal.close()
        scanner = RawUA("127.0.0.77", 15305, ua="friendly-scanner")
        r_scan = scanner.request("OPTIONS", "1001")
        scanner.close()
        self.assertEqual(shape(r_normal), shape(r_scan))
        ban = eng.wait(lambda e: e["ev"] == "banned", 5, "scanner ban")
        self.assertEqual(ban["reason"], "scanner")
        if shutil.which("svwar"):
            r = subprocess.run(["svwar", "-e1000-1010", "-b", "127.0.0.78", "-P", "15306",
                                "-p", str(ENGINE_PORT), "127.0.0.1"], capture_output=True,
                               text=True, timeout=120)
            found = set(re.findall(r"\|\s*(10\d\d)\s*\|", r.stdout))
            # Either nothing or everything: never exactly the real extensions.
            self.assertNotEqual(found, {"1001", "1005"}, r.stdout + r.stderr)

    def test_unauthenticated_invite_never_reaches_anyone(self):
        self.carrier(RULES)
        eng = Engine(self.procs, ["--dest", "*=1"])
        eng.send(cmd="cred", user="carol", password="pw", tenant="t")
        ua = RawUA("127.0.0.1", 15307)
        sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" \
              "m=audio 17950 RTP/AVP 0\r\n"
        try:
            def invite(number, password):
                """INVITE, then again with credentials; returns the final reply (ACKed)."""
                r = ua.request("INVITE", number, body=sdp)
                self.assertEqual(RawUA.status(r), 401, r)
                ua.ack(r, "carol")
                if password is None:
                    return r
                r2 = ua.request("INVITE", number, ua.auth_header(
                    RawUA.header(r, "WWW-Authenticate"), "carol", password, "INVITE"), body=sdp)
                if r2 and RawUA.status(r2) >= 300:
                    ua.ack(r2, "carol")
                return r2

            invite("1001", None)
            self.assertEqual(RawUA.status(invite("1001", "bad")), 401)
            # Right password but not registered: refused.
            self.assertEqual(RawUA.status(invite("1001", "pw")), 403)
            self.assertEqual(RawUA.status(ua.register("carol", "pw")), 200)
            final = []
            t = threading.Thread(target=lambda: final.append(invite("1001", "pw")))
            t.start()
            inc = eng.wait(lambda e: e["ev"] == "incoming", 5, "incoming")
            self.assertEqual((inc["agent"], inc["target"], inc["tenant"]), ("carol", "1001", "t"))
            eng.send(cmd="respond", call=inc["call"], status=486)
            t.join(10)
            self.assertEqual(RawUA.status(final[0]), 486)
            self.assertEqual(eng.final(inc["call"])["status"], 486)
            # Allow-list on agent calls: 9xx is outside "*=1".
            self.assertEqual(RawUA.status(invite("900", "pw")), 403)
        finally:
            ua.close()
        self.assertEqual(len(eng.find(lambda e: e["ev"] == "incoming")), 1)
        self.assertEqual(self.carrier_events("invite"), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)

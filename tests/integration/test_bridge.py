#!/usr/bin/env python3
"""Integration tests of the call bridge (src/dialer/bridge.h) with real peers: sipp plays
the carrier (scenarios in tests/integration/bridge/), baresip the agent's softphone
(digest REGISTER to our registrar, auto-answer, a WAV file as its microphone), and
waihu-pbx-test hosts the bridge, the SIP engine and the media engine in between.

Checks: the call completes end to end; the decrypted stereo recording has speech energy on
both channels (carrier left, agent right); RFC 2833 digits from sipp's pcaps are reported;
failures (no answer, 486, 503, agent not registered, agent killed, carrier BYE) end with a
CDR reason and leave no call, SIP leg or media session behind; with the host's picker
(--pick), the agent is chosen when the carrier answers (after AMD when it is on), a call
with no free agent is abandoned at once, and a dial naming its agent never asks.

Real processes on 127.0.0.1, ports 19000-19999 (the picker's tests: 23000-23999) only;
waits are on conditions with deadlines. Binaries come from $WAIHU_BRIDGE_BUILD (default
build/); WAIHU_SLOW stretches deadlines (ASan builds). Audio is generated with flite and
sox.

TestPrompts (ports 23000-23999, waihu-carrier as the carrier on the sipp port) plays
prompts: an IVR prompt (a tone sequence) that the carrier receives as one RTP stream, a
digit it presses (RFC 4733) bridging the picked agent, a prompt played to its end then the
hang-up, and the abandon message of a live answer without an agent within 2 s of the
answer, with AMD off and on."""
import array
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import wave
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "localcluster"))
from sipkit import Procs, udp_port_busy  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("WAIHU_BRIDGE_BUILD", "build"))
PBX = os.path.join(BUILD, "tools/waihu-pbx-test/waihu-pbx-test")
RECORDING = os.path.join(BUILD, "tools/waihu-recording/waihu-recording")
SCENARIOS = os.path.join(ROOT, "tests/integration/bridge")
SLOW = float(os.environ.get("WAIHU_SLOW", "1"))

TRUNK = "sip:%s@127.0.0.1:%d"


class Ports:
    """The ports of one test class, all within base..base+999."""

    def __init__(self, base):
        self.pbx = base + 60
        self.baresip = base + 80
        self.sipp = base + 100
        self.sipp_media = base + 200
        self.baresip_rtp = "%d-%d" % (base + 400, base + 499)
        self.pbx_rtp = "%d-%d" % (base + 500, base + 999)

SPEECH_DBFS = -45.0  # flite speech through G.711 sits around -20..-30 dBFS over a call


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


class Pbx:
    """waihu-pbx-test: JSON commands in, JSON events and CDRs out."""

    def __init__(self, procs, ports, args=()):
        self.ports = ports
        self.events = []
        self.cond = threading.Condition()
        self.p = procs.start("pbx", [PBX, "--bind", "127.0.0.1:%d" % ports.pbx,
                                     "--rtp-ports", ports.pbx_rtp] + list(args),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
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
                    return hits[0] if count == 1 else hits
                left = deadline - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    raise AssertionError("timed out waiting for %s (have %d of %d)" %
                                         (what, len(hits), count))
                self.cond.wait(min(left, 0.2))

    def dial(self, number, agent="agent1", **extra):
        """Dials number at the sipp carrier; agent None: chosen at answer (--pick). extra:
        more keys of the dial command (prompts: prompt, transfer_digit, ...)."""
        tag = "t%d" % time.monotonic_ns()
        cmd = dict(cmd="dial", tag=tag, number=number, target=TRUNK % (number, self.ports.sipp))
        cmd.update(extra)
        if agent is not None:
            cmd["agent"] = agent
        self.send(**cmd)
        ev = self.wait(lambda e: e.get("tag") == tag, 5, "dial reply")
        assert ev["ev"] == "dialed", ev
        return ev["id"]

    def set_free(self, agents):
        """The free agents the picker hands out (--pick); returns the ack's event index."""
        tag = "f%d" % time.monotonic_ns()
        self.send(cmd="free", tag=tag, agents=agents)
        ack = self.wait(lambda e: e.get("tag") == tag, 5, "free reply")
        assert ack["ev"] == "free", ack
        return self.index(ack)

    def index(self, ev):
        """Position of an event in the host's output (the order it wrote them)."""
        with self.cond:
            return next(i for i, e in enumerate(self.events) if e is ev)

    def cdr(self, call_id, timeout=20):
        return self.wait(lambda e: e["ev"] == "cdr" and e["id"] == call_id, timeout,
                         "cdr of call %d" % call_id)

    def state(self, call_id, state, timeout=10):
        return self.wait(lambda e: e["ev"] == "state" and e["id"] == call_id and
                         e["state"] == state, timeout, "call %d %s" % (call_id, state))

    def stats(self):
        n = len(self.find(lambda e: e["ev"] == "stats"))
        self.send(cmd="stats")
        hits = self.wait(lambda e: e["ev"] == "stats", 5, "stats", count=n + 1)
        return hits[-1] if isinstance(hits, list) else hits

    def wait_idle(self, timeout=10):
        """Every call, SIP leg and media session is gone (polls the host's counters)."""
        keys = ("calls_active", "media_open", "sip_legs_live", "sip_calls_active")
        last = {}

        def idle():
            last.update(self.stats())
            return all(last[k] == 0 for k in keys)
        try:
            wait_until(idle, timeout, "no active call")
        except AssertionError:
            raise AssertionError("still active: %s" % last)
        return last


class BridgeTest(unittest.TestCase):
    PORTS = Ports(19000)

    @classmethod
    def setUpClass(cls):
        for b in (PBX, RECORDING):
            if not os.path.exists(b):
                raise unittest.SkipTest("build first: " + b)
        for tool in ("sipp", "baresip", "flite", "sox"):
            if not shutil.which(tool):
                raise unittest.SkipTest("missing " + tool)
        cls.audio = tempfile.mkdtemp(prefix="waihu-bridge-audio-")
        cls.wav = {}

        def speech(name, text, voice):
            raw = os.path.join(cls.audio, name + "-16k.wav")
            subprocess.run(["flite", "-voice", voice, "-t", text, "-o", raw], check=True)
            out = os.path.join(cls.audio, name + ".wav")
            subprocess.run(["sox", raw, "-r", "8000", "-c", "1", "-b", "16", out], check=True)
            return out
        customer = speech("customer", "Hello? Yes, this is the customer speaking. "
                          "I would like to hear about your offer.", "slt")
        agent = speech("agent", "Good morning, this is the agent from Waihu. "
                       "How can I help you today?", "awb")
        # The carrier streams raw mu-law (sipp rtp_stream, looped).
        cls.ulaw = os.path.join(cls.audio, "carrier.ulaw")
        subprocess.run(["sox", customer, "-t", "ul", "-r", "8000", "-c", "1", cls.ulaw],
                       check=True)
        # baresip hangs up at the end of its file: a short one for "agent hangs up", a
        # long one (speech repeated, then silence) for the rest.
        cls.wav["agent_short"] = os.path.join(cls.audio, "agent-short.wav")
        subprocess.run(["sox", agent, cls.wav["agent_short"], "pad", "0.5", "2"], check=True)
        cls.wav["agent_long"] = os.path.join(cls.audio, "agent-long.wav")
        subprocess.run(["sox", agent, agent, agent, cls.wav["agent_long"], "pad", "0", "60"],
                       check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.audio, ignore_errors=True)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="waihu-bridge-")
        self.procs = Procs(self.tmp, stop_timeout=15 * SLOW)
        shutil.copy(self.ulaw, os.path.join(self.tmp, "carrier.ulaw"))
        self.rec_dir = os.path.join(self.tmp, "rec")
        os.mkdir(self.rec_dir)
        self.key = os.path.join(self.tmp, "rec.key")
        with open(self.key, "w") as f:
            f.write(os.urandom(32).hex())
        self.sipps = []

    def tearDown(self):
        self.procs.stop_all()
        result = getattr(self._outcome, "result", None)
        failed = bool(result) and any(t is self for t, _ in result.failures + result.errors)
        failed = failed or bool(os.environ.get("WAIHU_KEEP_LOGS"))
        reports = self.procs.sanitizer_reports()
        # The host must shut down by itself on SIGTERM (sanitizers report at exit).
        reports += ["%s exit %s" % (p.name, p.returncode) for p in self.procs.procs
                    if p.name == "pbx" and p.returncode != 0]
        if failed or reports:
            print("logs kept in", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertEqual(reports, [], "sanitizer reports in " + self.tmp)

    # -- peers --------------------------------------------------------------------------

    def pbx(self, *args):
        self.host = Pbx(self.procs, self.PORTS,
                        ["--record-dir", self.rec_dir, "--key-file", self.key] + list(args))
        self.host.send(cmd="cred", user="agent1", password="secret1", tenant="t1")
        return self.host

    def agent(self, wav):
        """baresip registered as agent1 (digest), auto-answer, wav as its microphone."""
        conf = os.path.join(self.tmp, "baresip")
        os.makedirs(conf, exist_ok=True)
        with open(os.path.join(conf, "config"), "w") as f:
            f.write("poll_method epoll\nsip_listen 127.0.0.1:%d\nsip_transports udp\n"
                    "net_interface 127.0.0.1\naudio_source aufile,%s\n"
                    "audio_player aubridge,nil\naudio_alert aubridge,nil\nrtp_ports %s\n"
                    "module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n"
                    "module aubridge.so\nmodule_app account.so\nmodule_app menu.so\n"
                    % (self.PORTS.baresip, wav, self.PORTS.baresip_rtp))
        with open(os.path.join(conf, "accounts"), "w") as f:
            f.write("<sip:agent1@127.0.0.1:%d;transport=udp>;auth_pass=secret1;regint=60;"
                    "answermode=auto;audio_codecs=PCMU\n" % self.PORTS.pbx)
        n = len(self.host.find(lambda e: e["ev"] == "registered" and e["expires"] > 0))
        p = self.procs.start("baresip", ["baresip", "-f", conf], stdout=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL)
        self.host.wait(lambda e: e["ev"] == "registered" and e["expires"] > 0, 15,
                       "agent registration", count=n + 1)
        return p

    def carrier(self, scenario, *extra, subst=None):
        """sipp as the carrier's UAS for one call; returns the process. A scenario ending in
        .in is a template: subst maps its @KEY@ placeholders to values."""
        name = "sipp%d" % len(self.sipps)
        path = os.path.join(SCENARIOS, scenario)
        if scenario.endswith(".in"):
            with open(path) as f:
                text = f.read()
            for k, v in (subst or {}).items():
                text = text.replace("@%s@" % k, str(v))
            path = os.path.join(self.tmp, name + "_" + scenario[:-3])
            with open(path, "w") as f:
                f.write(text)
        argv = ["sipp", "-sf", path, "-i", "127.0.0.1",
                "-p", str(self.PORTS.sipp), "-mi", "127.0.0.1", "-mp", str(self.PORTS.sipp_media),
                "-m", "1", "-nostdin", "-timeout", str(int(90 * SLOW)), "-timeout_error",
                "-trace_err", "-error_file", os.path.join(self.tmp, name + "_errors.log"),
                "-trace_msg", "-message_file", os.path.join(self.tmp, name + "_messages.log")
                ] + list(extra)
        p = self.procs.start(name, argv, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self.sipps.append(p)
        wait_until(lambda: udp_port_busy(self.PORTS.sipp), 10, "sipp listening")
        return p

    def sipp_done(self, p, timeout=20):
        """sipp's exit status once its one call is over (0: the scenario completed)."""
        try:
            return p.wait(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            raise AssertionError("sipp still running")

    def carrier_says(self, *parts):
        """carrier.ulaw for sipp: the given WAVs or silences (seconds) in a row."""
        args = []
        for i, part in enumerate(parts):
            if isinstance(part, (int, float)):
                path = os.path.join(self.tmp, "silence%d.wav" % i)
                subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", path, "trim",
                                "0", str(part)], check=True)
                part = path
            args.append(part)
        subprocess.run(["sox"] + args + ["-t", "ul", os.path.join(self.tmp, "carrier.ulaw")],
                       check=True)

    def sipp_times(self, n, *starts):
        """Times (s, sipp's clock) of the first message of sipp number n's log that starts
        with each of starts, in order (-trace_msg: a dashed line with the date and time
        before each message)."""
        with open(os.path.join(self.tmp, "sipp%d_messages.log" % n), errors="replace") as f:
            text = f.read()
        blocks = re.findall(r"^-{10,} [\d-]+\s+(\d+):(\d+):(\d+\.\d+)\n"
                            r"[^\n]*\n\s*\n([^\n]*)", text, re.M)
        out = []
        for start in starts:
            hit = next((b for b in blocks if b[3].startswith(start)), None)
            self.assertIsNotNone(hit, "no %r in sipp%d's log" % (start, n))
            out.append(int(hit[0]) * 3600 + int(hit[1]) * 60 + float(hit[2]))
        return out

    # -- checks -------------------------------------------------------------------------

    def energy(self, cdr):
        """rms dBFS per channel of the decrypted recording of a CDR."""
        self.assertIn("recording", cdr)
        self.assertEqual(cdr["recording_err"], 0, cdr)
        wav = os.path.join(self.tmp, "call-%d.wav" % cdr["id"])
        r = subprocess.run([RECORDING, "decrypt", "--key-file", self.key, cdr["recording"], wav],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run([RECORDING, "energy", wav], capture_output=True, text=True,
                           check=True)
        levels = {int(c): float(v) for c, v in
                  re.findall(r"channel=(\d+) rms_dbfs=(-?[\d.]+)", r.stdout)}
        self.assertEqual(sorted(levels), [0, 1], r.stdout)
        return levels[0], levels[1]

    def tail_levels(self, cdr, seconds):
        """rms dBFS per channel over the recording's last seconds (python, from the WAV)."""
        with wave.open(os.path.join(self.tmp, "call-%d.wav" % cdr["id"])) as w:
            self.assertEqual((w.getnchannels(), w.getsampwidth(), w.getframerate()),
                             (2, 2, 8000))
            n = w.getnframes()
            w.setpos(max(0, n - int(seconds * 8000)))
            pcm = array.array("h", w.readframes(n))
        out = []
        for ch in (0, 1):
            samples = pcm[ch::2]
            rms = math.sqrt(sum(x * x for x in samples) / max(1, len(samples)))
            out.append(20 * math.log10(rms / 32768) if rms > 0 else -200.0)
        return out

    def assert_clean_end(self):
        st = self.host.wait_idle()
        self.assertEqual(st["illegal_moves"], 0, st)
        self.assertEqual(st["sip_illegal_moves"], 0, st)
        return st


class TestBridgedCalls(BridgeTest):
    def test_call_end_to_end_agent_hangs_up(self):
        pbx = self.pbx()
        self.agent(self.wav["agent_short"])
        sipp = self.carrier("uas_talk.xml")
        c = pbx.dial("1001")
        pbx.state(c, "bridged")
        cdr = pbx.cdr(c, 30)
        self.assertEqual((cdr["result"], cdr["end_reason"], cdr["hangup_by"], cdr["status"]),
                         ("answered", "remote-bye", "agent", 200), cdr)
        self.assertGreater(cdr["talk_ms"], 3000, cdr)
        self.assertTrue(cdr.get("carrier_dialog") and cdr.get("agent_dialog"), cdr)
        # Both directions were relayed: ~50 packets per second each way.
        for leg in ("carrier_rtp", "agent_rtp"):
            self.assertGreater(cdr[leg]["rx"], 100, cdr)
            self.assertGreater(cdr[leg]["tx"], 100, cdr)
            # The first packets can beat the 200 OK (the remote is set from its SDP).
            self.assertLessEqual(cdr[leg]["wrong_source"], 10, cdr)
        left, right = self.energy(cdr)
        print("\nend to end: talk %d ms, rms carrier (left) %.1f dBFS, agent (right) %.1f dBFS, "
              "packets carrier rx %d tx %d (early %d), agent rx %d tx %d (early %d)"
              % (cdr["talk_ms"], left, right, cdr["carrier_rtp"]["rx"], cdr["carrier_rtp"]["tx"],
                 cdr["carrier_rtp"]["wrong_source"], cdr["agent_rtp"]["rx"],
                 cdr["agent_rtp"]["tx"], cdr["agent_rtp"]["wrong_source"]))
        self.assertGreater(left, SPEECH_DBFS)
        self.assertGreater(right, SPEECH_DBFS)
        # Channels are not swapped: the agent's file ends with 2 s of silence while the
        # customer keeps talking, so the last second is loud on the left, silent on the right.
        tail_left, tail_right = self.tail_levels(cdr, 1.0)
        print("last second: left %.1f dBFS, right %.1f dBFS" % (tail_left, tail_right))
        self.assertGreater(tail_left, SPEECH_DBFS)
        self.assertLess(tail_right, -60)
        self.assertEqual(self.sipp_done(sipp), 0)  # the carrier got our BYE
        self.assert_clean_end()

    def test_carrier_hangs_up(self):
        pbx = self.pbx()
        self.agent(self.wav["agent_long"])
        sipp = self.carrier("uas_bye.xml")
        c = pbx.dial("1002")
        cdr = pbx.cdr(c, 30)
        self.assertEqual((cdr["result"], cdr["end_reason"], cdr["hangup_by"]),
                         ("answered", "remote-bye", "carrier"), cdr)
        left, right = self.energy(cdr)
        print("\ncarrier bye: talk %d ms, rms left %.1f dBFS, right %.1f dBFS"
              % (cdr["talk_ms"], left, right))
        self.assertGreater(left, SPEECH_DBFS)
        self.assertGreater(right, SPEECH_DBFS)
        self.assertEqual(self.sipp_done(sipp), 0)
        self.assert_clean_end()

    def test_rfc2833_digits_from_the_carrier(self):
        pbx = self.pbx()
        self.agent(self.wav["agent_long"])
        sipp = self.carrier("uas_dtmf.xml")
        c = pbx.dial("1003")
        want = "1234567890*#"
        hits = pbx.wait(lambda e: e["ev"] == "dtmf" and e["id"] == c, 20, "digits",
                        count=len(want))
        got = "".join(e["digit"] for e in hits)
        print("\ndtmf: got %r" % got)
        self.assertEqual(got, want)
        self.assertTrue(all(e["leg"] == "carrier" and e["source"] == "rfc4733" for e in hits))
        pbx.send(cmd="hangup", id=c)
        cdr = pbx.cdr(c)
        self.assertEqual((cdr["result"], cdr["end_reason"], cdr["hangup_by"], cdr["digits"]),
                         ("answered", "local-hangup", "local", want), cdr)
        self.assertEqual(self.sipp_done(sipp), 0)
        self.assert_clean_end()

    def test_inband_digits_from_the_carrier(self):
        """DTMF as tones in the audio (no RFC 4733): the carrier plays 1234567890*#, each
        digit 100 ms of its two frequencies then 100 ms of silence, at -10 dBFS per tone."""
        rows = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "4": (770, 1209),
                "5": (770, 1336), "6": (770, 1477), "7": (852, 1209), "8": (852, 1336),
                "9": (852, 1477), "*": (941, 1209), "0": (941, 1336), "#": (941, 1477)}
        want = "1234567890*#"
        parts = [os.path.join(self.tmp, "lead.wav")]
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", parts[0], "trim", "0",
                        "1.0"], check=True)
        for i, d in enumerate(want):
            lo, hi = rows[d]
            tone = os.path.join(self.tmp, "d%d.wav" % i)
            # Two sines on two input channels, mixed down to the mono output.
            subprocess.run(["sox", "-r", "8000", "-c", "2", "-n", "-r", "8000", "-c", "1",
                            "-b", "16", tone, "synth", "0.1", "sine", str(lo), "sine", str(hi),
                            "gain", "-10", "pad", "0", "0.1"], check=True)
            parts.append(tone)
        tail = os.path.join(self.tmp, "tail.wav")
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", tail, "trim", "0",
                        "30"], check=True)
        parts.append(tail)
        # uas_talk.xml streams carrier.ulaw from sipp's working directory.
        subprocess.run(["sox"] + parts + ["-t", "ul", "-r", "8000", "-c", "1",
                                          os.path.join(self.tmp, "carrier.ulaw")], check=True)
        pbx = self.pbx("--inband-dtmf")
        self.agent(self.wav["agent_long"])
        sipp = self.carrier("uas_talk.xml")
        c = pbx.dial("1004")
        hits = pbx.wait(lambda e: e["ev"] == "dtmf" and e["id"] == c and e["leg"] == "carrier",
                        20, "in-band digits", count=len(want))
        got = "".join(e["digit"] for e in hits)
        print("\nin-band dtmf: got %r (sources %s)" % (got, sorted({e["source"] for e in hits})))
        self.assertEqual(got, want)
        self.assertTrue(all(e["source"] != "rfc4733" for e in hits), hits)
        pbx.send(cmd="hangup", id=c)
        pbx.cdr(c)
        self.assertEqual(self.sipp_done(sipp), 0)
        self.assert_clean_end()


class TestFailures(BridgeTest):
    def test_carrier_never_answers(self):
        pbx = self.pbx("--carrier-timeout-ms", "2000")
        self.agent(self.wav["agent_long"])
        sipp = self.carrier("uas_noanswer.xml")
        c = pbx.dial("2001")
        cdr = pbx.cdr(c, 15)
        self.assertEqual((cdr["result"], cdr["status"], cdr["end_reason"], cdr["hangup_by"]),
                         ("no-answer", 408, "carrier-failed", "none"), cdr)
        self.assertGreaterEqual(cdr["ring_ms"], 1900, cdr)
        self.assertNotIn("recording", cdr)
        self.assertEqual(self.sipp_done(sipp), 0)  # sipp saw our CANCEL
        self.assert_clean_end()

    def test_carrier_busy_then_unavailable(self):
        pbx = self.pbx()
        for code, result in ((486, "busy"), (503, "carrier-failure")):
            sipp = self.carrier("uas_reject.xml.in", subst={"CODE": code})
            c = pbx.dial("20%d" % code)
            cdr = pbx.cdr(c)
            self.assertEqual((cdr["result"], cdr["status"], cdr["end_reason"]),
                             (result, code, "carrier-failed"), cdr)
            self.assertEqual(self.sipp_done(sipp), 0)
            wait_until(lambda: not udp_port_busy(self.PORTS.sipp), 10, "sipp port free")
        self.assert_clean_end()

    def test_agent_not_registered(self):
        pbx = self.pbx()
        sipp = self.carrier("uas_talk.xml")
        c = pbx.dial("2002")
        cdr = pbx.cdr(c)
        self.assertEqual((cdr["result"], cdr["status"], cdr["end_reason"]),
                         ("agent-unavailable", 404, "agent-failed"), cdr)
        self.assertEqual(self.sipp_done(sipp), 0)  # the answered carrier got a BYE
        self.assert_clean_end()

    def test_agent_softphone_killed_mid_call(self):
        pbx = self.pbx("--rtp-timeout-ms", "2000", "--sip-timer-ms", "2000")
        baresip = self.agent(self.wav["agent_long"])
        sipp = self.carrier("uas_talk.xml")
        c = pbx.dial("2003")
        pbx.state(c, "bridged")
        # Two seconds of audio recorded (~32 KB per second sealed) before the softphone dies.
        wait_until(lambda: [f for f in os.listdir(self.rec_dir)
                            if os.path.getsize(os.path.join(self.rec_dir, f)) > 64000],
                   10, "two seconds recorded")
        baresip.kill()
        baresip.wait()
        t0 = time.monotonic()
        cdr = pbx.cdr(c, 20)
        print("\nagent killed: CDR after %.1f s" % (time.monotonic() - t0))
        self.assertEqual((cdr["result"], cdr["end_reason"], cdr["hangup_by"]),
                         ("answered", "rtp-timeout", "agent"), cdr)
        self.assertGreater(cdr["agent_rtp"]["rx"], 90, cdr)
        self.assertGreaterEqual(cdr["duration_ms"], 4000, cdr)
        self.assertEqual(self.sipp_done(sipp), 0)  # the carrier got our BYE
        self.assert_clean_end()



class TestAnsweringMachineDetection(BridgeTest):
    def test_person_saying_hello_gets_the_agent(self):
        pbx = self.pbx("--amd")
        self.agent(self.wav["agent_long"])
        hello = os.path.join(self.tmp, "hello.wav")
        subprocess.run(["flite", "-voice", "slt", "-t", "Hello?", "-o", hello + ".16k.wav"],
                       check=True)
        subprocess.run(["sox", hello + ".16k.wav", "-r", "8000", "-c", "1", "-b", "16", hello],
                       check=True)
        self.carrier_says(0.3, hello, 4)
        sipp = self.carrier("uas_talk.xml")
        c = pbx.dial("3001")
        amd = pbx.wait(lambda e: e["ev"] == "amd" and e["id"] == c, 10, "amd decision")
        self.assertEqual(amd["result"], "human")
        pbx.state(c, "bridged")
        pbx.send(cmd="hangup", id=c)
        cdr = pbx.cdr(c)
        self.assertEqual((cdr["result"], cdr["amd"], cdr["hangup_by"]),
                         ("answered", "human", "local"), cdr)
        self.assertEqual(self.sipp_done(sipp), 0)
        self.assert_clean_end()

    def test_answering_machine_is_hung_up_without_an_agent(self):
        pbx = self.pbx("--amd")
        self.agent(self.wav["agent_long"])
        greeting = os.path.join(self.tmp, "greeting.wav")
        subprocess.run(["flite", "-voice", "kal", "-t", "Hi, you have reached the voicemail of "
                        "Alex Smith. I can not take your call right now. Please leave a message "
                        "after the tone.", "-o", greeting + ".16k.wav"], check=True)
        subprocess.run(["sox", greeting + ".16k.wav", "-r", "8000", "-c", "1", "-b", "16",
                        greeting], check=True)
        self.carrier_says(0.3, greeting, 2)
        sipp = self.carrier("uas_talk.xml")
        c = pbx.dial("3002")
        cdr = pbx.cdr(c, 15)
        self.assertEqual((cdr["result"], cdr["amd"], cdr["end_reason"], cdr["hangup_by"]),
                         ("machine", "machine", "amd-machine", "local"), cdr)
        self.assertIsNone(cdr.get("agent_dialog"), cdr)  # the agent was never called
        self.assertEqual(self.sipp_done(sipp), 0)
        self.assert_clean_end()


class TestAgentPickedAtAnswer(BridgeTest):
    """Predictive dialing: dials name no agent; the host's picker (--pick) hands out the
    agents of its free list (the `free` command) when the bridge asks, at answer."""
    PORTS = Ports(23000)

    def pbx(self, *args):
        return super().pbx("--pick", *args)

    def picks(self, call_id):
        return self.host.find(lambda e: e["ev"] == "pick" and e["id"] == call_id)

    def test_agent_picked_when_the_carrier_answers(self):
        pbx = self.pbx()
        self.agent(self.wav["agent_long"])
        pbx.set_free([])  # nobody is free when the call is dialed
        ring_ms = int(1500 * SLOW)
        sipp = self.carrier("uas_ring_talk.xml.in", subst={"RING_MS": ring_ms})
        c = pbx.dial("4001", agent=None)
        freed = pbx.set_free(["agent1"])  # agent1 is free by the time the carrier answers
        screening = pbx.index(pbx.state(c, "screening"))
        self.assertLess(freed, screening, "carrier answered within %d ms of the dial: the "
                        "test could not free the agent in time" % ring_ms)
        pbx.state(c, "bridged")
        picks = self.picks(c)
        self.assertEqual([p["agent"] for p in picks], ["agent1"], picks)
        self.assertGreater(pbx.index(picks[0]), screening)  # asked after the answer
        # Media flows between the carrier and the picked agent: a second recorded.
        wait_until(lambda: [f for f in os.listdir(self.rec_dir)
                            if os.path.getsize(os.path.join(self.rec_dir, f)) > 32000],
                   10, "a second recorded")
        pbx.send(cmd="hangup", id=c)
        cdr = pbx.cdr(c)
        print("\npicked at answer: ring %d ms, answer to agent INVITE %d ms, agent ring %d ms"
              % (cdr["ring_ms"], cdr["answer_to_agent_ms"], cdr["agent_ring_ms"]))
        self.assertEqual((cdr["result"], cdr["agent"], cdr["hangup_by"]),
                         ("answered", "agent1", "local"), cdr)
        self.assertGreaterEqual(cdr["ring_ms"], ring_ms - 100, cdr)
        self.assertLess(cdr["answer_to_agent_ms"], 2000, cdr)
        self.assertTrue(cdr.get("agent_dialog"), cdr)
        self.assertGreater(cdr["agent_rtp"]["rx"], 25, cdr)
        self.assertGreater(cdr["carrier_rtp"]["rx"], 25, cdr)
        self.assertEqual(self.sipp_done(sipp), 0)
        self.assert_clean_end()

    def test_no_free_agent_abandons_at_once(self):
        pbx = self.pbx()
        self.agent(self.wav["agent_long"])  # registered, but not free
        sipp = self.carrier("uas_talk.xml")
        c = pbx.dial("4002", agent=None)
        cdr = pbx.cdr(c)
        self.assertEqual((cdr["result"], cdr["end_reason"], cdr["hangup_by"], cdr["status"],
                          cdr["agent"], cdr["answer_to_agent_ms"]),
                         ("abandoned", "no-agent", "local", 200, "", 0), cdr)
        self.assertNotIn("agent_dialog", cdr)
        self.assertEqual([p["agent"] for p in self.picks(c)], [None])
        self.assertEqual(self.sipp_done(sipp), 0)  # the carrier got our BYE
        answered, bye = self.sipp_times(0, "SIP/2.0 200 OK", "BYE ")
        print("\nabandoned: BYE %.0f ms after the carrier's 200 OK (CDR: duration %d ms, "
              "ring %d ms)" % ((bye - answered) * 1000, cdr["duration_ms"], cdr["ring_ms"]))
        self.assertLess(bye - answered, 0.5 * SLOW)
        st = self.assert_clean_end()
        self.assertEqual(st["sip_calls_out"], 1, st)  # no INVITE ever went to an agent

    def test_dial_naming_its_agent_never_asks(self):
        pbx = self.pbx()
        pbx.set_free(["agent1"])
        sipp = self.carrier("uas_talk.xml")
        c = pbx.dial("4003", agent="agent2")  # not registered
        cdr = pbx.cdr(c)
        self.assertEqual((cdr["result"], cdr["end_reason"], cdr["hangup_by"], cdr["status"],
                          cdr["agent"]),
                         ("agent-unavailable", "agent-failed", "none", 404, "agent2"), cdr)
        self.assertEqual(self.picks(c), [])
        self.assertEqual(self.sipp_done(sipp), 0)
        self.assert_clean_end()

    def test_agent_picked_after_amd_says_human(self):
        pbx = self.pbx("--amd")
        self.agent(self.wav["agent_long"])
        pbx.set_free(["agent1"])
        hello = os.path.join(self.tmp, "hello.wav")
        subprocess.run(["flite", "-voice", "slt", "-t", "Hello?", "-o", hello + ".16k.wav"],
                       check=True)
        subprocess.run(["sox", hello + ".16k.wav", "-r", "8000", "-c", "1", "-b", "16", hello],
                       check=True)
        self.carrier_says(0.3, hello, 4)
        sipp = self.carrier("uas_talk.xml")
        c = pbx.dial("4004", agent=None)
        amd = pbx.wait(lambda e: e["ev"] == "amd" and e["id"] == c, 10, "amd decision")
        self.assertEqual(amd["result"], "human")
        pbx.state(c, "bridged")
        picks = self.picks(c)
        self.assertEqual([p["agent"] for p in picks], ["agent1"], picks)
        self.assertGreater(pbx.index(picks[0]), pbx.index(amd))  # asked once AMD decided
        pbx.send(cmd="hangup", id=c)
        cdr = pbx.cdr(c)
        print("\npicked after AMD: answer to agent INVITE %d ms" % cdr["answer_to_agent_ms"])
        self.assertEqual((cdr["result"], cdr["amd"], cdr["agent"]),
                         ("answered", "human", "agent1"), cdr)
        self.assertGreater(cdr["answer_to_agent_ms"], 0, cdr)  # the AMD time counts
        self.assertEqual(self.sipp_done(sipp), 0)
        self.assert_clean_end()


CARRIER = os.path.join(BUILD, "tools/waihu-carrier/waihu-carrier")
TONES = (500, 800, 1100, 1400, 1700, 2000)  # the IVR prompt: 250 ms of each, in order


def write_tones(path, tones=TONES, ms=250, amp=8000):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        pcm = array.array("h")
        for i, f in enumerate(tones):
            n = ms * 8
            pcm.extend(int(amp * math.sin(2 * math.pi * f * (i * n + k) / 8000))
                       for k in range(n))
        w.writeframes(pcm.tobytes())


def read_wav(path):
    with wave.open(path) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        return array.array("h", w.readframes(w.getnframes()))


def goertzel(frame, freq):
    coeff = 2 * math.cos(2 * math.pi * freq / 8000)
    s1 = s2 = 0.0
    for x in frame:
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def tone_sequence(pcm, tones=TONES):
    """The tones heard, in order: per 20 ms frame the candidate carrying most of the energy
    (silence and mixtures skipped), runs collapsed."""
    seq = []
    for at in range(0, len(pcm) - 159, 160):
        frame = pcm[at:at + 160]
        energy = sum(x * x for x in frame) * 160 / 2  # goertzel's scale for a pure tone
        if energy < 160 * 160 * 300 * 300 / 2:
            continue
        power = {f: goertzel(frame, f) for f in tones}
        best = max(power, key=power.get)
        if power[best] > 0.5 * energy and (not seq or seq[-1] != best):
            seq.append(best)
    return seq


def lead_ms(pcm, level=328):
    """Milliseconds of silence (under -40 dBFS) before the first louder sample."""
    return next((i for i, x in enumerate(pcm) if abs(x) > level), len(pcm)) // 8


def trim(pcm, level=328):
    """pcm without its leading and trailing quiet samples."""
    loud = [i for i, x in enumerate(pcm) if abs(x) > level]
    return pcm[loud[0]:loud[-1] + 1] if loud else pcm[:0]


def rms_dbfs(pcm):
    if not pcm:
        return -200.0
    rms = math.sqrt(sum(x * x for x in pcm) / len(pcm))
    return 20 * math.log10(rms / 32768) if rms > 0 else -200.0


class TestPrompts(BridgeTest):
    """Prompts (docs/bridge.md "Prompts"): waihu-carrier answers, records what it receives
    (--rx-dir: decoded, in arrival order; its log says whether it was one RTP stream and
    when the first audio came after its 200 OK) and presses digits over RFC 4733 when its
    rules say so; the host picks agents (--pick)."""
    PORTS = Ports(23000)

    def setUp(self):
        super().setUp()
        if not os.path.exists(CARRIER):
            self.skipTest("build first: " + CARRIER)
        self.rx_dir = os.path.join(self.tmp, "rx")
        os.mkdir(self.rx_dir)
        self.prompt = os.path.join(self.tmp, "ivr.wav")
        write_tones(self.prompt)
        self.carrier_log = os.path.join(self.tmp, "carrier.jsonl")

    def pbx(self, *args):
        return super().pbx("--pick", *args)

    def waihu_carrier(self, numbers, human_wav=None):
        rules = os.path.join(self.tmp, "rules.json")
        with open(rules, "w") as f:
            json.dump({"numbers": numbers}, f)
        argv = [CARRIER, "--listen", "127.0.0.1:%d" % self.PORTS.sipp, "--rules", rules,
                "--log", self.carrier_log, "--rx-dir", self.rx_dir, "--rtp-ports",
                "%d-%d" % (self.PORTS.sipp_media, self.PORTS.sipp_media + 199)]
        if human_wav:
            argv += ["--human-wav", human_wav]
        self.procs.start("carrier", argv, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        wait_until(lambda: udp_port_busy(self.PORTS.sipp), 10, "waihu-carrier listening")

    def carrier_end(self, number):
        """The carrier's log line for the end of the call to number."""
        def find():
            if not os.path.exists(self.carrier_log):
                return None
            with open(self.carrier_log) as f:
                for line in f:
                    ev = json.loads(line)
                    if ev["ev"] == "end" and ev["number"] == number:
                        return ev
            return None
        return wait_until(find, 10, "carrier end of %s" % number)

    def assert_one_stream(self, end):
        self.assertEqual((end["rx_ssrc_changes"], end["rx_seq_breaks"]), (0, 0), end)

    def test_digit_during_the_window_bridges_the_picked_agent(self):
        pbx = self.pbx()
        self.agent(self.wav["agent_long"])
        pbx.set_free(["agent1"])
        # The prompt lasts 1.5 s; the callee presses 1 at 2.5 s, within the 3 s window.
        self.waihu_carrier({"5001": {"outcome": "answer", "ring_ms": 0, "talk_ms": 30000,
                                     "dtmf": "1", "dtmf_at_ms": 2500}})
        c = pbx.dial("5001", agent=None, prompt=self.prompt, transfer_digit="1")
        pbx.state(c, "prompting")
        digit = pbx.wait(lambda e: e["ev"] == "dtmf" and e["id"] == c, 10, "the digit")
        self.assertEqual((digit["digit"], digit["leg"], digit["source"]),
                         ("1", "carrier", "rfc4733"))
        pbx.state(c, "bridged")
        picks = self.host.find(lambda e: e["ev"] == "pick" and e["id"] == c)
        self.assertEqual([p["agent"] for p in picks], ["agent1"])
        self.assertGreater(pbx.index(picks[0]), pbx.index(digit))  # asked at the digit
        time.sleep(3)  # the agent talks to the carrier
        pbx.send(cmd="hangup", id=c)
        cdr = pbx.cdr(c)
        end = self.carrier_end("5001")
        print("\nivr transfer: prompt %s, started %d ms after the answer (carrier: first "
              "audio %d ms after its 200 OK), digit to bridged agent; carrier got %d voiced "
              "packets, markers %d" % (cdr["prompt"]["state"], cdr["prompt"]["start_ms"],
                                       end["rx_first_voice_ms"], end["rx_voiced"],
                                       end["rx_markers"]))
        self.assertEqual((cdr["result"], cdr["agent"], cdr["transferred"], cdr["ivr_digit"]),
                         ("answered", "agent1", True, "1"), cdr)
        self.assertEqual(cdr["prompt"]["state"], "complete", cdr)
        self.assertEqual(cdr["prompt"]["played_ms"], 1500, cdr)
        self.assertEqual(cdr["digits"], "1")
        self.assertEqual(end["dtmf_sent"], 1, end)
        self.assertLess(end["rx_first_voice_ms"], 500, end)
        # One RTP stream from the prompt through the agent's relayed voice.
        self.assert_one_stream(end)
        pcm = read_wav(end["rx_wav"])
        self.assertEqual(tone_sequence(pcm[:1500 * 8]), list(TONES))
        # After the prompt and the silent window up to the digit, the agent's speech.
        agent_part = pcm[2500 * 8:]
        self.assertGreater(len(agent_part), 2 * 8000)
        level = rms_dbfs(agent_part)
        print("agent's voice at the carrier: %.1f dBFS over %.1f s" % (level,
                                                                      len(agent_part) / 8000))
        self.assertGreater(level, SPEECH_DBFS)
        self.assert_clean_end()

    def test_prompt_played_then_hung_up(self):
        pbx = self.pbx()
        pbx.set_free(["agent1"])  # never asked: nobody presses the digit
        self.waihu_carrier({"5002": {"outcome": "answer", "ring_ms": 0, "talk_ms": 30000}})
        c = pbx.dial("5002", agent=None, prompt=self.prompt, transfer_digit="1",
                     transfer_window_ms=1000)
        cdr = pbx.cdr(c, 15)
        end = self.carrier_end("5002")
        print("\nivr prompt: %s, %d ms played, carrier heard the call for %d ms "
              "(prompt 1500 + window 1000)" % (cdr["prompt"]["state"],
                                               cdr["prompt"]["played_ms"], end["talk_ms"]))
        self.assertEqual((cdr["result"], cdr["end_reason"], cdr["hangup_by"], cdr["transferred"],
                          cdr["ivr_digit"]), ("played", "prompt-end", "local", False, ""), cdr)
        self.assertEqual(cdr["prompt"]["state"], "complete")
        self.assertEqual(end["hangup"], "caller", end)  # our BYE
        self.assertGreaterEqual(end["talk_ms"], 2400, end)
        self.assertLess(end["talk_ms"], 3500, end)
        self.assert_one_stream(end)
        pcm = read_wav(end["rx_wav"])
        self.assertEqual(tone_sequence(pcm), list(TONES))
        self.assertEqual(self.host.find(lambda e: e["ev"] == "pick"), [])
        st = self.assert_clean_end()
        self.assertEqual(st["sip_calls_out"], 1, st)  # no agent was ever called

    def abandon_message(self):
        msg = os.path.join(self.tmp, "sorry.wav")
        subprocess.run(["flite", "-voice", "slt", "-t", "Hello, this is Waihu Energy calling "
                        "about your account. We are sorry, all our agents are busy. We will "
                        "call you back.", "-o", msg + ".16k.wav"], check=True)
        subprocess.run(["sox", msg + ".16k.wav", "-r", "8000", "-c", "1", "-b", "16", msg],
                       check=True)
        return msg

    def check_abandon(self, number, cdr, msg):
        end = self.carrier_end(number)
        sent = read_wav(msg)
        heard = read_wav(end["rx_wav"])
        print("\nabandon message: started %d ms after the answer (bridge); carrier: first "
              "packet %d ms after its 200 OK, first voiced one %d ms (the file starts with "
              "%d ms of silence); %.1f s heard of %.1f s, %.1f dBFS (file %.1f)"
              % (cdr["abandon_prompt"]["start_ms"], end["rx_first_ms"],
                 end["rx_first_voice_ms"], lead_ms(sent), len(heard) / 8000, len(sent) / 8000,
                 rms_dbfs(heard), rms_dbfs(sent)))
        self.assertEqual((cdr["result"], cdr["end_reason"], cdr["hangup_by"], cdr["agent"]),
                         ("abandoned", "no-agent", "local", ""), cdr)
        self.assertEqual(cdr["abandon_prompt"]["state"], "complete", cdr)
        self.assertEqual(cdr["prompt"]["state"], "none", cdr)
        self.assertEqual(end["hangup"], "caller", end)
        self.assert_one_stream(end)
        # The whole message arrived (G.711 changes the level by a fraction of a dB).
        self.assertGreaterEqual(len(heard), len(sent))
        self.assertLess(abs(rms_dbfs(heard[:len(sent)]) - rms_dbfs(sent)), 1.0)
        return end

    def test_abandon_message_within_two_seconds(self):
        pbx = self.pbx()
        self.agent(self.wav["agent_long"])  # registered, but not free
        msg = self.abandon_message()
        self.waihu_carrier({"5003": {"outcome": "answer", "ring_ms": 0, "talk_ms": 30000}})
        c = pbx.dial("5003", agent=None, abandon_prompt=msg)
        pbx.state(c, "announcing")
        cdr = pbx.cdr(c, 20)
        end = self.check_abandon("5003", cdr, msg)
        self.assertLess(cdr["abandon_prompt"]["start_ms"], 100 * SLOW, cdr)
        self.assertLess(end["rx_first_ms"], 2000, end)  # the law: within 2 s of the answer
        st = self.assert_clean_end()
        self.assertEqual(st["sip_calls_out"], 1, st)

    def test_abandon_message_after_amd_says_human(self):
        pbx = self.pbx("--amd")
        msg = self.abandon_message()
        hello = os.path.join(self.tmp, "hello.wav")
        subprocess.run(["flite", "-voice", "slt", "-t", "Hello?", "-o", hello + ".16k.wav"],
                       check=True)
        subprocess.run(["sox", hello + ".16k.wav", "-r", "8000", "-c", "1", "-b", "16",
                        hello + ".8k.wav", "silence", "1", "0.01", "1%", "reverse", "silence",
                        "1", "0.01", "1%", "reverse"], check=True)
        subprocess.run(["sox", hello + ".8k.wav", hello, "pad", "0.3", "10"], check=True)
        self.waihu_carrier({"5004": {"outcome": "human", "ring_ms": 0, "talk_ms": 30000}},
                           human_wav=hello)
        c = pbx.dial("5004", agent=None, abandon_prompt=msg)
        amd = pbx.wait(lambda e: e["ev"] == "amd" and e["id"] == c, 10, "amd decision")
        self.assertEqual(amd["result"], "human")
        cdr = pbx.cdr(c, 20)
        self.assertEqual(cdr["amd"], "human", cdr)
        end = self.check_abandon("5004", cdr, msg)
        # With AMD the message waits for the verdict: "Hello?" then 700 ms of quiet.
        greeting_end = 300 + len(trim(read_wav(hello + ".8k.wav"))) // 8
        print("with AMD: the message's first packet %d ms after the answer, %d ms after the "
              "end of the greeting" % (end["rx_first_ms"], end["rx_first_ms"] - greeting_end))
        self.assertLess(end["rx_first_ms"] - greeting_end, 2000, end)
        self.assert_clean_end()


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""Keyword search end to end (issue 7, docs/recordings.md "Speech"): a one-node cluster runs
telephony over a trunk to waihu-carrier, with waihu-agents as the agents' softphones. Each
called number has its own customer audio (the carrier rules' "wav"), flite sentences in one
of four voices (bench/speech's sentences): half the calls say "complaint" or "contract",
the others are controls with confusable words (compliment, contact, concert, complete,
contrast). Every call is answered, bridged to an agent and recorded; the node's speech
worker analyses each recording and commits its hits; then GET /v1/recordings?keyword=
must find exactly the calls that said the keyword. Precision and recall are printed.

Also: the keyword list API (GET/PUT /v1/recordings/keywords: roles, 400/422 with field
names, audit) and the hits' channel (customer) and offsets (inside the call, where the
sentence was said).

WAIHU_SPEECH_CALLS=N runs N calls (bench/recordings.sh runs 100); WAIHU_SPEECH_SUMMARY=FILE
writes the figures as JSON there."""
import importlib.util
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import unittest
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "localcluster"))
from localcluster import Api, Cluster  # noqa: E402
from sipkit import Procs  # noqa: E402
from sipkit import wait_until as _wait_until  # noqa: E402

_spec = importlib.util.spec_from_file_location("speech_bench",
                                               os.path.join(ROOT, "bench", "speech", "bench.py"))
speech_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(speech_bench)


def build_dir():
    if os.environ.get("WAIHU_RECORDINGS_BUILD"):  # absolute: tools run in a temp dir
        return os.path.abspath(os.environ["WAIHU_RECORDINGS_BUILD"])
    if os.environ.get("WAIHUD"):  # <build>/src/waihud/waihud
        return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
            os.environ["WAIHUD"]))))
    return os.path.join(ROOT, "build")


BUILD = build_dir()
SLOW = float(os.environ.get("WAIHU_SLOW", "1"))
CALLS = int(os.environ.get("WAIHU_SPEECH_CALLS", "20"))
PORT_BASE = 3750  # raft 10751, api 11751, forward 12751
# SIP and RTP inside 14500-14999: below the kernel's ephemeral ports (32768+).
SIP_PORT = 14500
RTP = "14600-14749"
CARRIER_PORT = 14510
CARRIER_RTP = "14750-14849"
AGENTS_PORT = 14520
AGENTS_RTP = "14850-14999"
AGENTS = 6  # calls at once (one per agent); RTP: 6 x 2 ports per leg, plenty
PASSWORD = "agent-password-"
ADMIN_PASSWORD = "admin-password-1234"
RATE = 8000
KEYWORDS = speech_bench.KEYWORDS  # complaint, contract
DEFAULT_LIST = [{"phrase": "complaint", "threshold": 1, "channels": "customer", "points": 25},
                {"phrase": "contract", "threshold": 1e-10, "channels": "customer", "points": 25},
                {"phrase": "refund", "threshold": 1e-10, "channels": "customer", "points": 25},
                {"phrase": "lawyer", "threshold": 1e-10, "channels": "customer", "points": 40}]


def wait_until(pred, timeout, what):
    return _wait_until(pred, timeout, what, SLOW)


def make_customer_audio(n, seed, out_dir):
    """n mono 8 kHz WAVs of the customer's side; returns [(path, truth keyword or None,
    (start_ms, end_ms) of the keyword sentence or None, length_ms)]."""
    rng = random.Random(seed)
    tmp = tempfile.mkdtemp(prefix="waihu-speech-flite-")
    cache = {}
    calls = []
    try:
        for i in range(n):
            voice = speech_bench.VOICES[i % len(speech_bench.VOICES)]
            sentences = [rng.choice(speech_bench.CONTROL)]
            kw = None
            if i % 2 == 0:
                kw = KEYWORDS[(i // 2) % 2]
                at = rng.randrange(2)
                sentences.insert(at, rng.choice(speech_bench.POSITIVE[kw]))
            else:
                sentences.append(rng.choice([c for c in speech_bench.CONTROL
                                             if c != sentences[0]]))
                at = None
            pcm = [0] * int(0.6 * RATE)  # the answer's first moment: the bridge settles
            window = None
            for j, text in enumerate(sentences):
                s = speech_bench.flite_pcm(tmp, text, voice, cache)
                if j == at:
                    window = (len(pcm) * 1000 // RATE, (len(pcm) + len(s)) * 1000 // RATE)
                pcm.extend(s)
                pcm.extend([0] * int(rng.uniform(0.4, 1.0) * RATE))
            pcm.extend([0] * int(0.5 * RATE))
            path = os.path.join(out_dir, "customer%03d.wav" % i)
            with wave.open(path, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(RATE)
                w.writeframes(b"".join(int(v).to_bytes(2, "little", signed=True) for v in pcm))
            calls.append((path, kw, window, len(pcm) * 1000 // RATE))
    finally:
        shutil.rmtree(tmp)
    return calls


class RecordingSpeechTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("tools/waihu-carrier/waihu-carrier", "tools/waihu-agents/waihu-agents",
                     "src/waihud/waihud"):
            if not os.access(os.path.join(BUILD, tool), os.X_OK):
                raise unittest.SkipTest("not built: %s/%s" % (BUILD, tool))
        for exe in ("flite", "sox"):
            if shutil.which(exe) is None:
                raise unittest.SkipTest("%s is not installed" % exe)
        if not os.path.isdir("/usr/share/pocketsphinx/model/en-us/en-us"):
            raise unittest.SkipTest("pocketsphinx-en-us is not installed")
        cls.tmp = tempfile.mkdtemp(prefix="waihu-recording-speech-")
        cls.procs = Procs(cls.tmp)
        cls.rec_dir = os.path.join(cls.tmp, "recordings")
        t0 = time.monotonic()
        cls.calls = make_customer_audio(CALLS, 7, cls.tmp)
        print("generated %d customer recordings in %.1f s" % (CALLS, time.monotonic() - t0))
        cls.c = Cluster(os.path.join(cls.tmp, "cluster"), 1, port_base=PORT_BASE,
                        binary=os.path.join(BUILD, "src/waihud/waihud"))
        trunks = os.path.join(cls.tmp, "trunks.json")
        with open(trunks, "w") as f:
            json.dump({"trunks": [{"name": "carrier", "target": "127.0.0.1:%d" % CARRIER_PORT,
                                   "channels": AGENTS, "cps": 10,
                                   "caller_ids": ["+861012345678"]}]}, f)
        cls.c.nodes[0].extra_args = [
            "--sip-bind", "127.0.0.1:%d" % SIP_PORT, "--rtp-ports", RTP,
            "--trunks-file", trunks, "--recordings-dir", cls.rec_dir,
            "--rtp-timeout-ms", "4000", "--speech-workers", "1"]
        cls.c.create()
        cls.addClassCleanup(cls.cleanup)
        cls.c.start()
        cls.n1 = cls.c.wait_ready(timeout=60)
        boot = Api(cls.n1, cls.c.token)
        s, doc = boot.call("POST", "/v1/tenants", {"id": 1, "name": "t1",
                                                   "default_country": "CN"})
        assert s == 201, doc
        users = [("admin1", "admin", ADMIN_PASSWORD), ("super1", "supervisor", ADMIN_PASSWORD)]
        users += [("agent%d" % i, "agent", PASSWORD + str(i)) for i in range(1, AGENTS + 1)]
        cls.api = {}
        for name, role, password in users:
            s, doc = boot.call("POST", "/v1/users", {"username": name, "password": password,
                                                     "role": role, "tenant_id": 1})
            assert s == 201, doc
            s, doc = cls.n1.request("POST", "/v1/auth/login",
                                    {"username": name, "password": password})
            assert s == 200, doc
            cls.api[name] = Api(cls.n1, doc["token"])
        cls.numbers = ["+86139%08d" % (i + 1) for i in range(CALLS)]
        rules = os.path.join(cls.tmp, "rules.json")
        with open(rules, "w") as f:
            json.dump({"numbers": {num: {"outcome": "answer", "ring_ms": 200,
                                         "talk_ms": length + 300, "wav": path}
                                   for num, (path, _, _, length)
                                   in zip(cls.numbers, cls.calls)}}, f)
        agent_wav = os.path.join(cls.tmp, "agent.wav")
        with wave.open(agent_wav, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(speech_bench.flite_pcm(cls.tmp, speech_bench.AGENT[0], "slt",
                                                 {}).tobytes())
        cls.procs.start("carrier", [os.path.join(BUILD, "tools/waihu-carrier/waihu-carrier"),
                                    "--listen", "127.0.0.1:%d" % CARRIER_PORT, "--rules", rules,
                                    "--log", os.path.join(cls.tmp, "carrier.jsonl"),
                                    "--rtp-ports", CARRIER_RTP, "--seed", "5"])
        cls.procs.start("agents", [os.path.join(BUILD, "tools/waihu-agents/waihu-agents"),
                                   "--registrar", "127.0.0.1:%d" % SIP_PORT,
                                   "--listen", "127.0.0.1:%d" % AGENTS_PORT,
                                   "--count", str(AGENTS), "--password-prefix", PASSWORD,
                                   "--talk-ms", "60000-60000", "--wav", agent_wav,
                                   "--rtp-ports", AGENTS_RTP,
                                   "--log", os.path.join(cls.tmp, "agents.jsonl")])
        def carrier_listening():
            with open(os.path.join(cls.tmp, "carrier.err")) as f:
                return "listening on" in f.read()
        wait_until(carrier_listening, 20,
                   "waihu-carrier listening (it loads every number's audio first)")
        for i in range(1, AGENTS + 1):
            name = "agent%d" % i
            wait_until(lambda: cls.api["admin1"].call("GET", "/v1/agents/" + name)[1]
                       .get("registered"), 20, "%s registered" % name)
        # The keyword list: the default one, stored (the worker reads the stored list).
        s, doc = cls.api["admin1"].call("PUT", "/v1/recordings/keywords",
                                        {"keywords": DEFAULT_LIST})
        assert s == 200, doc
        cls.t_calls = time.monotonic()
        cls.place_calls()
        cls.t_placed = time.monotonic()
        cls.recs = cls.wait_analysed()
        cls.t_analysed = time.monotonic()

    @classmethod
    def cleanup(cls):
        cls.procs.stop_all()
        cls.c.stop()
        cls.c.check_sanitizers()
        if not os.environ.get("WAIHU_KEEP_LOGS"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def cdrs(cls):
        out, cursor = {}, None
        while True:
            s, doc = cls.api["admin1"].call("GET", "/v1/calls?limit=200" +
                                            ("&cursor=" + cursor if cursor else ""))
            assert s == 200, doc
            out.update({c["id"]: c for c in doc["items"]})
            cursor = doc.get("next_cursor")
            if not cursor:
                return out

    @classmethod
    def place_calls(cls):
        """One call per agent at a time, a round ends when its CDRs are in."""
        cls.ids = {}  # call index -> call id
        for first in range(0, CALLS, AGENTS):
            placed = {}
            for i in range(first, min(first + AGENTS, CALLS)):
                agent = "agent%d" % (i - first + 1)
                s, doc = cls.api["admin1"].call("POST", "/v1/calls",
                                                {"agent": agent, "number": cls.numbers[i]})
                assert s == 202, doc
                placed[i] = doc["id"]
            cls.ids.update(placed)
            recs = wait_until(lambda: (lambda m: m if all(i in m for i in placed.values())
                                       else None)(cls.cdrs()), 90, "CDRs of calls %s" % placed)
            for i, cid in placed.items():
                assert recs[cid]["result"] == "answered" and recs[cid]["recorded"], recs[cid]
            for a in range(1, AGENTS + 1):
                cls.api["admin1"].call("POST", "/v1/agents/agent%d/state" % a,
                                       {"state": "ready"})

    @classmethod
    def search(cls, query):
        items, cursor = [], None
        while True:
            s, doc = cls.api["admin1"].call("GET", "/v1/recordings?limit=200" + query +
                                            ("&cursor=" + cursor if cursor else ""))
            assert s == 200, doc
            items += doc["items"]
            cursor = doc.get("next_cursor")
            if not cursor:
                return items

    @classmethod
    def wait_analysed(cls):
        """Every recording analysed (the worker runs behind the calls)."""
        want = set(cls.ids.values())

        def done():
            recs = {r["id"]: r for r in cls.search("") if r["id"] in want}
            if len(recs) == len(want) and all("analysis" in r for r in recs.values()):
                return recs
            return None
        return wait_until(done, 120 + 3 * CALLS, "every recording analysed")

    def test_keyword_search_precision_recall(self):
        truth = {k: {self.ids[i] for i, c in enumerate(self.calls) if c[1] == k}
                 for k in KEYWORDS}
        tp = fp = fn = 0
        times_ms = []
        for k in KEYWORDS:
            t0 = time.monotonic()
            found = {r["id"] for r in self.search("&keyword=" + k)} & set(self.ids.values())
            times_ms.append((time.monotonic() - t0) * 1000)
            ktp, kfp, kfn = (len(found & truth[k]), len(found - truth[k]),
                             len(truth[k] - found))
            print("keyword %-9s tp=%d fp=%d fn=%d" % (k, ktp, kfp, kfn))
            tp, fp, fn = tp + ktp, fp + kfp, fn + kfn
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        audio = sum(r["analysis"]["audio_s"] for r in self.recs.values())
        processing = sum(r["analysis"]["processing_s"] for r in self.recs.values())
        rtf = processing / audio if audio else 0.0
        failed = [r["analysis"]["error"] for r in self.recs.values() if r["analysis"]["error"]]
        print("%d calls: placed in %.0f s, all analysed %.0f s after the last call"
              % (CALLS, self.t_placed - self.t_calls, self.t_analysed - self.t_placed))
        print("keyword search: precision=%.3f recall=%.3f (tp=%d fp=%d fn=%d); speech worker "
              "rtf=%.4f (%.0f s of audio in %.1f s)" % (precision, recall, tp, fp, fn, rtf,
                                                        audio, processing))
        summary = os.environ.get("WAIHU_SPEECH_SUMMARY")
        if summary:
            with open(summary, "w") as f:
                json.dump({"calls": CALLS, "precision": precision, "recall": recall,
                           "tp": tp, "fp": fp, "fn": fn, "speech_rtf": rtf,
                           "search_ms": statistics.median(times_ms), "audio_s": audio,
                           "processing_s": processing, "failed": len(failed)}, f)
        self.assertEqual(failed, [])
        # 20 calls in CI: one miss or false hit moves a figure by ~0.1, so 0.8 here; the
        # bench's 100 calls are held to the 0.9.
        floor = 0.9 if CALLS >= 100 else 0.8
        self.assertGreaterEqual(precision, floor)
        self.assertGreaterEqual(recall, floor)

    def test_hits_on_customer_channel_inside_the_call(self):
        by_id = {cid: i for i, cid in self.ids.items()}
        checked = 0
        for rid, r in self.recs.items():
            path, kw, window, length = self.calls[by_id[rid]]
            for h in r["analysis"]["keywords"]:
                self.assertEqual((h["channel"], h["speaker"]), (0, "customer"), h)
                self.assertLess(h["offset_ms"], h["end_ms"], h)
                self.assertLessEqual(h["end_ms"], r["duration_ms"] + 500, (h, r))
                if h["keyword"] == kw:
                    # The recording starts at or before the answer (+ ring, bridge set-up):
                    # the hit lies in the sentence's window shifted by at most 2.5 s.
                    self.assertGreaterEqual(h["offset_ms"], window[0] - 500, (h, window))
                    self.assertLessEqual(h["end_ms"], window[1] + 2500, (h, window))
                    checked += 1
            self.assertGreaterEqual(r["analysis"]["score"], 0)
            self.assertGreater(r["analysis"]["audio_s"], 0)
        self.assertGreater(checked, 0)

    def test_keyword_list_api(self):
        admin, sup = self.api["admin1"], self.api["super1"]
        s, doc = sup.call("GET", "/v1/recordings/keywords")
        self.assertEqual(s, 200, doc)
        self.assertEqual([k["phrase"] for k in doc["keywords"]],
                         ["complaint", "contract", "refund", "lawyer"])
        self.assertEqual(doc["keywords"][0]["channels"], "customer")
        self.assertEqual(doc["updated_by"], "admin1")
        s, doc = sup.call("PUT", "/v1/recordings/keywords", {"keywords": DEFAULT_LIST})
        self.assertEqual(s, 403, doc)
        s, doc = self.api["agent1"].call("GET", "/v1/recordings/keywords")
        self.assertIn(s, (200, 403), doc)
        bad = [({"keywords": "complaint"}, 400, "keywords"),
               ({"keywords": [], "x": 1}, 400, "keywords"),
               ({"keywords": [{"threshold": 1}]}, 400, "keywords[0].phrase"),
               ({"keywords": [{"phrase": "Complaint"}]}, 422, "keywords[0].phrase"),
               ({"keywords": [{"phrase": "a  b"}]}, 422, "keywords[0].phrase"),
               ({"keywords": [{"phrase": "refund"}, {"phrase": "refund"}]}, 422,
                "keywords[1].phrase"),
               ({"keywords": [{"phrase": "refund", "threshold": "1"}]}, 400,
                "keywords[0].threshold"),
               ({"keywords": [{"phrase": "refund", "threshold": -1}]}, 422,
                "keywords[0].threshold"),
               ({"keywords": [{"phrase": "refund", "channels": "left"}]}, 422,
                "keywords[0].channels"),
               ({"keywords": [{"phrase": "refund", "points": 1000}]}, 422,
                "keywords[0].points"),
               ({"keywords": [{"phrase": "refund", "colour": "red"}]}, 400,
                "keywords[0].colour"),
               ({"keywords": [{"phrase": "w%d" % i} for i in range(33)]}, 422, "keywords")]
        for body, status, field in bad:
            s, doc = admin.call("PUT", "/v1/recordings/keywords", body)
            self.assertEqual((s, doc["error"]["field"]), (status, field), (body, doc))
        s, doc = admin.call("GET", "/v1/audit?limit=500")
        if s == 200:
            self.assertIn("recording.keywords", [r.get("action") for r in doc["items"]])

    def test_z_failed_analysis_is_recorded_once(self):
        """A word the dictionary lacks fails the analysis: committed as failed, logged once,
        never retried (a later call's analysis is the condition, not a sleep)."""
        admin = self.api["admin1"]
        s, doc = admin.call("PUT", "/v1/recordings/keywords",
                            {"keywords": [{"phrase": "zzxqvk"}]})
        self.assertEqual(s, 200, doc)
        try:
            ids = []
            for number in self.numbers[:2]:
                s, doc = admin.call("POST", "/v1/calls", {"agent": "agent1", "number": number})
                self.assertEqual(s, 202, doc)
                ids.append(doc["id"])
                wait_until(lambda: (lambda r: r if "analysis" in r else None)(
                    admin.call("GET", "/v1/recordings/" + doc["id"])[1]), 90,
                    "recording %s analysed" % doc["id"])
                admin.call("POST", "/v1/agents/agent1/state", {"state": "ready"})
            for rid in ids:
                s, r = admin.call("GET", "/v1/recordings/" + rid)
                self.assertEqual(s, 200, r)
                self.assertTrue(r["analysis"]["error"].startswith("failed: "), r["analysis"])
                self.assertIn("zzxqvk", r["analysis"]["error"])
                self.assertEqual(r["analysis"]["keywords"], [])
            with open(self.c.nodes[0].log) as f:
                log = f.read()
            self.assertEqual(log.count("speech: recording %s " % ids[0]), 1)
        finally:
            s, doc = admin.call("PUT", "/v1/recordings/keywords", {"keywords": DEFAULT_LIST})
            self.assertEqual(s, 200, doc)


if __name__ == "__main__":
    unittest.main(verbosity=2)

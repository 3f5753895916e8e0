#!/usr/bin/env python3
"""Calls placed through the cluster: a 3-node cluster whose node n1 runs telephony
(telephony.sip_bind), sipp as the carrier, baresip as agent1's softphone registered with
agent1's API password. An agent asks for a call to one of its customers with POST
/v1/calls; the call is audited before the INVITE, bridged, recorded (both parties heard
in the decrypted recording) and its CDR is replicated (read on another node, number
masked). Refusals: do-not-call, an agent calling for another agent, auditors, a node
without telephony."""
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "localcluster"))
from localcluster import Api, Cluster  # noqa: E402
from sipkit import baresip_conf, speech, udp_port_busy  # noqa: E402
from sipkit import wait_until as _wait_until  # noqa: E402

PORT_BASE = 3000  # raft 10001-3, api 11001-3, forward 12001-3
SIP_PORT = 22060
RTP = "22100-22499"
CARRIER_PORT = 22700
CARRIER_MEDIA_PORT = 22800
BARESIP_PORT = 22080
BARESIP_RTP = "22500-22599"
BUILD = os.path.join(ROOT, os.environ.get("WAIHU_CALLS_BUILD", "build"))
RECORDING = os.path.join(BUILD, "tools/waihu-recording/waihu-recording")
SCENARIOS = os.path.join(HERE, "bridge")
SLOW = float(os.environ.get("WAIHU_SLOW", "1"))
PASSWORD = "agent-password-1234"  # baresip account values end at a space
PHONE = "+8613812345678"
SPEECH_DBFS = -45.0


def wait_until(pred, timeout, what):
    return _wait_until(pred, timeout, what, SLOW)


class CallsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("sipp", "baresip", "flite", "sox"):
            if not shutil.which(tool):
                raise unittest.SkipTest("missing " + tool)
        cls.tmp = tempfile.mkdtemp(prefix="waihu-calls-")
        cls.procs = []
        cls.rec_dir = os.path.join(cls.tmp, "recordings")
        cls.c = Cluster(os.path.join(cls.tmp, "cluster"), 3, port_base=PORT_BASE)
        # n1 routes over a trunk set (docs/trunks.md): the caller ID comes from its pool.
        trunks = os.path.join(cls.tmp, "trunks.json")
        with open(trunks, "w") as f:
            json.dump({"trunks": [{"name": "carrier", "target": "127.0.0.1:%d" % CARRIER_PORT,
                                   "channels": 10, "cps": 10,
                                   "caller_ids": ["+861012345678"]}]}, f)
        cls.c.nodes[0].extra_args = [
            "--sip-bind", "127.0.0.1:%d" % SIP_PORT, "--rtp-ports", RTP,
            "--trunks-file", trunks, "--recordings-dir", cls.rec_dir, "--rtp-timeout-ms", "3000"]
        cls.c.create()
        cls.addClassCleanup(cls.cleanup)  # also when setUpClass fails half way
        cls.c.start()
        leader = cls.c.wait_ready(timeout=60)
        cls.n1, cls.n2 = cls.c.nodes[0], cls.c.nodes[1]
        # Through n1 (often a follower): users are created right after their tenant, so
        # the API must read what the cluster committed, not only what n1 applied.
        boot = Api(cls.n1, cls.c.token)
        assert boot.call("POST", "/v1/tenants", {"id": 1, "name": "t1",
                                                 "default_country": "CN"})[0] == 201
        cls.api = {}
        for name, role in (("admin1", "admin"), ("agent1", "agent"), ("agent2", "agent"),
                           ("auditor1", "auditor")):
            s, doc = boot.call("POST", "/v1/users", {"username": name, "password": PASSWORD,
                                                     "role": role, "tenant_id": 1})
            assert s == 201, doc
            s, doc = leader.request("POST", "/v1/auth/login",
                                    {"username": name, "password": PASSWORD})
            assert s == 200, doc
            cls.api[name] = Api(cls.n1, doc["token"])
        cls.audio()

    @classmethod
    def audio(cls):
        customer = speech(cls.tmp, "customer", "Hello? Yes, speaking. Tell me about the offer.",
                          "slt")
        agent = speech(cls.tmp, "agent", "Good morning, this is your agent calling from Waihu.",
                       "awb")
        subprocess.run(["sox", customer, "-t", "ul", "-r", "8000", "-c", "1",
                        os.path.join(cls.tmp, "carrier.ulaw")], check=True)
        cls.agent_wav = os.path.join(cls.tmp, "agent-short.wav")
        subprocess.run(["sox", agent, cls.agent_wav, "pad", "0.5", "2"], check=True)

    @classmethod
    def cleanup(cls):
        for p in cls.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        cls.c.stop()  # SIGTERM: telephony and the API shut down (LSan checks at exit)
        if not os.environ.get("WAIHU_KEEP_LOGS"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def start(self, argv, name):
        err = open(os.path.join(self.tmp, name + ".err"), "w")
        p = subprocess.Popen(argv, cwd=self.tmp, stdout=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL, stderr=err)
        err.close()
        self.procs.append(p)
        return p

    def n1_log(self):
        with open(self.n1.log, errors="replace") as f:
            return f.read()

    def softphone(self):
        """baresip as agent1: digest with agent1's API password, auto-answer."""
        conf = baresip_conf(os.path.join(self.tmp, "baresip"), BARESIP_PORT, self.agent_wav,
                            BARESIP_RTP, "agent1", "127.0.0.1:%d" % SIP_PORT, PASSWORD)
        self.start(["baresip", "-f", conf], "baresip")
        wait_until(lambda: '"agent agent1 registered' in self.n1_log(), 15,
                   "agent1's softphone registered with its API password")

    def carrier(self):
        argv = ["sipp", "-sf", os.path.join(SCENARIOS, "uas_talk.xml"), "-i", "127.0.0.1",
                "-p", str(CARRIER_PORT), "-mi", "127.0.0.1", "-mp", str(CARRIER_MEDIA_PORT),
                "-m", "1", "-nostdin", "-timeout", str(int(90 * SLOW)), "-timeout_error",
                "-trace_msg", "-message_file", os.path.join(self.tmp, "carrier_messages.log")]
        p = self.start(argv, "sipp")
        wait_until(lambda: udp_port_busy(CARRIER_PORT), 10, "sipp listening")
        return p

    def calls(self, who="admin1", node=None):
        api = Api(node or self.n1, self.api[who].token)
        s, doc = api.call("GET", "/v1/calls")
        self.assertEqual(s, 200, doc)
        return doc["items"]

    def energy(self, path):
        key = hmac.new(bytes.fromhex(open(self.c.master_key_file).read().strip()),
                       b"waihu/recording/v1", hashlib.sha256).hexdigest()
        key_file = os.path.join(self.tmp, "rec.key")
        with open(key_file, "w") as f:
            f.write(key)
        wav = os.path.join(self.tmp, "call.wav")
        r = subprocess.run([RECORDING, "decrypt", "--key-file", key_file, path, wav],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run([RECORDING, "energy", wav], capture_output=True, text=True, check=True)
        levels = {int(c): float(v) for c, v in
                  re.findall(r"channel=(\d+) rms_dbfs=(-?[\d.]+)", r.stdout)}
        return levels[0], levels[1]

    def test_1_agent_calls_its_customer(self):
        s, cust = self.api["admin1"].call("POST", "/v1/customers", {
            "name": "王小二", "phone": PHONE, "owner": "agent1"})
        self.assertEqual(s, 201, cust)
        self.softphone()
        sipp = self.carrier()
        s, call = self.api["agent1"].call("POST", "/v1/calls", {"customer_id": cust["id"]})
        self.assertEqual(s, 202, call)
        self.assertEqual(call["agent"], "agent1")
        rec = wait_until(lambda: [c for c in self.calls("agent1") if c["id"] == call["id"]],
                         40, "the call's CDR")[0]
        self.assertEqual((rec["result"], rec["hangup_by"], rec["customer_id"]),
                         ("answered", "agent", cust["id"]), rec)
        self.assertGreater(rec["talk_ms"], 2000, rec)
        self.assertEqual(rec["number"], "138****5678")
        self.assertTrue(rec["recorded"])
        self.assertEqual(sipp.wait(timeout=30 * SLOW), 0)  # the carrier got our BYE
        with open(os.path.join(self.tmp, "carrier_messages.log"), errors="replace") as f:
            invite = f.read()
        self.assertIn("INVITE sip:%s@127.0.0.1:%d" % (PHONE, CARRIER_PORT), invite)
        self.assertIn("+861012345678", invite)  # a caller ID from the trunk's pool
        # Replicated: another node reads the CDR.
        wait_until(lambda: any(c["id"] == call["id"] for c in self.calls("admin1", self.n2)),
                   10, "the CDR on n2")
        # The call was audited (before the INVITE: the audit commit gates the dial).
        s, audit = self.api["auditor1"].call("GET", "/v1/audit?limit=500")
        rows = [(a["user"], a["action"], a["object"]) for a in audit["items"]]
        self.assertIn(("agent1", "call.place", "customer/" + cust["id"]), rows)
        self.assertIn(("agent1", "call.list", "calls"), rows)  # reading records is audited
        # Both parties are in the recording.
        recs = [os.path.join(self.rec_dir, f) for f in os.listdir(self.rec_dir)]
        self.assertEqual(len(recs), 1, recs)
        left, right = self.energy(recs[0])
        print("\ncall through the cluster: talk %d ms, rms carrier %.1f dBFS, agent %.1f dBFS"
              % (rec["talk_ms"], left, right))
        self.assertGreater(left, SPEECH_DBFS)
        self.assertGreater(right, SPEECH_DBFS)

    def test_2_refusals(self):
        s, cust = self.api["admin1"].call("POST", "/v1/customers", {
            "name": "不打扰", "phone": "+8613900001111", "owner": "agent1"})
        self.assertEqual(s, 201, cust)
        s, doc = self.api["agent1"].call("POST", "/v1/dnc", {"number": "+8613900001111"})
        self.assertIn(s, (200, 201), doc)
        before = len(self.calls())
        s, doc = self.api["agent1"].call("POST", "/v1/calls", {"customer_id": cust["id"]})
        self.assertEqual((s, doc["error"]["code"]), (403, "do_not_call"), doc)
        s, doc = self.api["agent1"].call("POST", "/v1/calls", {"number": "+8613911112222",
                                                               "agent": "agent2"})
        self.assertEqual(s, 403, doc)
        s, doc = self.api["auditor1"].call("POST", "/v1/calls", {"number": "+8613911112222",
                                                                 "agent": "agent1"})
        self.assertEqual(s, 403, doc)
        s, doc = self.api["agent2"].call("POST", "/v1/calls", {"customer_id": cust["id"]})
        self.assertEqual(s, 404, doc)  # not agent2's customer
        s, doc = self.api["agent1"].call("POST", "/v1/calls", {"number": "not a number"})
        self.assertEqual(s, 400, doc)
        s, doc = Api(self.n2, self.api["agent1"].token).call("POST", "/v1/calls",
                                                              {"number": "+8613911112222"})
        self.assertEqual((s, doc["error"]["code"]), (503, "telephony_disabled"), doc)
        self.assertEqual(len(self.calls()), before)  # nothing was dialed


if __name__ == "__main__":
    unittest.main(verbosity=2)

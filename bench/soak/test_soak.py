#!/usr/bin/env python3
"""Checks of the soak's bookkeeping: bench/soak/ledger.py on hand-made carrier logs and CDR
events, bench/soak/summary.py's end figures on hand-made rows.
python3 bench/soak/test_soak.py"""
import json
import os
import sys
import tempfile
import types
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ledger import CALLER_PREFIX, Ledger  # noqa: E402
from summary import Summary  # noqa: E402
import stack  # noqa: E402


def invite(cid, number, node, ts, ring=1000, talk=5000, outcome="answer"):
    return {"ev": "invite", "call_id": cid, "number": "+" + number,
            "from": "%s%d@127.0.0.1" % (CALLER_PREFIX, node), "outcome": outcome,
            "ring_ms": ring, "talk_ms": talk, "ts_ms": ts}


def end(cid, number, ts, result="answered"):
    return {"ev": "end", "call_id": cid, "number": "+" + number, "result": result,
            "hangup": "carrier", "ts_ms": ts}


class LedgerTest(unittest.TestCase):
    def setUp(self):
        fd, self.path = tempfile.mkstemp(suffix=".jsonl")
        os.close(fd)
        self.led = Ledger(self.path, settle_ms=1000)
        self.led.customer_number = {1: "8613800000001", 2: "8613800000002"}
        self.seq = 0

    def tearDown(self):
        os.unlink(self.path)

    def log(self, *events, partial=""):
        with open(self.path, "a") as f:
            for e in events:
                f.write(json.dumps(e) + "\n")
            f.write(partial)
        self.led.read_carrier()

    def cdr(self, customer, node, start, result="answered", now=0):
        self.seq += 1
        self.led.add_cdr(self.seq, {"call": "%d-%d" % (node, self.seq), "customer_id": customer,
                                    "start_ms": start, "result": result}, now)

    def test_one_cdr_per_call_is_clean(self):
        self.log(invite("a", "8613800000001", 1, 1000), end("a", "8613800000001", 7000))
        self.cdr(1, 1, 990)
        self.assertEqual(self.led.check(10000), 0)
        self.assertEqual(self.led.totals["matched"], 1)

    def test_partial_line_waits_for_its_end(self):
        line = json.dumps(invite("a", "8613800000001", 1, 1000))
        self.log(partial=line[:20])
        self.assertEqual(self.led.totals["invites"], 0)
        with open(self.path, "a") as f:
            f.write(line[20:] + "\n")
        self.led.read_carrier()
        self.assertEqual(self.led.totals["invites"], 1)

    def test_missing_cdr_is_a_breach_unless_a_fault_took_it(self):
        self.log(invite("a", "8613800000001", 1, 1000), end("a", "8613800000001", 7000),
                 invite("b", "8613800000002", 2, 1000), end("b", "8613800000002", 7000))
        self.led.add_fault(2, 5000)
        self.assertEqual(self.led.check(20000), 1)
        self.assertEqual(self.led.counts()["cdr_missing"], 1)
        self.assertEqual(self.led.info["lost_fault"], 1)

    def test_cdr_of_another_node_does_not_match(self):
        self.log(invite("a", "8613800000001", 1, 1000), end("a", "8613800000001", 7000))
        self.cdr(1, 2, 1000)
        self.led.check(20000)
        self.assertEqual(self.led.counts()["cdr_missing"], 1)
        self.assertEqual(self.led.counts()["cdr_extra"], 1)  # answered, no carrier call

    def test_second_cdr_and_repeated_event_are_extra(self):
        self.log(invite("a", "8613800000001", 1, 1000), end("a", "8613800000001", 7000))
        self.cdr(1, 1, 1000)
        self.cdr(1, 1, 1001)
        self.led.add_cdr(1, {}, 0)
        self.led.check(20000)
        self.assertEqual(self.led.counts()["cdr_extra"], 2)

    def test_overlap_uses_the_phone_side_end(self):
        # Call a's BYE timed out (end logged at 40 s) but the phone hung up at 7 s:
        # a call at 20 s is no overlap; one at 5 s is.
        n = "8613800000001"
        self.log(invite("a", n, 1, 1000), end("a", n, 40000), invite("b", n, 2, 20000),
                 end("b", n, 22000, "rejected"))
        self.cdr(1, 1, 1000)
        self.cdr(1, 2, 20000, "no-answer")
        self.assertEqual(self.led.check(60000), 0)
        self.log(invite("c", n, 3, 24000), end("c", n, 30000), invite("d", n, 1, 25000),
                 end("d", n, 26000, "rejected"))
        self.cdr(1, 3, 24000)
        self.cdr(1, 1, 25000, "busy")
        self.led.check(60000)
        self.assertEqual(self.led.counts()["overlap"], 1)

    def test_dnc_after_its_acknowledgement(self):
        self.led.add_dnc("+8613800000001", 10000)
        self.log(invite("a", "8613800000001", 1, 10500, outcome="busy"),
                 end("a", "8613800000001", 10600, "rejected"),
                 invite("b", "8613800000001", 1, 12000, outcome="busy"),
                 end("b", "8613800000001", 12100, "rejected"))
        self.cdr(1, 1, 10500, "busy")
        self.cdr(1, 1, 12000, "busy")
        self.led.check(30000)
        self.assertEqual(self.led.counts()["dnc"], 1)  # within the margin: not counted

    def test_unsent_cdr_is_information(self):
        self.cdr(2, 1, 1000, "carrier-failure", now=0)
        self.assertEqual(self.led.check(500), 0)
        self.assertEqual(len(self.led.open_cdrs), 1)  # may still be matched
        self.assertEqual(self.led.check(5000), 0)
        self.assertEqual(self.led.info["cdr_unsent"], 1)

    def test_trim_keeps_memory_flat(self):
        n = "8613800000001"
        for i in range(100):
            t = i * 60000
            self.log(invite("c%d" % i, n, 1, t), end("c%d" % i, n, t + 7000))
            self.cdr(1, 1, t, now=t)
        self.led.check(100 * 60000 + 120000)
        self.assertEqual(self.led.failures(), 0)
        self.assertLess(len(self.led.calls), 40)


class SummaryTest(unittest.TestCase):
    def summary(self):
        args = types.SimpleNamespace(warmup=100, segment_warmup=50, out="")
        return Summary(args, [1, 2, 3])

    def test_fluctuation_after_warmup_only(self):
        s = self.summary()
        rates = [(50, 100, 0), (150, 250, 0), (250, 275, 1), (350, 220, 0)]
        s.rows = [{"t_s": t, "phase": "warmup" if t < 100 else "measure", "answered": a,
                   "attempts": 1000, "faults_in_row": f} for t, a, f in rates]
        worst, noise = s.fluctuation()
        self.assertAlmostEqual(worst, 20.0)          # 0.275 -> 0.22
        self.assertGreater(noise, 5)                 # 1000 attempts: ~8% at 2 sigma
        quiet, _ = s.fluctuation(skip_faults=True)   # both pairs touch the row with a fault
        self.assertIsNone(quiet)

    def test_fluctuation_over_blocks_of_rows(self):
        s = self.summary()
        s.a.fluct_rows = 2
        answered = [300, 200, 260, 250, 240, 260]  # blocks: 0.25, 0.255, 0.25
        s.rows = [{"phase": "measure", "answered": a, "attempts": 1000, "faults_in_row": 0}
                  for a in answered]
        worst, noise = s.fluctuation()
        self.assertAlmostEqual(worst, 2.0)            # 0.25 -> 0.255
        self.assertAlmostEqual(noise, 10.9, places=1)  # 2000 attempts per block

    def test_witnesses_keep_their_agents(self):
        self.assertEqual(stack.registrar_order(0, [1, 2, 3]), [1, 2, 3])
        self.assertEqual(stack.registrar_order(2, [1, 2, 3]), [3, 1, 2])
        self.assertEqual(stack.registrar_order(0, [1, 2]), [1, 2])
        self.assertEqual(stack.registrar_order(1, [1, 2]), [2, 1])
        self.assertEqual(stack.registrar_order(2, [1, 2]), [3, 1, 2])  # n3 never fails

    def test_rss_growth_per_stretch(self):
        s = self.summary()
        s.segments[1] = [{"start": 0.0, "initial": True,
                          "samples": [(60, 100.0), (120, 110.0), (180, 121.0)]}]
        s.segments[2] = [{"start": 0.0, "initial": True, "samples": [(60, 90.0), (120, 90.0)]},
                         {"start": 130.0, "initial": False,
                          "samples": [(150, 50.0), (180, 70.0), (240, 77.0)]}]
        got = {(g[0], g[1]): round(g[6], 1) for g in s.rss_growth()}
        # n1 from 120 s (warm-up 100); n2's first stretch has one row past warm-up: none;
        # its restart counts from 180 s (130 + 50).
        self.assertEqual(got, {(1, 0.0): 10.0, (2, 130.0): 10.0})


if __name__ == "__main__":
    unittest.main()

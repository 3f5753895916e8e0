#!/usr/bin/env python3
"""The checker is itself tested on hand-made histories, some of which must fail."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from checker import check_history  # noqa: E402


def h(*events):
    out = []
    for t, (p, typ, f, val) in enumerate(events):
        out.append({"process": p, "type": typ, "f": f, "key": "k", "value": val, "time": t})
    return out


class TestChecker(unittest.TestCase):
    def test_sequential_history_is_linearizable(self):
        hist = h((0, "invoke", "write", "a"), (0, "ok", "write", 1),
                 (1, "invoke", "read", None), (1, "ok", "read", ["a", 1]),
                 (0, "invoke", "cas", [1, "b"]), (0, "ok", "cas", 2),
                 (1, "invoke", "read", None), (1, "ok", "read", ["b", 2]))
        self.assertTrue(check_history(hist)["valid"])

    def test_stale_read_after_acknowledged_write_fails(self):
        hist = h((0, "invoke", "write", "a"), (0, "ok", "write", 1),
                 (1, "invoke", "read", None), (1, "ok", "read", [None, 0]))
        self.assertFalse(check_history(hist)["valid"])

    def test_concurrent_ops_may_take_either_order(self):
        hist = h((0, "invoke", "write", "a"), (1, "invoke", "read", None),
                 (1, "ok", "read", [None, 0]), (0, "ok", "write", 1))
        self.assertTrue(check_history(hist)["valid"])

    def test_lost_write_fails(self):
        hist = h((0, "invoke", "write", "a"), (0, "ok", "write", 1),
                 (0, "invoke", "write", "b"), (0, "ok", "write", 2),
                 (1, "invoke", "read", None), (1, "ok", "read", ["a", 1]))
        self.assertFalse(check_history(hist)["valid"])

    def test_double_applied_write_fails(self):
        # two writes acknowledged with the same version: one of them was lost
        hist = h((0, "invoke", "write", "a"), (1, "invoke", "write", "b"),
                 (0, "ok", "write", 1), (1, "ok", "write", 1))
        self.assertFalse(check_history(hist)["valid"])

    def test_indeterminate_write_may_or_may_not_happen(self):
        for seen in (["a", 1], [None, 0]):
            hist = h((0, "invoke", "write", "a"), (0, "info", "write", None),
                     (1, "invoke", "read", None), (1, "ok", "read", seen))
            self.assertTrue(check_history(hist)["valid"], seen)

    def test_failed_cas_did_not_happen(self):
        hist = h((0, "invoke", "cas", [5, "x"]), (0, "fail", "cas", None),
                 (1, "invoke", "read", None), (1, "ok", "read", ["x", 6]))
        self.assertFalse(check_history(hist)["valid"])

    def test_keys_are_independent(self):
        hist = h((0, "invoke", "write", "a"), (0, "ok", "write", 1))
        other = [dict(e, key="j") for e in h((1, "invoke", "read", None), (1, "ok", "read", ["z", 3]))]
        r = check_history(hist + other)
        self.assertFalse(r["valid"])
        self.assertTrue(r["keys"]["k"]["valid"])
        self.assertFalse(r["keys"]["j"]["valid"])


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""A short seeded fault matrix (jepsen/run) in the test suite: any violation fails it."""
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "jepsen", "lib"))
from test_checker import TestChecker  # noqa: E402,F401  (the checker's own tests run here too)


class TestShortMatrix(unittest.TestCase):
    def run_jepsen(self, nemesis, seed):
        out = tempfile.mkdtemp(prefix="waihu-jepsen-")
        p = subprocess.run([sys.executable, os.path.join(ROOT, "jepsen", "run"), "--nemesis", nemesis,
                            "--seed", str(seed), "--time-limit", "10", "--out", out],
                           capture_output=True, text=True, timeout=600)
        print(p.stdout.strip())
        self.assertEqual(p.returncode, 0, "jepsen %s seed %d: %s%s (results in %s)"
                         % (nemesis, seed, p.stdout, p.stderr[-2000:], out))

    def test_register_with_kill(self):
        self.run_jepsen("kill", 11)

    def test_register_with_fence(self):
        self.run_jepsen("fence", 12)


if __name__ == "__main__":
    unittest.main(verbosity=2)

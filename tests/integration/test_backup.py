#!/usr/bin/env python3
"""waihu-backup end to end (docs/backup.md): a real RocksDB store shaped like waihud's
(bench/backup/waihu-rocks-gen), its checkpoints backed up full and incremental into a
directory repository, restored byte-identical and opened by RocksDB; every tamper case
(flipped bit, truncated object, missing object, wrong key, foreign manifest, damaged
manifest, broken chain) detected with a clear error, the documented exit code, and
nothing half-restored. Binaries: $WAIHU_BUILD (default build/) or $WAIHU_BACKUP and
$WAIHU_ROCKS_GEN."""
import filecmp
import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("WAIHU_BUILD", os.path.join(ROOT, "build"))
TOOL = os.environ.get("WAIHU_BACKUP", os.path.join(BUILD, "tools/waihu-backup/waihu-backup"))
GEN = os.environ.get("WAIHU_ROCKS_GEN", os.path.join(BUILD, "bench/backup/waihu-rocks-gen"))

EXIT_USAGE, EXIT_KEY, EXIT_INTEGRITY, EXIT_NOTFOUND = 2, 3, 4, 5


def run(*args, check=True):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s %s" % (args, p.returncode, p.stdout, p.stderr))
    return p


def digest(db_dir):
    return run(GEN, "digest", db_dir).stdout.strip()


class Store:
    """One generated store and two checkpoints of it, 1% apart (shared by all tests)."""

    def __init__(self, root):
        self.db = os.path.join(root, "db")
        self.cp1 = os.path.join(root, "cp1")
        self.cp2 = os.path.join(root, "cp2")
        run(GEN, "gen", self.db, "--mb", "24", "--seed", "5")
        run(GEN, "checkpoint", self.db, self.cp1)
        out = run(GEN, "mutate", self.db, "--percent", "1", "--seed", "6").stdout
        self.changed = int(re.search(r"changed_bytes=(\d+)", out).group(1))
        run(GEN, "checkpoint", self.db, self.cp2)
        self.digest1, self.digest2 = digest(self.cp1), digest(self.cp2)


class BackupTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for b in (TOOL, GEN):
            if not os.access(b, os.X_OK):
                raise unittest.SkipTest("build %s first" % b)
        cls.shared = tempfile.mkdtemp(prefix="waihu-backup-store-")
        cls.store = Store(cls.shared)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.shared, ignore_errors=True)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="waihu-backup-")
        self.repo = os.path.join(self.tmp, "repo")
        self.key = os.path.join(self.tmp, "key")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- helpers ----

    def tool(self, *args, check=True, repo=None, key=None):
        return run(TOOL, *args, "--repo", repo or self.repo, "--key-file", key or self.key,
                   "--no-progress", check=check)

    def backup(self, kind, cp, index, **kw):
        out = self.tool("backup", kind, "--from", cp, "--index", str(index), **kw).stdout
        stats = dict(kv.split("=") for kv in
                     re.search(r"^stats: (.*)$", out, re.M).group(1).split())
        return stats["id"], stats

    def make_chain(self):
        """init, a full of cp1 and an incremental of cp2; returns both ids."""
        self.tool("init")
        full, _ = self.backup("full", self.store.cp1, 100)
        inc, _ = self.backup("incremental", self.store.cp2, 200)
        return full, inc

    def files_of(self, backup_id):
        """name -> (size, object path) from `show`."""
        out = self.tool("show", backup_id).stdout
        files = {}
        for m in re.finditer(r"^  (\S+)\s+(\d+)\s+([0-9a-f]{64})$", out, re.M):
            oid = m.group(3)
            files[m.group(1)] = (int(m.group(2)),
                                 os.path.join(self.repo, "objects", oid[:2], oid))
        self.assertTrue(files, out)
        return files

    def biggest_object(self, backup_id):
        files = self.files_of(backup_id)
        name = max(files, key=lambda n: files[n][0])
        return name, files[name][1]

    def assert_restore_refused(self, backup_id, code, message, **kw):
        to = os.path.join(self.tmp, "restored")
        p = self.tool("restore", backup_id, "--to", to, check=False, **kw)
        self.assertEqual(p.returncode, code, p.stderr)
        self.assertRegex(p.stderr, message)
        self.assertFalse(os.path.exists(to), "a failed restore left its target behind")
        self.assertEqual(glob.glob(to + ".restore-*"), [], "a restore temporary was left")
        return p

    def assert_same_tree(self, a, b):
        cmp = filecmp.dircmp(a, b)
        self.assertEqual(sorted(os.listdir(a)), sorted(os.listdir(b)))
        match, mismatch, errors = filecmp.cmpfiles(a, b, os.listdir(a), shallow=False)
        self.assertEqual((mismatch, errors), ([], []))
        self.assertFalse(cmp.subdirs)

    # ---- the happy path ----

    def test_full_incremental_restore(self):
        self.tool("init")
        full, fs = self.backup("full", self.store.cp1, 100)
        inc, st = self.backup("incremental", self.store.cp2, 200)
        # The incremental ships the new SSTs and the small metadata files, not the store.
        self.assertLess(int(st["bytes_shipped"]), int(fs["bytes_shipped"]) / 5, st)
        self.assertLess(int(st["bytes_shipped"]), 2 * self.store.changed, st)
        listing = self.tool("list").stdout
        self.assertIn(full, listing)
        self.assertRegex(listing, r"%s\s+incremental.*\s200\s.*%s" % (re.escape(inc),
                                                                        re.escape(full)))
        show = self.tool("show", inc[:-2]).stdout  # a unique prefix is enough
        self.assertIn("chain:       ok", show)
        self.assertIn("raft index:  200", show)
        for backup_id, cp, want in ((full, self.store.cp1, self.store.digest1),
                                    (inc, self.store.cp2, self.store.digest2)):
            to = os.path.join(self.tmp, "r-" + backup_id)
            out = self.tool("restore", backup_id, "--to", to).stdout
            self.assertIn("every object checked", out)
            self.assert_same_tree(cp, to)
            self.assertEqual(digest(to), want)  # RocksDB opens it: same keys and values
        self.assertNotEqual(self.store.digest1, self.store.digest2)
        self.assertIn("verify ok", self.tool("verify").stdout)
        self.assertIn("verify ok", self.tool("verify", "--sample", "10").stdout)

    # ---- tampering: each detected before anything reaches the restore target ----

    def test_flipped_bit(self):
        full, inc = self.make_chain()
        name, path = self.biggest_object(inc)
        with open(path, "r+b") as f:
            f.seek(os.path.getsize(path) // 2)
            b = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([b[0] ^ 0x08]))
        self.assert_restore_refused(inc, EXIT_INTEGRITY,
                                    r"INTEGRITY error: .*%s: object \w+: chunk \d+ of \d+ fails "
                                    r"authentication" % re.escape(name))
        p = self.tool("verify", check=False)
        self.assertEqual(p.returncode, EXIT_INTEGRITY)
        self.assertRegex(p.stderr, r"problem: object \w+: chunk .* \(file %s" % re.escape(name))

    def test_truncated_object(self):
        full, inc = self.make_chain()
        name, path = self.biggest_object(inc)
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) - 1000)
        self.assert_restore_refused(inc, EXIT_INTEGRITY, r"%s: object \w+: .*truncated"
                                    % re.escape(name))

    def test_missing_object(self):
        full, inc = self.make_chain()
        name, path = self.biggest_object(inc)
        os.unlink(path)
        # Found by the pre-check, before any file is decrypted.
        self.assert_restore_refused(full, EXIT_INTEGRITY, r"%s: object \w+ is missing"
                                    % re.escape(name))
        self.assertEqual(self.tool("verify", check=False).returncode, EXIT_INTEGRITY)

    def test_wrong_key(self):
        full, inc = self.make_chain()
        other = os.path.join(self.tmp, "other-key")
        run(TOOL, "init", "--repo", os.path.join(self.tmp, "other-repo"), "--key-file", other)
        p = self.assert_restore_refused(inc, EXIT_KEY, r"key error: wrong key", key=other)
        self.assertIn(other, p.stderr)
        self.assertEqual(self.tool("list", check=False, key=other).returncode, EXIT_KEY)

    def test_manifest_from_another_repository(self):
        full, inc = self.make_chain()
        other_repo = os.path.join(self.tmp, "other-repo")
        # Same key file, same checkpoint: only the repository differs.
        self.tool("init", repo=other_repo)
        foreign, _ = self.backup("full", self.store.cp2, 300, repo=other_repo)
        shutil.copy(os.path.join(other_repo, "manifests", foreign),
                    os.path.join(self.repo, "manifests", foreign))
        self.assert_restore_refused(foreign, EXIT_INTEGRITY,
                                    r"manifest %s is from another repository" % foreign)
        self.assertEqual(self.tool("verify", check=False).returncode, EXIT_INTEGRITY)

    def test_damaged_manifest(self):
        full, inc = self.make_chain()
        path = os.path.join(self.repo, "manifests", inc)
        with open(path, "r+b") as f:
            f.seek(os.path.getsize(path) // 2)
            b = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([b[0] ^ 1]))
        self.assert_restore_refused(inc, EXIT_INTEGRITY,
                                    r"manifest %s fails authentication" % inc)

    def test_broken_chain(self):
        full, inc = self.make_chain()
        os.unlink(os.path.join(self.repo, "manifests", full))
        self.assert_restore_refused(inc, EXIT_INTEGRITY,
                                    r"backup %s: its parent %s is missing" % (inc, full))
        # Prune must not go on from a broken catalogue either.
        self.assertEqual(self.tool("prune", "--keep", "1", check=False).returncode,
                         EXIT_INTEGRITY)

    # ---- retention and keys ----

    def test_prune_keeps_the_chain(self):
        full1, inc1 = self.make_chain()
        full2, _ = self.backup("full", self.store.cp1, 300)
        inc2, _ = self.backup("incremental", self.store.cp2, 400)
        # An orphan object (an interrupted upload) goes too.
        orphan = os.path.join(self.repo, "objects", "ab", "ab" * 32)
        os.makedirs(os.path.dirname(orphan), exist_ok=True)
        with open(orphan, "wb") as f:
            f.write(b"x" * 10)
        out = self.tool("prune", "--keep", "1").stdout
        self.assertIn("2 backups kept, 2 deleted, 1 objects", out)
        listing = self.tool("list").stdout
        self.assertIn(full2, listing)  # the incremental needs it
        self.assertIn(inc2, listing)
        self.assertNotIn(full1, listing)
        to = os.path.join(self.tmp, "after-prune")
        self.tool("restore", inc2, "--to", to)
        self.assertEqual(digest(to), self.store.digest2)
        self.assertIn("verify ok", self.tool("verify").stdout)

    def test_key_rotation(self):
        full, inc = self.make_chain()
        objects_before = sorted(glob.glob(os.path.join(self.repo, "objects", "*", "*")))
        stamps = [os.stat(p).st_mtime_ns for p in objects_before]
        new_key = os.path.join(self.tmp, "new-key")
        self.assertIn("key rotated", self.tool("key", "rotate", "--new-key-file", new_key).stdout)
        self.assertEqual(self.tool("list", check=False).returncode, EXIT_KEY)
        to = os.path.join(self.tmp, "rotated")
        self.tool("restore", inc, "--to", to, key=new_key)
        self.assertEqual(digest(to), self.store.digest2)
        objects_after = sorted(glob.glob(os.path.join(self.repo, "objects", "*", "*")))
        self.assertEqual(objects_before, objects_after)
        self.assertEqual(stamps, [os.stat(p).st_mtime_ns for p in objects_after])

    # ---- usage and exit codes ----

    def test_exit_codes(self):
        p = run(TOOL, "list", "--repo", self.repo, "--key-file", self.key, check=False)
        self.assertEqual(p.returncode, EXIT_KEY, p.stderr)  # no key file yet
        self.tool("init")
        self.assertEqual(self.tool("init", check=False).returncode, EXIT_USAGE)
        self.assertEqual(run(TOOL, "frobnicate", check=False).returncode, EXIT_USAGE)
        self.assertEqual(self.tool("restore", "nope", "--to", os.path.join(self.tmp, "x"),
                                   check=False).returncode, EXIT_NOTFOUND)
        self.assertEqual(self.tool("backup", "incremental", "--from", self.store.cp1,
                                   check=False).returncode, EXIT_NOTFOUND)  # no full yet
        empty = os.path.join(self.tmp, "empty")
        os.mkdir(empty)
        p = self.tool("backup", "full", "--from", empty, check=False)
        self.assertEqual(p.returncode, EXIT_USAGE)
        self.assertIn("not a RocksDB checkpoint", p.stderr)
        full, _ = self.backup("full", self.store.cp1, 1)
        existing = os.path.join(self.tmp, "exists")
        os.mkdir(existing)
        p = self.tool("restore", full, "--to", existing, check=False)
        self.assertEqual(p.returncode, EXIT_USAGE)
        self.assertEqual(os.listdir(existing), [])
        p = run(TOOL, "list", "--repo", os.path.join(self.tmp, "nothing"), "--key-file",
                self.key, check=False)
        self.assertEqual(p.returncode, EXIT_NOTFOUND)
        os.chmod(self.key, 0o644)
        p = self.tool("list", check=False)
        self.assertEqual(p.returncode, EXIT_KEY)
        self.assertIn("chmod 600", p.stderr)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Driver of bench/backup.sh: waihu-backup against restic on the same checkpoints.

Both tools back up the same path ($work/ckpt): first the base checkpoint (full), then the
checkpoint after ~1% of the data changed (incremental; restic finds what is new by its own
content-defined chunking), then restore that last backup into an empty directory. Bytes
shipped are measured on the repository (du before/after), times are wall-clock of the
process. Page cache is warm for both (the checkpoint was just written); runs alternate
tools so neither gets a systematically warmer cache."""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import time

ap = argparse.ArgumentParser()
ap.add_argument("--build", required=True)
ap.add_argument("--gb", type=float, default=1.0,
                help="checkpoint size on disk (about; the data generated is 1/0.6 of it)")
ap.add_argument("--repeat", type=int, default=1)
ap.add_argument("--percent", type=float, default=1.0)
ap.add_argument("--work", default="/tmp/waihu-bench-backup")
ap.add_argument("--keep", action="store_true", help="keep the work directory")
ap.add_argument("--reuse", action="store_true",
                help="reuse the checkpoints a --keep run left in --work (same --gb)")
args = ap.parse_args()

TOOL = os.path.join(args.build, "tools/waihu-backup/waihu-backup")
GEN = os.path.join(args.build, "bench/backup/waihu-rocks-gen")
W = os.path.abspath(args.work)
RESTIC_ENV = dict(os.environ, RESTIC_PASSWORD="bench-password", RESTIC_CACHE_DIR=W + "/restic-cache")


def run(cmd, env=None):
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit("%s failed (%d):\n%s\n%s" % (cmd, p.returncode, p.stdout, p.stderr))
    return dt, p.stdout


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.lstat(os.path.join(root, f)).st_size
    return total


def rm(path):
    shutil.rmtree(path, ignore_errors=True)


def tree_equal(a, b):
    for name in os.listdir(a):
        with open(os.path.join(a, name), "rb") as x, open(os.path.join(b, name), "rb") as y:
            while True:
                p, q = x.read(1 << 20), y.read(1 << 20)
                if p != q:
                    return False
                if not p:
                    break
    return sorted(os.listdir(a)) == sorted(os.listdir(b))


def waihu_round(i, ckpt, cp_base, cp_changed):
    repo, key = "%s/waihu-repo-%d" % (W, i), "%s/waihu-key-%d" % (W, i)
    rm(repo)
    if os.path.exists(key):
        os.unlink(key)
    run([TOOL, "init", "--repo", repo, "--key-file", key])
    common = ["--repo", repo, "--key-file", key, "--no-progress"]
    os.replace(cp_base, ckpt)
    t_full, _ = run([TOOL, "backup", "full", "--from", ckpt, "--index", "1"] + common)
    os.replace(ckpt, cp_base)
    before = du(repo)
    os.replace(cp_changed, ckpt)
    t_inc, out = run([TOOL, "backup", "incremental", "--from", ckpt, "--index", "2"] + common)
    os.replace(ckpt, cp_changed)
    shipped = du(repo) - before
    backup_id = re.search(r"stats: id=(\S+)", out).group(1)
    to = "%s/waihu-restore-%d" % (W, i)
    rm(to)
    t_restore, _ = run([TOOL, "restore", backup_id, "--to", to] + common)
    ok = tree_equal(cp_changed, to)
    size = du(repo)
    rm(to)
    rm(repo)
    return dict(full_s=t_full, inc_s=t_inc, inc_shipped=shipped, restore_s=t_restore,
                durable_s=t_restore, repo_bytes=size, identical=ok)


def restic_round(i, ckpt, cp_base, cp_changed):
    repo = "%s/restic-repo-%d" % (W, i)
    rm(repo)
    env = dict(RESTIC_ENV, RESTIC_REPOSITORY=repo)
    run(["restic", "init"], env)
    os.replace(cp_base, ckpt)
    t_full, _ = run(["restic", "backup", ckpt], env)
    os.replace(ckpt, cp_base)
    before = du(repo)
    os.replace(cp_changed, ckpt)
    t_inc, _ = run(["restic", "backup", ckpt], env)
    os.replace(ckpt, cp_changed)
    shipped = du(repo) - before
    to = "%s/restic-restore-%d" % (W, i)
    rm(to)
    t_restore, _ = run(["restic", "restore", "latest", "--target", to], env)
    # restic returns before its files reach the disk; waihu-backup fsyncs every file
    # before it renames the restore into place. Timed too: the same fsyncs on restic's.
    t0 = time.monotonic()
    for name in os.listdir(to + ckpt):
        fd = os.open(os.path.join(to + ckpt, name), os.O_RDONLY)
        os.fdatasync(fd)
        os.close(fd)
    t_durable = t_restore + time.monotonic() - t0
    ok = tree_equal(cp_changed, to + ckpt)
    size = du(repo)
    rm(to)
    rm(repo)
    return dict(full_s=t_full, inc_s=t_inc, inc_shipped=shipped, restore_s=t_restore,
                durable_s=t_durable, repo_bytes=size, identical=ok)


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def main():
    db, cp_base, cp_changed, ckpt = W + "/db", W + "/cp-base", W + "/cp-changed", W + "/ckpt"
    t_gen = 0.0
    if args.reuse and os.path.exists(W + "/changed_bytes"):
        print("reusing the checkpoints in %s" % W, flush=True)
        with open(W + "/changed_bytes") as f:
            changed = int(f.read())
    else:
        rm(W)
        os.makedirs(W)
        # Measured: 1024 MB of generated key+value make a 612 MB checkpoint (snappy SSTs).
        mb = int(args.gb * 1024 / 0.6)
        print("generating %d MB of customers and call records (a ~%.1f GB checkpoint)..."
              % (mb, args.gb), flush=True)
        t_gen, _ = run([GEN, "gen", db, "--mb", str(mb)])
        run([GEN, "checkpoint", db, cp_base])
        _, out = run([GEN, "mutate", db, "--percent", str(args.percent)])
        changed = int(re.search(r"changed_bytes=(\d+)", out).group(1))
        run([GEN, "checkpoint", db, cp_changed])
        rm(db)  # the checkpoints hold the data (hard links)
        with open(W + "/changed_bytes", "w") as f:
            f.write(str(changed))
    base_bytes, changed_ckpt_bytes = du(cp_base), du(cp_changed)
    new_files = set(os.listdir(cp_changed)) - set(os.listdir(cp_base))
    new_file_bytes = sum(os.path.getsize(os.path.join(cp_changed, f)) for f in new_files)
    print("store: checkpoint %.1f MB on disk (%d files, generated in %.0f s); after %.1f%% "
          "changed: %.1f MB, %d new files (%.1f MB); changed data %.1f MB (key+value)"
          % (base_bytes / 1e6, len(os.listdir(cp_base)), t_gen, args.percent,
             changed_ckpt_bytes / 1e6, len(new_files), new_file_bytes / 1e6, changed / 1e6),
          flush=True)
    ours, theirs = [], []
    for i in range(args.repeat):
        ours.append(waihu_round(i, ckpt, cp_base, cp_changed))
        print("  waihu-backup run %d: %s" % (i + 1, fmt(ours[-1], base_bytes, changed_ckpt_bytes)),
              flush=True)
        theirs.append(restic_round(i, ckpt, cp_base, cp_changed))
        print("  restic       run %d: %s" % (i + 1, fmt(theirs[-1], base_bytes, changed_ckpt_bytes)),
              flush=True)
    mb_base, mb_restore = base_bytes / 1e6, changed_ckpt_bytes / 1e6
    w_full, r_full = mb_base / med(ours, "full_s"), mb_base / med(theirs, "full_s")
    w_rest, r_rest = mb_restore / med(ours, "restore_s"), mb_restore / med(theirs, "durable_s")
    r_rest_cached = mb_restore / med(theirs, "restore_s")
    w_inc, r_inc = med(ours, "inc_shipped"), med(theirs, "inc_shipped")
    print()
    print("medians of %d run(s), %.1f MB checkpoint:" % (args.repeat, mb_base))
    print("  full backup   waihu-backup %7.1f MB/s (%.2f s)   restic %7.1f MB/s (%.2f s)"
          % (w_full, med(ours, "full_s"), r_full, med(theirs, "full_s")))
    print("  incremental   waihu-backup %7.1f MB shipped (%.2f s)   restic %7.1f MB shipped (%.2f s)"
          "   changed data %.1f MB, new SST bytes %.1f MB"
          % (w_inc / 1e6, med(ours, "inc_s"), r_inc / 1e6, med(theirs, "inc_s"), changed / 1e6,
             new_file_bytes / 1e6))
    print("  full restore  waihu-backup %7.1f MB/s (%.2f s, on disk)   restic %7.1f MB/s "
          "(%.2f s until on disk; %.1f MB/s, %.2f s until it returned)"
          % (w_rest, med(ours, "restore_s"), r_rest, med(theirs, "durable_s"), r_rest_cached,
             med(theirs, "restore_s")))
    print("  repository    waihu-backup %.1f MB   restic %.1f MB"
          % (med(ours, "repo_bytes") / 1e6, med(theirs, "repo_bytes") / 1e6))
    print("  restored trees byte-identical: waihu-backup %s, restic %s"
          % (all(r["identical"] for r in ours), all(r["identical"] for r in theirs)))
    if not args.keep:
        rm(W)
    print("RESULT backup_vs_restic=%.2f restore_vs_restic=%.2f incremental_over_changed=%.2f"
          % (w_full / r_full, w_rest / r_rest, w_inc / changed))


def fmt(r, base, changed):
    return ("full %.2f s (%.0f MB/s), incremental %.2f s shipping %.1f MB, restore %.2f s "
            "(%.0f MB/s; %.2f s until on disk)%s"
            % (r["full_s"], base / 1e6 / r["full_s"], r["inc_s"], r["inc_shipped"] / 1e6,
               r["restore_s"], changed / 1e6 / r["restore_s"], r["durable_s"],
               "" if r["identical"] else " RESTORE DIFFERS"))


main()

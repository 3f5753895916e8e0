#!/usr/bin/env python3
"""Deployment test: docs/operators-guide.md followed on one machine, without systemd.

- The guide's `deploy-test` blocks are taken as written: the secrets and TLS shell blocks
  run with bash, the waihud.conf block becomes each node's file (its `node` section =
  the node's own member entry, as the guide says), the backup-node lines go into node 3's
  file, the backup-init block runs. Substituted: /etc/waihu, /var/lib/waihu (one per
  node), /var/backups/waihu -> a temporary dir; the waihu user -> the current user; the
  example IPs -> 127.0.0.1 with ports 3900 + port + member index (raft 10901-3, api
  11901-3, forward 12901-3); the backup node's snapshot_threshold/trailing -> 256/64 so
  the test needs few writes.
- Each node runs the exact ExecStart of deploy/systemd/waihud.service (/usr/bin -> the
  build tree). Checks: `waihuctl cluster status` exits 0, /readyz answers 200 on every
  node, waihu-backup.service's ExecStart (with backup.env's variables) makes a full and
  then an incremental backup of node 3's checkpoint, which verify and restore accept.
- deploy/lint.py (systemd-analyze verify, Containerfile, Kubernetes manifests) passes.

Env: WAIHU_BUILD (default build), WAIHU_DEPLOY_KEEP=1 keeps the temporary dir.
"""
import getpass
import grp
import http.client
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("WAIHU_BUILD", "build"))
GUIDE = os.path.join(ROOT, "docs/operators-guide.md")
SYSTEMD = os.path.join(ROOT, "deploy/systemd")
PORT_BASE = 3900  # localcluster's formula: raft 10901-3, api 11901-3, forward 12901-3
BINARIES = {
    "/usr/bin/waihud": os.path.join(BUILD, "src/waihud/waihud"),
    "/usr/bin/waihuctl": os.path.join(BUILD, "tools/waihuctl/waihuctl"),
    "/usr/bin/waihu-backup": os.path.join(BUILD, "tools/waihu-backup/waihu-backup"),
    "/usr/lib/waihu/waihu-backup-run": os.path.join(SYSTEMD, "waihu-backup-run"),
}


def guide_block(name):
    with open(GUIDE) as f:
        text = f.read()
    m = re.search(r"<!-- deploy-test: %s -->\n```[a-z]*\n(.*?)\n```" % re.escape(name), text, re.S)
    if not m:
        raise AssertionError("docs/operators-guide.md has no deploy-test block %r" % name)
    return m.group(1) + "\n"


def unit_value(unit, key):
    with open(os.path.join(SYSTEMD, unit)) as f:
        for line in f:
            if line.startswith(key + "="):
                return line.strip().split("=", 1)[1]
    raise AssertionError("%s has no %s=" % (unit, key))


def read_env_file(path):
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                env[k] = v
    return env


def http_get(address, path, token=None, timeout=2.0):
    host, port = address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        headers = {"Authorization": "Bearer " + token} if token else {}
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


class DeployTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for path in BINARIES.values():
            if not os.access(path, os.X_OK):
                raise unittest.SkipTest("%s not built" % path)
        cls.tmp = tempfile.mkdtemp(prefix="waihu-deploy-")
        cls.etc = os.path.join(cls.tmp, "etc/waihu")
        cls.backups = os.path.join(cls.tmp, "backups/waihu")
        cls.user = getpass.getuser()
        cls.group = grp.getgrgid(os.getgid()).gr_name
        cls.procs = {}
        cls.logs = {}

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs.values():
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if os.environ.get("WAIHU_DEPLOY_KEEP") != "1":
            shutil.rmtree(cls.tmp, ignore_errors=True)
        else:
            print("kept", cls.tmp)

    # ------------------------------------------------------------ substitutions
    @classmethod
    def var_dir(cls, node):
        return os.path.join(cls.tmp, "node%d/var/lib/waihu" % node)

    @classmethod
    def subst_paths(cls, text, node=None):
        text = text.replace("-o waihu -g waihu", "-o %s -g %s" % (cls.user, cls.group))
        text = text.replace("-g waihu", "-g %s" % cls.group)
        text = text.replace("chown waihu:waihu", "chown %s:%s" % (cls.user, cls.group))
        text = text.replace("sudo -u waihu ", "")
        text = text.replace("/etc/waihu", cls.etc)
        text = text.replace("/var/backups/waihu", cls.backups)
        text = text.replace("/usr/share/waihu/web", os.path.join(ROOT, "web"))
        if node is not None:
            text = text.replace("/var/lib/waihu", cls.var_dir(node))
        return text

    def run_block(self, name, env=None):
        script = self.subst_paths(guide_block(name))
        e = dict(os.environ)
        e["PATH"] = os.pathsep.join(os.path.dirname(p) for p in BINARIES.values()) + os.pathsep + e["PATH"]
        e.update(env or {})
        p = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True,
                           text=True, env=e, cwd=self.tmp, timeout=120)
        self.assertEqual(p.returncode, 0, "guide block %s failed:\n%s\n%s\n%s"
                         % (name, script, p.stdout, p.stderr))

    # ------------------------------------------------------------ the steps
    def test_1_lint(self):
        p = subprocess.run([sys.executable, os.path.join(ROOT, "deploy/lint.py"), "--build", BUILD],
                           capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_2_cluster_from_the_guide(self):
        os.makedirs(self.etc, exist_ok=True)
        self.run_block("secrets")
        self.run_block("tls")
        for f in ("bootstrap.token", "master.key", "backup.key"):
            st = os.stat(os.path.join(self.etc, "secrets", f))
            self.assertEqual(st.st_mode & 0o077, 0, "%s readable by others" % f)
        conf = guide_block("waihud.conf")
        members = re.findall(r'\{ id = (\d+); name = "([^"]+)"; dc = "([^"]+)"; '
                             r'raft_address = "([\d.]+):(\d+)";\s*api_address = "([\d.]+):(\d+)"; '
                             r'forward_address = "([\d.]+):(\d+)"; \}', conf)
        self.assertEqual(len(members), 3, "the guide's first cluster has three members")
        ips = {}
        for m in members:
            ips.setdefault(m[3], len(ips) + 1)

        def addr(ip, port):
            return "127.0.0.1:%d" % (PORT_BASE + int(port) + ips[ip])

        def map_addresses(text):
            return re.sub(r"(\d+\.\d+\.\d+\.\d+):(\d+)", lambda m: addr(m.group(1), m.group(2)), text)

        cls = type(self)
        cls.api = {}
        exec_start = unit_value("waihud.service", "ExecStart")
        backup_lines = guide_block("backup-node")
        backup_lines = re.sub(r"snapshot_threshold = \d+", "snapshot_threshold = 256", backup_lines)
        backup_lines = re.sub(r"snapshot_trailing = \d+", "snapshot_trailing = 64", backup_lines)
        first = members[0]
        for m in members:
            nid, name, dc = int(m[0]), m[1], m[2]
            text = conf
            # The node section and the node's own certificate: its member entry.
            own = {"id = %s;" % first[0]: "id = %d;" % nid,
                   'name = "%s";' % first[1]: 'name = "%s";' % name,
                   'dc = "%s";' % first[2]: 'dc = "%s";' % dc}
            node_sec, rest = text.split("cluster = {", 1)
            for a, b in own.items():
                node_sec = node_sec.replace(a, b, 1)
            for key, i_ip, i_port in (("raft_address", 3, 4), ("api_address", 5, 6),
                                      ("forward_address", 7, 8)):
                node_sec = re.sub(r'%s = "[^"]+"' % key, '%s = "%s:%s"' % (key, m[i_ip], m[i_port]),
                                  node_sec)
            rest = rest.replace("tls/%s." % first[1], "tls/%s." % name)
            if nid == 3:
                rest = rest.replace("  tls_cert", backup_lines + "  tls_cert", 1)
            text = map_addresses(self.subst_paths(node_sec + "cluster = {" + rest, nid))
            conf_path = os.path.join(self.tmp, "node%d/etc/waihud.conf" % nid)
            os.makedirs(os.path.dirname(conf_path), exist_ok=True)
            with open(conf_path, "w") as f:
                f.write(text)
            cls.api[nid] = addr(m[5], m[6])
            # The unit's exact command line; only the installed paths differ.
            argv = shlex.split(exec_start)
            argv = [BINARIES.get(a, a) for a in argv]
            argv = [conf_path if a == "/etc/waihu/waihud.conf" else a for a in argv]
            self.assertEqual(argv[0], BINARIES["/usr/bin/waihud"])
            os.makedirs(self.var_dir(nid), exist_ok=True)
            log = os.path.join(self.tmp, "node%d/waihud.log" % nid)
            cls.logs[nid] = log
            with open(log, "ab") as lf:
                cls.procs[nid] = subprocess.Popen(argv, stdout=lf, stderr=lf,
                                                  stdin=subprocess.DEVNULL)
        cls.token_file = os.path.join(self.etc, "secrets/bootstrap.token")
        with open(cls.token_file) as f:
            cls.token = f.read().strip()
        self.wait(self.all_ready, 60, "every node's /readyz to answer 200")
        env = dict(os.environ, WAIHU_ENDPOINTS=",".join(self.api.values()),
                   WAIHU_TOKEN_FILE=self.token_file)
        p = self.wait(lambda: self.ctl_ok(env), 30, "waihuctl cluster status to exit 0")
        for name in (m[1] for m in members):
            self.assertIn(name, p.stdout)
        self.assertTrue(all(p.poll() is None for p in self.procs.values()), self.tail_logs())

    def test_3_backup_timer_command(self):
        if not getattr(type(self), "api", None):
            self.skipTest("no cluster")
        self.run_block("backup-init")
        env = read_env_file(os.path.join(SYSTEMD, "backup.env"))
        env = {k: self.subst_paths(v, 3) for k, v in env.items()}
        self.assertTrue(unit_value("waihu-backup.service", "EnvironmentFile").endswith("backup.env"))
        # Writes until node 3 has a checkpoint dir (snapshot_threshold 256 entries).
        snaps = os.path.join(env["WAIHU_DATA_DIR"], "snapshots")
        self.write_until(lambda: any(d.isdigit() for d in os.listdir(snaps)) if os.path.isdir(snaps)
                         else False, 90)
        argv = [BINARIES.get(a, a) for a in shlex.split(unit_value("waihu-backup.service", "ExecStart"))]
        run_env = dict(os.environ, **env)
        run_env["PATH"] = os.path.dirname(BINARIES["/usr/bin/waihu-backup"]) + os.pathsep + run_env["PATH"]
        p = subprocess.run(argv, capture_output=True, text=True, env=run_env, timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("full backup of checkpoint", p.stdout)
        self.assertIn("stats: id=", p.stdout)
        # A second run within the day is an incremental on a newer checkpoint.
        first = max(int(d) for d in os.listdir(snaps) if d.isdigit())
        self.write_until(lambda: max(int(d) for d in os.listdir(snaps) if d.isdigit()) > first, 90)
        p = subprocess.run(argv, capture_output=True, text=True, env=run_env, timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("incremental backup of checkpoint", p.stdout)
        bk = [BINARIES["/usr/bin/waihu-backup"]]
        listing = subprocess.run(bk + ["list"], capture_output=True, text=True, env=run_env)
        self.assertEqual(listing.returncode, 0, listing.stderr)
        rows = [line.split() for line in listing.stdout.splitlines()[1:]]
        self.assertEqual([r[1] for r in rows], ["full", "incremental"])
        v = subprocess.run(bk + ["verify"], capture_output=True, text=True, env=run_env)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        to = os.path.join(self.tmp, "restored")
        r = subprocess.run(bk + ["restore", rows[-1][0], "--to", to], capture_output=True,
                           text=True, env=run_env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(os.path.exists(os.path.join(to, "CURRENT")))
        self.assertFalse(os.listdir(env["WAIHU_BACKUP_STAGING"]), "staging left behind")
        # The cluster still serves after the backups.
        self.assertTrue(self.all_ready())

    # ------------------------------------------------------------ helpers
    def all_ready(self):
        for nid, address in self.api.items():
            if self.procs[nid].poll() is not None:
                raise AssertionError("node %d exited %d\n%s" % (nid, self.procs[nid].returncode,
                                                                 self.tail_logs()))
            try:
                s, body = http_get(address, "/readyz")
            except OSError:
                return False
            if s != 200 or json.loads(body).get("status") != "ready":
                return False
        return True

    def ctl_ok(self, env):
        p = subprocess.run([BINARIES["/usr/bin/waihuctl"], "cluster", "status"],
                           capture_output=True, text=True, env=env, timeout=30)
        return p if p.returncode == 0 else None

    def write_until(self, cond, timeout):
        """PUTs settings from 4 threads (one connection each, to all nodes) until cond()."""
        stop = threading.Event()
        errors = []

        def writer(t):
            nid = 1 + t % 3
            host, port = self.api[nid].split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    conn.request("PUT", "/v1/settings/deploy.%d.%d" % (t, i % 50),
                                 body=json.dumps({"value": "x" * 100}),
                                 headers={"Authorization": "Bearer " + self.token,
                                          "Content-Type": "application/json"})
                    r = conn.getresponse()
                    r.read()
                    if r.status != 200:
                        errors.append(r.status)
                except OSError as e:
                    errors.append(str(e))
                    conn.close()
                    conn = http.client.HTTPConnection(host, int(port), timeout=10)
            conn.close()
        threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        try:
            self.wait(cond, timeout, "a new checkpoint on the backup node")
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertLess(len(errors), 10, errors[:10])

    def wait(self, cond, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            v = cond()
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError("timed out after %ds waiting for %s\n%s"
                                     % (timeout, what, self.tail_logs()))
            time.sleep(0.1)

    def tail_logs(self):
        out = []
        for nid, log in sorted(self.logs.items()):
            try:
                with open(log, errors="replace") as f:
                    out.append("--- node %d\n%s" % (nid, "".join(f.readlines()[-15:])))
            except OSError:
                pass
        return "\n".join(out)


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""Checks deploy/: systemd units, the container image definition, Kubernetes manifests.

    python3 deploy/lint.py [--build DIR]     (DIR: a build tree, default $WAIHU_BUILD or build)

- systemd: `systemd-analyze verify` of copies whose ExecStart points at the built
  binaries (no running systemd needed; any warning fails), and `systemd-analyze security
  --offline` under an exposure threshold.
- Containerfile: every apt package exists (`apt-cache show`), the build stage installs
  only packages of scripts/deps.sh, the runtime stage has a package for every library the
  three binaries link (readelf NEEDED -> dpkg -S) and ships every path the units run,
  non-root user, HEALTHCHECK on /readyz.
- Kubernetes: YAML parses, kinds, selectors match labels, ports named consistently,
  probes on paths waihud serves, flags waihud knows, config keys of src/waihud/config.c,
  the ConfigMap's waihud.conf parsed by the real waihud, placeholders in the Secret example.
- Grafana: deploy/grafana/lint_dashboard.py (JSON, panels, metric names of docs/metrics.md).
Prints one line per problem; exit 1 if there was any. Used by tests/integration/test_deploy.py.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "grafana"))
from lint_dashboard import lint_grafana  # noqa: E402  (deploy/grafana/waihu-dashboard.json)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPLOY = os.path.join(ROOT, "deploy")
SYSTEMD = os.path.join(DEPLOY, "systemd")
K8S = os.path.join(DEPLOY, "kubernetes")
CONTAINERFILE = os.path.join(DEPLOY, "container", "Containerfile")

# Installed path -> path in a build tree (None: in the source tree, relative to ROOT).
INSTALLED = {
    "/usr/bin/waihud": "src/waihud/waihud",
    "/usr/bin/waihuctl": "tools/waihuctl/waihuctl",
    "/usr/bin/waihu-backup": "tools/waihu-backup/waihu-backup",
    "/usr/lib/waihu/waihu-backup-run": None,
}
SOURCE_OF = {"/usr/lib/waihu/waihu-backup-run": "deploy/systemd/waihu-backup-run"}
# systemd-analyze security --offline exposure (0 = locked down .. 10 = none).
SECURITY_THRESHOLD = {"waihud.service": 2.0, "waihu-backup.service": 1.2}


class Lint:
    def __init__(self, build):
        self.build = build
        self.problems = []

    def bad(self, where, msg):
        self.problems.append("%s: %s" % (os.path.relpath(where, ROOT), msg))

    def binary(self, installed):
        rel = INSTALLED[installed]
        if rel is None:
            return os.path.join(ROOT, SOURCE_OF[installed])
        return os.path.join(self.build, rel)


# ---------------------------------------------------------------- shared helpers

def unit_values(path, key):
    """Values of key= in a unit file (every occurrence, in order)."""
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith(key + "="):
                out.append(line[len(key) + 1:])
    return out


def config_c_keys():
    """The file keys of waihud's option table (src/waihud/config.c) plus cluster.members."""
    with open(os.path.join(ROOT, "src/waihud/config.c")) as f:
        text = f.read()
    keys = set(re.findall(r'^\s*\{"([a-z_]+\.[a-z_]+)", "--', text, re.M))
    flags = set(re.findall(r'^\s*\{"[a-z_]+\.[a-z_]+", "(--[a-z-]+)"', text, re.M))
    return keys | {"cluster.members"}, flags | {"--config"}


def libconfig_keys(text):
    """Dotted paths of the settings in a libconfig text (groups nest; lists skipped)."""
    text = re.sub(r"(#|//)[^\n]*", "", text)
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    keys, stack, depth_list = [], [], 0
    for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)\s*[=:]\s*([{(]?)|([})])", text):
        name, opener, closer = m.group(1), m.group(2), m.group(3)
        if closer:
            if closer == ")":
                depth_list -= 1
            elif depth_list == 0 and stack:
                stack.pop()
            continue
        if depth_list > 0:
            if opener == "(":
                depth_list += 1
            continue
        path = ".".join(stack + [name])
        if opener == "{":
            stack.append(name)
        elif opener == "(":
            keys.append(path)
            depth_list += 1
        else:
            keys.append(path)
    return keys


def waihud_parses(lint, where, conf_text, flags):
    """Runs the real waihud on conf_text with flags and a data dir that cannot be made:
    it must get past the configuration (a config error prints 'waihud: ...' and exits 2
    before any log line)."""
    waihud = lint.binary("/usr/bin/waihud")
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, "waihud.conf")
        with open(conf, "w") as f:
            f.write(conf_text)
        p = subprocess.run([waihud, "--config", conf] + flags + ["--data-dir", "/dev/null/x"],
                           capture_output=True, text=True, timeout=30)
    err = p.stderr.strip()
    if p.returncode == 0 or err.startswith("waihud:") or "/dev/null/x" not in err:
        lint.bad(where, "waihud refuses the configuration (exit %d): %s" % (p.returncode, err))


# ---------------------------------------------------------------- systemd

def lint_systemd(lint):
    units = sorted(f for f in os.listdir(SYSTEMD) if f.endswith((".service", ".timer")))
    if not shutil.which("systemd-analyze"):
        lint.bad(SYSTEMD, "systemd-analyze not found (Debian package systemd)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        env_copy = os.path.join(tmp, "backup.env")
        shutil.copy(os.path.join(SYSTEMD, "backup.env"), env_copy)
        for u in units:
            with open(os.path.join(SYSTEMD, u)) as f:
                text = f.read()
            for installed in INSTALLED:
                text = re.sub(r"(?m)^(ExecStart=[-@:+!]*)" + re.escape(installed),
                              lambda m: m.group(1) + lint.binary(installed), text)
            text = text.replace("EnvironmentFile=/etc/waihu/backup.env",
                                "EnvironmentFile=" + env_copy)
            for line in text.splitlines():
                if line.startswith("ExecStart="):
                    exe = line.split("=", 1)[1].lstrip("-@:+!").split()[0]
                    if not os.access(exe, os.X_OK):
                        lint.bad(os.path.join(SYSTEMD, u), "ExecStart %s: not built or not "
                                 "executable (build with --build)" % exe)
            with open(os.path.join(tmp, u), "w") as f:
                f.write(text)
        paths = [os.path.join(tmp, u) for u in units]
        p = subprocess.run(["systemd-analyze", "verify", "--man=no"] + paths,
                           capture_output=True, text=True, cwd=tmp)
        out = (p.stdout + p.stderr).strip()
        if p.returncode != 0 or out:
            lint.bad(SYSTEMD, "systemd-analyze verify (exit %d):\n%s" % (p.returncode, out))
        for u, limit in SECURITY_THRESHOLD.items():
            # (--threshold compares on an internal 0-100 scale: compare the printed level.)
            p = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                                os.path.join(tmp, u)], capture_output=True, text=True, cwd=tmp)
            m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", p.stdout)
            if p.returncode != 0 or not m or float(m.group(1)) > limit:
                lint.bad(os.path.join(SYSTEMD, u), "systemd-analyze security: exposure %s "
                         "over %s (exit %d)" % (m.group(1) if m else "?", limit, p.returncode))
    # The units and the files they name agree.
    wd = os.path.join(SYSTEMD, "waihud.service")
    if unit_values(wd, "Type") != ["simple"]:
        lint.bad(wd, "Type must be simple: waihud does not call sd_notify")
    if "/var/lib/waihu" not in " ".join(unit_values(wd, "ReadWritePaths")):
        lint.bad(wd, "ReadWritePaths must hold /var/lib/waihu (the data dir)")
    timer = os.path.join(SYSTEMD, "waihu-backup.timer")
    if unit_values(timer, "Unit") != ["waihu-backup.service"]:
        lint.bad(timer, "Unit= must be waihu-backup.service")
    env = dict(line.strip().split("=", 1) for line in open(os.path.join(SYSTEMD, "backup.env"))
               if "=" in line and not line.startswith("#"))
    bk = os.path.join(SYSTEMD, "waihu-backup.service")
    rw = " ".join(unit_values(bk, "ReadWritePaths"))
    for var in ("WAIHU_BACKUP_REPO", "WAIHU_DATA_DIR", "WAIHU_BACKUP_STAGING"):
        d = env.get(var, "")
        if not any(d.startswith(p.lstrip("-") + "/") for p in rw.split()):
            lint.bad(bk, "%s=%s is not under ReadWritePaths (%s)" % (var, d, rw))
    sh = os.path.join(SYSTEMD, "waihu-backup-run")
    if shutil.which("sh"):
        p = subprocess.run(["sh", "-n", sh], capture_output=True, text=True)
        if p.returncode != 0:
            lint.bad(sh, "sh -n: " + p.stderr.strip())


# ---------------------------------------------------------------- container

def containerfile_stages(path):
    """[(name, [instruction lines joined over continuations])]"""
    with open(path) as f:
        text = re.sub(r"\\\n", " ", f.read())
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
        if m:
            stages.append({"image": m.group(1), "name": m.group(2), "lines": []})
        elif stages:
            stages[-1]["lines"].append(line)
    return stages


def apt_packages(lines):
    pkgs = []
    for line in lines:
        for m in re.finditer(r"apt-get install ([^&;]*)", line):
            pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs


def deps_sh_packages():
    with open(os.path.join(ROOT, "scripts/deps.sh")) as f:
        m = re.search(r"PACKAGES=\((.*?)\)", f.read(), re.S)
    return set(m.group(1).split())


def lint_container(lint):
    cf = CONTAINERFILE
    stages = containerfile_stages(cf)
    if [s["image"] for s in stages] != ["debian:12", "debian:12-slim"]:
        lint.bad(cf, "expected two stages: debian:12 (build), debian:12-slim (runtime)")
        return
    build, runtime = stages
    bpk, rpk = apt_packages(build["lines"]), apt_packages(runtime["lines"])
    known = deps_sh_packages()
    for p in bpk:
        if p not in known:
            lint.bad(cf, "build stage installs %s, which scripts/deps.sh does not" % p)
    r = subprocess.run(["apt-cache", "show", "--no-all-versions"] + sorted(set(bpk + rpk)),
                       capture_output=True, text=True)
    found = set(re.findall(r"(?m)^Package: (\S+)", r.stdout))
    for p in sorted(set(bpk + rpk) - found):
        lint.bad(cf, "apt package %s does not exist in this Debian (apt-cache show)" % p)
    # What the runtime stage ships.
    shipped = {}
    for line in runtime["lines"]:
        m = re.match(r"COPY\s+--from=(\S+)\s+(\S+)\s+(\S+)", line)
        if m:
            shipped[m.group(3)] = m.group(2)
    for line in build["lines"]:
        m = re.match(r"COPY\s+(\S+)\s+/src", line)
        if m and not os.path.exists(os.path.join(ROOT, m.group(1))):
            lint.bad(cf, "COPY %s: no such path in the repository" % m.group(1))
    needed_paths = set()
    for u in os.listdir(SYSTEMD):
        if u.endswith(".service"):
            for v in unit_values(os.path.join(SYSTEMD, u), "ExecStart"):
                needed_paths.add(v.lstrip("-@:+!").split()[0])
    needed_paths |= {"/usr/bin/waihu-backup", "/usr/bin/waihuctl"}  # run by waihu-backup-run, operators
    for p in sorted(needed_paths):
        if p not in shipped:
            lint.bad(cf, "the runtime stage does not ship %s (a unit or script runs it)" % p)
    # Every library the binaries link comes from a runtime package.
    for dst, src in sorted(shipped.items()):
        if dst not in INSTALLED or INSTALLED[dst] is None:
            continue
        exe = lint.binary(dst)
        if not os.path.exists(exe):
            lint.bad(cf, "%s not built: cannot check its libraries" % exe)
            continue
        if not src.startswith("/build/" ) or not src.endswith(INSTALLED[dst]):
            lint.bad(cf, "%s comes from %s, expected /build/%s" % (dst, src, INSTALLED[dst]))
        out = subprocess.run(["readelf", "-d", exe], capture_output=True, text=True).stdout
        for so in re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out):
            pkg = soname_package(so)
            if pkg is None:
                lint.bad(cf, "%s needs %s: no Debian package found for it" % (dst, so))
            elif pkg not in rpk and pkg != "libc6":
                lint.bad(cf, "%s needs %s (package %s), not installed in the runtime stage"
                         % (dst, so, pkg))
            if so.startswith("libwebsockets") and "libwebsockets-evlib-uv" not in rpk:
                lint.bad(cf, "libwebsockets loads libwebsockets-evlib-uv at run time (waihud "
                         "uses its libuv loop): install it in the runtime stage")
    joined = "\n".join(runtime["lines"])
    if not re.search(r"^USER\s+(?!root\b|0\b)\S+", joined, re.M):
        lint.bad(cf, "the runtime stage must run as a non-root USER")
    if not re.search(r"^HEALTHCHECK .*?/readyz", joined, re.M):
        lint.bad(cf, "HEALTHCHECK must query /readyz")
    if "curl" in joined.split("HEALTHCHECK", 1)[-1] and "curl" not in rpk:
        lint.bad(cf, "HEALTHCHECK uses curl: install it in the runtime stage")


_so_cache = {}


def soname_package(so):
    if so in _so_cache:
        return _so_cache[so]
    pkg = None
    for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib"):
        path = os.path.join(d, so)
        if os.path.exists(path):
            for candidate in (path, os.path.realpath(path)):
                r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
                if r.returncode == 0:
                    pkg = r.stdout.split(":", 1)[0].strip()
                    break
            if pkg:
                break
    _so_cache[so] = pkg
    return pkg


# ---------------------------------------------------------------- kubernetes

API_VERSIONS = {"ConfigMap": "v1", "Secret": "v1", "Service": "v1", "PersistentVolume": "v1",
                "StatefulSet": "apps/v1", "PodDisruptionBudget": "policy/v1",
                "StorageClass": "storage.k8s.io/v1",
                "Kustomization": "kustomize.config.k8s.io/v1beta1"}


def served_paths():
    paths = set()
    for d, _, files in os.walk(os.path.join(ROOT, "src/api")):
        for f in files:
            if f.endswith(".c"):
                with open(os.path.join(d, f)) as fh:
                    paths |= set(re.findall(r'strcmp\(path, "(/[a-z]+)"\) == 0', fh.read()))
    return paths


def selector_matches(sel, labels, where, lint, what):
    if not sel or any(labels.get(k) != v for k, v in sel.items()):
        lint.bad(where, "%s selector %s does not match the pod labels %s" % (what, sel, labels))


def lint_kubernetes(lint):
    docs = {}
    for f in sorted(os.listdir(K8S)):
        if not f.endswith(".yaml"):
            continue
        path = os.path.join(K8S, f)
        try:
            with open(path) as fh:
                items = [d for d in yaml.safe_load_all(fh) if d is not None]
        except yaml.YAMLError as e:
            lint.bad(path, "YAML: %s" % e)
            continue
        for d in items:
            kind = d.get("kind")
            if API_VERSIONS.get(kind) != d.get("apiVersion"):
                lint.bad(path, "%s with apiVersion %s" % (kind, d.get("apiVersion")))
            name = (d.get("metadata") or {}).get("name", "")
            docs.setdefault(kind, {})[name] = (path, d)
    kust = docs.get("Kustomization", {}).get("", (None, {}))[1]
    for r in kust.get("resources", []):
        if not os.path.exists(os.path.join(K8S, r)):
            lint.bad(os.path.join(K8S, "kustomization.yaml"), "resource %s missing" % r)
    sts_all = docs.get("StatefulSet", {})
    if len(sts_all) != 1:
        lint.bad(K8S, "expected one StatefulSet")
        return
    spath, sts = next(iter(sts_all.values()))
    spec = sts["spec"]
    tmpl = spec["template"]
    labels = tmpl["metadata"]["labels"]
    pod = tmpl["spec"]
    selector_matches(spec["selector"]["matchLabels"], labels, spath, lint, "StatefulSet")
    if spec.get("podManagementPolicy") != "Parallel":
        lint.bad(spath, "podManagementPolicy must be Parallel: the initial voters start together")
    if pod.get("terminationGracePeriodSeconds", 30) < 30:
        lint.bad(spath, "terminationGracePeriodSeconds under 30: no time for a leadership hand-over")
    if not pod.get("hostNetwork"):
        lint.bad(spath, "hostNetwork is needed: waihud binds and advertises IPv4 literals")
    aff = yaml.safe_dump(pod.get("affinity", {})) + yaml.safe_dump(
        pod.get("topologySpreadConstraints", []))
    if "topology.kubernetes.io/zone" not in aff or "podAntiAffinity" not in aff:
        lint.bad(spath, "pod anti-affinity / spread over topology.kubernetes.io/zone missing")
    for term in (pod.get("affinity", {}).get("podAntiAffinity", {})
                 .get("requiredDuringSchedulingIgnoredDuringExecution", [])):
        selector_matches(term["labelSelector"]["matchLabels"], labels, spath, lint, "anti-affinity")
    for c in pod.get("topologySpreadConstraints", []):
        selector_matches(c["labelSelector"]["matchLabels"], labels, spath, lint, "spread")
    services = docs.get("Service", {})
    svc = services.get(spec.get("serviceName"))
    if not svc or svc[1]["spec"].get("clusterIP") != "None":
        lint.bad(spath, "serviceName %s is not a headless Service" % spec.get("serviceName"))
    containers = pod["containers"]
    c = next((c for c in containers if c["name"] == "waihud"), None)
    if c is None:
        lint.bad(spath, "no container named waihud")
        return
    ports = {p["name"]: p for p in c.get("ports", [])}
    want_ports = {"raft": 7000, "api": 8000, "forward": 9000, "sip": 5060}
    for n, num in want_ports.items():
        if ports.get(n, {}).get("containerPort") != num:
            lint.bad(spath, "container port %s should be %d" % (n, num))
    for sname, (path, s) in services.items():
        selector_matches(s["spec"].get("selector"), labels, path, lint, "Service %s" % sname)
        for p in s["spec"]["ports"]:
            tp = p.get("targetPort")
            if tp not in ports:
                lint.bad(path, "Service %s port %s: targetPort %s is not a container port name"
                         % (sname, p.get("name"), tp))
            elif ports[tp].get("protocol", "TCP") != p.get("protocol", "TCP"):
                lint.bad(path, "Service %s port %s: protocol differs from the container's"
                         % (sname, p.get("name")))
            if p.get("name") != tp:
                lint.bad(path, "Service %s: port named %s targets %s" % (sname, p.get("name"), tp))
    served = served_paths()
    expect = {"readinessProbe": "/readyz", "livenessProbe": "/healthz"}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        pr = c.get(probe)
        if pr is None:
            lint.bad(spath, "%s missing" % probe)
            continue
        g = pr.get("httpGet", {})
        if g.get("port") not in ports:
            lint.bad(spath, "%s port %s is not a container port" % (probe, g.get("port")))
        if g.get("path") not in served:
            lint.bad(spath, "%s path %s is not served by waihud (%s)" % (probe, g.get("path"),
                                                                        sorted(served)))
        if probe in expect and g.get("path") != expect[probe]:
            lint.bad(spath, "%s should be %s" % (probe, expect[probe]))
    pdbs = docs.get("PodDisruptionBudget", {})
    for path, pdb in pdbs.values():
        selector_matches(pdb["spec"]["selector"]["matchLabels"], labels, path, lint, "PDB")
        if pdb["spec"].get("maxUnavailable") != 1:
            lint.bad(path, "maxUnavailable should be 1")
    if not pdbs:
        lint.bad(K8S, "no PodDisruptionBudget")
    # Volumes, ConfigMap and Secret references.
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    claims = {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])}
    mounts = {}
    for m in c.get("volumeMounts", []):
        if m["name"] not in vols and m["name"] not in claims:
            lint.bad(spath, "volumeMount %s has no volume or claim" % m["name"])
        mounts[m["mountPath"]] = m
    cms, secs = docs.get("ConfigMap", {}), docs.get("Secret", {})
    for v in vols.values():
        if "configMap" in v and v["configMap"]["name"] not in cms:
            lint.bad(spath, "volume %s: ConfigMap %s not defined" % (v["name"], v["configMap"]["name"]))
        if "secret" in v and v["secret"]["secretName"] not in secs:
            lint.bad(spath, "volume %s: Secret %s not defined" % (v["name"], v["secret"]["secretName"]))
    for e in c.get("env", []):
        ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
        if ref and ref["key"] not in cms.get(ref["name"], (None, {"data": {}}))[1]["data"]:
            lint.bad(spath, "env %s: ConfigMap %s has no key %s" % (e["name"], ref["name"], ref["key"]))
    # The waihud command line: flags it knows, the config file it reads.
    keys, flags = config_c_keys()
    script = " ".join(c.get("command", []) + c.get("args", []))
    for fl in re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", script):
        if fl not in flags:
            lint.bad(spath, "waihud has no flag %s" % fl)
    replicas = spec.get("replicas", 1)
    cm_path, cm = cms.get("waihu-config", (spath, {"data": {}}))
    conf = cm["data"].get("waihud.conf", "")
    if not conf:
        lint.bad(cm_path, "ConfigMap waihu-config has no waihud.conf")
        return
    cfg_mount = next((m for p, m in mounts.items() if p == "/etc/waihu/waihud.conf"), None)
    if not cfg_mount or cfg_mount.get("subPath") != "waihud.conf" or "/etc/waihu/waihud.conf" not in script:
        lint.bad(spath, "waihud.conf must be mounted at /etc/waihu/waihud.conf and passed with --config")
    for k in libconfig_keys(conf):
        if k not in keys:
            lint.bad(cm_path, "waihud.conf: %s is not a key of src/waihud/config.c" % k)
    if len(cm["data"].get("dcs", "").split()) < replicas:
        lint.bad(cm_path, "dcs lists fewer DCs than the StatefulSet's %d replicas" % replicas)
    n_members = len(re.findall(r"\{\s*id\s*=", conf))
    if n_members != replicas:
        lint.bad(cm_path, "%d bootstrap members for %d replicas" % (n_members, replicas))
    # Secrets: the files the config and the flags name are keys of the mounted Secrets.
    referenced = set(re.findall(r'"(/etc/waihu/(?:secrets|tls)/[^"$]+)"', conf))
    for ordinal in range(replicas):
        referenced |= {"/etc/waihu/tls/waihu-%d.pem" % ordinal, "/etc/waihu/tls/waihu-%d.key" % ordinal}
    for path in sorted(referenced):
        mount_dir = os.path.dirname(path)
        m = mounts.get(mount_dir)
        v = vols.get(m["name"]) if m else None
        sec = secs.get((v or {}).get("secret", {}).get("secretName"))
        if sec is None or os.path.basename(path) not in sec[1].get("stringData", {}):
            lint.bad(spath, "%s: no Secret key mounted there" % path)
    for path, s in secs.values():
        for k, val in s.get("stringData", {}).items():
            if not str(val).startswith("REPLACE_"):
                lint.bad(path, "%s holds a value, not a placeholder: never commit secrets" % k)
    # The real parser: the ConfigMap's file plus the flags the pod passes.
    m = re.search(r"(\d+\.\d+\.\d+\.\d+):7000", conf)
    ip = m.group(1) if m else "10.0.0.1"
    waihud_parses(lint, cm_path, conf, [
        "--id", "1", "--name", "waihu-0", "--dc", "x", "--raft-address", ip + ":7000",
        "--api-address", ip + ":8000", "--forward-address", ip + ":9000", "--tls-ca", ""])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get("WAIHU_BUILD", os.path.join(ROOT, "build")))
    ap.add_argument("only", nargs="*",
                    choices=["systemd", "container", "kubernetes", "grafana", []],
                    help="parts to check (default all)")
    args = ap.parse_args()
    lint = Lint(os.path.abspath(os.path.join(ROOT, args.build)))
    parts = args.only or ["systemd", "container", "kubernetes", "grafana"]
    for part in parts:
        {"systemd": lint_systemd, "container": lint_container,
         "kubernetes": lint_kubernetes, "grafana": lint_grafana}[part](lint)
    for p in lint.problems:
        print(p)
    print("deploy lint: %s, %d problem(s)" % (", ".join(parts), len(lint.problems)))
    return 1 if lint.problems else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""bench/sip_load.sh: SIP and media load of the bridge (issue 4), with anchors.

Waihu: waihu-pbx-test (SIP engine + media engine + bridge, routed over a one-trunk set,
recording on) places calls to waihu-carrier and bridges each answer to waihu-agents; RTP
flows both ways on every call and is relayed and recorded by the bridge.
  1. cps: for each rate in --cps, --calls calls (talk ~1 s); a rate passes with zero failed
     calls; reported: the calls bridged per second (answered / first dial to last bridged).
  2. concurrent: --concurrent calls launched at --ramp-cps and held --hold-s seconds, all
     bridged and recorded at once; reported: the calls held, RTP loss (sequence gaps seen
     by the bridge, plus packets the bridge sent that the simulators did not get, beyond
     2 per leg for the BYE race), and the jitter the bridge measured on what it received.
Anchors, same machine, same run: sipp -> kamailio (tm, stateful, record-routed) -> sipp at
the same rates (signalling cost), and sipp -> kamailio + rtpengine (userspace relay,
--table=-1) -> sipp with RTP both ways for --concurrent calls held --hold-s (media cost).
CPU is summed over each process group from /proc (ms per call, % of one core).

Last line: RESULT cps=<n> concurrent_recorded=<n> failed_calls=<n> rtp_loss=<fraction>:
cps is the best step with no failed call (0 if none), failed_calls counts the failed calls
of that step (of the first step when none passed) and of the held calls."""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HZ = os.sysconf("SC_CLK_TCK")
HERE = os.path.dirname(os.path.abspath(__file__))

# Ports (loopback): Waihu 30000-30099 SIP, 30100-39999 bridge RTP, 40000-44999 carrier RTP,
# 45000-49999 agents RTP; anchors 30150-30199 SIP, 50000-59999 rtpengine, 60000-64999 sipp.
PBX, CARRIER, AGENTS = 30060, 30070, 30080
KAM, UAS, UAC, NG = 30160, 30170, 30180, 30223


def log(*a):
    print(*a, flush=True)


def cpu_ms(pgid):
    """CPU (user + system) of every live process in process group pgid, in ms."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after comm: state ppid pgrp ...
            total += int(fields[11]) + int(fields[12])
    return total * 1000.0 / HZ


class Procs:
    def __init__(self, tmp):
        self.tmp, self.procs = tmp, []

    def start(self, name, argv, **kw):
        err = open(os.path.join(self.tmp, name + ".err"), "w")
        kw.setdefault("stdout", subprocess.DEVNULL)
        p = subprocess.Popen(argv, stderr=err, cwd=self.tmp, start_new_session=True, **kw)
        p.name, p.err = name, err
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=20):
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        p.err.close()
        for pipe in (p.stdin, p.stdout):
            if pipe:
                pipe.close()
        self.procs.remove(p)

    def stop_all(self):
        for p in list(reversed(self.procs)):
            self.stop(p)


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


def read_jsonl(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip().endswith("}"):
                    out.append(json.loads(line))
    return out


class Pbx:
    def __init__(self, procs, argv):
        self.events, self.cond = [], threading.Condition()
        self.p = procs.start("pbx", argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()
        self.wait(lambda e: e["ev"] == "ready", 10, "pbx ready")

    def _read(self):
        for line in self.p.stdout:
            e = json.loads(line)
            e["t"] = time.monotonic()
            with self.cond:
                self.events.append(e)
                self.cond.notify_all()

    def send(self, **cmd):
        self.p.stdin.write(json.dumps(cmd) + "\n")
        self.p.stdin.flush()

    def find(self, pred):
        with self.cond:
            return [e for e in self.events if pred(e)]

    def wait(self, pred, timeout, what, count=1):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                hits = [e for e in self.events if pred(e)]
                if len(hits) >= count:
                    return hits[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    raise RuntimeError("timed out waiting for %s (%d of %d)" %
                                       (what, len(hits), count))
                self.cond.wait(min(left, 0.5))

    def stats(self):
        n = len(self.find(lambda e: e["ev"] == "stats"))
        self.send(cmd="stats")
        return self.wait(lambda e: e["ev"] == "stats", 10, "stats", count=n + 1)

    def idle(self, timeout):
        keys = ("calls_active", "media_open", "sip_legs_live", "sip_calls_active",
                "trunk_channels")
        wait_for(lambda: all(self.stats()[k] == 0 for k in keys), timeout, "pbx idle")


class Waihu:
    """carrier + pbx (bridge, recording) + agents; the carrier is restarted per phase."""

    def __init__(self, a, tmp, procs):
        self.a, self.tmp, self.procs = a, tmp, procs
        self.carrier = None
        self.phase = 0
        key = os.path.join(tmp, "rec.key")
        with open(key, "w") as f:
            f.write(os.urandom(32).hex())
        self.rec = os.path.join(tmp, "rec")
        os.mkdir(self.rec)
        trunks = os.path.join(tmp, "trunks.json")
        with open(trunks, "w") as f:
            json.dump({"health": {"keepalive_interval_ms": 0},
                       "trunks": [{"name": "carrier", "target": "127.0.0.1:%d" % CARRIER,
                                   "channels": 100000, "cps": 10000,
                                   "caller_ids": ["+15550001000"]}]}, f)
        self.pbx = Pbx(procs, [os.path.join(a.build, "tools/waihu-pbx-test/waihu-pbx-test"),
                               "--bind", "127.0.0.1:%d" % PBX, "--rtp-ports", "30100-39999",
                               "--workers", str(a.media_workers), "--trunks", trunks,
                               "--record-dir", self.rec, "--key-file", key,
                               "--carrier-timeout-ms", "10000", "--sip-timer-ms", "4000",
                               "--exempt", "127.0.0.1"])  # agents: 2 REGISTERs each at once
        for i in range(1, a.agents + 1):
            self.pbx.send(cmd="cred", user="agent%d" % i, password="secret%d" % i)
        self.agents_log = os.path.join(tmp, "agents.log")
        self.agents = procs.start("agents", [
            os.path.join(a.build, "tools/waihu-agents/waihu-agents"), "--registrar",
            "127.0.0.1:%d" % PBX, "--listen", "127.0.0.1:%d" % AGENTS, "--count",
            str(a.agents), "--ring-ms", "1", "--talk-ms", "3600000-3600000", "--wav",
            os.path.join(tmp, "agent.wav"), "--rtp-ports", "45000-49999", "--log",
            self.agents_log])
        self.pbx.wait(lambda e: e["ev"] == "registered" and e["expires"] > 0, 30,
                      "agents registered", count=a.agents)

    def start_carrier(self, talk):
        if self.carrier:
            self.procs.stop(self.carrier)
        self.phase += 1
        rules = os.path.join(self.tmp, "rules%d.json" % self.phase)
        with open(rules, "w") as f:
            json.dump({"stats": {"answer": 1.0}, "ring_ms": 0, "talk_ms": talk}, f)
        self.carrier_log = os.path.join(self.tmp, "carrier%d.log" % self.phase)
        self.carrier = self.procs.start("carrier%d" % self.phase, [
            os.path.join(self.a.build, "tools/waihu-carrier/waihu-carrier"), "--listen",
            "127.0.0.1:%d" % CARRIER, "--rules", rules, "--log", self.carrier_log,
            "--human-wav", os.path.join(self.tmp, "customer.wav"), "--rtp-ports",
            "40000-44999"])
        time.sleep(0.3)  # the carrier binds at once; nothing to poll but its port

    def burst(self, n, rate, base):
        pbx = self.pbx
        first_cdr = len(pbx.find(lambda e: e["ev"] == "cdr"))
        tag = "b%d" % base
        t0 = time.monotonic()
        c0 = cpu_ms(pbx.p.pid)
        pbx.send(cmd="burst", n=n, rate_per_s=rate, number_base="+%d" % base,
                 agents=self.a.agents, tag=tag)
        return tag, t0, c0, first_cdr

    def cps_step(self, rate):
        a, pbx = self.a, self.pbx
        self.start_carrier({"dist": "uniform", "min_ms": 800, "max_ms": 1200})
        tag, t0, c0, first = self.burst(a.calls, rate, 15550000000 + self.phase * 100000)
        done = pbx.wait(lambda e: e["ev"] == "burst-done" and e.get("tag") == tag,
                        30 + a.calls / rate, "burst done")
        pbx.wait(lambda e: e["ev"] == "cdr", 60, "CDRs", count=first + done["sent"])
        c1 = cpu_ms(pbx.p.pid)
        cdrs = pbx.find(lambda e: e["ev"] == "cdr")[first:]
        ids = {c["id"] for c in cdrs}
        bridged = [e["t"] for e in pbx.find(lambda e: e["ev"] == "state" and
                                            e["state"] == "bridged" and e["id"] in ids)]
        answered = sum(1 for c in cdrs if c["result"] == "answered")
        failed = len(cdrs) - answered + done["errors"]
        span = (max(bridged) - t0) if bridged else 1
        cps = answered / span
        log("waihu cps step: offered %.0f/s, %d calls, %d answered and bridged, %d failed, "
            "%.1f calls/s bridged, bridge CPU %.2f ms per call (%.0f%% of a core)"
            % (rate, a.calls, answered, failed, cps, (c1 - c0) / max(1, a.calls),
               (c1 - c0) / 10.0 / span))
        if failed:
            kinds = {}
            for c in cdrs:
                if c["result"] != "answered":
                    k = "%s/%s/%d" % (c["result"], c["end_reason"], c["status"])
                    kinds[k] = kinds.get(k, 0) + 1
            st = pbx.stats()
            log("  failed calls by result/end_reason/status: %s; dial errors %d; SIP illegal "
                "moves so far %d" % (kinds, done["errors"], st["sip_illegal_moves"]))
        pbx.idle(30)
        return cps, failed

    def concurrent(self):
        a, pbx = self.a, self.pbx
        ramp_s = a.concurrent / a.ramp_cps
        self.start_carrier(int((ramp_s + a.hold_s + 60) * 1000))  # we hang up first
        tag, t0, c0, first = self.burst(a.concurrent, a.ramp_cps, 15560000000)
        pbx.wait(lambda e: e["ev"] == "burst-done" and e.get("tag") == tag,
                 30 + ramp_s, "ramp done")
        ids = {e["id"] for e in pbx.find(lambda e: e["ev"] == "dialed" and e.get("tag") == tag)}

        def alive():
            b = {e["id"] for e in pbx.find(lambda e: e["ev"] == "state" and
                                           e["state"] == "bridged" and e["id"] in ids)}
            ended = {e["id"] for e in pbx.find(lambda e: e["ev"] == "cdr" and e["id"] in ids)}
            return len(b - ended)
        try:
            wait_for(lambda: alive() >= len(ids), 30 + ramp_s, "every call bridged")
        except RuntimeError:
            pass
        held_min = alive()
        t_hold = time.monotonic()
        c_hold = cpu_ms(pbx.p.pid)
        while time.monotonic() - t_hold < a.hold_s:
            time.sleep(1)
            held_min = min(held_min, alive())
        c_end = cpu_ms(pbx.p.pid)
        for i in sorted(ids):
            pbx.send(cmd="hangup", id=i)
        pbx.wait(lambda e: e["ev"] == "cdr", 60, "CDRs", count=first + len(ids))
        pbx.idle(30)
        cdrs = [c for c in pbx.find(lambda e: e["ev"] == "cdr")[first:]]
        failed = sum(1 for c in cdrs if c["result"] != "answered")
        recorded = sum(1 for c in cdrs if c.get("recording") and c["recording_err"] == 0)
        # Loss into the bridge (gaps it saw) and out of it (sent, not received).
        rx = sum(c[l]["rx"] for c in cdrs for l in ("carrier_rtp", "agent_rtp"))
        lost_in = sum(c[l]["lost"] for c in cdrs for l in ("carrier_rtp", "agent_rtp"))
        self.procs.stop(self.carrier)
        self.carrier = None
        recv = {e["call_id"]: e["rtp_recv"] for e in read_jsonl(self.carrier_log)
                if e["ev"] == "end"}
        recv_agents = {e["call_id"]: e["rtp_recv"] for e in read_jsonl(self.agents_log)
                       if e["ev"] == "call"}
        sent_out = lost_out = 0
        for c in cdrs:
            for leg, dialog, table in (("carrier_rtp", "carrier_dialog", recv),
                                       ("agent_rtp", "agent_dialog", recv_agents)):
                tx = c[leg]["tx"]
                got = table.get(c.get(dialog))
                if got is not None:
                    sent_out += tx
                    lost_out += max(0, tx - got - 2)
        loss = (lost_in + lost_out) / max(1, rx + lost_in + sent_out)
        jit = [c[l]["jitter_ms"] for c in cdrs for l in ("carrier_rtp", "agent_rtp")]
        log("waihu concurrent: %d calls bridged and recorded at once (min over %d s: %d), "
            "%d recordings, %d failed; RTP in: %d packets, %d lost; out: %d sent, %d not "
            "received; loss %.5f; jitter measured by the bridge on its input: mean %.2f ms, "
            "max %.2f ms; bridge CPU %.0f%% of a core while holding (%.2f%% per call)"
            % (len(ids), a.hold_s, held_min, recorded, failed, rx, lost_in, sent_out, lost_out,
               loss, sum(jit) / max(1, len(jit)), max(jit or [0]),
               (c_end - c_hold) / 10.0 / a.hold_s,
               (c_end - c_hold) / 10.0 / a.hold_s / max(1, len(ids))))
        return held_min if recorded == len(ids) else min(held_min, recorded), failed, loss


def sipp(tmp, name, args, procs=None):
    argv = ["sipp", "-i", "127.0.0.1", "-mi", "127.0.0.1", "-nostdin", "-timeout_error"] + args
    if procs:
        return procs.start(name, argv)
    r = subprocess.run(argv, cwd=tmp, capture_output=True, text=True)
    return r


def sipp_counts(out):
    ok = re.search(r"Successful call\s+\|\s+\d+\s+\|\s+(\d+)", out)
    bad = re.search(r"Failed call\s+\|\s+\d+\s+\|\s+(\d+)", out)
    return (int(ok.group(1)) if ok else -1, int(bad.group(1)) if bad else -1)


def scenario(tmp, name, media):
    with open(os.path.join(HERE, name + ".xml.in")) as f:
        text = f.read()
    text = text.replace("@MEDIA@", '  <nop><action><exec rtp_stream="tone.ulaw,-1,0"/>'
                        '</action></nop>' if media else "")
    path = os.path.join(tmp, "%s%s.xml" % (name, "_media" if media else ""))
    with open(path, "w") as f:
        f.write(text)
    return path


def kamailio(tmp, procs, rtpengine):
    with open(os.path.join(HERE, "kamailio.cfg.in")) as f:
        text = f.read()
    for k, v in (("CHILDREN", 2), ("PORT", KAM), ("NG_PORT", NG), ("UAS_PORT", UAS)):
        text = text.replace("@%s@" % k, str(v))
    cfg = os.path.join(tmp, "kamailio.cfg")
    with open(cfg, "w") as f:
        f.write(text)
    argv = ["kamailio", "-f", cfg, "-DD", "-E", "-m", "256", "-M", "16", "-Y",
            os.path.join(tmp, "kam-run")]
    os.makedirs(os.path.join(tmp, "kam-run"), exist_ok=True)
    if rtpengine:
        argv += ["-A", "WITH_RTPENGINE"]
    r = subprocess.run(["kamailio", "-c", "-f", cfg] + argv[5:], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("kamailio config: " + r.stderr[-500:])
    p = procs.start("kamailio", argv)
    time.sleep(1.0)  # forks its children; no readiness signal on stdout
    if p.poll() is not None:
        raise RuntimeError("kamailio exited: see kamailio.err")
    return p


def anchor_signalling(a, tmp, procs, rates):
    kam = kamailio(tmp, procs, False)
    uas = sipp(tmp, "uas", ["-sf", scenario(tmp, "uas", False), "-p", str(UAS),
                            "-mp", "62000", "-cp", "30191"], procs)
    time.sleep(0.3)
    best = 0.0
    for rate in rates:
        c0 = cpu_ms(kam.pid)
        t0 = time.monotonic()
        r = sipp(tmp, "uac", ["127.0.0.1:%d" % KAM, "-sf", scenario(tmp, "uac", False),
                              "-p", str(UAC), "-mp", "61000", "-cp", "30192", "-s", "1000",
                              "-r", str(rate), "-m", str(a.calls),
                              "-d", "1000", "-l", str(int(rate * 5) + 100), "-timeout", "120"])
        span = time.monotonic() - t0
        c1 = cpu_ms(kam.pid)
        ok, bad = sipp_counts(r.stdout)
        log("anchor kamailio (stateful proxy): offered %.0f/s, %d calls, %d ok, %d failed, "
            "%.2f ms CPU per call" % (rate, a.calls, ok, bad, (c1 - c0) / max(1, a.calls)))
        if bad == 0 and ok == a.calls:
            best = max(best, ok / max(0.001, span - 1.0))
    procs.stop(uas)
    procs.stop(kam)
    return best


def anchor_media(a, tmp, procs):
    rtp = procs.start("rtpengine", ["rtpengine", "--table=-1", "--interface=127.0.0.1",
                                    "--listen-ng=127.0.0.1:%d" % NG, "--port-min=50000",
                                    "--port-max=59999", "--foreground", "--log-stderr",
                                    "--num-threads=2", "--delete-delay=0", "--pidfile",
                                    os.path.join(tmp, "rtpengine.pid")])
    time.sleep(0.5)
    if rtp.poll() is not None:
        log("anchor rtpengine: exited at start (see rtpengine.err)")
        return
    c_start = cpu_ms(rtp.pid)
    kam = kamailio(tmp, procs, True)
    uas = sipp(tmp, "uas_media", ["-sf", scenario(tmp, "uas", True), "-p", str(UAS),
                                  "-mp", "62000", "-cp", "30191"], procs)
    time.sleep(0.3)
    hold_ms = int(a.hold_s * 1000)
    uac = sipp(tmp, "uac_media", ["127.0.0.1:%d" % KAM, "-sf", scenario(tmp, "uac", True),
                                  "-p", str(UAC), "-mp", "61000", "-cp", "30192", "-s", "1000",
                                  "-r", str(a.ramp_cps),
                                  "-m", str(a.concurrent), "-l", str(a.concurrent),
                                  "-d", str(hold_ms), "-timeout", str(int(a.hold_s) + 120),
                                  "-trace_stat", "-stf", os.path.join(tmp, "uac_media.csv")],
               procs)
    ramp_s = a.concurrent / a.ramp_cps
    time.sleep(ramp_s + 2)  # calls are up when the ramp is over; sipp has no event stream
    c0, k0, t0 = cpu_ms(rtp.pid), cpu_ms(kam.pid), time.monotonic()
    window = max(5.0, a.hold_s - ramp_s - 4)
    time.sleep(window)
    c1, k1, t1 = cpu_ms(rtp.pid), cpu_ms(kam.pid), time.monotonic()
    try:
        uac.wait(timeout=a.hold_s + 120)
    except subprocess.TimeoutExpired:
        pass
    c_total = cpu_ms(rtp.pid) - c_start
    with open(os.path.join(tmp, "uac_media.err")) as f:
        err_text = f.read()
    procs.stop(uas)
    procs.stop(kam)
    procs.stop(rtp)
    # rtpengine's final stats per call (--delete-delay=0): packets and errors per RTP port.
    pkts = errs = 0
    with open(os.path.join(tmp, "rtpengine.err"), errors="replace") as f:
        for line in f:
            m = re.search(r"--- Port .* (\d+) p, \d+ b, (\d+) e", line)
            if m and "(RTCP)" not in line:
                pkts += int(m.group(1))
                errs += int(m.group(2))
    log("anchor rtpengine (userspace relay) + kamailio: %d calls with RTP both ways, "
        "rtpengine %.0f%% of a core while holding (%.2f%% per call), %d packets relayed "
        "(%d errors), %.1f us CPU per packet over the run; kamailio %.1f%%; sipp exit %s%s"
        % (a.concurrent, (c1 - c0) / 10.0 / (t1 - t0),
           (c1 - c0) / 10.0 / (t1 - t0) / max(1, a.concurrent), pkts, errs,
           c_total * 1000.0 / max(1, pkts), (k1 - k0) / 10.0 / (t1 - t0), uac.returncode,
           " (" + err_text.strip()[-200:] + ")" if uac.returncode else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--cps", default="50,100", help="rates to try, comma-separated")
    ap.add_argument("--calls", type=int, default=500, help="calls per rate")
    ap.add_argument("--concurrent", type=int, default=100)
    ap.add_argument("--ramp-cps", type=float, default=50)
    ap.add_argument("--hold-s", type=float, default=60)
    ap.add_argument("--agents", type=int, default=50)
    ap.add_argument("--media-workers", type=int, default=2)
    ap.add_argument("--no-anchors", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    a = ap.parse_args()
    rates = [float(x) for x in a.cps.split(",") if x]
    tmp = tempfile.mkdtemp(prefix="waihu-sipload-")
    procs = Procs(tmp)
    for name, text, voice in (("customer", "Hello? Yes, this is the customer speaking.", "slt"),
                              ("agent", "Good morning, this is the agent from Waihu.", "awb")):
        raw = os.path.join(tmp, name + "-16k.wav")
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", raw], check=True,
                       capture_output=True)
        subprocess.run(["sox", raw, "-r", "8000", "-c", "1", "-b", "16",
                        os.path.join(tmp, name + ".wav")], check=True)
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-t", "ul",
                    os.path.join(tmp, "tone.ulaw"), "synth", "2", "sine", "440"], check=True)
    cps = 0.0
    failed = 0
    held, loss = 0, 1.0
    try:
        w = Waihu(a, tmp, procs)
        steps = [w.cps_step(rate) for rate in rates]
        passed = [got for got, bad in steps if bad == 0]
        # failed_calls: those of the step reported (the best with none, else the first)
        # and of the held calls; every step's own count is printed above.
        cps = max(passed) if passed else 0.0
        failed = 0 if passed else steps[0][1]
        held, bad, loss = w.concurrent()
        failed += bad
        procs.stop_all()
        if not a.no_anchors:
            for tool in ("kamailio", "rtpengine", "sipp"):
                if not shutil.which(tool):
                    log("anchors skipped: %s not installed (scripts/deps.sh)" % tool)
                    break
            else:
                anchor_signalling(a, tmp, procs, rates)
                anchor_media(a, tmp, procs)
    finally:
        procs.stop_all()
        if a.keep:
            log("logs in", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    log("RESULT cps=%.0f concurrent_recorded=%d failed_calls=%d rtp_loss=%.5f"
        % (cps, held, failed, loss))


if __name__ == "__main__":
    sys.exit(main())

"""Helpers shared by the tests and tools that drive real SIP peers: waiting on a
condition, whether a UDP port is taken, speech audio made with flite and sox, and a
baresip configuration for an agent's softphone (auto-answer, a WAV file as its
microphone)."""
import os
import signal
import socket
import subprocess
import time


def wait_until(pred, timeout, what, slow=1.0, step=0.05):
    """pred's first true value within timeout*slow seconds, or AssertionError."""
    deadline = time.monotonic() + timeout * slow
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


def udp_port_busy(port, host="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((host, port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def speech(tmp, name, text, voice):
    """flite speech as 8 kHz mono 16-bit WAV (what G.711 carries)."""
    raw = os.path.join(tmp, name + "-16k.wav")
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", raw], check=True)
    out = os.path.join(tmp, name + ".wav")
    subprocess.run(["sox", raw, "-r", "8000", "-c", "1", "-b", "16", out], check=True)
    return out


def baresip_conf(conf_dir, listen_port, wav, rtp_ports, user, registrar, password):
    """A baresip config dir: user registers at registrar (ip:port) with password (no
    spaces: baresip's account values end at one), answers automatically, plays wav."""
    os.makedirs(conf_dir, exist_ok=True)
    with open(os.path.join(conf_dir, "config"), "w") as f:
        f.write("poll_method epoll\nsip_listen 127.0.0.1:%d\nsip_transports udp\n"
                "net_interface 127.0.0.1\naudio_source aufile,%s\n"
                "audio_player aubridge,nil\naudio_alert aubridge,nil\nrtp_ports %s\n"
                "module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n"
                "module aubridge.so\nmodule_app account.so\nmodule_app menu.so\n"
                % (listen_port, wav, rtp_ports))
    with open(os.path.join(conf_dir, "accounts"), "w") as f:
        f.write("<sip:%s@%s;transport=udp>;auth_pass=%s;regint=60;answermode=auto;"
                "audio_codecs=PCMU\n" % (user, registrar, password))
    return conf_dir


class Procs:
    """Processes a test started, stopped (SIGTERM, then SIGKILL after stop_timeout s) at
    tearDown; each one's stderr is kept in tmp as NAME.err and searched for sanitizer
    reports."""

    def __init__(self, tmp, stop_timeout=10.0):
        self.tmp = tmp
        self.stop_timeout = stop_timeout
        self.procs = []
        self.files = []

    def start(self, name, argv, **kw):
        err = open(os.path.join(self.tmp, name + ".err"), "w")
        self.files.append(err)
        p = subprocess.Popen(argv, stderr=err, cwd=self.tmp, **kw)
        p.name = name
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            for pipe in (p.stdin, p.stdout):
                if pipe:
                    pipe.close()
        for f in self.files:
            f.close()

    def sanitizer_reports(self):
        bad = []
        for name in os.listdir(self.tmp):
            if name.endswith(".err"):
                with open(os.path.join(self.tmp, name), errors="replace") as f:
                    text = f.read()
                if "ERROR: AddressSanitizer" in text or "runtime error:" in text or \
                        "ERROR: LeakSanitizer" in text:
                    bad.append(name)
        return bad

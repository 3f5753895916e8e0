"""What the demos share: JSON requests to a node, waiting on a condition, the demo
tenant with its admin and agents, and 200 generated customers imported from CSV."""
import json
import os
import subprocess
import sys
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "localcluster"))
from sipkit import wait_until as _wait_until  # noqa: E402
ADMIN_PASSWORD = "demo-admin-1234"


def request(api, method, path, body=None, token=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://%s%s" % (api, path), data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def wait_until(pred, timeout, what):
    try:
        return _wait_until(pred, timeout, what, step=0.1)
    except AssertionError as e:
        raise SystemExit("demo: %s" % e)


def setup_tenant(run_dir, api, agents):
    """Tenant 'demo', user admin and the agents [(name, password)]; returns admin's token.
    Setup goes to the leader: it has applied every write it acknowledged."""
    boot = open(os.path.join(run_dir, "secrets", "bootstrap.token")).read().strip()
    s, st = request(api, "GET", "/v1/cluster", token=boot)
    setup = st.get("leader_api_address") or api
    print("demo: tenant 'demo', users admin and %s" % ", ".join(a for a, _ in agents), flush=True)
    request(setup, "POST", "/v1/tenants", {"id": 1, "name": "demo", "default_country": "CN"},
            boot)
    for name, role, pw in [("admin", "admin", ADMIN_PASSWORD)] + [(a, "agent", p) for a, p in agents]:
        s, doc = request(setup, "POST", "/v1/users", {"username": name, "password": pw,
                                                    "role": role, "tenant_id": 1}, boot)
        if s not in (201, 409):
            raise SystemExit("demo: user %s: %s" % (name, doc))
    s, doc = request(api, "POST", "/v1/auth/login", {"username": "admin",
                                                     "password": ADMIN_PASSWORD})
    if s != 200:
        raise SystemExit("demo: login: %s" % doc)
    return doc["token"]


def agents_ready(api, admin, names, timeout=60):
    """Waits for each agent's softphone registration to show (state online) and puts the
    agent in state ready, as an agent does when its shift starts (docs/seat-api.md)."""
    def online(name):
        s, doc = request(api, "GET", "/v1/agents/" + name, token=admin)
        return s == 200 and doc["registered"]
    for name in names:
        wait_until(lambda: online(name), timeout, "agent %s registered" % name)
        s, doc = request(api, "POST", "/v1/agents/%s/state" % name, {"state": "ready"}, admin)
        if s != 200 and not (s == 409 and "on a call" in doc["error"]["message"]):
            raise SystemExit("demo: agent %s ready: %s" % (name, doc))


def upload_prompt(api, admin, name, text, work):
    """Speaks text with flite, makes it an 8 kHz mono 16-bit WAV with sox and uploads it
    as prompt `name` (PUT /v1/prompts/{name}); returns its record."""
    raw, wav = os.path.join(work, name + "-raw.wav"), os.path.join(work, name + ".wav")
    subprocess.run(["flite", "-t", text, "-o", raw], check=True)
    subprocess.run(["sox", raw, "-r", "8000", "-c", "1", "-b", "16", wav], check=True)
    with open(wav, "rb") as f:
        body = f.read()
    req = urllib.request.Request("http://%s/v1/prompts/%s" % (api, name), data=body,
                                 method="PUT", headers={"Authorization": "Bearer " + admin,
                                                        "Content-Type": "audio/wav"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise SystemExit("demo: prompt %s: %s" % (name, e.read().decode(errors="replace")))


def import_customers(run_dir, api, admin, rows=200):
    csv = os.path.join(run_dir, "imports", "demo.csv")
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "import", "gen_customers.py"),
                    "--rows", str(rows), "--seed", "7", "--out", csv], check=True,
                   stdout=subprocess.DEVNULL)
    mapping = {"name": "name", "phone": "phone", "address": "address", "notes": "notes",
               "tags": "tags"}
    s, job = request(api, "POST", "/v1/imports", {"file": "demo.csv", "mapping": mapping}, admin)
    if s != 202:
        raise SystemExit("demo: import: %s" % job)
    job = wait_until(lambda: (lambda d: d if d["state"] != "running" else None)(
        request(api, "GET", "/v1/imports/" + job["id"], token=admin)[1]), 60, "the import")
    print("demo: imported %d customers (%d rejected, %d duplicates) from %s"
          % (job["rows_ok"], job["rows_failed"], job["duplicates"], csv), flush=True)
    return job


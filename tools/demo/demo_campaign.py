#!/usr/bin/env python3
"""The demo of scripts/run.sh, on a running local cluster whose node n1 has telephony
(localcluster.py up --telephony 127.0.0.1:5060 --trunk 127.0.0.1:5070): a demo tenant,
an admin and ten agents, 200 generated customers imported from CSV, waihu-carrier as the
carrier (answers, busy, no answer, unreachable by chance; talk times drawn), waihu-agents
as the ten agents' softphones, then a predictive campaign over every customer, its
progress printed live and a summary at the end (docs/campaigns.md)."""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from demo_common import (ADMIN_PASSWORD, ROOT, agents_ready, import_customers,  # noqa: E402
                         request, setup_tenant, upload_prompt, wait_until)
from sipkit import Procs  # noqa: E402

AGENT_PASSWORD = "demo-agent-pw-"  # + the agent's number (waihu-agents --password-prefix)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=os.path.join(ROOT, "run"))
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--api", default="127.0.0.1:8001", help="API of the node with telephony")
    ap.add_argument("--sip", default="127.0.0.1:5060")
    ap.add_argument("--carrier", default="127.0.0.1:5070")
    ap.add_argument("--agents", type=int, default=10)
    ap.add_argument("--minutes", type=float, default=3.0, help="stop the campaign after this")
    args = ap.parse_args()
    api = args.api
    agents = [("agent%d" % i, AGENT_PASSWORD + str(i)) for i in range(1, args.agents + 1)]
    admin = setup_tenant(args.dir, api, agents)
    import_customers(args.dir, api, admin)

    work = os.path.join(args.dir, "demo")
    os.makedirs(work, exist_ok=True)
    rules = os.path.join(work, "carrier-rules.json")
    with open(rules, "w") as f:
        json.dump({"stats": {"answer": 0.35, "busy": 0.15, "no-answer": 0.4, "unreachable": 0.1},
                   "ring_ms": {"dist": "uniform", "min_ms": 2000, "max_ms": 9000},
                   "talk_ms": {"dist": "uniform", "min_ms": 5000, "max_ms": 20000}}, f)
    procs = Procs(work)  # their stderr goes to work/NAME.err
    try:
        procs.start("carrier", [
            os.path.join(args.build, "tools/waihu-carrier/waihu-carrier"), "--listen",
            args.carrier, "--rules", rules, "--log", os.path.join(work, "carrier.jsonl"),
            "--rtp-ports", "21100-21499"], stdout=subprocess.DEVNULL)
        procs.start("agents", [
            os.path.join(args.build, "tools/waihu-agents/waihu-agents"), "--registrar", args.sip,
            "--listen", "127.0.0.1:5080", "--count", str(args.agents), "--password-prefix",
            AGENT_PASSWORD, "--talk-ms", "60000-90000", "--rtp-ports", "21500-21899",
            "--log", os.path.join(work, "agents.jsonl")], stdout=subprocess.DEVNULL)
        log = os.path.join(args.dir, "n1", "waihud.log")
        wait_until(lambda: all('"agent %s registered' % a in open(log, errors="replace").read()
                               for a, _ in agents), 30, "the agents' softphones to register")
        print("demo: carrier (waihu-carrier) on %s, %d agents (waihu-agents) registered on %s"
              % (args.carrier, args.agents, args.sip), flush=True)
        agents_ready(api, admin, [a for a, _ in agents])
        print("demo: the agents are ready (POST /v1/agents/{name}/state)", flush=True)
        print("demo: watch it live in the console: http://%s/ (user admin, password %s): "
              "wallboard, campaigns, customers" % (api, ADMIN_PASSWORD), flush=True)
        # The 2-second rule: a live answer no agent can take hears who called.
        sorry = upload_prompt(api, admin, "sorry", "This is Why Hoo Demo calling. Sorry, all our "
                              "agents are busy. We will call you back.", work)
        print("demo: abandon message 'sorry' (%d ms, flite) uploaded: PUT /v1/prompts/sorry"
              % sorry["duration_ms"], flush=True)
        s, camp = request(api, "POST", "/v1/campaigns", {
            "name": "demo predictive", "mode": "predictive",
            "agents": [a for a, _ in agents], "window": {"start": "00:00", "end": "24:00"},
            "max_attempts": 2, "retry_after_s": 30, "wrap_s": 3,
            "abandon_prompt": "sorry"}, admin)
        if s != 201:
            raise SystemExit("demo: campaign: %s" % camp)
        cid = camp["id"]
        print("demo: campaign %s (predictive, %d leads, calling window 00:00-24:00 local) "
              "dialing; it stops after %.1f minutes\n" % (cid, camp["leads"], args.minutes))
        print("%6s %6s %6s %6s %8s %8s %9s %8s %9s" % ("time", "done", "ready", "attempts",
                                                       "answered", "abandon", "machine",
                                                       "no-answer", "aband.%"))
        start = time.monotonic()
        while time.monotonic() - start < args.minutes * 60:
            s, doc = request(api, "GET", "/v1/campaigns/" + cid, token=admin)
            p = doc["progress"]
            leads, calls = p["leads"], p["calls"]
            print("%5.0fs %6d %6d %8d %8d %8d %9d %8d %8.2f%%" % (
                time.monotonic() - start, leads["done"], leads["ready"], calls["attempts"],
                calls["answered"], calls["abandoned"], calls["machine"], calls["no_answer"],
                100 * calls["abandon_rate"]), flush=True)
            if leads["done"] == camp["leads"]:
                break
            time.sleep(5)
        request(api, "POST", "/v1/campaigns/%s/pause" % cid, {}, admin)
        s, doc = request(api, "GET", "/v1/campaigns/" + cid, token=admin)
        p = doc["progress"]
        print("\ndemo: campaign paused. Summary: %d of %d leads done, %d calls, %d answered by "
              "agents, %d abandoned (%.2f%% of live answers; cap %.0f%%), idle reasons: %s"
              % (p["leads"]["done"], camp["leads"], p["calls"]["attempts"],
                 p["calls"]["answered"], p["calls"]["abandoned"],
                 100 * p["calls"]["abandon_rate"], 100 * camp["abandon_cap"],
                 ", ".join("node %s: %s" % (n["node"], n["idle_reason"] or "dialing")
                           for n in p["nodes"])), flush=True)
        print("demo: GET /v1/campaigns/%s and GET /v1/calls show it; the carrier's log is %s"
              % (cid, os.path.join(work, "carrier.jsonl")))
    finally:
        procs.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())

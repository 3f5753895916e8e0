#!/usr/bin/env python3
"""The demo of scripts/run.sh, on a running local cluster whose node n1 has telephony
(localcluster.py up --telephony 127.0.0.1:5060): a demo tenant, an admin and an agent,
200 generated customers imported from CSV, sipp answering as the carrier (a recorded
customer voice) and baresip as agent1's softphone (registered with agent1's password),
then a few calls placed through the API, bridged, recorded, and their records printed.
Campaign dialing is not built yet: the calls are placed one by one, as a supervisor
would from the console."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "localcluster"))
sys.path.insert(0, HERE)
from sipkit import baresip_conf, speech  # noqa: E402
from sipkit import Procs  # noqa: E402
from demo_common import import_customers, request, setup_tenant, wait_until  # noqa: E402,E501
SCENARIO = os.path.join(ROOT, "tests", "integration", "bridge", "uas_talk.xml")
AGENT_PASSWORD = "demo-agent-1234"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=os.path.join(ROOT, "run"))
    ap.add_argument("--api", default="127.0.0.1:8001", help="API of the node with telephony")
    ap.add_argument("--sip", default="127.0.0.1:5060")
    ap.add_argument("--carrier", default="127.0.0.1:5070")
    ap.add_argument("--calls", type=int, default=3)
    args = ap.parse_args()
    api = args.api
    admin = setup_tenant(args.dir, api, [("agent1", AGENT_PASSWORD)])
    import_customers(args.dir, api, admin)

    tmp = tempfile.mkdtemp(prefix="waihu-demo-")
    procs = Procs(tmp)
    try:
        customer = speech(tmp, "customer", "Hello? Yes, speaking. What is this about?", "slt")
        agent = speech(tmp, "agent", "Good morning, this is Waihu calling about your order.",
                       "awb")
        subprocess.run(["sox", customer, "-t", "ul", "-r", "8000", "-c", "1",
                        os.path.join(tmp, "carrier.ulaw")], check=True)
        agent_wav = os.path.join(tmp, "agent-short.wav")
        subprocess.run(["sox", agent, agent_wav, "pad", "0.5", "1"], check=True)
        host, port = args.carrier.split(":")
        procs.start("sipp", ["sipp", "-sf", SCENARIO, "-i", host, "-p", port, "-mi", host,
                             "-mp", "5100", "-m", str(args.calls), "-nostdin", "-timeout", "300"],
                    stdout=subprocess.DEVNULL)
        conf = baresip_conf(os.path.join(tmp, "baresip"), 5080, agent_wav, "21000-21099",
                            "agent1", args.sip, AGENT_PASSWORD)
        procs.start("baresip", ["baresip", "-f", conf], stdout=subprocess.DEVNULL,
                    stdin=subprocess.DEVNULL)
        log = os.path.join(args.dir, "n1", "waihud.log")
        wait_until(lambda: '"agent agent1 registered' in open(log, errors="replace").read(), 20,
                   "agent1's softphone to register")
        print("demo: carrier (sipp) on %s, agent1's softphone (baresip) registered on %s"
              % (args.carrier, args.sip), flush=True)

        s, page = request(api, "GET", "/v1/customers?limit=%d" % args.calls, token=admin)
        placed = []
        for c in page["items"][:args.calls]:
            s, call = request(api, "POST", "/v1/calls", {"customer_id": c["id"],
                                                        "agent": "agent1"}, admin)
            if s != 202:
                print("demo: call to customer %s refused: %s" % (c["id"], call), flush=True)
                continue
            print("demo: calling customer %s (%s), bridged to agent1 ..." % (c["id"], c["phone"]),
                  flush=True)
            wait_until(lambda: any(x["id"] == call["id"] for x in
                                   request(api, "GET", "/v1/calls", token=admin)[1]["items"]),
                       60, "the call to end")
            placed.append(call["id"])
        s, calls = request(api, "GET", "/v1/calls", token=admin)
        print("\n%-12s %-15s %-9s %-10s %-9s %s" % ("call", "number", "result", "hangup_by",
                                                     "talk_s", "recorded"))
        for x in calls["items"]:
            if x["id"] in placed:
                print("%-12s %-15s %-9s %-10s %-9.1f %s" % (x["id"], x["number"], x["result"],
                                                             x["hangup_by"], x["talk_ms"] / 1000,
                                                             x["recorded"]))
        print("\ndemo: recordings (encrypted) under %s; GET /v1/calls lists the records"
              % os.path.join(args.dir, "recordings"), flush=True)
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

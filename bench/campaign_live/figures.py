"""Figures of a campaign run, measured from real calls (live.py) or predicted by the pacing
simulator (bench/pacing pacing_sim --scenario), with the simulator's definitions
(docs/pacing.md "Simulator"): occupancy = agents' talk + wrap-up inside the measured
period / (agents x period); calls and connects per agent-hour over the period; abandon
rate = abandoned / live answers."""
import json
import statistics
import subprocess


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def overlap_ms(a, b, lo, hi):
    return max(0, min(b, hi) - max(a, lo))


def live_figures(carrier_log, agents_logs, progress, t0_ms, t1_ms, n_agents, wrap_s):
    """carrier_log, agents_logs: JSON lines of waihu-carrier and waihu-agents; progress:
    the campaign's final GET /v1/campaigns/{id} progress; [t0_ms, t1_ms): the measured
    period (wall clock, as the logs' ts_ms)."""
    carrier = read_jsonl(carrier_log)
    invites = [e for e in carrier if e["ev"] == "invite"]
    ends = [e for e in carrier if e["ev"] == "end"]
    answered = [e for e in ends if e["result"] == "answered"]
    bridged = [e for e in answered if e["hangup"] == "carrier"]  # the bridge hangs up abandons
    talks = [c for path in agents_logs for c in read_jsonl(path)
             if c["ev"] == "call" and c["result"] == "answered"]
    wrap_ms = wrap_s * 1000

    def busy_s(spans):
        return sum(overlap_ms(end - talk, end + wrap_ms, t0_ms, t1_ms) for end, talk in spans) / 1e3
    period_s = (t1_ms - t0_ms) / 1e3
    agent_hours = n_agents * period_s / 3600
    talk_busy = busy_s((c["ts_ms"], c["talk_ms"]) for c in talks)
    held_busy = busy_s((e["ts_ms"], e["talk_ms"]) for e in bridged)
    calls = progress["calls"]
    live = calls["answered"] + calls["abandoned"]
    return {
        "period_s": period_s,
        "occupancy": talk_busy / (n_agents * period_s),
        "held_occupancy": held_busy / (n_agents * period_s),
        "setup_ms": 1e3 * (held_busy - talk_busy) / len(talks) if talks else 0.0,
        "calls_per_ah": len(invites) / agent_hours,
        "connects_per_ah": len(talks) / agent_hours,
        "abandon_rate": calls["abandoned"] / live if live else 0.0,
        "answer_rate": len(answered) / len(invites) if invites else 0.0,
        "invites": len(invites),
        "carrier_answered": len(answered),
        "carrier_abandoned": len(answered) - len(bridged),
        "connects": len(talks),
        "tally": calls,
    }


ROW_FIELDS = ("name", "agents", "answer", "talk", "policy", "occupancy", "idle", "calls_per_ah",
              "connects_per_ah", "abandon_rate", "abandon_max_day", "abandon_mean_day", "days")


def sim_rows(pacing_sim, spec):
    """Runs pacing_sim on one custom scenario; returns {policy: row}."""
    out = subprocess.run([pacing_sim, "--scenario", spec, "--quiet"], check=True,
                         capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        if line.startswith("ROW "):
            row = dict(zip(ROW_FIELDS, line.split()[1:]))
            for k in ROW_FIELDS[5:12]:
                row[k] = float(row[k])
            rows[row["policy"]] = row
    return rows


def sim_means(pacing_sim, spec_of_seed, seeds):
    """Means over independent cold-start runs (one seed each): {policy: figures}."""
    runs = [sim_rows(pacing_sim, spec_of_seed(s)) for s in seeds]
    keys = ("occupancy", "calls_per_ah", "connects_per_ah", "abandon_rate")
    return {pol: {k: statistics.mean(r[pol][k] for r in runs) for k in keys}
            for pol in runs[0] if all(pol in r for r in runs)}

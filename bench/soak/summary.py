"""Rows of the soak (one per interval), RSS per uninterrupted stretch of each node, and
the end: the invariant breakdown and the RESULT line."""
import datetime
import re
import math
import os
import statistics

FIELDS = ["row", "t_s", "time", "phase", "nodes_ready", "faults", "faults_in_row", "invites",
          "carrier_answered", "attempts", "answered", "abandoned", "connect_rate",
          "answer_rate", "abandon_rate", "abandon_rate_cum", "occupancy", "occupancy_sim",
          "calls_today", "connects_today", "agents_ready", "agents_registered",
          "agents_by_node", "reready", "agent_orphans",
          "probes", "probe_errors", "p50_ms", "p99_ms", "rss_n1_mib", "rss_n2_mib",
          "rss_n3_mib", "cpu_n1", "cpu_n2", "cpu_n3", "disk_mib", "campaign", "leads_ready",
          "cdrs", "matched", "lost_fault",
          "cdr_missing", "cdr_extra", "overlap", "dnc", "abandon_over_cap",
          "invariant_failures"]


def utc(ms):
    return datetime.datetime.fromtimestamp(ms / 1e3, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return None
    return xs[min(len(xs) - 1, max(0, int(math.ceil(q * len(xs))) - 1))]


def fmt(x, spec):
    return "" if x is None else spec % x


class Summary:
    def __init__(self, args, node_ids):
        self.a = args
        self.rows = []
        self.prev = None
        self.segments = {n: [] for n in node_ids}   # node -> [{"start", "samples"}]
        self.over_cap = {}                          # campaign id -> (abandoned, live)
        self.faults_seen = 0
        self.path_lat = []                          # per row: {probe path: [ms]}

    def start(self, cluster):
        for n in cluster.nodes:
            self.segments[n.id].append({"start": 0.0, "initial": True, "samples": []})

    def node_started(self, nid, t):
        self.segments[nid].append({"start": t, "initial": False, "samples": []})

    def add_row(self, elapsed, lo_ms, hi_ms, invites, carrier_answered, totals, abandon_over,
                wallboard, agents, busy_sim_s, probes, rss, cpu, nodes_up, ledger, faults, reready,
                orphans, campaign, leads_left, disk_bytes):
        secs = (hi_ms - lo_ms) / 1e3
        mine = [g for g in wallboard.get("agents", []) if g["name"] in agents]
        busy = sum(g["stats"]["talk_s"] + g["stats"]["wrap_s"] for g in mine)
        idle = sum(g["stats"]["idle_s"] for g in mine)
        cur = {"attempts": totals["attempts"], "answered": totals["answered"],
               "abandoned": totals["abandoned"], "busy": busy, "idle": idle}
        prev = self.prev or {k: 0 for k in cur}
        d = {k: cur[k] - prev[k] for k in cur}
        self.prev = cur
        live = d["answered"] + d["abandoned"]
        live_cum = totals["answered"] + totals["abandoned"]
        occ = None
        if d["busy"] >= 0 and d["idle"] >= 0 and d["busy"] + d["idle"] > 0 and self.rows:
            occ = d["busy"] / (d["busy"] + d["idle"])   # a new local day resets the tallies
        for cid, ab, lv in abandon_over:
            self.over_cap.setdefault(cid, (ab, lv))
        lat = [ms for ms, s, _ in probes if ms is not None and 200 <= s < 300]
        errors = sum(1 for ms, s, _ in probes if not 200 <= s < 300)
        by_path = {}
        for ms, s, path in probes:
            if ms is not None and 200 <= s < 300:
                by_path.setdefault(re.sub(r"/\d+", "/{id}", path), []).append(ms)
        self.path_lat.append(by_path)
        for nid, kib in rss.items():
            if kib:
                self.segments[nid][-1]["samples"].append((elapsed, kib / 1024))
        counts = ledger.counts()
        by_state = wallboard.get("totals", {}).get("by_state", {})
        row = {
            "row": len(self.rows) + 1, "t_s": round(elapsed, 1),
            "time": utc(hi_ms),
            "phase": "warmup" if elapsed - secs < self.a.warmup - 1 else "measure",
            "nodes_ready": nodes_up, "faults": faults,
            "faults_in_row": faults - self.faults_seen, "invites": invites,
            "carrier_answered": carrier_answered, "attempts": d["attempts"],
            "answered": d["answered"], "abandoned": d["abandoned"],
            "connect_rate": fmt(d["answered"] / d["attempts"] if d["attempts"] else None, "%.4f"),
            "answer_rate": fmt(carrier_answered / invites if invites else None, "%.4f"),
            "abandon_rate": fmt(d["abandoned"] / live if live else None, "%.4f"),
            "abandon_rate_cum": fmt(totals["abandoned"] / live_cum if live_cum else None, "%.4f"),
            "occupancy": fmt(occ, "%.4f"),
            "occupancy_sim": "%.4f" % (busy_sim_s / (len(agents) * secs)),
            "calls_today": wallboard.get("totals", {}).get("calls_today", ""),
            "connects_today": wallboard.get("totals", {}).get("connects_today", ""),
            "agents_ready": by_state.get("ready", 0),
            "agents_registered": sum(1 for g in mine if g["registered"]),
            "agents_by_node": "/".join(str(sum(1 for g in mine if g["registered"] and
                                               g["node"] in (str(i), "n%d" % i)))
                                       for i in (1, 2, 3)),
            "reready": reready, "agent_orphans": orphans,
            "probes": len(probes), "probe_errors": errors,
            "p50_ms": fmt(pct(lat, 0.5), "%.1f"), "p99_ms": fmt(pct(lat, 0.99), "%.1f"),
            "disk_mib": "%.0f" % (disk_bytes / 2**20), "campaign": campaign,
            "leads_ready": leads_left, "cdrs": ledger.totals["cdrs"],
            "matched": ledger.totals["matched"], "lost_fault": ledger.info["lost_fault"],
            "cdr_missing": counts["cdr_missing"], "cdr_extra": counts["cdr_extra"],
            "overlap": counts["overlap"], "dnc": counts["dnc"],
            "abandon_over_cap": len(self.over_cap),
            "invariant_failures": ledger.failures() + len(self.over_cap)}
        for nid in (1, 2, 3):
            row["cpu_n%d" % nid] = fmt(cpu.get(nid), "%.3f")
            row["rss_n%d_mib" % nid] = "%.1f" % (rss.get(nid, 0) / 1024) if rss.get(nid) else ""
        self.faults_seen = faults
        self.rows.append(row)
        return row

    def line(self, r):
        rss = "/".join(r["rss_n%d_mib" % i].split(".")[0] or "-" for i in (1, 2, 3))
        return ("%7.0fs %5d %6d %6s %6s %7s %7s %6s %6s %3d/%-3d %-15s %s" % (
            r["t_s"], r["row"], r["attempts"],
            fmt(float(r["connect_rate"]) * 100 if r["connect_rate"] else None, "%.1f"),
            fmt(float(r["abandon_rate"]) * 100 if r["abandon_rate"] else None, "%.2f"),
            r["occupancy"], r["occupancy_sim"], r["p50_ms"], r["p99_ms"], r["agents_ready"],
            r["agents_registered"], rss,
            "%d (missing %d, extra %d, overlap %d, dnc %d, cap %d; lost to faults %d)%s" % (
                r["invariant_failures"], r["cdr_missing"], r["cdr_extra"], r["overlap"],
                r["dnc"], r["abandon_over_cap"], r["lost_fault"],
                " fault" if r["faults_in_row"] else "")))

    # ---- end figures ----
    def fluctuation(self, skip_faults=False):
        """Max relative change of the connect rate between consecutive blocks of
        --fluct-rows measured rows (%), and the median 2-sigma binomial noise of those
        changes (%). skip_faults: pairs where either block held a fault are left out."""
        k = max(1, getattr(self.a, "fluct_rows", 1))
        rs = [r for r in self.rows if r["phase"] == "measure" and r["attempts"]]
        blocks = []
        for i in range(0, len(rs) - k + 1, k):
            part = rs[i:i + k]
            n = sum(r["attempts"] for r in part)
            blocks.append((sum(r["answered"] for r in part) / n, n,
                           any(r["faults_in_row"] for r in part)))
        worst, noise = None, []
        for (p1, n1, f1), (p2, n2, f2) in zip(blocks, blocks[1:]):
            if (skip_faults and (f1 or f2)) or p1 <= 0:
                continue
            ch = abs(p2 - p1) / p1 * 100
            worst = ch if worst is None else max(worst, ch)
            p = (p1 + p2) / 2
            noise.append(200 * math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2)) / p)
        return worst, (statistics.median(noise) if noise else None)

    def rss_growth(self):
        """Per node and uninterrupted stretch: RSS at the first row past warm-up, at the
        last row, growth %."""
        out = []
        for nid, segs in self.segments.items():
            for s in segs:
                from_t = self.a.warmup if s["initial"] else max(self.a.warmup,
                                                                s["start"] + self.a.segment_warmup)
                xs = [(t, m) for t, m in s["samples"] if t >= from_t]
                if len(xs) >= 2:
                    out.append((nid, s["start"], xs[0][0], xs[-1][0], xs[0][1], xs[-1][1],
                                100 * (xs[-1][1] - xs[0][1]) / xs[0][1]))
        return out

    def final(self, run_s, ledger, over, totals, faults, reready, campaigns, dnc, say,
              partial=False):
        for cid, ab, lv in over:
            self.over_cap.setdefault(cid, (ab, lv))
        fails = ledger.failures() + len(self.over_cap)
        t = ledger.totals
        say("")
        say("soak%s: %.0f s, %d rows, %d faults; %d campaigns; %d numbers on the DNC list",
            " (partial)" if partial else "", run_s, len(self.rows), faults, len(campaigns), dnc)
        if totals:
            say("calls: carrier saw %d INVITEs (%d answered); the campaigns' tallies %d attempts, "
                "%d answered by agents, %d abandoned (%.2f%% of live answers, cap %.0f%%)",
                t["invites"], t["answered"], totals["attempts"], totals["answered"],
                totals["abandoned"], 100 * totals["abandoned"] /
                max(1, totals["answered"] + totals["abandoned"]), 100 * 0.03)
            if totals["attempts"] > t["invites"]:
                say("  %d attempts were committed but never reached the carrier (node logs: "
                    "\"call not placed\")", totals["attempts"] - t["invites"])
        say("CDRs: %d call.ended events, %d matched to a carrier call; %d carrier calls lost with "
            "the node the nemesis stopped (no CDR: see docs/soak.md), %d CDRs of calls that "
            "never reached the carrier, %d carrier calls never ended",
            t["cdrs"], t["matched"], ledger.info["lost_fault"], ledger.info["cdr_unsent"],
            ledger.info["never_ended"])
        counts = ledger.counts()
        say("invariants: %d failures (CDR missing %d, extra CDR %d, number dialed twice at once "
            "%d, DNC number dialed %d, campaigns over the abandon cap %d)", fails,
            counts["cdr_missing"], counts["cdr_extra"], counts["overlap"], counts["dnc"],
            len(self.over_cap))
        with open(os.path.join(self.a.out, "breaches.txt"), "w") as f:
            for kind, items in ledger.fail.items():
                for line in items:
                    f.write("%s: %s\n" % (kind, line))
            for cid, (ab, lv) in self.over_cap.items():
                f.write("abandon_cap: campaign %s abandoned %d of %d live answers\n"
                        % (cid, ab, lv))
        for kind, items in ledger.fail.items():
            for line in items[:5]:
                say("  %s: %s", kind, line)
            if len(items) > 5:
                say("  %s: ... %d more in breaches.txt", kind, len(items) - 5)
        fl, noise = self.fluctuation()
        fl_quiet, _ = self.fluctuation(skip_faults=True)
        k = max(1, getattr(self.a, "fluct_rows", 1))
        say("connect rate (answered by agents / attempts) after warm-up, %s: max change "
            "between consecutive ones %s%% (without those holding a fault: %s%%); binomial "
            "noise of such a change (2 sigma, median) %s%%",
            "per row" if k == 1 else "per block of %d rows" % k, fmt(fl, "%.1f"),
            fmt(fl_quiet, "%.1f"), fmt(noise, "%.1f"))
        growth = self.rss_growth()
        for nid, start, t1, t2, m1, m2, g in growth:
            say("RSS n%d (running since %.0f s): %.1f MiB at %.0f s -> %.1f MiB at %.0f s: %+.1f%%",
                nid, start, m1, t1, m2, t2, g)
        if not growth:
            say("RSS: no stretch of a node lasted past its warm-up with two rows: no growth figure")
        gmax = max((g for *_, g in growth), default=None)
        measured = [(r, p) for r, p in zip(self.rows, self.path_lat) if r["phase"] == "measure"]
        if len(measured) >= 2:
            first, last = measured[0], measured[-1]
            for path in sorted(last[1]):
                a, b = first[1].get(path, []), last[1][path]
                say("probe %-36s p50 %s -> %s ms, p99 %s -> %s ms (row %d -> row %d)", path,
                    fmt(pct(a, 0.5), "%.1f"), fmt(pct(b, 0.5), "%.1f"), fmt(pct(a, 0.99), "%.1f"),
                    fmt(pct(b, 0.99), "%.1f"), first[0]["row"], last[0]["row"])
        cpu = []
        for i in (1, 2, 3):
            xs = [float(r["cpu_n%d" % i]) for r in self.rows if r.get("cpu_n%d" % i)]
            cpu.append("n%d %s" % (i, fmt(statistics.mean(xs) if xs else None, "%.3f") or "-"))
        say("CPU of the nodes (cores, mean over rows they ran through): %s", ", ".join(cpu))
        lat = [float(r["p99_ms"]) for r in self.rows if r["p99_ms"]]
        say("API probes: p99 per row median %s ms, worst %s ms; agents set ready by the soak "
            "after being left online: %d; agents' legs left up by a killed node (until the "
            "softphone's own 10-minute timer): %s",
            fmt(statistics.median(lat) if lat else None, "%.1f"),
            fmt(max(lat) if lat else None, "%.1f"), reready,
            self.rows[-1].get("agent_orphans", "?") if self.rows else 0)
        say("RESULT duration_s=%d intervals=%d invariant_failures=%d connect_rate_fluct_pct=%s "
            "rss_growth_pct_max=%s faults=%d", round(run_s), len(self.rows), fails,
            fmt(fl, "%.1f") or "nan", fmt(gmax, "%.1f") or "nan", faults)

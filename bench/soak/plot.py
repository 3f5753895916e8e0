#!/usr/bin/env python3
"""Plots a soak's results folder: python3 bench/soak/plot.py OUT. Always writes
OUT/soak.gp (gnuplot script over intervals.csv and faults.csv); draws OUT/soak.png with
python3-matplotlib when it is installed, else with gnuplot when that is."""
import csv
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from summary import FIELDS  # noqa: E402

# Column numbers come from summary.FIELDS (gnuplot counts from 1).
GP = r"""# gnuplot soak.gp  (in the results folder) -> soak.png
set datafile separator ","
set terminal pngcairo size 1200,1400 font ",10"
set output "soak.png"
set multiplot layout 4,1 title "Waihu soak: rows every interval; faults marked at the bottom (kill -9: x, SIGTERM: +)"
set key outside right
set grid
set xlabel "minutes"
set ylabel "%"
plot "intervals.csv" using (${t_s}/60):(${connect_rate}*100) every ::1 with linespoints title "connect rate", \
     "" using (${t_s}/60):(${answer_rate}*100) every ::1 with lines title "carrier answer rate", \
     "" using (${t_s}/60):(${abandon_rate}*100) every ::1 with lines title "abandon rate", \
     "faults.csv" using ($1/60):(strcol(4) eq "kill-9" ? 0 : 1/0) every ::1 with points pt 2 ps 2 title "kill -9", \
     "" using ($1/60):(strcol(4) eq "sigterm" ? 0 : 1/0) every ::1 with points pt 1 ps 2 title "SIGTERM"
set ylabel "occupancy"
plot "intervals.csv" using (${t_s}/60):{occupancy} every ::1 with linespoints title "agents' tallies (API)", \
     "" using (${t_s}/60):{occupancy_sim} every ::1 with lines title "agents' logs"
set ylabel "ms"
plot "intervals.csv" using (${t_s}/60):{p50_ms} every ::1 with linespoints title "API probe p50", \
     "" using (${t_s}/60):{p99_ms} every ::1 with linespoints title "p99"
set ylabel "RSS MiB"
plot "intervals.csv" using (${t_s}/60):{rss_n1_mib} every ::1 with linespoints title "n1", \
     "" using (${t_s}/60):{rss_n2_mib} every ::1 with linespoints title "n2", \
     "" using (${t_s}/60):{rss_n3_mib} every ::1 with linespoints title "n3"
unset multiplot
"""


def fill(text, cols):
    """{name} -> the column number of that field."""
    for name, i in cols.items():
        text = text.replace("{%s}" % name, str(i))
    return text


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def render(out):
    cols = {name: i + 1 for i, name in enumerate(FIELDS)}
    with open(os.path.join(out, "soak.gp"), "w") as f:
        f.write(fill(GP, cols))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        # Debian's python3-matplotlib lives under /usr/bin/python3; another python3 (pyenv,
        # a venv) first on PATH does not see it.
        if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != \
                os.path.realpath("/usr/bin/python3"):
            r = subprocess.run(["/usr/bin/python3", os.path.abspath(__file__), out],
                               capture_output=True, text=True)
            if r.returncode == 0 and "matplotlib" in r.stdout:
                return r.stdout.strip()
        if shutil.which("gnuplot"):
            subprocess.run(["gnuplot", "soak.gp"], cwd=out, check=True)
            return "plot: %s (gnuplot)" % os.path.join(out, "soak.png")
        return ("plot: neither python3-matplotlib nor gnuplot is installed; %s is ready for "
                "gnuplot" % os.path.join(out, "soak.gp"))
    with open(os.path.join(out, "intervals.csv")) as f:
        rows = list(csv.DictReader(f))
    faults = []
    if os.path.exists(os.path.join(out, "faults.csv")):
        with open(os.path.join(out, "faults.csv")) as f:
            faults = [r for r in csv.DictReader(f) if r["action"] in ("kill-9", "sigterm")]
    t = [float(r["t_s"]) / 60 for r in rows]

    def col(name, scale=1.0):
        return [num(r[name]) * scale if num(r[name]) is not None else float("nan") for r in rows]
    fig, ax = plt.subplots(4, 1, figsize=(11, 13), sharex=True)
    ax[0].plot(t, col("connect_rate", 100), "o-", label="connect rate (agents / attempts)")
    ax[0].plot(t, col("answer_rate", 100), "-", label="carrier answer rate")
    ax[0].plot(t, col("abandon_rate", 100), "-", label="abandon rate")
    ax[0].set_ylabel("%")
    ax[1].plot(t, col("occupancy"), "o-", label="occupancy (agents' tallies, API)")
    ax[1].plot(t, col("occupancy_sim"), "-", label="occupancy (agents' logs)")
    ax[2].plot(t, col("p50_ms"), "o-", label="API probe p50")
    ax[2].plot(t, col("p99_ms"), "o-", label="API probe p99")
    ax[2].set_ylabel("ms")
    for i in (1, 2, 3):
        ax[3].plot(t, col("rss_n%d_mib" % i), "o-", label="n%d" % i)
    ax[3].set_ylabel("RSS MiB")
    ax[3].set_xlabel("minutes")
    for a in ax:
        for fl in faults:
            a.axvline(float(fl["t_s"]) / 60, color="red" if fl["action"] == "kill-9" else "orange",
                      alpha=0.4, lw=1)
        a.grid(alpha=0.3)
        a.legend(loc="best", fontsize=8)
    ax[0].set_title("Waihu soak (faults: red kill -9, orange SIGTERM)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "soak.png"), dpi=90)
    plt.close(fig)
    return "plot: %s (matplotlib; gnuplot script soak.gp beside it)" % os.path.join(out, "soak.png")


if __name__ == "__main__":
    print(render(sys.argv[1]))

#!/usr/bin/env python3
"""Keyword spotting and speed of waihu-speech on synthetic calls (docs/speech.md).

Each call is stereo 8 kHz 16-bit through a G.711 mu-law round trip: the customer (left)
speaks flite sentences, half of the calls with "complaint" or "contract" in varied
sentences, the others controls with confusable words; the agent (right) speaks other
flite sentences, some with the keywords too, so that a hit on the wrong channel counts
as a false positive. Python 3 standard library only; needs flite, sox and waihu-speech.

  bench.py --tool waihu-speech [--calls 100] [--seed 2] [--tune-seed 1 --tune-calls 40]

With --tune-seed, per-keyword thresholds are chosen on calls of that seed (best F1 over a
grid) and then measured on --seed calls, which were not used to choose them."""
import argparse
import array
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import wave

RATE = 8000
KEYWORDS = ["complaint", "contract"]
VOICES = ["slt", "awb", "rms", "kal"]

POSITIVE = {
    "complaint": [
        "I want to file a complaint about my last bill",
        "this is a formal complaint about your service",
        "I already made a complaint last week and nobody called me back",
        "where do I send a complaint about the engineer",
        "my complaint is that the internet keeps dropping",
        "I am calling with a complaint about the delivery",
    ],
    "contract": [
        "I never signed a contract with your company",
        "can you send me a copy of the contract please",
        "my contract ends in March and I want to cancel",
        "the contract says the price is fixed for two years",
        "I would like to end the contract today",
        "what does the contract say about early cancellation",
    ],
}
# Customer sentences without keywords; several sound close to them.
CONTROL = [
    "I would like to pay a compliment to the engineer who came yesterday",
    "please update the contact number on my account",
    "the concert tickets arrived on time, thank you",
    "I need to complete the form before Friday",
    "can you explain the contrast between the two plans",
    "the train was late again so I missed the appointment",
    "my neighbour recommended your company",
    "I think the payment went through on Monday",
    "could you check my address and my phone number",
    "the complete package was delivered to the wrong house",
    "I want to compare the prices of the two offers",
    "we can talk about it tomorrow morning",
]
AGENT = [
    "thank you for calling, how can I help you today",
    "let me check your account for a moment",
    "I understand, I will look into it right away",
    "is there anything else I can do for you",
    "could you confirm your date of birth please",
    "I have updated your details in our system",
    "one moment please, I am transferring you to billing",
    "thank you for your patience, have a nice day",
]
AGENT_KEYWORD = [
    ("contract", "your contract is valid until the end of the year"),
    ("complaint", "I have registered your complaint with our team"),
]


def flite_pcm(tmp, text, voice, cache):
    """flite speech as 8 kHz mono 16-bit samples through a mu-law round trip."""
    key = (text, voice)
    if key in cache:
        return cache[key]
    wav16 = os.path.join(tmp, "f.wav")
    raw = os.path.join(tmp, "f.raw")
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", wav16], check=True)
    # G.711 mu-law and back, as the recorder hears a carrier leg.
    subprocess.run(["sox", wav16, "-r", str(RATE), "-c", "1", "-e", "mu-law", "-t", "raw",
                    raw + ".ul"], check=True)
    subprocess.run(["sox", "-r", str(RATE), "-c", "1", "-e", "mu-law", "-t", "raw",
                    raw + ".ul", "-e", "signed-integer", "-b", "16", "-t", "raw", raw],
                   check=True)
    pcm = array.array("h")
    with open(raw, "rb") as f:
        pcm.frombytes(f.read())
    cache[key] = pcm
    return pcm


def make_call(rng, idx, tmp, out_dir, cache):
    """Writes call idx; returns its truth: {(channel, keyword)} said in it."""
    cust_voice = rng.choice(VOICES)
    agent_voice = rng.choice([v for v in VOICES if v != cust_voice])
    truth = set()
    positive = idx % 2 == 0
    cust = [rng.choice(CONTROL)]
    if positive:
        kw = KEYWORDS[(idx // 2) % 2]
        cust.insert(rng.randrange(2), rng.choice(POSITIVE[kw]))
        truth.add(("customer", kw))
    else:
        cust.append(rng.choice([c for c in CONTROL if c != cust[0]]))
    agent = rng.sample(AGENT, 3)
    if rng.random() < 0.25:
        kw, text = rng.choice(AGENT_KEYWORD)
        agent[1] = text
        truth.add(("agent", kw))
    # Turns: agent, customer, agent, customer, agent; sometimes the next one starts early.
    turns = [("agent", agent[0]), ("customer", cust[0]), ("agent", agent[1]),
             ("customer", cust[1]), ("agent", agent[2])]
    t = int(0.5 * RATE)
    placed = []
    for who, text in turns:
        pcm = flite_pcm(tmp, text, cust_voice if who == "customer" else agent_voice, cache)
        placed.append((who, t, pcm))
        gap = rng.uniform(-0.6, 1.2) if rng.random() < 0.2 else rng.uniform(0.3, 1.2)
        t += len(pcm) + int(gap * RATE)
    total = t + RATE
    left = array.array("h", bytes(2 * total))
    right = array.array("h", bytes(2 * total))
    gain = {"customer": 10 ** (rng.uniform(-6, 0) / 20), "agent": 10 ** (rng.uniform(-6, 0) / 20)}
    for who, start, pcm in placed:
        dst = left if who == "customer" else right
        g = gain[who]
        for i, s in enumerate(pcm):
            dst[start + i] = max(-32768, min(32767, int(s * g)))
    inter = array.array("h", bytes(4 * total))
    inter[0::2] = left
    inter[1::2] = right
    path = os.path.join(out_dir, "call%03d.wav" % idx)
    with open(path[:-4] + ".txt", "w") as f:
        f.write("".join("%s %s %.2f %s\n" % (who, cust_voice if who == "customer" else
                                                agent_voice, start / RATE, text)
                        for (who, text), (_, start, _) in zip(turns, placed)))
    with wave.open(path, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(inter.tobytes())
    return path, truth


def make_calls(n, seed, out_dir):
    rng = random.Random(seed)
    tmp = tempfile.mkdtemp(prefix="waihu-speech-flite-")
    cache = {}
    try:
        return [make_call(rng, i, tmp, out_dir, cache) for i in range(n)]
    finally:
        shutil.rmtree(tmp)


def keyword_arg(thresholds):
    return ",".join("%s/%g" % (k, thresholds[k]) for k in KEYWORDS)


def analyse(tool, paths, thresholds, jobs=2, prefix=()):
    """Runs the tool over paths in `jobs` processes (the model loads once per process)."""
    chunks = [paths[i::jobs] for i in range(jobs)]
    procs = [subprocess.Popen(list(prefix) + [tool, "analyse", "--keywords",
                                              keyword_arg(thresholds)] + c,
                              stdout=subprocess.PIPE, text=True) for c in chunks if c]
    docs = {}
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            sys.exit("waihu-speech failed (%d)" % p.returncode)
        for line in out.splitlines():
            d = json.loads(line)
            docs[d["file"]] = d
    return docs


def score(calls, docs):
    """Per keyword: true positives, false positives, false negatives over (call, channel)."""
    stats = {k: [0, 0, 0] for k in KEYWORDS}
    for path, truth in calls:
        found = set()
        for ch in ("customer", "agent"):
            for h in docs[path]["channels"][ch]["hits"]:
                found.add((ch, h["keyword"]))
        for ch, k in found | truth:
            if k not in stats:
                continue
            if (ch, k) in found and (ch, k) in truth:
                stats[k][0] += 1
            elif (ch, k) in found:
                stats[k][1] += 1
            else:
                stats[k][2] += 1
    return stats


def pr(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r


def tune(tool, calls, grid):
    """Per keyword, the threshold of best F1 (ties: the middle of the tied range)."""
    paths = [p for p, _ in calls]
    per = {k: [] for k in KEYWORDS}
    for t in grid:
        stats = score(calls, analyse(tool, paths, {k: t for k in KEYWORDS}))
        for k in KEYWORDS:
            p, r = pr(*stats[k])
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            per[k].append((f1, t))
            print("tune %-9s threshold=%-7g precision=%.3f recall=%.3f f1=%.3f" % (k, t, p, r, f1))
    best = {}
    for k in KEYWORDS:
        top = max(f for f, _ in per[k])
        tied = [t for f, t in per[k] if f == top]
        best[k] = tied[len(tied) // 2]
    return best


def concurrency(tool, paths, thresholds, n, per_process=3):
    """n processes pinned to CPU 0, each analysing per_process calls in a row (the model
    loads once per process, as in a worker pool). Returns the worst real-time factor (wall
    time of an analysis / audio length) over the calls after each process's first (below
    1: n concurrent calls per core keep up), and the share of CPU 0 the processes got
    (their CPU time / wall time of the run; other jobs on the machine take the rest)."""
    prefix = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    procs = [subprocess.Popen(prefix + [tool, "analyse", "--keywords", keyword_arg(thresholds)]
                              + [paths[(i * per_process + j) % len(paths)]
                                 for j in range(per_process)],
                              stdout=subprocess.PIPE, text=True) for i in range(n)]
    worst = 0.0
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            sys.exit("waihu-speech failed under concurrency")
        for line in out.splitlines()[1:]:
            d = json.loads(line)
            worst = max(worst, d["processing_s"] / d["audio_s"])
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return worst, min(1.0, cpu / wall)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tool", required=True)
    ap.add_argument("--calls", type=int, default=100)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--tune-seed", type=int)
    ap.add_argument("--tune-calls", type=int, default=40)
    # pocketsphinx kws thresholds that change anything on this audio lie far above 1e-10.
    ap.add_argument("--grid", default="1e-20,1e-10,1,1e10,1e20,1e30")
    ap.add_argument("--threshold", action="append", default=[],
                    help="KEYWORD=T, fixed thresholds instead of tuning")
    ap.add_argument("--concurrent", type=int, default=20)
    ap.add_argument("--keep", help="directory to keep the calls in")
    args = ap.parse_args()

    work = args.keep or tempfile.mkdtemp(prefix="waihu-speech-bench-")
    os.makedirs(work, exist_ok=True)
    try:
        thresholds = {k: 1e-10 for k in KEYWORDS}
        for kv in args.threshold:
            k, v = kv.split("=")
            thresholds[k] = float(v)
        if args.tune_seed is not None:
            tdir = os.path.join(work, "tune")
            os.makedirs(tdir, exist_ok=True)
            tcalls = make_calls(args.tune_calls, args.tune_seed, tdir)
            thresholds = tune(args.tool, tcalls, [float(g) for g in args.grid.split(",")])
            print("tuned on seed %d (%d calls): %s" % (args.tune_seed, args.tune_calls,
                                                        keyword_arg(thresholds)))
        mdir = os.path.join(work, "measure")
        os.makedirs(mdir, exist_ok=True)
        t0 = time.monotonic()
        calls = make_calls(args.calls, args.seed, mdir)
        print("generated %d calls (seed %d) in %.0f s" % (len(calls), args.seed,
                                                          time.monotonic() - t0))
        paths = [p for p, _ in calls]
        docs = analyse(args.tool, paths, thresholds, jobs=1)
        stats = score(calls, docs)
        tot = [sum(s[i] for s in stats.values()) for i in range(3)]
        for k in KEYWORDS:
            p, r = pr(*stats[k])
            print("keyword %-9s tp=%d fp=%d fn=%d precision=%.3f recall=%.3f"
                  % (k, *stats[k], p, r))
        precision, recall = pr(*tot)
        audio = sum(d["audio_s"] for d in docs.values())
        wall = sum(d["processing_s"] for d in docs.values())
        cpu = sum(d["cpu_s"] for d in docs.values())
        rtf = wall / audio
        cpu_rtf = cpu / audio
        print("one decoder: %.0f s of audio in %.1f s (cpu %.1f s): rtf=%.4f cpu_rtf=%.4f"
              % (audio, wall, cpu, rtf, cpu_rtf))
        for n in sorted(set([max(1, args.concurrent // 4), max(1, args.concurrent // 2),
                             args.concurrent])):
            worst, share = concurrency(args.tool, paths, thresholds, n)
            print("%2d processes pinned to CPU 0: slowest real-time factor %.3f (%s); they got "
                  "%.0f%% of CPU 0, so on a whole core: %.3f"
                  % (n, worst, "keeps up" if worst < 1.0 else "falls behind", 100 * share,
                     worst * share))
        # Capacity of one core: concurrent calls whose analysis fits in real time, from the
        # CPU time of one decoder; the pinned runs above check it on a shared machine.
        per_core = int(1.0 / cpu_rtf) if cpu_rtf > 0 else 0
        print("RESULT keyword_precision=%.3f keyword_recall=%.3f speech_rtf=%.4f "
              "calls_per_core=%d" % (precision, recall, rtf, per_core))
    finally:
        if not args.keep:
            shutil.rmtree(work)


if __name__ == "__main__":
    main()

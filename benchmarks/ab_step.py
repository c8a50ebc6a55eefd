"""A/B of two builds of the C++ worker bench_step, for changes worth a few
per cent: on this kind of machine one run varies by about ±3 %, so a
change is judged by the median of B/A over pairs of runs taken alternately
(A then B, then B then A), and a pair counts only when the machine was
otherwise idle just before and just after it.

    python benchmarks/ab_step.py --threads 2 --pairs 8 "step 100 400" build/old/bench_step build/new/bench_step
    python benchmarks/ab_step.py --path monitored "step 100 300" A B     # with nnvae-train's validation
    python benchmarks/ab_step.py --env MY_SWITCH=1 "step 1000 30" B B    # one build, a variable off / on

Each run is a fresh process (`bench_step --threads T [--path P]` given the
command, then quit); its "seconds" are compared. Prints one line per pair
and the median B/A (below 1: B is faster).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def cpu_times():
    """(total, idle) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return sum(values), values[3] + values[4]  # idle + iowait


def idle_fraction(seconds=0.5, sample=cpu_times, sleep=time.sleep):
    """The share of CPU time spent idle over the next `seconds`."""
    t0, i0 = sample()
    sleep(seconds)
    t1, i1 = sample()
    return (i1 - i0) / max(1, t1 - t0)


def quiet_pairs(run_a, run_b, pairs, idle=idle_fraction, min_idle=0.9, deadline=None, log=print):
    """B/A for `pairs` quiet pairs: run_a() and run_b() return seconds; the
    pair's order alternates; a pair is kept only when idle() >= min_idle
    before and after it. Stops at `deadline` (time.time()) with fewer."""
    ratios = []
    while len(ratios) < pairs and (deadline is None or time.time() < deadline):
        if idle() < min_idle:
            continue
        order = ("A", "B") if len(ratios) % 2 == 0 else ("B", "A")
        got = {side: (run_a if side == "A" else run_b)() for side in order}
        if idle() < min_idle:
            continue
        ratios.append(got["B"] / got["A"])
        log(f"A {got['A']:.4f} s  B {got['B']:.4f} s  B/A {ratios[-1]:.3f}")
    return ratios


def bench_step_runner(binary, threads, command, path=None, env=None):
    """A function running `binary` once on `command`, returning its seconds."""
    argv = [binary, "--threads", str(threads)] + (["--path", path] if path else [])

    def run():
        out = subprocess.run(argv, input=command + "\nquit\n", capture_output=True, text=True, env=env, check=True)
        reply = json.loads(out.stdout.strip().splitlines()[-1])
        if "error" in reply:
            raise RuntimeError(f"{binary}: {reply['error']}")
        return reply["seconds"]

    return run


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("command", help='a bench_step command, e.g. "step 100 400"')
    p.add_argument("a", help="bench_step build A (the baseline)")
    p.add_argument("b", help="bench_step build B")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--pairs", type=int, default=8)
    p.add_argument("--path", choices=["trainer", "monitored", "graph"])
    p.add_argument("--env", metavar="VAR=VALUE", help="set for B's runs only (A runs without it)")
    p.add_argument("--min-idle", type=float, default=0.9, help="idle share required around a pair (default 0.9)")
    p.add_argument("--minutes", type=float, default=15, help="give up after this long (default 15)")
    args = p.parse_args(argv)
    env_a = dict(os.environ)
    env_b = dict(os.environ)
    if args.env:
        name, _, value = args.env.partition("=")
        env_a.pop(name, None)
        env_b[name] = value
    ratios = quiet_pairs(bench_step_runner(args.a, args.threads, args.command, args.path, env_a),
                         bench_step_runner(args.b, args.threads, args.command, args.path, env_b), args.pairs,
                         idle=lambda: idle_fraction(), min_idle=args.min_idle,
                         deadline=time.time() + 60 * args.minutes)
    if not ratios:
        print("no quiet pair within the time allowed")
        return 1
    print(f"median B/A {statistics.median(ratios):.3f} over {len(ratios)} quiet pairs "
          f"({sum(r < 1 for r in ratios)} with B faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

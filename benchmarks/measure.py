"""The benchmark's measurements: the engine's workers, the matrix-product
speeds, alternating training rounds against the PyTorch twin, and the peak
memory of a whole nnvae-train process. Figures go into plain dicts; the
words around them are report.py's.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import BenchError, Worker, python_worker, thread_env
from workload import flops, flops_per_image, step_products

HERE = Path(__file__).resolve().parent


def build_program(build_dir):
    """Builds benchmarks/bench_step (Release, the engine's own flags) into
    `build_dir` and returns its path."""
    cmds = [["cmake", "-S", str(HERE), "-B", str(build_dir), "-G", "Ninja"],
            ["cmake", "--build", str(build_dir), "--target", "bench_step"]]
    for cmd in cmds:
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        except FileNotFoundError as e:
            raise BenchError(f"building bench_step needs cmake and ninja ({e})") from None
        if r.returncode != 0:
            raise BenchError(f"building bench_step failed ({' '.join(cmd)}):\n" + r.stdout[-3000:])
    return Path(build_dir) / "bench_step"


def engine_worker(program, threads, path="trainer", omp=None, precision="fp32"):
    """The engine's worker: the C++ program when built, else engine_worker.py;
    its products in `precision` ("fp32" or "bf16")."""
    name = f"engine ({threads} thr{', bf16' if precision != 'fp32' else ''})"
    if program is None:
        return python_worker(name, "engine_worker.py", threads, omp, args=("--precision", precision))
    return Worker(name, [str(program), "--threads", str(threads), "--path", path, "--precision", precision],
                  env=thread_env(threads, omp))


def numpy_gflops(threads, batch, omp=None, reps=7):
    """GFLOP/s of numpy's BLAS over the step's products at `threads` (best of
    `reps` blocks of 5 per product), in a child process of its own."""
    code = (
        "import json, sys, time, numpy as np\n"
        "ps = json.loads(sys.argv[1]); reps = int(sys.argv[2]); rng = np.random.default_rng(0); out = []\n"
        "for what, m, k, n in ps:\n"
        "    a = rng.random((m, k), dtype=np.float32); b = rng.random((k, n), dtype=np.float32)\n"
        "    c = np.empty((m, n), np.float32); np.matmul(a, b, out=c); best = 1e30\n"
        "    for _ in range(reps):\n"
        "        t0 = time.perf_counter()\n"
        "        for _ in range(5): np.matmul(a, b, out=c)\n"
        "        best = min(best, (time.perf_counter() - t0) / 5)\n"
        "    out.append(best)\n"
        "print(json.dumps(out))\n")
    r = subprocess.run([sys.executable, "-c", code, json.dumps(step_products(batch)), str(reps)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=thread_env(threads, omp))
    if r.returncode != 0:
        raise BenchError("numpy product timing failed: " + r.stderr[-500:])
    return flops(batch) / sum(json.loads(r.stdout)) / 1e9


def product_gflops(worker, batch, reps, mean=False, cold=False):
    """{"eigen": GFLOP/s, "nnvae": GFLOP/s} over the step's products, from the
    C++ worker: the best of `reps` blocks of 5, or with `mean` their mean.
    With `cold` each product is timed after the worker has overwritten its
    threads' private caches, so that the operands come from L3, as they do
    in a training step."""
    ps = worker.ask(f"matmul {batch} {reps}{' mean' if mean else ''}{' cold' if cold else ''}")["products"]
    return {side: flops(batch) / sum(p[side] for p in ps) / 1e9 for side in ("eigen", "nnvae")}


def training_rounds(engine, twin, batch, rounds, seconds, with_limit, log, names=("nnvae", "PyTorch")):
    """Alternating rounds of the same number of steps on each side (which side
    goes first alternates too). With `with_limit` each round also times the
    step's products in the engine's C++ worker (mean of 5 blocks), so that the
    fraction of the limit compares figures taken under the same load: with
    the operands in cache (the limit) and coming from L3 (what the products
    of a step can do: "products from L3").

    Returns {"steps", "engine_img_s": [...], "torch_img_s": [...] or absent,
    "limit_img_s": [...] and "l3_img_s": [...] or absent}; `log(text)` gets
    one line per round, naming the sides `names`."""
    probe = engine.step(batch, 3) / 3
    steps = max(3, int(round(seconds / max(probe, 1e-6))))
    if twin is not None:
        twin.step(batch, 3)
    res = {"steps": steps, "engine_img_s": []}
    if twin is not None:
        res["torch_img_s"] = []
    if with_limit:
        res["limit_img_s"], res["l3_img_s"] = [], []
    for r in range(rounds):
        order = [("engine", engine), ("torch", twin)]
        for side, w in (order if r % 2 == 0 else order[::-1]):
            if w is not None:
                res[f"{side}_img_s"].append(batch * steps / w.step(batch, steps))
        if with_limit:
            best = max(product_gflops(engine, batch, 5, mean=True).values())
            res["limit_img_s"].append(best * 1e9 / flops_per_image())
            best = max(product_gflops(engine, batch, 5, mean=True, cold=True).values())
            res["l3_img_s"].append(best * 1e9 / flops_per_image())
        log(round_line(res, r, names))
    return res


def round_line(res, r, names=("nnvae", "PyTorch")):
    line = f"    round {r + 1}: {names[0]} {res['engine_img_s'][r]:8.0f} img/s"
    if "torch_img_s" in res:
        t = res["torch_img_s"][r]
        line += f"   {names[1]} {t:8.0f} img/s   ratio {res['engine_img_s'][r] / t:.2f}"
    if "limit_img_s" in res:
        lim = res["limit_img_s"][r]
        line += f"   limit {lim:8.0f}  reached {res['engine_img_s'][r] / lim:.0%}"
    if "l3_img_s" in res:
        line += f"   (products from L3 {res['l3_img_s'][r]:8.0f})"
    return line


def medians(res):
    """The medians over the rounds: engine img/s, and when measured PyTorch
    img/s, the engine/PyTorch ratio, the fraction of the limit; with the
    products timed from L3, the fraction of that speed, and the ratio to
    PyTorch that a step made of its products only would reach ("products
    only ratio": a bound on the engine/PyTorch ratio at this product
    speed)."""
    eng = res["engine_img_s"]
    out = {"engine_img_s": statistics.median(eng)}
    if res.get("torch_img_s"):
        out["torch_img_s"] = statistics.median(res["torch_img_s"])
        out["ratio"] = statistics.median(e / t for e, t in zip(eng, res["torch_img_s"]))
    if res.get("limit_img_s"):
        out["limit_fraction"] = statistics.median(e / lim for e, lim in zip(eng, res["limit_img_s"]))
    if res.get("l3_img_s"):
        out["l3_fraction"] = statistics.median(e / lim for e, lim in zip(eng, res["l3_img_s"]))
        if res.get("torch_img_s"):
            out["products_only_ratio"] = statistics.median(
                lim / t for lim, t in zip(res["l3_img_s"], res["torch_img_s"]))
    return out


# Runs nnvae-train in this process and, at exit, writes the process's peak
# resident set (VmHWM: the high-water mark of its own address space) to the
# file named by NNVAE_BENCH_HWM. (getrusage's ru_maxrss would not do: Linux
# carries the parent's high-water mark into a child across fork and exec.)
_TRAIN_WITH_HWM = """
import atexit, os, sys
def _hwm():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            with open(os.environ['NNVAE_BENCH_HWM'], 'w') as f:
                f.write(line.split()[1])
atexit.register(_hwm)
from nnvae.app.cli import train_main
sys.exit(train_main())
"""


def train_peak_rss(data_dir, iterations, threads, omp=None):
    """(peak RSS in MB, wall seconds) of a whole `nnvae-train` process
    (its default number of iterations when `iterations` is None)."""
    with tempfile.TemporaryDirectory(prefix="nnvae-bench-") as tmp:
        hwm_file = Path(tmp) / "hwm"
        argv = [sys.executable, "-c", _TRAIN_WITH_HWM, "--out", str(Path(tmp) / "run"), "--no-progress",
                "--threads", str(threads)]
        if iterations is not None:
            argv += ["--iterations", str(iterations)]
        if data_dir:
            argv += ["--data-dir", str(data_dir)]
        env = thread_env(threads, omp)
        env["NNVAE_BENCH_HWM"] = str(hwm_file)
        t0 = time.perf_counter()
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else f"exit code {r.returncode}"
            raise BenchError(f"nnvae-train failed: {last}")
        if not hwm_file.is_file():
            raise BenchError("nnvae-train did not report its peak memory (no /proc/self/status?)")
        return int(hwm_file.read_text()) / 1024.0, wall  # kB -> MB


def rotating_rounds(workers, batch, rounds, seconds, log):
    """Rounds in which every worker of `workers` ([(side, Worker)], each
    warm) trains at `batch` for about `seconds` (at least one step); the
    order rotates from round to round, so that no side always follows the
    same one. Returns {side: {"steps": n, "img_s": [...], "outside": [...]}},
    "outside" (when the worker reports "engine_seconds") the fraction of each
    measurement spent outside the engine's calls; `log(text)` gets one line
    per round."""
    res = {}
    for side, w in workers:
        probe = w.step(batch, 1)
        res[side] = {"steps": max(1, int(round(seconds / max(probe, 1e-6)))), "img_s": [], "outside": []}
    for r in range(rounds):
        shift = r % len(workers)
        for side, w in workers[shift:] + workers[:shift]:
            answer = w.ask(f"step {batch} {res[side]['steps']}")
            res[side]["img_s"].append(batch * res[side]["steps"] / answer["seconds"])
            if "engine_seconds" in answer:
                res[side]["outside"].append(1.0 - answer["engine_seconds"] / answer["seconds"])
        log(f"    round {r + 1}: " + "   ".join(f"{side} {res[side]['img_s'][-1]:8.1f}/s" for side, _ in workers))
    return res


def side_medians(res, base="nnvae"):
    """{side: {"img_s": median, "outside": median or absent}} of
    rotating_rounds's figures; the `base` side's also has "vs": {other side:
    the median over the rounds of base's images/s over the other's in the
    same round} (a ratio of the same round's figures, taken under the same
    load)."""
    out = {}
    for side, figures in res.items():
        out[side] = {"img_s": statistics.median(figures["img_s"])}
        if figures["outside"]:
            out[side]["outside"] = statistics.median(figures["outside"])
    if base in res:
        mine = res[base]["img_s"]
        out[base]["vs"] = {side: statistics.median(a / b for a, b in zip(mine, f["img_s"]))
                           for side, f in res.items() if side != base}
    return out

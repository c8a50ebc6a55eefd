"""`nnvae bench`: how fast the tutorial's VAE trains here, and how close to
the machine's limit that is (issue 5; benchmarks/bench_train.py runs this).

It prints, on MNIST-shaped data:
  - the speed of the step's float32 matrix products (Eigen's own, the
    engine's per-thread blocks, numpy's BLAS; 1 and 2 threads) and the limit
    it implies (speed / FLOPs per image), also re-measured in every round so
    that the fraction of it reached compares figures taken under one load;
  - training images per second at batch 100 and 1,000 with 1 and 2 threads,
    nnvae's trainer (VaeTrainer::train, the loop nnvae-train runs, with no
    Python in it) against the PyTorch twin (benchmarks/torch_twin.py) when
    torch is installed: the two measured alternately, several rounds, the
    median ratio reported;
  - the time each function takes in forward and backward (from the engine's
    profiling hook);
  - the peak resident memory of a whole `nnvae-train` process;
  - the issue's targets, each met or not.

Each side runs in its own long-lived worker process, driven over a pipe
(`step B N` -> seconds), so both are warm and neither's threads disturb the
other. The engine's worker is the C++ program benchmarks/bench_step.cpp,
built here from the checkout (it also gives the per-function profile), or,
outside a checkout, a Python process calling nnvae._core.VaeTrainer.train.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..errors import NnvaeError, UsageError

# The model's layers (SPEC §2): (name, inputs, outputs).
LAYERS = [("fc1", 784, 500), ("fc2", 500, 500), ("fc_mu", 500, 50), ("fc_logvar", 500, 50),
          ("fc3", 50, 500), ("fc4", 500, 500), ("fc5", 500, 784)]

# What the issue asks for, at batch 100.
TARGET_VS_TORCH = {1: 1.3, 2: 1.5}
TARGET_LIMIT_FRACTION = 0.70
TARGET_RSS_MB = 200


def step_products(batch):
    """The step's matrix products as (what, m, k, n): C (m, n) = A (m, k) B (k, n).
    Forward X.W for each layer, backward dY.W^T (every layer but fc1, whose
    input needs no gradient) and X^T.dY."""
    out = [(f"{name} X.W", batch, n_in, n_out) for name, n_in, n_out in LAYERS]
    for name, n_in, n_out in LAYERS:
        if name != "fc1":
            out.append((f"{name} dY.WT", batch, n_out, n_in))
        out.append((f"{name} XT.dY", n_in, batch, n_out))
    return out


def flops_per_image():
    """2·m·k·n summed over the step's products, per image (independent of B)."""
    return sum(2 * m * k * n for _, m, k, n in step_products(1))


def repo_root():
    """The checkout this package sits in (python/nnvae/commands/bench.py), or None."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / "benchmarks" / "bench_step.cpp").is_file() else None


def _split_ints(text, what):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"{what}: expected a comma-separated list of integers, got {text!r}")
    if not values or any(v < 1 for v in values):
        raise UsageError(f"{what}: values must be >= 1, got {text!r}")
    return values


def configure(parser):
    parser.add_argument("--threads", default="1,2", metavar="T,..", help="thread counts (default 1,2)")
    parser.add_argument("--batch-sizes", default="100,1000", metavar="B,..", help="batch sizes (default 100,1000)")
    parser.add_argument("--rounds", type=int, default=7, metavar="R",
                        help="alternating engine/PyTorch measurements per setting (default 7)")
    parser.add_argument("--seconds", type=float, default=1.0, metavar="S",
                        help="rough length of one measurement (default 1.0)")
    parser.add_argument("--engine", choices=("auto", "program", "module"), default="auto",
                        help="engine worker: the C++ bench_step program (checkout) or nnvae._core (default auto)")
    parser.add_argument("--path", choices=("trainer", "graph"), default="trainer",
                        help="program worker: time VaeTrainer::train (default) or the tutorial's graph step")
    parser.add_argument("--twin", metavar="FILE", help="the PyTorch twin (default: the checkout's benchmarks/torch_twin.py)")
    parser.add_argument("--no-torch", dest="torch", action="store_false", help="skip the PyTorch comparison")
    parser.add_argument("--no-matmul", dest="matmul", action="store_false", help="skip the matrix-product limit")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="skip per-function times")
    parser.add_argument("--no-memory", dest="memory", action="store_false", help="skip nnvae-train's peak memory")
    parser.add_argument("--data-dir", metavar="D", help="MNIST folder for the memory run (default: nnvae-train's)")
    parser.add_argument("--memory-iterations", type=int, default=300, metavar="N",
                        help="iterations of the nnvae-train run whose memory is measured (default 300)")
    parser.add_argument("--wait-policy", choices=("inherit", "passive", "active"), default="inherit",
                        help="OMP_WAIT_POLICY for both sides' workers (default: as in the environment). On a "
                             "busy machine threads that spin while waiting (libgomp's default) steal the "
                             "cores the work needs: passive is then several times faster with 2 threads")
    parser.add_argument("--spin-count", type=int, metavar="N",
                        help="GOMP_SPINCOUNT for both sides' workers: how long an idle OpenMP thread spins "
                             "before it sleeps (libgomp's default 300000 is ~0.1 s of spinning; 20000 was as "
                             "fast on a quiet machine here and far faster on a busy one)")
    parser.add_argument("--json", metavar="FILE", help="also write every figure to FILE")


# --- workers ---------------------------------------------------------------------

class Worker:
    """A child process answering one JSON line per command line."""

    def __init__(self, name, argv, env=None):
        self.name = name
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                                     bufsize=1)
        self.hello = self._read()

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise NnvaeError(f"{self.name} worker exited (code {code}) without answering")
        reply = json.loads(line)
        if "error" in reply:
            raise NnvaeError(f"{self.name} worker: {reply['error']}")
        return reply

    def ask(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def build_program(root, quiet=False):
    """Builds benchmarks/bench_step (Release, the engine's own flags) and returns its path."""
    build = root / "build" / "bench"
    cmds = [["cmake", "-S", str(root / "benchmarks"), "-B", str(build), "-G", "Ninja"],
            ["cmake", "--build", str(build), "--target", "bench_step"]]
    for cmd in cmds:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise NnvaeError("building bench_step failed:\n" + r.stdout[-3000:])
    return build / "bench_step"


_WAIT_POLICY = None  # set by run() from --wait-policy
_SPIN_COUNT = None  # and from --spin-count


def thread_env(threads):
    env = dict(os.environ)
    if _WAIT_POLICY:
        env["OMP_WAIT_POLICY"] = _WAIT_POLICY
    if _SPIN_COUNT is not None:
        env["GOMP_SPINCOUNT"] = str(_SPIN_COUNT)
    env["OMP_NUM_THREADS"] = str(threads)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    env["MKL_NUM_THREADS"] = str(threads)
    return env


def engine_worker(kind, program, threads, path):
    if kind == "program":
        return Worker(f"engine ({threads} thr)", [str(program), "--threads", str(threads), "--path", path],
                      env=thread_env(threads))
    return Worker(f"engine ({threads} thr)", [sys.executable, "-m", "nnvae.commands.bench", "--worker", "engine",
                                              "--threads", str(threads)], env=_module_env(threads))


def _module_env(threads):
    env = thread_env(threads)
    pkg_parent = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = pkg_parent + os.pathsep + env.get("PYTHONPATH", "")
    return env


def torch_worker(twin, threads):
    return Worker(f"PyTorch ({threads} thr)", [sys.executable, str(twin), "--threads", str(threads)],
                  env=thread_env(threads))


def run_engine_worker(threads):
    """The engine side of the protocol, on nnvae._core (no C++ program needed)."""
    from .. import _core

    images = _synthetic_images(6000)
    trainers = {}
    print(json.dumps({"ready": True, "threads": threads, "path": "module"}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        try:
            if words[0] != "step":
                raise ValueError(f"the module worker has no command {words[0]!r}")
            batch, steps = int(words[1]), int(words[2])
            if batch not in trainers:
                cfg = _core.VaeConfig()
                cfg.batch_size = batch
                cfg.iterations = 1 << 40
                cfg.monitor_interval = 1 << 30  # training steps only, no validation passes
                cfg.threads = threads
                trainers[batch] = _core.VaeTrainer(cfg, images, images[:1000])
            t = trainers[batch]
            t.train(t.iteration + 1)
            t0 = time.perf_counter()
            t.train(t.iteration + steps)
            print(json.dumps({"seconds": time.perf_counter() - t0, "loss": 0.0}), flush=True)
        except Exception as e:
            print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
    return 0


def _synthetic_images(count, seed=1):
    """MNIST-shaped uint8 digits, as the twin and bench_step make them."""
    import numpy as np

    rng = np.random.default_rng(seed)
    r, c = np.mgrid[0:28, 0:28]
    centre = ((r > 5) & (r < 23) & (c > 7) & (c < 21)).reshape(-1)
    u = rng.random((count, 784))
    bright = (150 + 105 * rng.random((count, 784))).astype(np.uint8)
    return np.where(centre & (u < 0.45), bright, np.where(u < 0.02, 90, 0)).astype(np.uint8)


# --- measurements ------------------------------------------------------------------

def numpy_products(threads, batch, reps=7):
    """Seconds per product (best of `reps` blocks) with numpy's BLAS at `threads`."""
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
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=thread_env(threads))
    if r.returncode != 0:
        raise NnvaeError("numpy product timing failed: " + r.stderr[-500:])
    return json.loads(r.stdout)


def product_speeds(worker, batch, reps, mean=False):
    """(Eigen's, the engine's) GFLOP/s over the step's products, from a program
    worker: the best of `reps` blocks, or with `mean` their mean."""
    ps = worker.ask(f"matmul {batch} {reps}{' mean' if mean else ''}")["products"]
    return gflops(batch, [p["eigen"] for p in ps]), gflops(batch, [p["nnvae"] for p in ps])


def gflops(batch, seconds_each):
    flop = sum(2 * m * k * n for _, m, k, n in step_products(batch))
    return flop / sum(seconds_each) / 1e9


def measure_pair(engine, torch_w, batch, rounds, seconds, out, with_products):
    """Alternating rounds of N steps each side; returns the figures.

    With `with_products` each round also times the step's matrix products
    in the engine's worker (the mean of 5 blocks of 5 each), so that the
    fraction of the limit compares figures taken under the same load."""
    # Steps per measurement from a short calibration of the engine, the same
    # for both sides (step for step).
    probe = engine.ask(f"step {batch} 3")["seconds"] / 3
    steps = max(3, int(round(seconds / max(probe, 1e-6))))
    if torch_w is not None:
        torch_w.ask(f"step {batch} 3")
    fpi = flops_per_image()
    eng, tor, ratios, fractions = [], [], [], []
    for r in range(rounds):
        sides = [("engine", engine), ("torch", torch_w)] if r % 2 == 0 else [("torch", torch_w), ("engine", engine)]
        got = {}
        for name, w in sides:
            if w is None:
                continue
            got[name] = batch * steps / w.ask(f"step {batch} {steps}")["seconds"]
        eng.append(got["engine"])
        line = f"    round {r + 1}: nnvae {got['engine']:8.0f} img/s"
        if "torch" in got:
            tor.append(got["torch"])
            ratios.append(got["engine"] / got["torch"])
            line += f"   PyTorch {got['torch']:8.0f} img/s   ratio {got['engine'] / got['torch']:.2f}"
        if with_products:
            limit = max(product_speeds(engine, batch, 5, mean=True)) * 1e9 / fpi
            fractions.append(got["engine"] / limit)
            line += f"   limit {limit:8.0f}  reached {fractions[-1]:.0%}"
        print(line, file=out, flush=True)
    res = {"steps_per_measurement": steps, "engine_img_s": eng, "engine_median": statistics.median(eng)}
    if tor:
        res.update(torch_img_s=tor, torch_median=statistics.median(tor), ratios=ratios,
                   ratio_median=statistics.median(ratios))
    if fractions:
        res.update(limit_fractions=fractions, limit_fraction_median=statistics.median(fractions))
    summary = f"    median: nnvae {res['engine_median']:.0f} img/s"
    if tor:
        summary += f", PyTorch {res['torch_median']:.0f} img/s, ratio {res['ratio_median']:.2f}"
    if fractions:
        summary += f", {res['limit_fraction_median']:.0%} of the matrix-product limit"
    print(summary, file=out, flush=True)
    return res


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
from nnvae.cli import train_main
sys.exit(train_main())
"""


def _train_rss(data_dir, iterations, threads):
    """Peak RSS (MB) and wall time of a whole `nnvae-train` process."""
    with tempfile.TemporaryDirectory(prefix="nnvae-bench-") as tmp:
        hwm_file = Path(tmp) / "hwm"
        argv = [sys.executable, "-c", _TRAIN_WITH_HWM, "--iterations", str(iterations), "--out",
                str(Path(tmp) / "run"), "--no-progress", "--threads", str(threads)]
        if data_dir:
            argv += ["--data-dir", str(data_dir)]
        env = _module_env(threads)
        env["NNVAE_BENCH_HWM"] = str(hwm_file)
        t0 = time.perf_counter()
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else f"exit code {r.returncode}"
            raise NnvaeError(f"nnvae-train failed: {last}")
        if not hwm_file.is_file():
            raise NnvaeError("nnvae-train did not report its peak memory (no /proc/self/status?)")
        return int(hwm_file.read_text()) / 1024.0, wall  # kB -> MB


def find_data_dir(given):
    if given:
        return given
    root = repo_root()
    for cand in ([root / "data" / "mnist", root.parent / "shared" / "data" / "mnist"] if root else []):
        if (cand / "train-images-idx3-ubyte.gz").is_file() or (cand / "train-images-idx3-ubyte").is_file():
            return cand
    return None


# --- the report ----------------------------------------------------------------------

def machine_line():
    cpu = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    flags = []
    try:
        text = Path("/proc/cpuinfo").read_text()
        flags = [f for f in ("avx2", "avx512f") if f" {f} " in text]
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores ({'/'.join(flags) or 'no AVX2'}), Python {platform.python_version()}"


def load_line():
    try:
        one, five, fifteen = os.getloadavg()
        return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min)"
    except OSError:
        return "load average unknown"


def run(args):
    threads = _split_ints(args.threads, "--threads")
    batches = _split_ints(args.batch_sizes, "--batch-sizes")
    if args.rounds < 1:
        raise UsageError("--rounds must be >= 1")
    if not args.seconds > 0:
        raise UsageError("--seconds must be > 0")
    global _WAIT_POLICY, _SPIN_COUNT
    _WAIT_POLICY = None if args.wait_policy == "inherit" else args.wait_policy.upper()
    if _WAIT_POLICY:
        os.environ["OMP_WAIT_POLICY"] = _WAIT_POLICY
    if args.spin_count is not None:
        if args.spin_count < 0:
            raise UsageError("--spin-count must be >= 0")
        _SPIN_COUNT = args.spin_count
        os.environ["GOMP_SPINCOUNT"] = str(args.spin_count)
    out = sys.stdout
    results = {"machine": machine_line(), "flops_per_image": flops_per_image()}

    root = repo_root()
    kind = args.engine
    if kind == "auto":
        kind = "program" if root else "module"
    if kind == "program" and not root:
        raise UsageError("--engine program needs the source checkout (benchmarks/bench_step.cpp)")
    program = None
    if kind == "program":
        print("building benchmarks/bench_step (Release, the engine's flags) ...", file=out, flush=True)
        program = build_program(root)

    twin = None
    if args.torch:
        twin = Path(args.twin) if args.twin else (root / "benchmarks" / "torch_twin.py" if root else None)
        try:
            import importlib.util
            has_torch = importlib.util.find_spec("torch") is not None
        except (ImportError, ValueError):
            has_torch = False
        if not has_torch:
            print("PyTorch not installed: no comparison (pip install torch==2.13.0)", file=out)
            twin = None
        elif twin is None or not twin.is_file():
            print("the PyTorch twin (benchmarks/torch_twin.py) was not found: no comparison", file=out)
            twin = None

    print(f"machine: {results['machine']}", file=out)
    print(f"at start: {load_line()}", file=out)
    waits = {k: os.environ[k] for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT") if k in os.environ}
    print(f"engine worker: {'bench_step --path ' + args.path if kind == 'program' else 'nnvae._core'}; "
          f"OpenMP waiting: {', '.join(f'{k}={v}' for k, v in waits.items()) if waits else 'libgomp default'} "
          f"(both sides)", file=out)
    fpi = flops_per_image()
    print(f"model: {fpi / 1e6:.2f} MFLOP per image per training step in {len(step_products(1))} matrix products",
          file=out, flush=True)

    # 1. The matrix-product limit.
    limits = {}
    if args.matmul:
        print("\n== matrix products of one step (float32, GFLOP/s, best of 7 blocks of 5)", file=out)
        print(f"  {'batch':>5} {'threads':>7} {'Eigen':>8} {'nnvae':>8} {'numpy':>8} {'limit img/s':>12}", file=out)
        results["matmul"] = {}
        for b in batches:
            for t in threads:
                eigen = engine = None
                if kind == "program":
                    w = engine_worker(kind, program, t, args.path)
                    try:
                        eigen, engine = product_speeds(w, b, 7)
                    finally:
                        w.close()
                npy = gflops(b, numpy_products(t, b))
                best = max(v for v in (eigen, engine, npy) if v is not None)
                limits[(b, t)] = best * 1e9 / fpi
                results["matmul"][f"b{b}_t{t}"] = {"eigen_gflops": eigen, "nnvae_gflops": engine,
                                                   "numpy_gflops": npy, "limit_img_s": limits[(b, t)]}
                nan = float("nan")
                print(f"  {b:>5} {t:>7} {eigen or nan:>8.1f} {engine or nan:>8.1f} {npy:>8.1f} "
                      f"{limits[(b, t)]:>12.0f}", file=out, flush=True)
        print("  Eigen: its own product (its OpenMP threads); nnvae: the engine's (per-thread blocks); numpy: its BLAS.\n"
              "  limit = the fastest of them / FLOPs per image: images/s if a step were its products only.", file=out)

    # 2. Training speed, alternating with PyTorch.
    print(f"\n== training speed (synthetic MNIST-shaped uint8 data, Adam, {args.rounds} alternating rounds)", file=out)
    results["training"] = {}
    for b in batches:
        for t in threads:
            print(f"  batch {b}, {t} thread{'s' if t > 1 else ''}:", file=out, flush=True)
            eng = engine_worker(kind, program, t, args.path)
            tor = torch_worker(twin, t) if twin else None
            try:
                res = measure_pair(eng, tor, b, args.rounds, args.seconds, out, kind == "program")
            finally:
                eng.close()
                if tor:
                    tor.close()
            results["training"][f"b{b}_t{t}"] = res
    print(f"  after: {load_line()}", file=out)

    # 3. Per-function times.
    if args.profile and kind == "program":
        results["profile"] = {}
        for t in threads:
            w = engine_worker(kind, program, t, args.path)
            try:
                steps = 200
                rep = w.ask(f"profile 100 {steps}")
            finally:
                w.close()
            if "functions" not in rep:
                break
            total = rep["seconds"] / steps * 1e3
            print(f"\n== where the time goes: batch 100, {t} thread{'s' if t > 1 else ''}, "
                  f"ms per step (whole step {total:.3f} ms)", file=out)
            print(f"  {'function':<24} {'forward':>8} {'backward':>9} {'share':>6}", file=out)
            listed = 0.0
            for e in rep["functions"]:
                f_ms, b_ms = e["forward"] / steps * 1e3, e["backward"] / steps * 1e3
                listed += f_ms + b_ms
                print(f"  {e['name']:<24} {f_ms:>8.3f} {b_ms:>9.3f} {(f_ms + b_ms) / total:>6.1%}", file=out)
            print(f"  {'(graph executor, batch loading)':<24} {total - listed:>18.3f} {(total - listed) / total:>6.1%}",
                  file=out)
            results["profile"][f"t{t}"] = rep
    elif args.profile:
        print("\n(per-function times need the C++ worker: run from the source checkout)", file=out)

    # 4. Peak memory of nnvae-train.
    rss = None
    if args.memory:
        data_dir = find_data_dir(args.data_dir)
        print(f"\n== peak memory of `nnvae-train --iterations {args.memory_iterations}` "
              f"({data_dir or 'its default data folder'})", file=out, flush=True)
        try:
            rss, wall = _train_rss(data_dir, args.memory_iterations, max(threads))
            print(f"  peak RSS {rss:.1f} MB (whole process: Python, numpy, the data set, the engine, the "
                  f"final evaluation, pictures and parameter files), {wall:.1f} s", file=out)
            results["peak_rss_mb"] = rss
        except NnvaeError as e:
            print(f"  not measured: {e}", file=out)

    # 5. The targets.
    print("\n== targets (batch 100)", file=out)
    met_all = True
    for t in threads:
        res = results["training"].get(f"b100_t{t}")
        if not res:
            continue
        if "ratio_median" in res and t in TARGET_VS_TORCH:
            ok = res["ratio_median"] >= TARGET_VS_TORCH[t]
            met_all &= ok
            print(f"  {t} thread{'s' if t > 1 else ' '}: nnvae/PyTorch median ratio {res['ratio_median']:.2f} "
                  f"(target >= {TARGET_VS_TORCH[t]}): {'met' if ok else 'NOT met'}", file=out)
        if "limit_fraction_median" in res:
            frac = res["limit_fraction_median"]
            ok = frac >= TARGET_LIMIT_FRACTION
            met_all &= ok
            print(f"  {t} thread{'s' if t > 1 else ' '}: {frac:.0%} of the matrix-product limit, median over the "
                  f"rounds (target >= {TARGET_LIMIT_FRACTION:.0%}): {'met' if ok else 'NOT met'}", file=out)
        elif (100, t) in limits:
            frac = res["engine_median"] / limits[(100, t)]
            ok = frac >= TARGET_LIMIT_FRACTION
            met_all &= ok
            res["limit_fraction"] = frac
            print(f"  {t} thread{'s' if t > 1 else ' '}: {res['engine_median']:.0f} img/s = {frac:.0%} of the "
                  f"matrix-product limit {limits[(100, t)]:.0f} (target >= {TARGET_LIMIT_FRACTION:.0%}): "
                  f"{'met' if ok else 'NOT met'}", file=out)
    if rss is not None:
        ok = rss < TARGET_RSS_MB
        met_all &= ok
        print(f"  nnvae-train peak RSS {rss:.0f} MB (target < {TARGET_RSS_MB} MB): {'met' if ok else 'NOT met'}",
              file=out)
    results["targets_met"] = met_all
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


def _worker_main(argv):
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", choices=("engine",), required=True)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    return run_engine_worker(a.threads)


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))

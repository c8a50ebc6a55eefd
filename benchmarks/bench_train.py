#!/usr/bin/env python3
"""How fast the tutorial's VAE trains here, and how close to the machine's
matrix-product limit that is.

    pip install .                          # the package, from this checkout
    pip install torch==2.13.0              # optional: the PyTorch comparison
    python benchmarks/bench_train.py       # --help for the options

It prints, on MNIST-shaped synthetic digits:
  - the machine and its load average (figures are only comparable when
    taken on a quiet machine);
  - the speed of the step's float32 matrix products (Eigen's, the engine's,
    numpy's BLAS) and the limit it implies: images/s if a step were its
    products only; and the engine's products with their operands coming
    from L3, as they do inside a step;
  - training images/s per batch size and thread count, nnvae's trainer (the
    loop nnvae-train runs) against the PyTorch twin (torch_twin.py) in
    alternating rounds, with the fraction of the limit reached in each;
    then the same with nnvae's products in bf16 against PyTorch's bf16
    autocast (--precisions; the header says which bf16 path this CPU runs);
  - the time each function takes (the C++ worker's profile);
  - the peak resident memory of a whole `nnvae-train` process;
  - the targets (report.py), each met, NOT met or not measured.

The engine's worker is the C++ program bench_step, built here with cmake from
this checkout (into build/bench unless --build-dir says otherwise), or, when
that cannot be built or with --engine module, engine_worker.py on the
installed nnvae._core (then there is no limit and no profile).
"""
import argparse
import os
import sys
from importlib.util import find_spec
from pathlib import Path

from nnvae.app.datasets import find_dataset_dir

import measure
import report
from harness import BenchError, busy_note, load_line, machine_line, python_worker
from workload import flops_per_image, step_products

HERE = Path(__file__).resolve().parent


def int_list(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of integers >= 1, got {text!r}")
    return values


def precision_list(text):
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values or any(v not in ("fp32", "bf16") for v in values):
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of fp32 and bf16, got {text!r}")
    return values


def positive(kind):
    def parse(text):
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
        return value
    return parse


def parser():
    p = argparse.ArgumentParser(prog="bench_train.py", description=__doc__.splitlines()[0])
    threads, batches = ",".join(map(str, report.THREADS)), ",".join(map(str, report.BATCH_SIZES))
    p.add_argument("--threads", type=int_list, default=list(report.THREADS), metavar="T,..",
                   help=f"thread counts (default {threads})")
    p.add_argument("--batch-sizes", type=int_list, default=list(report.BATCH_SIZES), metavar="B,..",
                   help=f"batch sizes (default {batches})")
    p.add_argument("--rounds", type=positive(int), default=7, metavar="R",
                   help="alternating engine/PyTorch measurements per setting (default 7)")
    p.add_argument("--seconds", type=positive(float), default=1.0, metavar="S",
                   help="rough length of one measurement (default 1.0)")
    p.add_argument("--engine", choices=("auto", "program", "module"), default="auto",
                   help="engine worker: the C++ bench_step, engine_worker.py on nnvae._core, or auto: the "
                        "program if it builds (default)")
    p.add_argument("--path", choices=("trainer", "graph"), default="trainer",
                   help="C++ worker: time VaeTrainer::train (default) or the tutorial's graph step")
    p.add_argument("--build-dir", type=Path, default=HERE.parent / "build" / "bench", metavar="DIR",
                   help="where bench_step is built (default build/bench in this checkout)")
    p.add_argument("--precisions", type=precision_list, default=["fp32", "bf16"], metavar="P,..",
                   help="the products' precisions to train in (default fp32,bf16): bf16 rounds put nnvae in bf16 "
                        "against PyTorch's bf16 autocast")
    p.add_argument("--no-torch", dest="torch", action="store_false", help="skip the PyTorch comparison")
    p.add_argument("--no-matmul", dest="matmul", action="store_false", help="skip the product-speed table")
    p.add_argument("--no-profile", dest="profile", action="store_false", help="skip per-function times")
    p.add_argument("--no-memory", dest="memory", action="store_false", help="skip nnvae-train's peak memory")
    p.add_argument("--data-dir", metavar="D", help="nnvae-train's --data-dir for the memory run (default: "
                   "where nnvae-train looks)")
    p.add_argument("--memory-iterations", type=positive(int), default=300, metavar="N",
                   help="iterations of the nnvae-train run whose memory is measured (default 300)")
    p.add_argument("--default-run", action="store_true",
                   help=f"measure memory on nnvae-train's whole default run instead (about 5 minutes) and judge "
                        f"its wall time on {report.DEFAULT_RUN_THREADS} threads")
    p.add_argument("--wait-policy", choices=("inherit", "passive", "active"), default="inherit",
                   help="OMP_WAIT_POLICY for both sides' workers (default: as in the environment). On a busy "
                        "machine threads that spin while waiting steal the cores the work needs")
    p.add_argument("--spin-count", type=int, metavar="N",
                   help="GOMP_SPINCOUNT for both sides' workers: how long an idle OpenMP thread spins before "
                        "it sleeps (libgomp's default 300000 is ~0.1 s of spinning)")
    p.add_argument("--json", metavar="FILE", help="also write every figure to FILE")
    return p


def say(text=""):
    print(text, flush=True)


def engine_program(args):
    """The C++ worker's path, or None for engine_worker.py."""
    if args.engine == "module":
        return None
    say(f"building bench_step into {args.build_dir} (Release, the engine's flags) ...")
    try:
        return measure.build_program(args.build_dir)
    except BenchError as e:
        if args.engine == "program":
            raise
        say(f"  could not build it, using engine_worker.py (no limit, no profile): {str(e).splitlines()[0]}")
        return None


def has_torch(args):
    if not args.torch:
        return False
    if find_spec("torch") is None:
        say("PyTorch is not installed: no comparison (pip install torch==2.13.0)")
        return False
    return True


def products_table(args, program, omp, results):
    say("\n== matrix products of one step (float32, GFLOP/s, best of 7 blocks of 5)")
    say(report.products_header())
    for b in args.batch_sizes:
        for t in args.threads:
            speeds, l3 = {"eigen": None, "nnvae": None}, None
            if program is not None:
                with measure.engine_worker(program, t, args.path, omp) as w:
                    speeds = measure.product_gflops(w, b, 7)
                    l3 = measure.product_gflops(w, b, 7, cold=True)["nnvae"]
            npy = measure.numpy_gflops(t, b, omp)
            best = report.product_limit(speeds["eigen"], speeds["nnvae"])
            limit = None if best is None else best * 1e9 / flops_per_image()
            say(report.products_row(b, t, speeds["eigen"], speeds["nnvae"], l3, npy, limit))
            results[f"b{b}_t{t}"] = {**speeds, "nnvae_l3": l3, "numpy": npy, "limit_img_s": limit}
    say("  Eigen: its own product; nnvae: the engine's (affine's); numpy: its BLAS (shown, not the limit).\n"
        "  nnvae L3: the engine's, each product timed after its threads' private caches were overwritten,\n"
        "  so that W, X and dY come from L3 as they do in a training step (the step's other work has\n"
        "  evicted them); timed back to back, the products find their operands in L2.\n"
        "  limit = the faster of Eigen and nnvae / FLOPs per image: images/s if a step were its products only.")


def training_table(args, program, twin, omp, results, precision="fp32"):
    """Alternating rounds per batch size and thread count: nnvae against the
    PyTorch twin in fp32, or (precision "bf16") nnvae's bf16 products
    against PyTorch's bf16 autocast. Returns {(batch, threads): medians}."""
    bf16 = precision == "bf16"
    title = "nnvae bf16 products against PyTorch's bf16 autocast" if bf16 else "float32"
    say(f"\n== training speed, {title} (synthetic digits, Adam, {args.rounds} alternating rounds)")
    names = ("nnvae bf16", "PyTorch autocast") if bf16 else ("nnvae", "PyTorch")
    medians = {}
    for b in args.batch_sizes:
        for t in args.threads:
            say(f"  batch {b}, {t} thread{'s' if t > 1 else ''}:")
            with measure.engine_worker(program, t, args.path, omp, precision) as eng:
                tor = (python_worker(f"PyTorch ({t} thr{', autocast' if bf16 else ''})", "torch_twin.py", t, omp,
                                     args=("--autocast",) if bf16 else ()) if twin else None)
                try:
                    # The product limit is fp32's: bf16 rounds are not measured against it.
                    res = measure.training_rounds(eng, tor, b, args.rounds, args.seconds,
                                                  program is not None and not bf16, say, names)
                finally:
                    if tor:
                        tor.close()
            medians[(b, t)] = measure.medians(res)
            say(report.training_summary(medians[(b, t)], names))
            results[f"b{b}_t{t}"] = {**res, "medians": medians[(b, t)]}
    say(f"  after: {load_line()}")
    return medians


def profiles(args, program, omp, results, products, images=20000):
    """Per-function times over about `images` training images per setting;
    with the products table's figures (`products`), the ceiling they and the
    solver's update set on the fraction of the limit."""
    for b in args.batch_sizes:
        steps = max(20, images // b)
        for t in args.threads:
            with measure.engine_worker(program, t, args.path, omp) as w:
                rep = w.ask(f"profile {b} {steps}")
            say()
            for line in report.profile_lines(rep, steps, t, b):
                say(line)
            row = products.get(f"b{b}_t{t}", {})
            update_ms = sum(e["forward"] for e in rep["functions"] if e["name"] == "solver update") / steps * 1e3
            if row.get("limit_img_s") and row.get("nnvae_l3"):
                l3_img_s = row["nnvae_l3"] * 1e9 / flops_per_image()
                say(report.ceiling_line(b, row["limit_img_s"], l3_img_s, update_ms))
                rep["ceiling"] = report.ceiling(b, row["limit_img_s"], l3_img_s, update_ms)[0]
            results[f"b{b}_t{t}"] = rep


def peak_memory(args, omp, results):
    """(peak RSS in MB, the default run's wall seconds), None where not measured."""
    # The MNIST files where nnvae-train looks for them (never fetched here).
    folder = find_dataset_dir("mnist", args.data_dir, check=False)
    iterations = None if args.default_run else args.memory_iterations
    threads = report.DEFAULT_RUN_THREADS if args.default_run else max(args.threads)
    command = "nnvae-train" + ("" if iterations is None else f" --iterations {iterations}") + f" --threads {threads}"
    say(f"\n== peak memory of `{command}` ({folder or 'no MNIST files'})")
    if folder is None:
        say(f"  not measured: no MNIST files in {args.data_dir or 'the data folder'} (give --data-dir)")
        return None, None
    try:
        rss, wall = measure.train_peak_rss(folder, iterations, threads, omp)
    except BenchError as e:
        say(f"  not measured: {e}")
        return None, None
    say(f"  peak RSS {rss:.1f} MB (whole process: Python, numpy, the data set, the engine, the final "
        f"evaluation, pictures and parameter files), {wall:.1f} s ({report.minutes(wall)})")
    results["peak_rss_mb"] = rss
    results["wall_seconds"] = wall
    if iterations is None:
        results["default_run_seconds"] = wall
    else:
        say("  (the default run's wall time is measured with --default-run)")
    return rss, (wall if iterations is None else None)


def run(args):
    omp = {}
    if args.wait_policy != "inherit":
        omp["OMP_WAIT_POLICY"] = args.wait_policy.upper()
    if args.spin_count is not None:
        omp["GOMP_SPINCOUNT"] = str(args.spin_count)
    import nnvae

    path = nnvae.bf16_path()
    results = {"machine": machine_line(), "flops_per_image": flops_per_image(), "bf16_path": path["reason"]}
    program = engine_program(args)
    twin = has_torch(args)

    say(f"machine: {results['machine']}")
    say(f"bf16 products (nnvae-train --precision bf16): {results['bf16_path']}")
    say(f"at start: {load_line()}")
    if busy_note():
        say(f"note: {busy_note()}")
    waits = {k: v for k, v in {**os.environ, **omp}.items() if k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    say(f"engine worker: {'bench_step --path ' + args.path if program else 'engine_worker.py (nnvae._core)'}; "
        f"OpenMP waiting: {', '.join(f'{k}={v}' for k, v in waits.items()) or 'libgomp default'} (both sides)")
    say(f"model: {flops_per_image() / 1e6:.2f} MFLOP per image per training step in "
        f"{len(step_products(1))} matrix products")

    if args.matmul:
        products_table(args, program, omp, results.setdefault("matmul", {}))
    medians = bf16 = None
    if "fp32" in args.precisions:
        medians = training_table(args, program, twin, omp, results.setdefault("training", {}))
    if "bf16" in args.precisions:
        bf16 = training_table(args, program, twin, omp, results.setdefault("training_bf16", {}), "bf16")
    if args.profile and program is not None:
        profiles(args, program, omp, results.setdefault("profile", {}), results.get("matmul", {}))
    elif args.profile:
        say("\n(per-function times need the C++ worker bench_step)")
    rss, default_run = peak_memory(args, omp, results) if args.memory else (None, None)

    lines, overall = report.target_lines(medians or {}, rss, default_run, bf16, path["path"])
    report.finish(say, lines, overall, busy_note(), results, args.json)
    return 0


def main(argv=None):
    p = parser()
    args = p.parse_args(argv)
    try:
        return run(args)
    except BenchError as e:
        p.exit(1, f"bench_train.py: error: {e}\n")


if __name__ == "__main__":
    sys.exit(main())

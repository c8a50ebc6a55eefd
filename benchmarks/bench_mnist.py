#!/usr/bin/env python3
"""How fast NNabla's C++ MNIST programs train on nnvae, against PyTorch
twins and NNabla 1.39's own CPU build.

    pip install .                          # nnvae, from this checkout (or PYTHONPATH=python on a build)
    pip install torch                      # optional: the PyTorch twins
    python tests/nnabla/nnabla_env.py      # optional: NNabla 1.39 in a venv of its own
    python benchmarks/bench_mnist.py       # --help for the options

For each program (mnist_models.py: LeNet, lenet_training.hpp; Siamese,
siamese_training.hpp; DCGAN, dcgan_training.hpp; VAT, vat_training.hpp;
ResNet, resnet_training.hpp) at its batch size (128; DCGAN 64; VAT 100
labeled and 250 unlabeled images) it prints the training images/s (pairs/s
for Siamese, real images/s for DCGAN, labeled images/s for VAT) of its step
on each thread count, the median over alternating rounds in
one run of three long-lived workers:
  - nnvae: the program's graph built with nnvae's NNabla-style Python API
    and stepped as the program steps it (mnist_graph_worker.py); the table
    shows the share of its step spent outside the engine's calls (the Python
    around them, with the batch's conversion to float);
  - PyTorch: the twin of the same layers and initial values in float32,
    torch.set_num_threads matched (mnist_twin.py);
  - NNabla 1.39: the same code as nnvae's side on NNabla's Python API, which
    runs NNabla's C++ CPU kernels; it has no threads (one worker, its figure
    measured beside each thread count);
then the targets (mnist_report.py) and the peak resident memory of each side's
worker after ResNet's training steps at its batch size.

Data: synthetic MNIST-shaped digits (mnist_models.digits; the values do not
change a step's cost). The ResNet program's image augmentation is left out on
every side: the program builds it but never uses it (mnist_models.py).
"""
import argparse
import os
import sys
from importlib.util import find_spec
from pathlib import Path

import measure
import mnist_models
import mnist_report
import report
from bench_train import int_list, positive
from harness import BenchError, busy_note, load_line, machine_line, python_worker

HERE = Path(__file__).resolve().parent
NAMES = {"nnvae": "nnvae", "torch": "PyTorch", "nnabla": "NNabla 1.39"}


def default_nnabla_python():
    """The python of the NNabla venv tests/nnabla/nnabla_env.py makes (not made here)."""
    sys.path.insert(0, str(HERE.parent / "tests" / "nnabla"))
    try:
        import nnabla_env
        return nnabla_env.venv_python()
    except ImportError:
        return None
    finally:
        sys.path.pop(0)


def parser():
    p = argparse.ArgumentParser(prog="bench_mnist.py", description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(mnist_models.MODELS), metavar="M,..",
                   help=f"programs to time (default {','.join(mnist_models.MODELS)})")
    p.add_argument("--threads", type=int_list, default=[1, 2], metavar="T,..", help="thread counts (default 1,2)")
    p.add_argument("--batch", type=positive(int), metavar="B", help="batch size (default: each program's, 128)")
    p.add_argument("--rounds", type=positive(int), default=5, metavar="R",
                   help="alternating measurements per side and setting (default 5)")
    p.add_argument("--seconds", type=positive(float), default=2.0, metavar="S",
                   help="rough length of one measurement, at least one step (default 2.0)")
    p.add_argument("--images", type=positive(int), default=2048, metavar="N",
                   help="synthetic images each worker cycles through (default 2048)")
    p.add_argument("--no-torch", dest="torch", action="store_false", help="skip the PyTorch twins")
    p.add_argument("--no-nnabla", dest="nnabla", action="store_false", help="skip NNabla 1.39")
    p.add_argument("--nnabla-python", metavar="PY", default=default_nnabla_python(),
                   help="the python that imports NNabla 1.39 (default: tests/nnabla/nnabla_env.py's venv)")
    p.add_argument("--no-memory", dest="memory", action="store_false", help="skip the peak memory of ResNet's step")
    p.add_argument("--memory-steps", type=positive(int), default=2, metavar="N",
                   help="training steps before the peak memory is read (default 2)")
    p.add_argument("--json", metavar="FILE", help="also write every figure to FILE")
    return p


def say(text=""):
    print(text, flush=True)


def sides(args):
    """{side: how to start its worker, (script, python, extra args)}, and why each missing side is missing."""
    out, missing = {"nnvae": ("mnist_graph_worker.py", None, ["--api", "nnvae"])}, {}
    if not args.torch:
        missing["torch"] = "--no-torch"
    elif find_spec("torch") is None:
        missing["torch"] = f"PyTorch is not installed for {sys.executable} (pip install torch)"
    else:
        out["torch"] = ("mnist_twin.py", None, [])
    py = args.nnabla_python
    if not args.nnabla:
        missing["nnabla"] = "--no-nnabla"
    elif not py or not os.path.exists(py):
        missing["nnabla"] = (f"no NNabla 1.39 python at {py} (make it with `python tests/nnabla/nnabla_env.py`, "
                             f"or give --nnabla-python)")
    else:
        out["nnabla"] = ("mnist_graph_worker.py", py, ["--api", "nnabla"])
    return out, missing


def start(side, how, model, threads, args):
    script, python, extra = how
    name = f"{NAMES[side]} {model} ({threads} thr)"
    return python_worker(name, script, threads, args=[*extra, "--model", model, "--images", str(args.images)],
                         python=python)


def speed_table(args, model, how, results):
    """{(model, batch, threads): {side: medians}} of one program."""
    batch = args.batch or mnist_models.model(model)["batch"]
    flops = mnist_models.training_flops(model)
    unit = mnist_models.examples(model)
    vat = "unlabeled_per_labeled" in mnist_models.model(model)
    more = f" and {mnist_models.unlabeled(model, batch)} unlabeled" if vat else ""
    say(f"\n== {model} ({mnist_models.model(model)['program']}), batch {batch}{more}: training {unit}/s "
        f"({flops / 1e6:.1f} MFLOP per one of them in the products), median of {args.rounds} rounds")
    table = {}
    fixed = {}  # NNabla's worker, one thread, kept for every thread count
    try:
        if "nnabla" in how:
            fixed["nnabla"] = start("nnabla", how["nnabla"], model, 1, args)
        for t in args.threads:
            workers = {side: start(side, how[side], model, t, args) for side in how if side != "nnabla"}
            try:
                order = [(side, workers.get(side) or fixed.get(side)) for side in mnist_report.SIDES if side in how]
                say(f"  {t} thread{'s' if t > 1 else ''}:")
                res = measure.rotating_rounds(order, batch, args.rounds, args.seconds, say)
            finally:
                for w in workers.values():
                    w.close()
            table[(model, batch, t)] = measure.side_medians(res)
            results[f"{model}_b{batch}_t{t}"] = {"rounds": res, "medians": table[(model, batch, t)]}
    finally:
        for w in fixed.values():
            w.close()
    say(mnist_report.table_header())
    for (_, _, t), row in table.items():
        say(mnist_report.table_row(t, row))
    say(f"  vs: nnvae's {unit}/s over the other side's; outside engine: the share of nnvae's step spent in\n"
        "  Python around the engine's zero_grad, forward, backward and update (with the batch's conversion).")
    return table


def peak_memory(args, how, results, model="resnet"):
    batch = args.batch or mnist_models.model(model)["batch"]
    t = max(args.threads)
    say(f"\n== peak resident memory of a worker after {args.memory_steps} {model} training steps at batch {batch} "
        f"({t} thread{'s' if t > 1 else ''}; each side in a fresh process)")
    for side in mnist_report.SIDES:
        figures = None
        if side in how:
            try:
                with start(side, how[side], model, 1 if side == "nnabla" else t, args) as w:
                    w.step(batch, args.memory_steps)
                    figures = w.ask("memory")
            except BenchError as e:
                say(f"  {NAMES[side]}: {e}")
        results[side] = figures
        say(mnist_report.memory_line(NAMES[side], figures))


def run(args):
    models = [m for m in args.models.split(",") if m]
    for m in models:
        mnist_models.model(m)  # an unknown name stops here
    how, missing = sides(args)
    results = {"machine": machine_line(), "speed": {}, "memory": {}}
    say(f"machine: {results['machine']}")
    say(f"at start: {load_line()}")
    if busy_note():
        say(f"note: {busy_note()}")
    for side, why in missing.items():
        say(f"{NAMES[side]}: not measured: {why}")
    table = {}
    for m in models:
        table.update(speed_table(args, m, how, results["speed"]))
    say(f"  after: {load_line()}")
    if args.memory:
        peak_memory(args, how, results["memory"])
    lines, overall = mnist_report.target_lines(table)
    report.finish(say, lines, overall, busy_note(), results, args.json)
    return 0


def main(argv=None):
    p = parser()
    args = p.parse_args(argv)
    try:
        return run(args)
    except (BenchError, ValueError) as e:
        p.exit(1, f"bench_mnist.py: error: {e}\n")


if __name__ == "__main__":
    sys.exit(main())

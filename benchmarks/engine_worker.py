"""The engine's side of the benchmark in Python: nnvae._core.vae.VaeTrainer.train
(the loop nnvae-train runs, with no Python inside it), speaking the worker
protocol of harness.py. The driver uses it when the C++ worker
benchmarks/bench_step cannot be built (no cmake, or --engine module).

    python benchmarks/engine_worker.py --threads T [--precision fp32|bf16]
"""
import argparse
import sys
import time

from nnvae import _core

from harness import serve
from workload import images


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32", help="the products' precision")
    args = ap.parse_args(argv)
    data = images(6000)
    trainers = {}

    def step(batch, steps):
        if batch not in trainers:
            cfg = _core.vae.VaeConfig()
            cfg.batch_size = batch
            cfg.iterations = 1 << 40  # never reached: the driver asks for steps
            cfg.monitor_interval = 1 << 30  # training steps only, no validation passes
            cfg.threads = args.threads
            cfg.precision = args.precision
            trainers[batch] = _core.vae.VaeTrainer(cfg, data, data[:1000])
        t = trainers[batch]
        t.train(t.iteration + 1)  # warm-up
        t0 = time.perf_counter()
        t.train(t.iteration + steps)
        return time.perf_counter() - t0, 0.0  # the trainer reports no loss without monitoring

    return serve({"threads": args.threads, "path": "module", "precision": args.precision}, step)


if __name__ == "__main__":
    sys.exit(main())

"""`nnvae evaluate --params FILE`: how well saved parameters model the test set.

    nnvae evaluate --params runs/X/parameters.protobuf [--k 100] [--limit N]

Prints the one-sample negative ELBO (the training loss) and the
importance-weighted negative log-likelihood with k samples per image,
-log (1/k) sum_j p(x, z_j) / q(z_j | x), both in nats per image, on the whole
test set or its first N images. Both use a fixed seed.
"""
import argparse
import json
import os
import sys
import time

from ...errors import NnvaeError, UsageError
from ...files import atomic_text
from .. import training
from ..options import INT32_MAX, integer
from .common import add_data_and_threads, check_data_and_threads

# Importance samples per image: one image's k decoded rows (k x 784 floats,
# a few arrays of them) take about 2 GB at this bound, 1000 times the usual k.
K_MAX = 100_000


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", required=True, metavar="FILE", help="a .protobuf or .h5 parameter file")
    p.add_argument("--k", type=integer(1, K_MAX), default=100,
                   help=f"importance samples per image (default 100, at most {K_MAX})")
    p.add_argument("--limit", type=integer(1, INT32_MAX), metavar="N", help="only the first N test images")
    p.add_argument("--seed", type=integer(0, 2 ** 32 - 1), default=training.EVAL_SEED,
                   help=f"seed of the samples (default {training.EVAL_SEED})")
    add_data_and_threads(p)
    p.add_argument("--json", metavar="FILE", help="also write the figures to this JSON file")
    p.add_argument("--force", action="store_true", help="replace the --json file when it exists")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show the progress bar (default: on a terminal)")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show the progress bar")


def run(args) -> int:
    check_data_and_threads(args)
    if args.json and os.path.lexists(args.json) and not args.force:
        raise UsageError(f"--json {args.json} exists: --force replaces it, or choose another name")
    model = training.load_model(args.params)
    from ..datasets import load_dataset

    images, _ = load_dataset(args.dataset, "test", args.data_dir)
    if args.limit is not None:
        images = images[:args.limit]
    n = len(images)
    show = args.progress if args.progress is not None else sys.stderr.isatty()

    t0 = time.monotonic()
    bar = training.ProgressBar(sys.stderr, n, 0, show, unit="images")
    nelbo = model.negative_elbo(images, seed=args.seed, progress=lambda d, t: bar.show(d))
    bar.done()
    print(f"negative ELBO: {nelbo:.4f} nats per image ({n} {args.dataset} test images, one sample, "
          f"seed {args.seed})", flush=True)
    bar = training.ProgressBar(sys.stderr, n, 0, show, unit="images")
    nll = model.importance_weighted_nll(images, args.k, seed=args.seed, progress=lambda d, t: bar.show(d))
    bar.done()
    print(f"importance-weighted NLL (k={args.k}): {nll:.4f} nats per image ({n} images, seed {args.seed})",
          flush=True)
    if args.json:
        from pathlib import Path

        result = {"params": str(args.params), "dataset": args.dataset, "images": n, "seed": args.seed,
                  "negative_elbo": nelbo, "k": args.k, "iw_nll": nll,
                  "seconds": time.monotonic() - t0}
        try:
            atomic_text(Path(args.json), json.dumps(result, indent=2) + "\n")
        except OSError as e:
            raise NnvaeError(f"cannot write {args.json}: {e.strerror or e}") from None
    return 0

"""The options `nnvae evaluate` and `nnvae generate` share: the test set
they read (--dataset, --data-dir) and the engine's thread count
(--threads), added and checked in one place."""
import argparse

from ... import set_num_threads
from ...errors import UsageError
from .. import training
from ..data.locate import DATA_DIR_HELP
from ..options import INT32_MAX, integer


def add_data_and_threads(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default=training.DEFAULT_DATASET, metavar="NAME",
                   help=f"mnist or fashion-mnist (default {training.DEFAULT_DATASET})")
    p.add_argument("--data-dir", metavar="D", help=DATA_DIR_HELP)
    p.add_argument("--threads", type=integer(1, INT32_MAX), metavar="T", help="engine threads (default: all cores)")


def check_data_and_threads(args) -> None:
    """The data set's name, and the thread count set (UsageError naming the option)."""
    from ..datasets import DATASETS

    if args.dataset not in DATASETS:
        raise UsageError(f"unknown data set {args.dataset!r}: choose {' or '.join(DATASETS)}")
    if args.threads is not None:
        try:  # set_num_threads owns the bound (what this machine can sensibly run)
            set_num_threads(args.threads)
        except ValueError as e:
            raise UsageError(f"--threads {args.threads}: {e}") from None

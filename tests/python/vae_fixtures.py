"""Shared helpers of the VAE training tests (test_training, test_train_cli,
test_evaluate_generate): a data root and a small, fast model setting.

Tests that need the real MNIST take REAL_MNIST: the user's data cache when it
holds verified files (where `nnvae data fetch` and a first `nnvae-train` put
them), else the project's shared copy; None (skip, with NO_REAL_MNIST as the
reason) when neither has them."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"


def real_mnist_dir():
    """The folder of verified MNIST files: the user's cache ($NNVAE_DATA,
    $XDG_CACHE_HOME/nnvae or ~/.cache/nnvae), then ../shared/data; else None."""
    from nnvae.app.datasets import find_dataset_dir

    return find_dataset_dir("mnist") or find_dataset_dir("mnist", SHARED_DATA)


REAL_MNIST = real_mnist_dir()
NO_REAL_MNIST = (f"no verified MNIST in the data cache or in {SHARED_DATA / 'mnist'}: "
                 f"`nnvae data fetch` puts it in the cache")

# A small model: 784-64-64-8 and back, so a step costs ~1/60 of the tutorial's.
SMALL = ["--latent", "8", "--hidden", "64", "--batch-size", "20", "--threads", "1", "--no-progress"]


def synthetic_digits(n: int, seed: int) -> np.ndarray:
    """n uint8 images (n, 28, 28): one of four bright strokes per image plus
    sparse stray pixels, the same pictures the C++ tests use."""
    from nnvae import _core

    return _core.vae.synthetic_digits(n, seed)


def data_root(tmp_path_factory) -> Path:
    """A --data-dir: the real MNIST's folder when there is one (REAL_MNIST),
    else synthetic full-size files (60,000 / 10,000 images, labels 0..9 in
    turn, uncompressed IDX) under ROOT/mnist, written once."""
    if REAL_MNIST is not None:
        return REAL_MNIST
    from nnvae.app.datasets import idx_images_bytes, idx_labels_bytes

    root = tmp_path_factory.mktemp("data")
    (root / "mnist").mkdir()
    for prefix, n, seed in (("train", 60000, 1), ("t10k", 10000, 2)):
        (root / "mnist" / f"{prefix}-images-idx3-ubyte").write_bytes(idx_images_bytes(synthetic_digits(n, seed)))
        (root / "mnist" / f"{prefix}-labels-idx1-ubyte").write_bytes(idx_labels_bytes(np.arange(n) % 10))
    return root


def cli_env() -> dict:
    """The environment with the nnvae under test first on the Python path."""
    import nnvae

    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(nnvae.__file__).parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def cli_command(*args) -> list:
    """The command line `python -m nnvae.app.cli ARGS` (run it with cli_env())."""
    return [sys.executable, "-m", "nnvae.app.cli", *map(str, args)]


def run_cli(*args, timeout=300, **kw) -> subprocess.CompletedProcess:
    """`python -m nnvae.app.cli ARGS` with the nnvae under test on the path."""
    return subprocess.run(cli_command(*args), capture_output=True, text=True, timeout=timeout, env=cli_env(), **kw)

"""Loading one split of a data set, fetching its files first when allowed.

    images, labels = load_mnist("train")            # (60000, 28, 28), (60000,) uint8
    images, labels = load_fashion_mnist("test")     # (10000, 28, 28), (10000,) uint8

Every load checks the structure of the files (the C++ reader's checks).
Missing files are fetched when allowed (`nnvae.app.data.fetch`); where the
files are is `nnvae.app.data.locate`'s.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from . import idx
from .catalogue import DatasetError, get_spec
from .fetch import fetch
from .locate import find_file, missing_message


def load_dataset(name: str = "mnist", split: str = "train", data_dir=None,
                 download: bool = True, log=None) -> Tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) and labels (N,), both uint8 and writable, of one split.

    Missing files are fetched first when `download` is true
    (`nnvae.app.data.fetch.fetch`, which reports through `log`: stderr by default).
    """
    spec = get_spec(name)
    s = spec.split(split)

    def locate():
        paths = {f: find_file(spec, f, data_dir) for f in (s.images, s.labels)}
        return paths, [f for f, p in paths.items() if p is None]

    paths, missing = locate()
    if missing:
        if not download:
            raise DatasetError(missing_message(spec, missing, data_dir, "files missing and "
                                                "download=False"), kind="missing")
        fetch(name, data_dir, log)
        paths, missing = locate()
        if missing:  # only if something removed them meanwhile
            raise DatasetError(missing_message(spec, missing, data_dir, "files missing"), kind="missing")
    images = idx.read_idx(paths[s.images], "images", s.count)
    labels = idx.read_idx(paths[s.labels], "labels", s.count)
    return images, labels


def load_mnist(split: str = "train", data_dir=None, download: bool = True):
    """MNIST images (N, 28, 28) and labels (N,) as uint8; N = 60000 or 10000."""
    return load_dataset("mnist", split, data_dir, download)


def load_fashion_mnist(split: str = "train", data_dir=None, download: bool = True):
    """Fashion-MNIST images (N, 28, 28) and labels (N,) as uint8."""
    return load_dataset("fashion-mnist", split, data_dir, download)

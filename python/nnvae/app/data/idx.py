"""One IDX file: its bytes, gzip decompression (with a size limit) and the
decoding, both the C++ reader's (`_core.vae.idx_content`, `decode_idx`): it checks the
magic number, the 28x28 dimensions, the item count, the size against the
header and the label values, and names the file and the wrong value.

    images = read_idx("t10k-images-idx3-ubyte.gz", "images", 10000)  # (10000, 28, 28) uint8
    labels = parse_idx(raw_bytes, "labels.gz")                        # (N,) uint8

The format's constants (magic numbers, 28x28, ten classes, the largest
decompressed size) are the C++ reader's too.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from ... import _core
from .catalogue import DatasetError

IMAGES_MAGIC = _core.vae.IDX_IMAGES_MAGIC  # 0x00000803: unsigned bytes, 3 dimensions (count, rows, cols)
LABELS_MAGIC = _core.vae.IDX_LABELS_MAGIC  # 0x00000801: unsigned bytes, 1 dimension (count)
ROWS = _core.vae.IDX_ROWS
COLS = _core.vae.IDX_COLS
NUM_CLASSES = _core.vae.IDX_NUM_CLASSES
# No MNIST-like file decompresses to more than this (64 MiB; the largest real
# file is 47,040,016 bytes): a larger stream is refused before it fills memory.
MAX_DECOMPRESSED = _core.vae.IDX_MAX_DECOMPRESSED


def _gzip_error(e: Exception, name: str) -> DatasetError:
    return DatasetError(str(e), path=name, kind="gzip")


def gunzip(raw: bytes, name: str, limit: int = MAX_DECOMPRESSED) -> bytes:
    """Decompress every gzip member of `raw`, refusing more than `limit` bytes
    (the C++ reader's gzip, zlib in C++; bytes that are not gzip data come
    back as they are).

    Any defect raises DatasetError (kind "gzip") whose message starts with `name`.
    """
    try:
        return _core.vae.gunzip(raw, name, limit)
    except _core.vae.IdxError as e:
        raise _gzip_error(e, name) from None


def decompress(raw: bytes, name: str) -> bytes:
    """The IDX content of a file's bytes: gunzipped when `name` ends in .gz or
    the bytes start with the gzip magic, else the bytes themselves (the C++
    reader's rule)."""
    try:
        return _core.vae.idx_content(raw, name)
    except _core.vae.IdxError as e:
        raise _gzip_error(e, name) from None


def decode(content, name: str = "<bytes>", kind: Optional[str] = None,
           expected_count: Optional[int] = None) -> np.ndarray:
    """Check and decode decompressed IDX content with the C++ reader.

    A new, writable uint8 array: images (count, 28, 28) or labels (count,).
    `kind` ("images" or "labels") and `expected_count` add checks. A defect
    raises DatasetError (kind "format") whose message starts with `name`.
    """
    try:
        return _core.vae.decode_idx(content, name, kind, expected_count)
    except _core.vae.IdxError as e:
        raise DatasetError(str(e), path=name, kind="format") from None


def parse_idx(data: bytes, name: str = "<bytes>", kind: Optional[str] = None,
              expected_count: Optional[int] = None) -> np.ndarray:
    """Check and decode one IDX file's bytes, gzip-compressed or not (see `decode`)."""
    return decode(decompress(bytes(data), name), name, kind, expected_count)


def read_bytes(path: Path) -> bytes:
    """A file's bytes; DatasetError (kind "io") naming it when it cannot be
    read, is not a regular file (a FIFO, /dev/zero) or is larger than any
    IDX file can be (MAX_DECOMPRESSED; checked before reading)."""
    from ...inputs import read_bounded

    return read_bounded(path, MAX_DECOMPRESSED, "data file",
                        lambda message, path: DatasetError(message, path=path, kind="io"))


def read_content(path: Path) -> bytes:
    """The decompressed IDX content of the file at `path` (.gz or plain)."""
    return decompress(read_bytes(path), str(path))


def read_idx(path, kind: Optional[str] = None, expected_count: Optional[int] = None) -> np.ndarray:
    """Check and decode one IDX file (.gz or plain) as `parse_idx` does."""
    return decode(read_content(Path(path)), str(path), kind, expected_count)


def idx_images_bytes(images: np.ndarray) -> bytes:
    """IDX bytes of uint8 images (N, 28, 28) or (N, 784)."""
    n = images.shape[0]
    header = b"".join(int(v).to_bytes(4, "big") for v in (IMAGES_MAGIC, n, ROWS, COLS))
    return header + np.ascontiguousarray(images, dtype=np.uint8).tobytes()


def idx_labels_bytes(labels: np.ndarray) -> bytes:
    """IDX bytes of uint8 labels (N,)."""
    header = int(LABELS_MAGIC).to_bytes(4, "big") + len(labels).to_bytes(4, "big")
    return header + np.ascontiguousarray(labels, dtype=np.uint8).tobytes()

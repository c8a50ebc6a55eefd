"""nnvae's own training checkpoints: named arrays and a JSON `meta`, verified
by a SHA-256 before anything is parsed.

    save_checkpoint("checkpoint.nnvckpt", arrays, meta)
    arrays, meta = load_checkpoint("checkpoint.nnvckpt")

Format -- a single file (any file name):

    offset  size  content
    0       8     magic b"NNVAECKP"
    8       4     version, uint32 little-endian (currently 1)
    12      4     reserved, zero
    16      8     header length H, uint64 little-endian
    24      8     payload length P, uint64 little-endian
    32      32    SHA-256 of bytes 0..31 + header + payload
    64      H     header: UTF-8 JSON {"meta": ..., "arrays": [{"name", "dtype",
                  "shape", "offset", "nbytes"}, ...]} (offsets into the payload)
    64+H    P     payload: the arrays' raw little-endian bytes, row-major, each
                  starting at a multiple of 64

The file size must be exactly 64 + H + P and the digest must match before
anything is parsed, so a truncated or altered file is always refused.

A write goes to a temporary file in the destination folder, is flushed and
fsync'ed, then renamed over the destination, so a crash or an error never
leaves a partial file under the final name. Every failure is a
CheckpointError (an nnvae.errors.NnvaeError) naming the file.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from typing import Any, BinaryIO, Dict, Mapping, Optional, Tuple, Union

import numpy as np

from .. import _core
from ..errors import NnvaeError
from ..files import atomic_write
from ..inputs import read_bounded

# The largest checkpoint read: a model whose parameter file is at the limit
# has three times its bytes in a checkpoint (parameters, Adam's m and v).
CHECKPOINT_MAX_BYTES = 3 * _core.PARAMETER_FILE_MAX_BYTES + (64 << 20)

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "CHECKPOINT_MAX_BYTES"]

PathLike = Union[str, "os.PathLike[str]"]


class CheckpointError(NnvaeError, ValueError):
    """A checkpoint cannot be written, or is missing, truncated or corrupt."""

    def __init__(self, message: str, *, path: Optional[PathLike] = None):
        super().__init__(message)
        self.path = None if path is None else os.fspath(path)


_CKPT_MAGIC = b"NNVAECKP"
_CKPT_VERSION = 1
_CKPT_PREFIX = struct.Struct("<8sIIQQ")  # magic, version, reserved, header len, payload len
_CKPT_FIXED = _CKPT_PREFIX.size + 32     # + SHA-256 = 64 bytes
_CKPT_ALIGN = 64
_CKPT_KINDS = "biufc"  # bool, signed/unsigned integers, floats, complex


def save_checkpoint(path: PathLike, arrays: Mapping[str, Any], meta: Mapping[str, Any]) -> None:
    """Write a training checkpoint: named arrays of any numeric or bool dtype
    plus a JSON-able `meta` dict (tuples come back as lists). Atomic; the file
    carries a SHA-256 that `load_checkpoint` verifies. Raises CheckpointError."""
    p = os.fspath(path)
    if not isinstance(arrays, Mapping):
        raise CheckpointError(f"{p}: arrays must be a mapping name -> array", path=path)
    if not isinstance(meta, Mapping):
        raise CheckpointError(f"{p}: meta must be a dict", path=path)
    entries, blobs, offset = [], [], 0
    for name, value in arrays.items():
        if not isinstance(name, str):
            raise CheckpointError(f"{p}: array name {name!r} is not a string", path=path)
        arr = np.asarray(value)
        if arr.dtype.kind not in _CKPT_KINDS:
            raise CheckpointError(f"{p}: array {name} has unsupported dtype {arr.dtype}", path=path)
        arr = np.asarray(arr, dtype=arr.dtype.newbyteorder("<"), order="C")
        offset = -(-offset // _CKPT_ALIGN) * _CKPT_ALIGN
        entries.append({"name": name, "dtype": arr.dtype.str, "shape": list(arr.shape),
                        "offset": offset, "nbytes": arr.nbytes})
        blobs.append((offset, arr))
        offset += arr.nbytes
    payload_len = offset
    try:
        header = json.dumps({"meta": dict(meta), "arrays": entries}).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{p}: meta is not JSON-serialisable: {e}", path=path) from None
    prefix = _CKPT_PREFIX.pack(_CKPT_MAGIC, _CKPT_VERSION, 0, len(header), payload_len)

    def views():  # the payload in order, with the alignment padding
        pos = 0
        for off, arr in blobs:
            if off > pos:
                yield bytes(off - pos)
            if arr.nbytes:
                yield memoryview(arr).cast("B")
            pos = off + arr.nbytes

    digest = hashlib.sha256(prefix)
    digest.update(header)
    for v in views():
        digest.update(v)

    def write(f: BinaryIO) -> None:
        f.write(prefix + digest.digest() + header)
        for v in views():
            f.write(v)

    try:
        atomic_write(path, write)
    except OSError as e:
        raise CheckpointError(f"{p}: cannot write checkpoint: {e.strerror or e}", path=path) from e


def load_checkpoint(path: PathLike) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
    """Read a checkpoint written by save_checkpoint: (arrays, meta). The size
    and SHA-256 are verified before anything is parsed; a truncated, altered or
    foreign file raises CheckpointError."""
    return _decode_checkpoint(path, read_bounded(path, CHECKPOINT_MAX_BYTES, "checkpoint", CheckpointError))


def _decode_checkpoint(path: PathLike, data: bytes) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
    """Verify and parse a checkpoint's bytes; `path` is only used in messages."""
    p = os.fspath(path)
    if len(data) < _CKPT_FIXED:
        raise CheckpointError(f"{p}: not an nnvae checkpoint: {len(data)} bytes is shorter than "
                              f"the {_CKPT_FIXED}-byte header (truncated?)", path=path)
    magic, version, _reserved, hlen, plen = _CKPT_PREFIX.unpack_from(data, 0)
    if magic != _CKPT_MAGIC:
        raise CheckpointError(f"{p}: not an nnvae checkpoint (bad magic {magic!r})", path=path)
    if version != _CKPT_VERSION:
        raise CheckpointError(f"{p}: checkpoint version {version} is not supported "
                              f"(this nnvae reads version {_CKPT_VERSION})", path=path)
    expected = _CKPT_FIXED + hlen + plen
    if len(data) != expected:
        raise CheckpointError(f"{p}: checkpoint is corrupt or truncated: {len(data)} bytes, "
                              f"the header announces {expected}", path=path)
    digest = hashlib.sha256(memoryview(data)[:_CKPT_PREFIX.size])
    digest.update(memoryview(data)[_CKPT_FIXED:])
    if digest.digest() != data[_CKPT_PREFIX.size:_CKPT_FIXED]:
        raise CheckpointError(f"{p}: checkpoint is corrupt: SHA-256 mismatch", path=path)
    # From here on the bytes are exactly what save_checkpoint wrote; the checks
    # below only guard against a file forged with a valid digest.
    try:
        header = json.loads(bytes(data[_CKPT_FIXED:_CKPT_FIXED + hlen]).decode("utf-8"))
        meta = header["meta"]
        entries = header["arrays"]
        if not isinstance(meta, dict) or not isinstance(entries, list):
            raise ValueError("meta must be an object and arrays a list")
        base = _CKPT_FIXED + hlen
        arrays: Dict[str, np.ndarray] = {}
        for ent in entries:
            name, dtype = ent["name"], np.dtype(str(ent["dtype"]))
            shape = tuple(int(d) for d in ent["shape"])
            off, nbytes = int(ent["offset"]), int(ent["nbytes"])
            if not isinstance(name, str) or dtype.kind not in _CKPT_KINDS or min(shape, default=0) < 0:
                raise ValueError(f"bad entry for array {name!r}")
            if nbytes != math.prod(shape) * dtype.itemsize or off < 0 or off + nbytes > plen:
                raise ValueError(f"array {name} does not fit the payload")
            arrays[name] = np.frombuffer(data, dtype=dtype, count=math.prod(shape),
                                         offset=base + off).reshape(shape).astype(dtype.newbyteorder("="))
    except RecursionError:  # JSON nested deeper than the parser's stack
        raise CheckpointError(f"{p}: checkpoint header is malformed: nested too deeply", path=path) from None
    except (ValueError, TypeError, KeyError, OverflowError, UnicodeDecodeError) as e:  # int(Infinity) too
        raise CheckpointError(f"{p}: checkpoint header is malformed: {e}", path=path) from None
    return arrays, meta

"""Parameter files NNabla can read, and nnvae's own training checkpoints.

    save_parameters("params.protobuf", params)        # NNabla NNablaProtoBuf
    save_parameters("params.h5", params)              # NNabla HDF5 (needs h5py)
    params = load_parameters("params.protobuf")       # {name: float32 ndarray}
    save_checkpoint("checkpoint.nnvckpt", arrays, meta)
    arrays, meta = load_checkpoint("checkpoint.nnvckpt")

`params` is an ordered mapping from a parameter's full name (for example
"fc1/affine/W") to its values; the order is the creation order and is kept.

Formats
-------
`.protobuf` -- the protobuf (proto3) message NNabla writes and reads:

    message Shape          { repeated int64 dim = 1; }            // packed
    message Parameter      { string variable_name = 1; Shape shape = 20;
                             repeated float data = 100;           // packed
                             bool need_grad = 101; }
    message NNablaProtoBuf { repeated Parameter parameter = 200; }

It is encoded and decoded here by hand (no protobuf package at run time). On
the wire every field is a key varint (field_number << 3 | wire_type) followed
by its value: wire type 0 a varint, 1 eight bytes, 2 a varint length and that
many bytes (strings, sub-messages, packed repeated scalars), 5 four bytes, 3/4
the start/end of a (deprecated) group. Varints are little-endian base-128, at
most 10 bytes. The reader accepts what any proto3 parser accepts: fields in
any order, unknown fields (skipped by their wire type), packed or unpacked
repeated scalars, and a repeated field split over several records.

`.h5` -- one float32 dataset per parameter, named by its full path (so
"fc1/affine/W" is dataset W in group fc1/affine), with integer attributes
`need_grad` (0/1) and `index` (creation order). Needs h5py.

Checkpoints -- nnvae's own single-file format (any file name):

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

Every write goes to a temporary file in the destination folder, is flushed and
fsync'ed, then renamed over the destination (`os.replace`), so a crash or an
error never leaves a partial file under the final name. Every failure is
reported as a subclass of `nnvae.errors.NnvaeError` naming the file.
"""
from __future__ import annotations

import hashlib

import json
import math
import os

import struct
from pathlib import Path
from typing import (Any, BinaryIO, Dict, List, Mapping, NamedTuple, Optional,
                    Sequence, Tuple, Union)

import numpy as np

from .errors import NnvaeError
from .files import atomic_write  # re-exported: the one atomic write

__all__ = [
    "ParameterFileError",
    "CheckpointError",
    "ParameterRecord",
    "save_parameters",
    "load_parameters",
    "load_parameter_records",
    "save_checkpoint",
    "load_checkpoint",
    "atomic_write",
]

PathLike = Union[str, "os.PathLike[str]"]


# --------------------------------------------------------------------------
# Errors

class ParameterFileError(NnvaeError, ValueError):
    """A parameter file cannot be written, or is missing, malformed or corrupt."""

    def __init__(self, message: str, *, path: Optional[PathLike] = None):
        super().__init__(message)
        self.path = None if path is None else os.fspath(path)


class CheckpointError(NnvaeError, ValueError):
    """A checkpoint cannot be written, or is missing, truncated or corrupt."""

    def __init__(self, message: str, *, path: Optional[PathLike] = None):
        super().__init__(message)
        self.path = None if path is None else os.fspath(path)





class ParameterRecord(NamedTuple):
    """One parameter as stored in a file."""

    name: str
    data: np.ndarray  # float32, of the stored shape
    need_grad: bool


# --------------------------------------------------------------------------
# Input validation shared by the writers

def _parameter_items(path: PathLike, params: Mapping[str, Any]) -> List[Tuple[str, np.ndarray]]:
    """The parameters as (name, C-contiguous little-endian float32 array)."""
    if not isinstance(params, Mapping):
        raise ParameterFileError(
            f"{os.fspath(path)}: parameters must be a mapping name -> array, got {type(params).__name__}",
            path=path)
    if not params:
        raise ParameterFileError(f"{os.fspath(path)}: no parameters to save", path=path)
    items = []
    for name, value in params.items():
        if not isinstance(name, str) or not name:
            raise ParameterFileError(
                f"{os.fspath(path)}: parameter name {name!r} is not a non-empty string", path=path)
        arr = np.asarray(value)
        if arr.dtype.kind not in "fiub":
            raise ParameterFileError(
                f"{os.fspath(path)}: parameter {name} has dtype {arr.dtype}, expected real numbers",
                path=path)
        # (np.ascontiguousarray would turn a 0-d array into a 1-d one)
        items.append((name, np.asarray(arr, dtype="<f4", order="C")))
    return items


def _need_grad_of(path: PathLike, names: Sequence[str], need_grad: Any) -> List[bool]:
    """need_grad: None (all True), one bool for all, or a mapping name -> bool
    (names it lacks default to True)."""
    if need_grad is None:
        return [True] * len(names)
    if isinstance(need_grad, (bool, np.bool_)):
        return [bool(need_grad)] * len(names)
    if isinstance(need_grad, Mapping):
        known = set(names)
        unknown = [k for k in need_grad if k not in known]
        if unknown:
            raise ParameterFileError(
                f"{os.fspath(path)}: need_grad names unknown parameters: {', '.join(map(str, unknown))}",
                path=path)
        return [bool(need_grad.get(n, True)) for n in names]
    raise ParameterFileError(
        f"{os.fspath(path)}: need_grad must be None, a bool or a mapping name -> bool, "
        f"got {type(need_grad).__name__}", path=path)


def _format_of(path: PathLike, cls=ParameterFileError) -> str:
    suffix = Path(os.fspath(path)).suffix.lower()
    if suffix == ".protobuf":
        return "protobuf"
    if suffix == ".h5":
        return "h5"
    raise cls(f"{os.fspath(path)}: unknown parameter file format {suffix or '(no suffix)'!r}; "
              f"use .protobuf (NNabla protobuf) or .h5 (NNabla HDF5)", path=path)


# --------------------------------------------------------------------------
# Public API: parameters

def save_parameters(path: PathLike, params: Mapping[str, Any], need_grad: Any = None) -> None:
    """Write `params` (ordered name -> array, cast to float32) to `path`.

    The format follows the suffix: `.protobuf` (NNabla's NNablaProtoBuf) or
    `.h5` (NNabla's HDF5 layout, needs h5py). `need_grad` is None (every
    parameter True), one bool, or a mapping name -> bool (missing names True).
    The write is atomic. Raises ParameterFileError.
    """
    fmt = _format_of(path)
    items = _parameter_items(path, params)
    flags = _need_grad_of(path, [n for n, _ in items], need_grad)
    try:
        if fmt == "protobuf":
            atomic_write(path, lambda f: _write_protobuf(f, items, flags))
        else:
            h5py = _import_h5py(path)
            _check_h5_names(path, [n for n, _ in items])
            atomic_write(path, None, by_name=lambda tmp: _write_h5(h5py, tmp, items, flags))
    except NnvaeError:
        raise
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as e:  # h5py's too
        raise ParameterFileError(f"{os.fspath(path)}: cannot write parameters: {e}", path=path) from e


def load_parameter_records(path: PathLike) -> List[ParameterRecord]:
    """Read every parameter of a `.protobuf` or `.h5` file, in creation order,
    with its need_grad flag. Raises ParameterFileError."""
    fmt = _format_of(path)
    if fmt == "protobuf":
        data = _read_file(path, ParameterFileError)
        records = _decode_protobuf(path, data)
    else:
        records = _read_h5(path)
    if not records:
        raise ParameterFileError(f"{os.fspath(path)}: the file holds no parameters", path=path)
    return records


def load_parameters(path: PathLike) -> Dict[str, np.ndarray]:
    """Read a `.protobuf` or `.h5` parameter file: {full name: float32 array}
    in creation order. Raises ParameterFileError naming the file and the
    problem (byte offset for malformed protobuf, parameter name for a data
    count that does not match its shape).

    Note that protobuf has no end marker: a file cut exactly between two
    parameters is well-formed and simply holds fewer parameters; the model
    check (nnvae.training.VaeModel) then reports the missing ones.
    """
    return {r.name: r.data for r in load_parameter_records(path)}


def _read_file(path: PathLike, cls) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise cls(f"{os.fspath(path)}: no such file", path=path) from None
    except IsADirectoryError:
        raise cls(f"{os.fspath(path)}: is a folder, not a file", path=path) from None
    except OSError as e:
        raise cls(f"{os.fspath(path)}: cannot read: {e.strerror or e}", path=path) from None


# --------------------------------------------------------------------------
# Protobuf encoding

# Field numbers of the NNabla messages.
_F_PARAMETER = 200                                    # NNablaProtoBuf.parameter
_F_NAME, _F_SHAPE, _F_DATA, _F_NEED_GRAD = 1, 20, 100, 101  # Parameter
_F_DIM = 1                                            # Shape.dim
_WT_VARINT, _WT_I64, _WT_LEN, _WT_SGROUP, _WT_EGROUP, _WT_I32 = 0, 1, 2, 3, 4, 5


def _varint(value: int) -> bytes:
    """Base-128 varint; negative int64 values as their 64-bit two's complement."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _write_protobuf(f: BinaryIO, items: List[Tuple[str, np.ndarray]], flags: List[bool]) -> None:
    """Stream an NNablaProtoBuf: each parameter's small header is built in
    Python; its float data is written straight from the array's buffer."""
    for (name, arr), need_grad in zip(items, flags):
        dims = b"".join(_varint(d) for d in arr.shape)
        shape_msg = _key(_F_DIM, _WT_LEN) + _varint(len(dims)) + dims if dims else b""
        head = bytearray()
        head += _key(_F_NAME, _WT_LEN)
        name_bytes = name.encode("utf-8")
        head += _varint(len(name_bytes)) + name_bytes
        head += _key(_F_SHAPE, _WT_LEN) + _varint(len(shape_msg)) + shape_msg
        tail = _key(_F_NEED_GRAD, _WT_VARINT) + b"\x01" if need_grad else b""  # proto3 omits false
        if arr.size:
            data_head = _key(_F_DATA, _WT_LEN) + _varint(arr.nbytes)
        else:
            data_head = b""  # proto3 omits an empty repeated field
        body_len = len(head) + len(data_head) + arr.nbytes + len(tail)
        f.write(_key(_F_PARAMETER, _WT_LEN) + _varint(body_len) + bytes(head) + data_head)
        if arr.size:
            f.write(memoryview(arr).cast("B"))
        f.write(tail)


# --------------------------------------------------------------------------
# Protobuf decoding

class _Malformed(Exception):
    """Raised inside the decoder; turned into ParameterFileError with the path."""


_WIRE_NAMES = {0: "varint", 1: "64-bit", 2: "length-delimited", 3: "start-group",
               4: "end-group", 5: "32-bit"}


class _Reader:
    """Cursor over buf[start:end]. Positions are offsets into the whole file
    (nested messages are read in place, never sliced), so every error can name
    the exact byte offset."""

    def __init__(self, buf: memoryview, start: int, end: int):
        self.buf, self.pos, self.end = buf, start, end

    def done(self) -> bool:
        return self.pos >= self.end

    def varint(self) -> int:
        start = self.pos
        result = shift = 0
        while True:
            if self.pos >= self.end:
                raise _Malformed(f"truncated varint at byte offset {start}")
            if shift >= 70:
                raise _Malformed(f"varint longer than 10 bytes at byte offset {start}")
            b = self.buf[self.pos]
            self.pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                if result >= 1 << 64:
                    raise _Malformed(f"varint exceeds 64 bits at byte offset {start}")
                return result

    def key(self) -> Tuple[int, int, int]:
        at = self.pos
        k = self.varint()
        field, wt = k >> 3, k & 7
        if field == 0:
            raise _Malformed(f"invalid field number 0 at byte offset {at}")
        if wt not in _WIRE_NAMES:
            raise _Malformed(f"invalid wire type {wt} (field {field}) at byte offset {at}")
        return field, wt, at

    def take(self, n: int, what: str) -> Tuple[int, int]:
        """Advance over n bytes; returns their [start, end)."""
        if n > self.end - self.pos:
            raise _Malformed(f"{what} at byte offset {self.pos} needs {n} bytes but only "
                             f"{self.end - self.pos} remain (truncated or corrupt)")
        start = self.pos
        self.pos += n
        return start, self.pos

    def length_delimited(self, what: str) -> Tuple[int, int]:
        return self.take(self.varint(), what)

    def skip(self, field: int, wt: int, at: int) -> None:
        """Skip an unknown field's value by its wire type."""
        if wt == _WT_VARINT:
            self.varint()
        elif wt == _WT_I64:
            self.take(8, f"field {field}")
        elif wt == _WT_I32:
            self.take(4, f"field {field}")
        elif wt == _WT_LEN:
            self.length_delimited(f"field {field}")
        elif wt == _WT_SGROUP:
            while True:
                if self.done():
                    raise _Malformed(f"group of field {field} started at byte offset {at} never ends")
                f2, wt2, at2 = self.key()
                if wt2 == _WT_EGROUP:
                    if f2 != field:
                        raise _Malformed(f"end of group {f2} at byte offset {at2} "
                                         f"inside group {field}")
                    return
                self.skip(f2, wt2, at2)
        else:  # an end-group with no matching start
            raise _Malformed(f"unexpected end-group (field {field}) at byte offset {at}")


def _expect(field_desc: str, wt: int, allowed: Tuple[int, ...], at: int) -> None:
    if wt not in allowed:
        raise _Malformed(f"{field_desc} at byte offset {at} has wire type {wt} "
                         f"({_WIRE_NAMES[wt]}), expected "
                         + " or ".join(f"{w} ({_WIRE_NAMES[w]})" for w in allowed))


def _decode_shape(r: _Reader, start: int, end: int, dims: List[int]) -> None:
    sr = _Reader(r.buf, start, end)
    while not sr.done():
        field, wt, at = sr.key()
        if field != _F_DIM:
            sr.skip(field, wt, at)
            continue
        _expect("Shape.dim", wt, (_WT_LEN, _WT_VARINT), at)
        if wt == _WT_VARINT:
            dims.append(sr.varint())
        else:
            s, e = sr.length_delimited("packed Shape.dim")
            pr = _Reader(r.buf, s, e)
            while not pr.done():
                dims.append(pr.varint())


def _decode_parameter(path: PathLike, buf: memoryview, start: int, end: int,
                      index: int) -> ParameterRecord:
    r = _Reader(buf, start, end)
    name: Optional[str] = None
    dims: List[int] = []
    chunks: List[np.ndarray] = []  # pieces of the data field, in order
    need_grad = False
    while not r.done():
        field, wt, at = r.key()
        if field == _F_NAME:
            _expect("Parameter.variable_name", wt, (_WT_LEN,), at)
            s, e = r.length_delimited("Parameter.variable_name")
            try:
                name = bytes(buf[s:e]).decode("utf-8")
            except UnicodeDecodeError:
                raise _Malformed(f"parameter name at byte offset {s} is not valid UTF-8") from None
        elif field == _F_SHAPE:
            _expect("Parameter.shape", wt, (_WT_LEN,), at)
            s, e = r.length_delimited("Parameter.shape")
            _decode_shape(r, s, e, dims)  # a repeated message field merges
        elif field == _F_DATA:
            _expect("Parameter.data", wt, (_WT_LEN, _WT_I32), at)
            if wt == _WT_I32:
                s, e = r.take(4, "Parameter.data")
            else:
                s, e = r.length_delimited("packed Parameter.data")
                if (e - s) % 4:
                    raise _Malformed(f"packed float data at byte offset {s} is {e - s} bytes, "
                                     f"not a multiple of 4")
            chunks.append(np.frombuffer(buf, dtype="<f4", count=(e - s) // 4, offset=s))
        elif field == _F_NEED_GRAD:
            _expect("Parameter.need_grad", wt, (_WT_VARINT,), at)
            need_grad = r.varint() != 0
        else:
            r.skip(field, wt, at)
    label = f"parameter #{index}" if name is None else f"parameter {name}"
    if not name:
        raise _Malformed(f"parameter #{index} (byte offset {start}) has no name")
    for d in dims:
        if d >= 1 << 63:
            raise _Malformed(f"{label} has a negative dimension {d - (1 << 64)}")
    count = sum(c.size for c in chunks)
    expected = math.prod(dims)
    if count != expected:
        raise _Malformed(f"{label} has {count} values but its shape {tuple(dims)} needs {expected}")
    if len(chunks) == 1:
        data = chunks[0].astype(np.float32)  # copies out of the file buffer, native order
    elif chunks:
        data = np.concatenate(chunks).astype(np.float32)
    else:
        data = np.zeros(0, dtype=np.float32)
    return ParameterRecord(name, data.reshape(dims), need_grad)


def _decode_protobuf(path: PathLike, data: bytes) -> List[ParameterRecord]:
    buf = memoryview(data)
    r = _Reader(buf, 0, len(buf))
    records: List[ParameterRecord] = []
    seen = set()
    try:
        while not r.done():
            field, wt, at = r.key()
            if field != _F_PARAMETER:
                r.skip(field, wt, at)
                continue
            _expect("NNablaProtoBuf.parameter", wt, (_WT_LEN,), at)
            s, e = r.length_delimited("Parameter message")
            rec = _decode_parameter(path, buf, s, e, len(records))
            if rec.name in seen:
                raise _Malformed(f"parameter {rec.name} appears twice (byte offset {at})")
            seen.add(rec.name)
            records.append(rec)
    except _Malformed as e:
        raise ParameterFileError(f"{os.fspath(path)}: not a valid NNabla protobuf parameter file: {e}",
                                 path=path) from None
    return records


# --------------------------------------------------------------------------
# HDF5

def _import_h5py(path: PathLike):
    try:
        import h5py  # optional dependency
    except ImportError:
        raise ParameterFileError(
            f"{os.fspath(path)}: .h5 parameter files need the h5py package "
            f"(pip install h5py); .protobuf works without it", path=path) from None
    return h5py


def _check_h5_names(path: PathLike, names: Sequence[str]) -> None:
    """HDF5 paths: no empty or '.' components, and no name may also be a group."""
    for n in names:
        parts = n.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise ParameterFileError(
                f"{os.fspath(path)}: parameter name {n!r} cannot be an HDF5 dataset path", path=path)
    groups = {"/".join(n.split("/")[:i]) for n in names for i in range(1, n.count("/") + 1)}
    clash = [n for n in names if n in groups]
    if clash:
        raise ParameterFileError(
            f"{os.fspath(path)}: parameter name {clash[0]!r} is also a group of another name; "
            f"HDF5 cannot store both", path=path)


def _write_h5(h5py, tmp: str, items: List[Tuple[str, np.ndarray]], flags: List[bool]) -> None:
    with h5py.File(tmp, "w") as f:
        for index, ((name, arr), need_grad) in enumerate(zip(items, flags)):
            ds = f.create_dataset(name, data=arr.astype(np.float32))
            ds.attrs["need_grad"] = int(need_grad)
            ds.attrs["index"] = index


def _read_h5(path: PathLike) -> List[ParameterRecord]:
    h5py = _import_h5py(path)
    p = os.fspath(path)
    if not os.path.exists(p):
        raise ParameterFileError(f"{p}: no such file", path=path)
    if os.path.isdir(p):
        raise ParameterFileError(f"{p}: is a folder, not a file", path=path)
    found: List[Tuple[float, int, ParameterRecord]] = []
    try:
        with h5py.File(p, "r") as f:
            datasets: List[Tuple[str, Any]] = []
            f.visititems(lambda name, obj: datasets.append((name, obj))
                         if isinstance(obj, h5py.Dataset) else None)
            for pos, (name, ds) in enumerate(datasets):
                if ds.dtype.kind not in "fiu":
                    raise ParameterFileError(
                        f"{p}: dataset {name} has dtype {ds.dtype}, expected float32", path=path)
                data = np.asarray(ds[()], dtype=np.float32)
                index = _int_attr(p, name, ds.attrs, "index")
                need_grad = _int_attr(p, name, ds.attrs, "need_grad")
                record = ParameterRecord(name, data, bool(need_grad) if need_grad is not None else True)
                found.append((index if index is not None else math.inf, pos, record))
    except NnvaeError:
        raise
    except Exception as e:  # h5py raises OSError, KeyError, RuntimeError... on bad files
        raise ParameterFileError(f"{p}: not a readable HDF5 parameter file: {e}", path=path) from None
    found.sort(key=lambda t: (t[0], t[1]))  # by creation index, unindexed last in file order
    return [rec for _, _, rec in found]


def _int_attr(p: str, name: str, attrs, key: str) -> Optional[int]:
    if key not in attrs:
        return None
    value = np.asarray(attrs[key])
    if value.size != 1 or value.dtype.kind not in "biu":
        raise ParameterFileError(f"{p}: dataset {name} has a non-integer {key} attribute {value!r}",
                                 path=p)
    return int(value.reshape(()))


# --------------------------------------------------------------------------
# Checkpoints

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
        raise CheckpointError(f"{p}: cannot write checkpoint: {e}", path=path) from e


def load_checkpoint(path: PathLike) -> Tuple[Dict[str, np.ndarray], Dict[str, Any]]:
    """Read a checkpoint written by save_checkpoint: (arrays, meta). The size
    and SHA-256 are verified before anything is parsed; a truncated, altered or
    foreign file raises CheckpointError."""
    return _decode_checkpoint(path, _read_file(path, CheckpointError))


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
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{p}: checkpoint header is malformed: {e}", path=path) from None
    return arrays, meta

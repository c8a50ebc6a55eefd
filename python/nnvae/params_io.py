"""Parameter files NNabla can read.

    save_parameters("params.protobuf", params)        # NNabla NNablaProtoBuf
    save_parameters("params.h5", params)              # NNabla HDF5 (needs h5py)
    params = load_parameters("params.protobuf")       # {name: float32 ndarray}

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

It is encoded and decoded by the C++ codec (`_core.encode_parameters_protobuf`,
`_core.decode_parameters_protobuf`; no protobuf package at run time), which
accepts what any proto3 parser accepts (fields in any order, unknown fields,
packed or unpacked repeated scalars, a repeated field split over several
records) and refuses, naming the byte offset, what no NNabla file holds:
more than PARAMETER_MAX_DIMS dimensions, element counts beyond 2**62,
groups nested too deep. No file over PARAMETER_FILE_MAX_BYTES is read.

`.h5` -- one float32 dataset per parameter, named by its full path (so
"fc1/affine/W" is dataset W in group fc1/affine), with integer attributes
`need_grad` (0/1) and `index` (creation order). Needs h5py.

Every write goes to a temporary file in the destination folder, is flushed and
fsync'ed, then renamed over the destination (`os.replace`), so a crash or an
error never leaves a partial file under the final name. Every failure is
reported as a subclass of `nnvae.errors.NnvaeError` naming the file.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import (Any, BinaryIO, Dict, List, Mapping, NamedTuple, Optional,
                    Sequence, Tuple, Union)

import numpy as np

from . import _core
from .errors import NnvaeError
from .files import atomic_write, write_failure  # atomic_write re-exported: the one atomic write
from .inputs import check_regular_file, read_bounded

# The largest parameter file read (protobuf's own message limit, the C++
# codec's), and the most dimensions of one parameter.
PARAMETER_FILE_MAX_BYTES = _core.PARAMETER_FILE_MAX_BYTES
PARAMETER_MAX_DIMS = _core.PARAMETER_MAX_DIMS

__all__ = [
    "ParameterFileError",
    "ParameterRecord",
    "save_parameters",
    "load_parameters",
    "load_parameter_records",
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







class ParameterRecord(NamedTuple):
    """One parameter as stored in a file."""

    name: str
    data: np.ndarray  # float32, of the stored shape
    need_grad: bool


# --------------------------------------------------------------------------
# Input validation shared by the writers

def _parameter_items(path: PathLike, params: Mapping[str, Any]) -> List[Tuple[str, np.ndarray]]:
    """The parameters as (name, C-contiguous little-endian float32 array).
    The files hold float32: values of another dtype are taken only when
    float32 holds every one of them exactly, so that what load reads back is
    what was given."""
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
        with np.errstate(all="ignore"):  # overflow to inf: reported below
            f32 = np.asarray(arr, dtype="<f4", order="C")
        at = _first_inexact(arr, f32)
        if at is not None:
            raise ParameterFileError(
                f"{os.fspath(path)}: parameter {name} has dtype {arr.dtype}: float32 cannot hold its value "
                f"{arr[at].item()!r} (at index {at}) exactly (it would read back as {float(f32[at])!r}); "
                f"parameter files hold float32, convert it first if the rounding is wanted", path=path)
        items.append((name, f32))
    return items


def _first_inexact(arr: np.ndarray, f32: np.ndarray) -> Optional[Tuple[int, ...]]:
    """The first index where f32 (arr cast to float32) differs from arr's
    value (NaN stands for NaN), or None when every value is exact."""
    if arr.dtype == np.float32 or arr.dtype.kind == "b" or arr.size == 0:
        return None
    wide = f32.astype(np.float64)  # exact: every float32 is a float64
    if arr.dtype.kind == "f":
        same = (wide == arr) | (np.isnan(wide) & np.isnan(arr))
    else:
        # An integer: compared in its own type, where the float32 value lies
        # within that type's range (2**63 is a float32, not an int64).
        info = np.iinfo(arr.dtype)
        inside = (wide >= float(info.min)) & (wide < 2.0 ** (info.bits - (info.min < 0)))
        same = inside & (np.where(inside, wide, 0).astype(arr.dtype) == arr)
    bad = np.argwhere(~same)
    return tuple(int(i) for i in bad[0]) if len(bad) else None


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
    """Write `params` (ordered name -> array) to `path` as float32: arrays of
    another real dtype only when float32 holds each value exactly (else
    ParameterFileError, before anything is written).

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
        # (h5py's OSError carries errno but a many-line text: write_failure
        # gives the errno's text.)
        raise ParameterFileError(f"{os.fspath(path)}: cannot write parameters: {write_failure(path, e)}",
                                 path=path) from e


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
    check (nnvae.app.training.VaeModel) then reports the missing ones.
    """
    return {r.name: r.data for r in load_parameter_records(path)}


def _read_file(path: PathLike, cls, limit: int = PARAMETER_FILE_MAX_BYTES) -> bytes:
    """A regular file of at most `limit` bytes, checked before reading."""
    return read_bounded(path, limit, "parameter file", cls)


# --------------------------------------------------------------------------
# Protobuf: the C++ codec (nnvae/parameter_file.hpp) is the format's one
# implementation; it bounds the dimensions (PARAMETER_MAX_DIMS), the nesting
# of groups and every element count, and names the byte offset of a defect.

def _write_protobuf(f: BinaryIO, items: List[Tuple[str, np.ndarray]], flags: List[bool]) -> None:
    f.write(_core.encode_parameters_protobuf([(name, arr, flag) for (name, arr), flag in zip(items, flags)]))


def _decode_protobuf(path: PathLike, data: bytes) -> List[ParameterRecord]:
    try:
        decoded = _core.decode_parameters_protobuf(data, os.fspath(path))
    except _core.ParameterFileError as e:
        raise ParameterFileError(str(e), path=path) from None
    except UnicodeDecodeError as e:  # a name pybind11 cannot turn into str
        raise ParameterFileError(f"{os.fspath(path)}: not a valid NNabla protobuf parameter file: a parameter "
                                 f"name is not valid UTF-8 ({e.reason} at its byte {e.start})", path=path) from None
    except ValueError as e:  # numpy: a shape such as (0, 2**62), no values but beyond any array's size
        raise ParameterFileError(f"{os.fspath(path)}: a parameter's shape is beyond any array: "
                                 f"{' '.join(str(e).split())}", path=path) from None
    except MemoryError:
        raise ParameterFileError(f"{os.fspath(path)}: not enough memory to decode its "
                                 f"{len(data)} bytes of parameters", path=path) from None
    return [ParameterRecord(name, data, bool(need_grad)) for name, data, need_grad in decoded]


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


def _check_h5_names(path: PathLike, names: Sequence[str], cls=ParameterFileError) -> None:
    """HDF5 paths: no NUL byte (HDF5 would cut the name there), no empty or
    '.' components, and no name may also be a group."""
    for n in names:
        if "\x00" in n:
            raise cls(
                f"{os.fspath(path)}: parameter name {n!r} cannot be an HDF5 dataset path (it holds a NUL byte); "
                f".protobuf files hold any name", path=path)
        parts = n.split("/")
        if any(p in ("", ".", "..") for p in parts):
            raise cls(f"{os.fspath(path)}: parameter name {n!r} cannot be an HDF5 dataset path", path=path)
    groups = {"/".join(n.split("/")[:i]) for n in names for i in range(1, n.count("/") + 1)}
    clash = [n for n in names if n in groups]
    if clash:
        raise cls(
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
    check_regular_file(path, PARAMETER_FILE_MAX_BYTES, "parameter file", ParameterFileError)
    found: List[Tuple[float, int, ParameterRecord]] = []
    try:
        with h5py.File(p, "r") as f:
            datasets: List[Tuple[str, Any]] = []
            f.visititems(lambda name, obj: datasets.append((name, obj))
                         if isinstance(obj, h5py.Dataset) else None)
            for pos, (name, ds) in enumerate(datasets):
                _check_h5_dataset(p, f"dataset {name}", ds)
                data = np.asarray(ds[()], dtype=np.float32)
                index = _int_attr(p, f"dataset {name}", ds.attrs, "index")
                need_grad = _int_attr(p, f"dataset {name}", ds.attrs, "need_grad")
                record = ParameterRecord(name, data, bool(need_grad) if need_grad is not None else True)
                found.append((index if index is not None else math.inf, pos, record))
    except NnvaeError:
        raise
    except Exception as e:  # h5py raises OSError, KeyError, RuntimeError... on bad files
        raise ParameterFileError(f"{p}: not a readable HDF5 parameter file: {e}", path=path) from None
    found.sort(key=lambda t: (t[0], t[1]))  # by creation index, unindexed last in file order
    return [rec for _, _, rec in found]


def _check_h5_dataset(p: str, what: str, ds, cls=ParameterFileError) -> None:
    """An HDF5 dataset of real numbers within a parameter's limits. Its
    shape is the file's word (a 1 KB file may declare 2**40 elements):
    checked before its values are read."""
    if ds.dtype.kind not in "fiu":
        raise cls(f"{p}: {what} has dtype {ds.dtype}, expected float32", path=p)
    if ds.ndim > PARAMETER_MAX_DIMS or math.prod(ds.shape) * 4 > PARAMETER_FILE_MAX_BYTES:
        raise cls(f"{p}: {what} has shape {ds.shape}, beyond a parameter's limits (at most "
                  f"{PARAMETER_MAX_DIMS} dimensions and {PARAMETER_FILE_MAX_BYTES} bytes)", path=p)


def _int_attr(p: str, name: str, attrs, key: str, cls=ParameterFileError) -> Optional[int]:
    """The integer attribute `key` of `name` (a dataset or a group), or None."""
    if key not in attrs:
        return None
    value = np.asarray(attrs[key])
    if value.size != 1 or value.dtype.kind not in "biu":
        raise cls(f"{p}: {name} has a non-integer {key} attribute {value!r}", path=p)
    return int(value.reshape(()))

"""The commands' input layer: numbers checked before they reach C++, and
files read only when they are regular files of a bounded size.

    p.add_argument("--k", type=integer(1, 100_000), default=100)
    data = read_bounded(path, PARAMETER_FILE_MAX_BYTES, "parameter file", ParameterFileError)
    size = check_regular_file(path, limit, "parameter file", ParameterFileError)

A file is opened by the C++ check every reader shares (nnvae's
input_file.cpp): without blocking (a FIFO with no writer is refused instead
of waiting forever), it must be a regular file (not /dev/zero, a folder or a
socket), and its size is compared with the limit before a byte is read; a
path with an embedded NUL byte is refused rather than cut short.
"""
from __future__ import annotations

import argparse
import os
from typing import Callable, Optional

from . import _core
from .errors import NnvaeError

# int32's range: the C++ side holds counts, sizes and indices the commands
# take in `int`; a number the command line accepts always fits there.
INT32_MAX = 2 ** 31 - 1


def integer(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse `type`: a whole decimal number in [lo, hi] (one-line
    usage error, exit 2, otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be from {lo} to {hi}, got {text}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its message
    return parse


def _error(error, message: str, path) -> Exception:
    try:
        return error(message, path=os.fspath(path))
    except TypeError:  # an error class without a path keyword
        return error(message)


def human_size(n: int) -> str:
    """A byte count as the engine's messages write it (one formatter for
    both languages): "512 bytes", "46.6 MiB", "30.0 GiB"."""
    return _core.format_bytes(int(n))


def _open_regular(path, limit: int, what: str, error) -> "tuple[int, int]":
    """(file descriptor, size) of a regular file of at most `limit` bytes."""
    try:
        return _core.open_regular_file(os.fsencode(path), limit, what)
    except _core.InputFileError as e:
        raise _error(error, str(e), path) from None


def check_regular_file(path, limit: int, what: str, error=NnvaeError) -> int:
    """The size of `path`, a regular file of at most `limit` bytes; `error`
    (an NnvaeError class) naming the file otherwise."""
    fd, size = _open_regular(path, limit, what, error)
    os.close(fd)
    return size


def read_bounded(path, limit: int, what: str, error=NnvaeError) -> bytes:
    """The bytes of `path`, a regular file of at most `limit` bytes (checked
    before reading; a file that grows meanwhile is read only up to the limit
    and refused)."""
    fd, size = _open_regular(path, limit, what, error)
    p = os.fspath(path)
    try:
        with os.fdopen(fd, "rb") as f:
            data = f.read(limit + 1)
    except MemoryError:
        raise _error(error, f"{p}: not enough memory to read this {human_size(size)} {what}", path) from None
    except OSError as e:
        raise _error(error, f"{p}: cannot read the {what}: {e.strerror or e}", path) from None
    if len(data) > limit:
        raise _error(error, f"{p}: grew beyond {human_size(limit)} while being read", path)
    return data


def describe(e: BaseException) -> Optional[str]:
    """One line for the errors every command may meet outside its own checks
    (out of memory, a failed read or write); None for the others."""
    if isinstance(e, MemoryError):
        detail = " ".join(str(e).split())
        return detail if detail.startswith("out of memory") else f"out of memory{': ' + detail if detail else ''}"
    if isinstance(e, OSError):
        name = e.filename if e.filename is not None else None
        reason = e.strerror or str(e) or type(e).__name__
        return f"{name}: {reason}" if name is not None else reason
    return None

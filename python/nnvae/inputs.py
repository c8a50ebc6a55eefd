"""Files read only when they are regular files of a bounded size.

    data = read_bounded(path, PARAMETER_FILE_MAX_BYTES, "parameter file", ParameterFileError)
    size = check_regular_file(path, limit, "parameter file", ParameterFileError)

A file is opened by the C++ check every reader shares (nnvae's
input_file.cpp): without blocking (a FIFO with no writer is refused instead
of waiting forever), it must be a regular file (not /dev/zero, a folder or a
socket), and its size is compared with the limit before a byte is read; a
path with an embedded NUL byte is refused rather than cut short.
"""
from __future__ import annotations

import os

from . import _core
from .errors import NnvaeError


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

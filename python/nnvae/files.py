"""Writing files so that a reader never sees half of one.

    atomic_write(path, lambda f: f.write(data))     # bytes through a file object
    atomic_write(path, None, by_name=h5_writer)     # libraries that want a name
    atomic_text(path, "text\n")

The temporary file is `.<name>.<pid>.<hex>.tmp` in the target's folder.
"""
import os
import secrets
from pathlib import Path
from typing import BinaryIO, Callable, Optional, Union

PathLike = Union[str, "os.PathLike[str]"]

TEMP_SUFFIX = ".tmp"



def atomic_write(path: PathLike, write: Callable[[BinaryIO], None], *,
                 by_name: Optional[Callable[[str], None]] = None) -> None:
    """Create `path` atomically: write a temporary file in the same folder,
    fsync it, rename it over `path`, fsync the folder.

    `write(f)` receives the temporary file opened for binary writing. For
    libraries that want a file name instead (h5py), pass `by_name(tmp_path)`
    (and `write=None`). On any exception the temporary file is removed and the
    exception propagates; `path` is then untouched.
    """
    path = Path(os.fspath(path))
    folder = path.parent
    # A random name created with O_EXCL: never clobbers anything, and its mode
    # follows the umask like an ordinary new file.
    tmp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        if by_name is not None:
            os.close(fd)
            fd = -1
            by_name(os.fspath(tmp))
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        else:
            with os.fdopen(fd, "wb") as f:
                fd = -1
                write(f)
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    # Make the rename itself durable (not possible on every platform).
    try:
        dfd = os.open(folder if str(folder) else ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def atomic_text(path: PathLike, text: str) -> None:
    """`text` as UTF-8 into `path`, atomically."""
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))

"""Writing files so that a reader never sees half of one.

    atomic_write(path, lambda f: f.write(data))     # bytes through a file object
    atomic_write(path, None, by_name=h5_writer)     # libraries that want a name
    atomic_text(path, "text\n")

The temporary file is `.<name>.<pid>.<hex>.tmp` in the target's folder;
remove_stale_temps(folder) removes those of killed processes. LineLog
appends to a text log one whole line at a time.
"""
import errno
import os
import re
import secrets
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, List, Optional, Union

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
    if path.is_dir():  # refused before the data is written, not at the rename
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
    remove_stale_temps(folder, path.name)
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
    except BaseException as e:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and e.errno is not None and e.filename is None:
            # write(2)'s error (a full disk) names no file: name ours.
            raise OSError(e.errno, e.strerror or str(e), os.fspath(path)) from e
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


def write_failure(path: PathLike, e: BaseException) -> str:
    """Why `path` could not be written, in words for a message that already
    names it: "it is a folder", "the folder F does not exist", "F is a file,
    not a folder", or the system's (or library's) reason."""
    path = Path(os.fspath(path))
    err = getattr(e, "errno", None)
    if err == errno.EISDIR or (err is not None and path.is_dir()):
        return "it is a folder"
    if err in (errno.ENOENT, errno.ENOTDIR):
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            return f"{blocker} is a file, not a folder"
        if not path.parent.is_dir():
            return f"the folder {path.parent} does not exist"
    if isinstance(e, OSError) and err:
        return os.strerror(err)
    return " ".join(str(e).split()) or type(e).__name__


def atomic_text(path: PathLike, text: str) -> None:
    """`text` as UTF-8 into `path`, atomically."""
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


# The temporary name's pattern: `.<name>.<pid>.<8 hex digits>.tmp`.
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{8}\.tmp$")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0  # another user's process (or a number no process has: not alive)
    return True


def remove_stale_temps(folder: PathLike, name: Optional[str] = None, *, owned: Iterable[str] = ()) -> List[Path]:
    """Remove the temporary files an atomic write left in `folder` when its
    process was killed (kill -9, power loss): those whose pid is no longer
    alive (only those of target `name` when given), and those of the targets
    in `owned` whatever their pid -- the caller holds a lock proving that no
    live process writes these (a killed writer's pid may have been handed
    to another process since). Returns the removed paths; files it cannot
    remove are left."""
    removed = []
    owned = set(owned)
    try:
        names = os.listdir(folder if os.fspath(folder) else ".")
    except OSError:
        return removed
    for entry in names:
        m = _TEMP_NAME.match(entry)
        if m is None or (name is not None and m.group("name") != name):
            continue
        if m.group("name") not in owned and _pid_alive(int(m.group("pid"))):
            continue
        path = Path(os.fspath(folder)) / entry
        try:
            if path.is_file() and not path.is_symlink():
                path.unlink()
                removed.append(path)
        except OSError:
            pass
    return removed


class LineLog:
    """A text log appended to one whole line at a time: each line goes out
    in a single write(2) on a file opened for appending, and a write that
    fails part-way (disk full) is cut back, so the file never ends mid-line.

        with LineLog(folder / "log.txt") as log:
            log.line("iter: 9, tloss: 1.0, vloss: 2.0")
    """

    def __init__(self, path: PathLike):
        self.path = Path(os.fspath(path))
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)

    def line(self, text: str) -> None:
        data = (text.rstrip("\n") + "\n").encode("utf-8")
        before = os.fstat(self._fd).st_size
        try:
            written = os.write(self._fd, data)
        except OSError as e:
            self._cut(before)
            if e.errno is None or e.filename is not None:
                raise
            raise OSError(e.errno, e.strerror, os.fspath(self.path)) from e  # write(2)'s error names no file
        if written != len(data):
            self._cut(before)
            raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (wrote {written} of {len(data)} bytes)",
                          os.fspath(self.path))

    def _cut(self, size: int) -> None:
        try:
            os.ftruncate(self._fd, size)
        except OSError:
            pass

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "LineLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

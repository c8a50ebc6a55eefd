"""`nnvae generate --params FILE`: pictures from saved parameters.

    nnvae generate --params P [--n 64] [--seed S] [--out samples.png]
    nnvae generate --params P --interpolate 3 7 [--steps 10] [--out interpolation.png]
    nnvae generate --params P --interpolate 0 1 --by-index

The first decodes n draws of z ~ N(0, I) into a grid (8 per row); the second
decodes `steps` points on the line between the posterior means of two test
images, one row from the first to the second: by default A and B are digits
(the first test image labelled A, the first labelled B, the second one when
A == B); with --by-index they are indices into the test set. The picture goes
next to the parameter file unless --out says otherwise.

No file is replaced unasked: without --out, a name already taken there (a
training run's own samples.png) gives samples-2.png, samples-3.png, ...;
an --out that exists is replaced only with --force.
"""
import argparse
from pathlib import Path

import numpy as np

from ...errors import NnvaeError, UsageError
from .. import training
from ..options import INT32_MAX, integer
from .common import add_data_and_threads, check_data_and_threads


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", required=True, metavar="FILE", help="a .protobuf or .h5 parameter file")
    p.add_argument("--n", type=int, default=64, help="samples to draw (default 64)")
    p.add_argument("--seed", type=integer(0, 2 ** 32 - 1), default=0, help="seed of z (default 0)")
    p.add_argument("--interpolate", type=integer(-INT32_MAX, INT32_MAX), nargs=2, metavar=("A", "B"),
                   help="decode along the line from a test image of digit A to one of digit B instead")
    p.add_argument("--by-index", action="store_true",
                   help="--interpolate's A and B are test image indices, not digits")
    p.add_argument("--steps", type=int, default=10, help="points of the interpolation (default 10)")
    p.add_argument("--out", metavar="PNG",
                   help="output picture (default: samples.png / interpolation.png next to the parameter file, "
                        "or samples-2.png, ... when that name is taken)")
    p.add_argument("--force", action="store_true", help="replace --out when it exists")
    add_data_and_threads(p)


def run(args) -> int:
    from ..pictures import save_image_grid

    check_data_and_threads(args)
    if args.n < 1 or args.n > 10000:
        raise UsageError(f"n must be from 1 to 10000, got {args.n}")
    if args.steps < 2 or args.steps > 100:
        raise UsageError(f"steps must be from 2 to 100, got {args.steps}")
    default_name = "interpolation.png" if args.interpolate else "samples.png"
    if args.out:
        out = Path(args.out)
        if out.suffix.lower() != ".png":
            raise UsageError(f"--out must name a .png file, got {out}")
        if out.exists() and not args.force:
            raise UsageError(f"--out {out} exists: --force replaces it, or choose another name")
    else:
        out = free_name(Path(args.params).parent / default_name)
    model = training.load_model(args.params)

    if args.interpolate:
        from ..datasets import load_dataset

        images, labels = load_dataset(args.dataset, "test", args.data_dir)
        if args.by_index:
            a, b = args.interpolate
            for i in (a, b):
                if not 0 <= i < len(images):
                    raise UsageError(f"test image index {i} is outside 0..{len(images) - 1}")
            ends = f"test image {a} to test image {b}"
        else:
            a, b = _images_of_digits(labels, *args.interpolate)
            ends = (f"a test {args.interpolate[0]} (image {a}) to a test {args.interpolate[1]} (image {b}); "
                    f"--by-index takes image indices")
        title = (f"from test image {a} (a {labels[a]}, left) to test image {b} (a {labels[b]}, right): the "
                 f"decoder's images of {args.steps} points on the line between their posterior means z")
        mu, _ = model.encode(images[[a, b]])
        t = np.linspace(0.0, 1.0, args.steps, dtype=np.float32)[:, None]
        z = (1 - t) * mu[0] + t * mu[1]  # (steps, latent) from mu_A to mu_B
        pictures = model.decode(z)
        ncols, scale = args.steps, 3  # one row: larger cells
        what = f"{args.steps} images from {ends}"
    else:
        z = np.random.default_rng(args.seed).standard_normal((args.n, model.latent)).astype(np.float32)
        pictures = model.decode(z)
        ncols, scale = 8, 2
        what = f"{args.n} samples of z ~ N(0, I), seed {args.seed}"
        title = f"{args.n} samples: the decoder's images of random z ~ N(0, I) (seed {args.seed}) from {args.params}"
    if out.parent and not out.parent.is_dir():
        raise NnvaeError(f"cannot write {out}: the folder {out.parent} does not exist")
    save_image_grid(out, pictures, ncols=ncols, scale=scale, title=title)
    kept = f" ({default_name} there is kept)" if not args.out and out.name != default_name else ""
    print(f"wrote {out}: {what}{kept}")
    return 0


def free_name(path: Path) -> Path:
    """`path`, or the first of its -2, -3, ... names (samples-2.png) that
    does not exist."""
    candidate, n = path, 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def _images_of_digits(labels: np.ndarray, a: int, b: int):
    """Indices of the first test image labelled `a` and of the first labelled
    `b` (the second one when a == b)."""
    found = []
    for digit, nth in ((a, 0), (b, 1 if a == b else 0)):
        where = np.flatnonzero(labels == digit) if 0 <= digit <= 9 else []
        if len(where) <= nth:
            raise UsageError(f"--interpolate {a} {b}: the test set has no{' second' if nth else ''} image "
                             f"labelled {digit} (digits are 0..9; --by-index takes image indices)")
        found.append(int(where[nth]))
    return found

"""`nnvae generate --params FILE`: pictures from saved parameters.

    nnvae generate --params P [--n 64] [--seed S] [--out samples.png]
    nnvae generate --params P --interpolate A B [--steps 10] [--out interpolation.png]

The first decodes n draws of z ~ N(0, I) into a grid (8 per row); the second
decodes `steps` points on the line between the posterior means of test images
A and B (indices into the test set), one row from A to B.
"""
import argparse
from pathlib import Path

import numpy as np

from .. import set_num_threads, training
from ..errors import NnvaeError, UsageError
from .evaluate import check_common


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", required=True, metavar="FILE", help="a .protobuf or .h5 parameter file")
    p.add_argument("--n", type=int, default=64, help="samples to draw (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of z (default 0)")
    p.add_argument("--interpolate", type=int, nargs=2, metavar=("A", "B"),
                   help="decode along the line between test images A and B instead")
    p.add_argument("--steps", type=int, default=10, help="points of the interpolation (default 10)")
    p.add_argument("--out", metavar="PNG", help="output picture (default samples.png / interpolation.png)")
    p.add_argument("--dataset", default="mnist", metavar="NAME", help="mnist (default) or fashion-mnist")
    p.add_argument("--data-dir", metavar="D", help="root folder holding mnist/ and fashion-mnist/")
    p.add_argument("--threads", type=int, metavar="T", help="engine threads (default: all cores)")


def run(args) -> int:
    from ..pictures import save_image_grid

    check_common(args)
    if args.n < 1 or args.n > 10000:
        raise UsageError(f"n must be from 1 to 10000, got {args.n}")
    if args.steps < 2 or args.steps > 100:
        raise UsageError(f"steps must be from 2 to 100, got {args.steps}")
    out = Path(args.out or ("interpolation.png" if args.interpolate else "samples.png"))
    if out.suffix.lower() != ".png":
        raise UsageError(f"--out must name a .png file, got {out}")
    model = training.load_model(args.params)
    if args.threads:
        set_num_threads(args.threads)

    if args.interpolate:
        from ..datasets import load_dataset

        images, _ = load_dataset(args.dataset, "test", args.data_dir)
        a, b = args.interpolate
        for i in (a, b):
            if not 0 <= i < len(images):
                raise UsageError(f"test image index {i} is outside 0..{len(images) - 1}")
        mu, _ = model.encode(images[[a, b]])
        t = np.linspace(0.0, 1.0, args.steps, dtype=np.float32)[:, None]
        z = (1 - t) * mu[0] + t * mu[1]  # (steps, latent) from mu_A to mu_B
        pictures = model.decode(z)
        ncols = args.steps
        what = f"{args.steps} images from test image {a} to test image {b}"
    else:
        z = np.random.default_rng(args.seed).standard_normal((args.n, model.latent)).astype(np.float32)
        pictures = model.decode(z)
        ncols = 8
        what = f"{args.n} samples of z ~ N(0, I), seed {args.seed}"
    if out.parent and not out.parent.is_dir():
        raise NnvaeError(f"cannot write {out}: the folder {out.parent} does not exist")
    save_image_grid(out, pictures, ncols=ncols)
    print(f"wrote {out}: {what}")
    return 0

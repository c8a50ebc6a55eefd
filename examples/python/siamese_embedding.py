"""The 2-D embedding that NNabla's C++ Siamese program (train_siamese.cpp of
NNabla's MNIST collection, built on nnvae) learned: its parameter file, read
by nnvae's Python API, into the same LeNet feature network written with
PF.convolution and PF.affine under the same names, applied to the MNIST
test images, drawn as a PNG scatter plot coloured by digit.

    python examples/python/siamese_embedding.py saved_siamese_param.protobuf \\
        --data-dir ../shared/data --out siamese_embedding.png

Feature network (images (B, 1, 28, 28) scaled to [0, 1]): convolution 20
maps 5x5, elu, average pooling 2x2; convolution 50 maps 5x5, elu, average
pooling 2x2; affine 500, elu; affine 10, elu; affine 2, the embedding. Every
parameter must come from the file: a name that does not match would leave a
fresh random one, which is an error here.
"""
import argparse
import os
import sys

import numpy as np
from PIL import Image, ImageDraw

import nnvae as nn
import nnvae.functions as F
import nnvae.parametric_functions as PF
from nnvae.app.datasets import load_mnist

# One colour a digit, 0..9.
COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
          (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
SIZE = 600    # pixels: the plot's side
MARGIN = 30   # pixels around the points
LEGEND = 70   # pixels: the legend's column on the right


def mnist_lenet_feature(image):
    """The 2-D embedding (B, 2) of images (B, 1, 28, 28) in [0, 1]."""
    c1 = F.average_pooling(F.elu(PF.convolution(image, 20, (5, 5), name="conv1"), 1.0), (2, 2), (2, 2))
    c2 = F.average_pooling(F.elu(PF.convolution(c1, 50, (5, 5), name="conv2"), 1.0), (2, 2), (2, 2))
    c3 = F.elu(PF.affine(c2, 500, name="fc3"), 1.0)
    c4 = F.elu(PF.affine(c3, 10, name="fc4"), 1.0)
    return PF.affine(c4, 2, name="fc_embed")


def embed(images, batch_size=500):
    """The embedding (N, 2) of uint8 images (N, 28, 28)."""
    x = nn.Variable((batch_size, 1, 28, 28))
    y = mnist_lenet_feature(x)
    out = []
    for start in range(0, len(images), batch_size):
        part = images[start:start + batch_size]
        batch = np.zeros((batch_size, 1, 28, 28), np.float32)
        batch[:len(part), 0] = part / 255.0
        x.d = batch
        y.forward(clear_buffer=True)
        out.append(y.d[:len(part)].copy())
    return np.concatenate(out)


def save_scatter(path, points, labels, title):
    """A PNG of `points` (N, 2), each a dot coloured by its label 0..9."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    xy = MARGIN + (points - lo) / span * (SIZE - 2 * MARGIN)
    image = Image.new("RGB", (SIZE + LEGEND, SIZE + 20), "white")
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN, 4), title, fill="black")
    for (px, py), label in zip(xy, labels):
        py = SIZE - py + 20  # y upwards
        draw.ellipse((px - 1.5, py - 1.5, px + 1.5, py + 1.5), fill=COLORS[int(label)])
    for digit, color in enumerate(COLORS):
        top = 40 + 22 * digit
        draw.rectangle((SIZE + 10, top, SIZE + 22, top + 12), fill=color)
        draw.text((SIZE + 30, top), str(digit), fill="black")
    image.save(path, format="PNG")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("params", help="the program's saved_siamese_param[_d].protobuf")
    parser.add_argument("--data-dir", default=None, help="folder holding MNIST (see nnvae's datasets)")
    parser.add_argument("--count", type=int, default=10000, help="test images to embed (default %(default)s)")
    parser.add_argument("--out", default="siamese_embedding.png", help="PNG to write (default %(default)s)")
    args = parser.parse_args(argv)

    nn.load_parameters(args.params)
    loaded = set(nn.get_parameters(grad_only=False))
    images, labels = load_mnist("test", args.data_dir)
    images, labels = images[:args.count], labels[:args.count]
    points = embed(images)
    fresh = sorted(set(nn.get_parameters(grad_only=False)) - loaded)
    if fresh:
        sys.exit(f"siamese_embedding.py: {args.params} lacks the network's parameters {', '.join(fresh)}")
    if not np.isfinite(points).all():
        sys.exit(f"siamese_embedding.py: the embedding of {args.params} is not finite")
    save_scatter(args.out, points, labels, f"MNIST test embedding ({len(points)} images), {os.path.basename(args.params)}")
    centres = np.array([points[labels == d].mean(axis=0) for d in range(10) if (labels == d).any()])
    print(f"siamese_embedding.py: {len(points)} test images embedded with {args.params}, written to {args.out}; "
          f"digit centres spread {np.ptp(centres, axis=0).round(3).tolist()}")


if __name__ == "__main__":
    main()

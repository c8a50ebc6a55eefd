"""Samples of the generator that NNabla's C++ DCGAN program
(train_dcgan.cpp of NNabla's MNIST collection, built on nnvae) trained: its
parameter file, read by nnvae's Python API, into the same generator written
with PF.deconvolution and PF.batch_normalization under the same names, and
an 8x8 grid of its images as a PNG.

    python examples/python/dcgan_samples.py saved_dcgan_param.protobuf --out dcgan_samples.png

The generator maps z (B, 100, 1, 1), drawn from N(0, 1), to (B, 1, 28, 28):
deconvolutions 4x4 without bias to 256 maps (4x4), 128 (8x8, stride 2, pad
1), 64 (16x16, stride 2, pad 1) and 64 (28x28, stride 2, pad 3), each batch
normalised and through elu; a 3x3 convolution (pad 1) to one map; sigmoid.
As the program does, batch normalisation uses the batch's statistics, so the
running statistics in the file are not read. Every learned parameter the
generator uses must come from the file: a name that does not match would
leave a fresh random one, which is an error here.
"""
import argparse
import os
import sys

import numpy as np

import nnvae as nn
import nnvae.functions as F
import nnvae.parametric_functions as PF
from nnvae.app.pictures import save_image_grid

Z_DIM = 100
MAX_H = 256


def generator(z, max_h=MAX_H):
    """(B, 1, 28, 28) images in [0, 1] from z (B, 100, 1, 1)."""
    h = z
    layers = [("deconv1", max_h, None, None), ("deconv2", max_h // 2, (1, 1), (2, 2)),
              ("deconv3", max_h // 4, (1, 1), (2, 2)), ("deconv4", max_h // 4, (3, 3), (2, 2))]
    with nn.parameter_scope("gen"):
        for name, maps, pad, stride in layers:
            with nn.parameter_scope(name):
                h = PF.deconvolution(h, maps, (4, 4), pad=pad, stride=stride, with_bias=False)
                h = F.elu(PF.batch_normalization(h, batch_stat=True), 1.0)
        with nn.parameter_scope("conv5"):
            h = PF.convolution(h, 1, (3, 3), pad=(1, 1))
    return F.sigmoid(h)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("params", help="the program's saved_dcgan_param[_d].protobuf")
    parser.add_argument("--out", default="dcgan_samples.png", help="PNG to write (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of z (default %(default)s)")
    args = parser.parse_args(argv)

    nn.load_parameters(args.params)
    loaded = set(nn.get_parameters(grad_only=False))
    z = nn.Variable((64, Z_DIM, 1, 1))
    z.d = np.random.RandomState(args.seed).randn(64, Z_DIM, 1, 1)
    x = generator(z)
    # The running variance PF.batch_normalization names "bn/var" (NNabla's
    # Python name; the C++ program saves "bn/variance") is created unused.
    fresh = sorted(name for name in nn.get_parameters(grad_only=False)
                   if name not in loaded and not name.endswith("/bn/var"))
    if fresh:
        sys.exit(f"dcgan_samples.py: {args.params} lacks the generator's parameters {', '.join(fresh)}")
    x.forward()
    save_image_grid(args.out, x.d, ncols=8,
                    title=f"64 samples of NNabla's C++ DCGAN generator ({os.path.basename(args.params)})")
    print(f"dcgan_samples.py: 64 samples of the generator in {args.params} written to {args.out}")


if __name__ == "__main__":
    main()

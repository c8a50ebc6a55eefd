"""What one training step of the tutorial's VAE computes, read from the
installed engine (nnvae._core) so that the benchmark, the PyTorch twin and
the trainer share one layer table and one set of synthetic digits.
"""
from __future__ import annotations

from nnvae import _core


def adam_settings():
    """(learning rate, beta1, beta2, eps) of nnvae-train's default run."""
    cfg = _core.vae.VaeConfig()
    return cfg.learning_rate, cfg.beta1, cfg.beta2, cfg.eps


def layers(latent=None, hidden=None):
    """The model's affine layers in order, as (name, inputs, outputs), from
    the engine's parameter table (each layer's W is (inputs, outputs));
    latent and hidden default to VaeConfig's."""
    cfg = _core.vae.VaeConfig()
    latent = cfg.latent if latent is None else latent
    hidden = cfg.hidden if hidden is None else hidden
    out = []
    for name, shape in _core.vae.vae_parameter_shapes(latent, hidden):
        layer, _, kind = name.rpartition("/affine/")
        if kind == "W":
            out.append((layer, int(shape[0]), int(shape[1])))
    return out


def step_products(batch, table=None):
    """The step's matrix products as (what, m, k, n): C (m, n) = A (m, k) B (k, n).
    Forward X.W for every layer; backward dY.W^T for every layer but the
    first (its input, the images, needs no gradient) and X^T.dY."""
    table = layers() if table is None else table
    out = [(f"{name} X.W", batch, n_in, n_out) for name, n_in, n_out in table]
    for i, (name, n_in, n_out) in enumerate(table):
        if i > 0:
            out.append((f"{name} dY.WT", batch, n_out, n_in))
        out.append((f"{name} XT.dY", n_in, batch, n_out))
    return out


def flops(batch, table=None):
    """2·m·k·n summed over the step's products at `batch`."""
    return sum(2 * m * k * n for _, m, k, n in step_products(batch, table))


def flops_per_image(table=None):
    return flops(1, table)


def images(count, seed=1):
    """`count` MNIST-shaped uint8 digits (count, 784): the engine's synthetic
    digits, the same the C++ tests use (the values do not change the cost)."""
    return _core.vae.synthetic_digits(count, seed).reshape(count, 784)

"""Parameter initializers, as nnabla.initializer. Calling one with a shape
gives a numpy float32 array. Without rng they draw from nnvae's global
generator (nnvae.seed); with rng (a numpy RandomState) they draw from it
exactly as NNabla's do, so the same rng gives the same initial values in
both libraries.

    UniformInitializer(lim=(-1, 1), rng=None)   U[lim[0], lim[1])
    ConstantInitializer(value=0)
    NormalInitializer(sigma=1.0, rng=None)      N(0, sigma²)
    calc_uniform_lim_glorot(inmaps, outmaps, kernel=(1, 1))
        = (-d, d), d = sqrt(6 / (prod(kernel)·(inmaps + outmaps)))
"""
import math

import numpy as np

from . import _core

__all__ = ["Initializer", "UniformInitializer", "ConstantInitializer", "NormalInitializer",
           "calc_uniform_lim_glorot"]


class Initializer:
    """Base class. `_engine` is the engine-side initializer the parameter
    directory runs (None: values come from __call__ in Python)."""

    _engine = None

    def __call__(self, shape):
        return np.asarray(self._engine(tuple(shape)), dtype=np.float32)


def _rng_or_none(rng, where):
    if rng is not None and not hasattr(rng, "uniform"):
        raise TypeError(f"{where}: rng must be a numpy RandomState (or None), got {type(rng).__name__}")
    return rng


class UniformInitializer(Initializer):
    """U[lim[0], lim[1])."""

    def __init__(self, lim=(-1, 1), rng=None):
        lo, hi = (float(v) for v in lim)
        self.lim = (lo, hi)
        self.rng = _rng_or_none(rng, "UniformInitializer")
        if self.rng is None:
            self._engine = _core.UniformInitializer((lo, hi))

    def __call__(self, shape):
        if self.rng is None:
            return super().__call__(shape)
        return self.rng.uniform(self.lim[0], self.lim[1], size=tuple(shape)).astype(np.float32)

    def __repr__(self):
        return f"UniformInitializer(lim={self.lim})"


class ConstantInitializer(Initializer):
    """Every element equal to value."""

    def __init__(self, value=0):
        self.value = float(value)
        self._engine = _core.ConstantInitializer(self.value)

    def __repr__(self):
        return f"ConstantInitializer(value={self.value})"


class NormalInitializer(Initializer):
    """N(0, sigma²)."""

    def __init__(self, sigma=1.0, rng=None):
        self.sigma = float(sigma)
        self.rng = _rng_or_none(rng, "NormalInitializer")
        if self.rng is None:
            self._engine = _core.NormalInitializer(self.sigma, 0.0)

    def __call__(self, shape):
        if self.rng is None:
            return super().__call__(shape)
        return (self.rng.randn(*tuple(shape)) * self.sigma).astype(np.float32)

    def __repr__(self):
        return f"NormalInitializer(sigma={self.sigma})"


def calc_uniform_lim_glorot(inmaps, outmaps, kernel=(1, 1)):
    """Glorot's limits (-d, d), d = sqrt(6 / (k·(inmaps + outmaps))), k the
    product of the kernel size (an int or a tuple): NNabla's Python formula.
    (NNabla's C++ pf::convolution, and so the engine's, uses
    sqrt(6 / (k·inmaps + outmaps)); both agree for k = 1.)"""
    k = 1
    for d in (kernel if isinstance(kernel, (tuple, list)) else (kernel,)):
        k *= int(d)
    d = math.sqrt(6.0 / (k * (int(inmaps) + int(outmaps))))
    return -d, d

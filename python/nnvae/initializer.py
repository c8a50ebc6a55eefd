"""Parameter initializers, as nnabla.initializer. Each draws from the global
generator (nnvae.seed); calling one with a shape gives a numpy array.

    UniformInitializer(lim=(-1, 1))   U[lim[0], lim[1])
    ConstantInitializer(value=0)
    NormalInitializer(sigma=1.0)      N(0, sigma²)
    calc_uniform_lim_glorot(inmaps, outmaps, kernel=1) = sqrt(6 / (kernel·inmaps + outmaps))
"""
from ._core import ConstantInitializer, Initializer, NormalInitializer, UniformInitializer
from ._core import calc_uniform_lim_glorot as _glorot

__all__ = ["Initializer", "UniformInitializer", "ConstantInitializer", "NormalInitializer",
           "calc_uniform_lim_glorot"]


def calc_uniform_lim_glorot(inmaps, outmaps, kernel=1):
    """Glorot's limit sqrt(6 / (k·inmaps + outmaps)), k the product of the
    kernel size (an int or a tuple, as in NNabla)."""
    k = 1
    for d in (kernel if isinstance(kernel, (tuple, list)) else (kernel,)):
        k *= int(d)
    return _glorot(int(inmaps), int(outmaps), k)

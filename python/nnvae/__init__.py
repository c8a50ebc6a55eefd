"""nnvae: a small autodiff graph engine with NNabla's API style, and the
NNabla tutorial's VAE on MNIST.

    import nnvae
    import nnvae.functions as F
    import nnvae.parametric_functions as PF
    import nnvae.solvers as S

The engine is the C++ extension ``nnvae._core``; this package gives it
NNabla's Python names. The public surface is what ``__all__`` lists; the
submodules ``nnvae.datasets``, ``nnvae.cli`` and ``nnvae.errors`` are imported
on demand.
"""
import os as _os
from contextlib import contextmanager as _contextmanager

# OpenMP threads that wait for work spin for a long time by default; when
# another process wants the same cores, two spinning threads make training
# 10-50x slower. A short spin costs nothing on an idle machine. libgomp reads
# this when the engine loads, so it is set (unless the user set it) first.
_os.environ.setdefault("GOMP_SPINCOUNT", "20000")

from . import _core  # noqa: E402
from ._core import Variable
from .parameter import clear_parameters, get_parameters, parameter_scope
from . import functions, parametric_functions, solvers

# Keep in step with `version` in pyproject.toml.
__version__ = "0.1.0"

__all__ = [
    "Variable",
    "functions",
    "parametric_functions",
    "solvers",
    "parameter_scope",
    "get_parameters",
    "clear_parameters",
    "seed",
    "set_auto_forward",
    "get_auto_forward",
    "auto_forward",
    "set_num_threads",
    "get_num_threads",
    "__version__",
]


def seed(seed_value):
    """Seeds the global generator (parameter initializers, F.randn/F.rand with
    seed=-1). The same seed and the same calls give the same numbers."""
    if isinstance(seed_value, bool) or not isinstance(seed_value, int):
        raise TypeError(f"nnvae.seed: seed_value must be an int, got {type(seed_value).__name__}")
    if not 0 <= seed_value < 2**32:
        raise ValueError(f"nnvae.seed: seed_value must be in [0, 2**32), got {seed_value}")
    _core.set_seed(seed_value)


def set_auto_forward(auto):
    """Dynamic graph mode: with auto=True every function computes its output
    as soon as it is created (no forward() call needed)."""
    _core.set_auto_forward(bool(auto))


def get_auto_forward():
    """Whether functions compute at creation (see set_auto_forward)."""
    return _core.get_auto_forward()


@_contextmanager
def auto_forward(auto=True):
    """``with nnvae.auto_forward(): ...`` builds a dynamic graph inside the
    block; the previous mode is restored on leaving it, even on an error."""
    previous = _core.get_auto_forward()
    _core.set_auto_forward(bool(auto))
    try:
        yield
    finally:
        _core.set_auto_forward(previous)


def set_num_threads(n):
    """Threads for matrix products and long elementwise loops (n >= 1)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"nnvae.set_num_threads: n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"nnvae.set_num_threads: n must be >= 1, got {n}")
    _core.set_num_threads(n)


def get_num_threads():
    """The thread count set_num_threads gave (or OpenMP's default)."""
    return _core.get_num_threads()

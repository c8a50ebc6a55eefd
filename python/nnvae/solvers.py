"""nnvae.solvers (import as S): Adam and SGD, as in NNabla.

    solver = S.Adam(alpha=3e-4)
    solver.set_parameters(nnvae.get_parameters())
    # each step:
    solver.zero_grad(); loss.forward(); loss.backward(); solver.update()

Methods: set_parameters(param_dict, reset=True), zero_grad(), update()
(parameters that received no gradient since zero_grad are left as they are),
weight_decay(decay_rate) (adds decay_rate·w to each gradient),
learning_rate(), set_learning_rate(learning_rate).

"Received a gradient" means the gradient buffer was written or handed out
since zero_grad(): backward into it, or any access to ``param.g`` (a numpy
view may be written through, so reading it counts too).
"""
import numbers

from . import _core
from ._core import Solver

__all__ = ["Solver", "Adam", "Sgd"]


def Adam(alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam in NNabla's form: per parameter, t += 1,
    alpha_t = alpha·sqrt(1 − beta2^t)/(1 − beta1^t), m = beta1·m + (1 − beta1)·g,
    v = beta2·v + (1 − beta2)·g², w −= alpha_t·m/(sqrt(v) + eps)."""
    return _core.AdamSolver(_real(alpha, "Adam", "alpha"), _real(beta1, "Adam", "beta1"),
                            _real(beta2, "Adam", "beta2"), _real(eps, "Adam", "eps"))


def Sgd(lr=0.001):
    """Plain gradient descent: w −= lr·g."""
    return _core.SgdSolver(_real(lr, "Sgd", "lr"))


def _real(v, solver, argname):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"S.{solver}: {argname} must be a real number, got {type(v).__name__}")
    return float(v)

"""nnvae.parametric_functions (import as PF): functions that create their
parameters in the global directory, under the current parameter scope.

    with nnvae.parameter_scope("fc1"):
        h = PF.affine(x, 500)        # parameters fc1/affine/W (n_in, 500), fc1/affine/b (500,)
    h = PF.affine(x, 500, name="fc1")  # the same
"""
import numbers

from . import _core
from ._core import Variable
from .parameter import _as_initializer, get_current_parameter_scope, parameter_scope

__all__ = ["affine"]


def affine(x, n_outmaps, base_axis=1, w_init=None, b_init=None, with_bias=True, name=None):
    """The fully connected layer y = X·W + b (see F.affine) with W
    "affine/W" of shape (n_in, n_outmaps), n_in = prod(x.shape[base_axis:]),
    and b "affine/b" of shape (n_outmaps,), created under the current scope
    (and under `name`, if given) or reused when they exist.

    w_init defaults to Glorot's uniform U(±sqrt(6/(n_in + n_outmaps))), b_init
    to zeros; either may be an nnvae.initializer object, a number, a numpy
    array of the parameter's shape, or a callable shape -> array."""
    if not isinstance(x, Variable):
        raise TypeError(f"PF.affine: x must be an nnvae.Variable, got {type(x).__name__}")
    for value, argname in ((n_outmaps, "n_outmaps"), (base_axis, "base_axis")):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"PF.affine: {argname} must be an int, got {type(value).__name__}")
    if n_outmaps <= 0:
        raise ValueError(f"PF.affine: n_outmaps must be > 0, got {n_outmaps}")
    if not 0 <= base_axis < x.ndim:
        raise ValueError(f"PF.affine: base_axis {base_axis} is out of range for input shape {x.shape}")
    if name is not None:
        with parameter_scope(name):
            return affine(x, n_outmaps, base_axis, w_init, b_init, with_bias)

    n_in = 1
    for d in x.shape[base_axis:]:
        n_in *= d
    scope = get_current_parameter_scope()
    prefix = f"{scope}/affine" if scope else "affine"
    # Initial values are only produced for parameters that do not exist yet,
    # so a callable initializer is not run (nor the generator advanced) on reuse.
    w = b = None
    if _core._get_parameter(prefix + "/W") is None:
        w = _as_initializer(w_init, (n_in, n_outmaps), "PF.affine: w_init")
    if with_bias and _core._get_parameter(prefix + "/b") is None:
        b = _as_initializer(b_init, (n_outmaps,), "PF.affine: b_init")
    return _core._pf_affine(x, int(n_outmaps), int(base_axis), scope, w, b, bool(with_bias))

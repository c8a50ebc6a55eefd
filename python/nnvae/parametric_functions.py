"""nnvae.parametric_functions (import as PF): functions that create their
parameters in the global directory, under the current parameter scope.

    with nnvae.parameter_scope("fc1"):
        h = PF.affine(x, 500)        # parameters fc1/affine/W (n_in, 500), fc1/affine/b (500,)
    h = PF.affine(x, 500, name="fc1")  # the same
"""
import numbers

from . import functions as F
from ._core import Variable
from .initializer import UniformInitializer, calc_uniform_lim_glorot
from .parameter import _as_initializer, get_parameter, get_parameter_or_create, parameter_scope

__all__ = ["affine"]


def affine(inp, n_outmaps, base_axis=1, w_init=None, b_init=None, fix_parameters=False, rng=None,
           with_bias=True, apply_w=None, apply_b=None, name=None):
    """The fully connected layer y = X·W + b (see F.affine) with W
    "affine/W" of shape (n_in, n_outmaps), n_in = prod(inp.shape[base_axis:]),
    and b "affine/b" of shape (n_outmaps,), created under the current scope
    (and under `name`, if given) or reused when they exist.

    w_init defaults to Glorot's uniform U(±sqrt(6/(n_in + n_outmaps))) drawn
    from `rng` (a numpy RandomState, as NNabla draws it) or, without rng,
    from nnvae's global generator; b_init to zeros. Either may be an
    nnvae.initializer object, a number, a numpy array of the parameter's
    shape, or a callable shape -> array. fix_parameters=True uses W and b
    without computing their gradients (the stored parameters keep need_grad).
    apply_w / apply_b, callables Variable -> Variable, transform W / b
    before use (e.g. a weight normalisation). with_bias=False: no b."""
    if not isinstance(inp, Variable):
        raise TypeError(f"PF.affine: inp must be an nnvae.Variable, got {type(inp).__name__}")
    for value, argname in ((n_outmaps, "n_outmaps"), (base_axis, "base_axis")):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"PF.affine: {argname} must be an int, got {type(value).__name__}")
    if n_outmaps <= 0:
        raise ValueError(f"PF.affine: n_outmaps must be > 0, got {n_outmaps}")
    if -inp.ndim <= base_axis < 0:  # counts from the end, as in NNabla
        base_axis += inp.ndim
    if not 0 <= base_axis < inp.ndim:
        raise ValueError(f"PF.affine: base_axis {base_axis} is out of range for input shape {inp.shape}")
    for fn, argname in ((apply_w, "apply_w"), (apply_b, "apply_b")):
        if fn is not None and not callable(fn):
            raise TypeError(f"PF.affine: {argname} must be a callable Variable -> Variable, got {type(fn).__name__}")
    if name is not None:
        with parameter_scope(name):
            return affine(inp, n_outmaps, base_axis, w_init, b_init, fix_parameters, rng, with_bias,
                          apply_w, apply_b)

    n_in = 1
    for d in inp.shape[base_axis:]:
        n_in *= d
    if w_init is None:
        w_init = UniformInitializer(calc_uniform_lim_glorot(n_in, n_outmaps), rng=rng)
    as_need_grad = False if fix_parameters else None
    # Initial values are only produced for parameters that do not exist yet,
    # so an initializer is not run (nor a generator advanced) on reuse.
    with parameter_scope("affine"):
        w = _parameter("W", (n_in, n_outmaps), w_init, "PF.affine: w_init", as_need_grad)
        b = _parameter("b", (n_outmaps,), b_init, "PF.affine: b_init", as_need_grad) if with_bias else None
    if apply_w is not None:
        w = apply_w(w)
    if b is not None and apply_b is not None:
        b = apply_b(b)
    return F.affine(inp, w, b, base_axis)


def _parameter(name, shape, init, where, as_need_grad):
    """The parameter `name` of the current scope, created from `init` (the
    error naming `where` when it does not fit) only if it does not exist."""
    if get_parameter(name) is None:
        init = _as_initializer(init, shape, where)
    return get_parameter_or_create(name, shape, init, True, as_need_grad)

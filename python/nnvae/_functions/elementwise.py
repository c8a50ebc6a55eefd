"""Elementwise functions of nnvae.functions: affine, activations, maths of a
variable and a scalar or of two variables (broadcast as numpy does), and
clipping."""
import numbers

from .._core import Variable
from .checks import _raw, _flag, _int, _real, _single_output, _var, binary, scalar, unary


# --- affine and activations --------------------------------------------------

def affine(x, weight, bias=None, base_axis=1, n_outputs=-1, outputs=None):
    """y = X·W + b, where X is x flattened to (prod(shape[:base_axis]),
    prod(shape[base_axis:])); W: (cols, ...), b: W.shape[1:] or None;
    y: x.shape[:base_axis] + W.shape[1:]."""
    _single_output("affine", n_outputs, outputs)
    if bias is not None:
        _var(bias, "affine", "bias")
    base_axis = _int(base_axis, "affine", "base_axis")
    if -_var(x, "affine", "x").ndim <= base_axis < 0:  # counts from the end, as in NNabla
        base_axis += x.ndim
    return _raw.affine(_var(x, "affine", "x"), _var(weight, "affine", "weight"), bias, base_axis)


def elu(x, alpha=1.0, n_outputs=-1, outputs=None):
    """x if x >= 0 else alpha·(exp(x) − 1)."""
    _single_output("elu", n_outputs, outputs)
    return _raw.elu(_var(x, "elu", "x"), _real(alpha, "elu", "alpha"))


def relu(x, inplace=False, n_outputs=-1, outputs=None):
    """max(x, 0). (inplace is accepted; the engine computes out of place.)"""
    _single_output("relu", n_outputs, outputs)
    return _raw.relu(_var(x, "relu", "x"), _flag(inplace, "relu", "inplace"))


def leaky_relu(x, alpha=0.1, inplace=False, n_outputs=-1, outputs=None):
    """x if x > 0 else alpha·x. (inplace is accepted; the engine computes out of place.)"""
    _single_output("leaky_relu", n_outputs, outputs)
    return _raw.leaky_relu(_var(x, "leaky_relu", "x"), _real(alpha, "leaky_relu", "alpha"),
                           _flag(inplace, "leaky_relu", "inplace"))


def softplus(x, beta=1.0, n_outputs=-1, outputs=None):
    """log(1 + exp(beta·x)) / beta, beta > 0."""
    _single_output("softplus", n_outputs, outputs)
    return _raw.softplus(_var(x, "softplus", "x"), _real(beta, "softplus", "beta"))


sigmoid = unary("sigmoid", """1 / (1 + exp(−x)).""")
tanh = unary("tanh", """tanh(x).""")
exp = unary("exp", """exp(x).""")
log = unary("log", """Natural logarithm.""")
identity = unary("identity", """y = x (a new variable with the same values).""")
abs = unary("abs", """|x|; the gradient is sign(x), taken as +1 at 0.""")
sqrt = unary("sqrt", """√x (nnvae's own; NNabla writes x ** 0.5).""")


# --- two variables, broadcast as numpy does -----------------------------------

add2 = binary("add2", """x0 + x1.""", inplace=True)
sub2 = binary("sub2", """x0 − x1.""", inplace=True)
mul2 = binary("mul2", """x0 · x1.""", inplace=True)
div2 = binary("div2", """x0 / x1.""", inplace=True)
pow2 = binary("pow2", """x0 ** x1, broadcast as numpy does; the gradient to x1 is log(x0)·y.""", inplace=True)
maximum2 = binary("maximum2", """Elementwise max(x0, x1), broadcast; on ties the gradient goes to x1.""",
                  inplace=False)
minimum2 = binary("minimum2", """Elementwise min(x0, x1), broadcast; on ties the gradient goes to x1.""",
                  inplace=False)


# --- a variable and a scalar ------------------------------------------------------

add_scalar = scalar("add_scalar", """x + val.""", inplace=True)
mul_scalar = scalar("mul_scalar", """x · val.""", inplace=True)
pow_scalar = scalar("pow_scalar", """x ** val.""", inplace=True)
r_sub_scalar = scalar("r_sub_scalar", """val − x.""", inplace=False)
r_div_scalar = scalar("r_div_scalar", """val / x.""", inplace=False)
maximum_scalar = scalar("maximum_scalar", """max(x, val); the gradient passes where x > val.""",
                        inplace=False, default=1.0)
minimum_scalar = scalar("minimum_scalar", """min(x, val); the gradient passes where x < val.""",
                        inplace=False, default=1.0)


def greater_equal_scalar(x0, val=1, n_outputs=-1, outputs=None):
    """1.0 where x0 >= val, else 0.0. No gradient: back-propagating through it
    into a variable that needs one is an error."""
    _single_output("greater_equal_scalar", n_outputs, outputs)
    return _raw.greater_equal_scalar(_var(x0, "greater_equal_scalar", "x0"),
                                     _real(val, "greater_equal_scalar", "val"))


def clip_by_value(x, min, max):
    """min(max(x, min), max). min and max are numbers or Variables (a
    Variable bound works as maximum2/minimum2, gradients to it included)."""
    _var(x, "clip_by_value", "x")
    bounds = []
    for name, b in (("min", min), ("max", max)):
        if isinstance(b, Variable):
            bounds.append(b)
        elif isinstance(b, numbers.Real) and not isinstance(b, bool):
            bounds.append(float(b))
        else:
            raise TypeError(f"F.clip_by_value: {name} must be a Variable or a number, got {type(b).__name__}")
    lo, hi = bounds
    if not isinstance(lo, Variable) and not isinstance(hi, Variable):
        return _raw.clip_by_value(x, lo, hi)
    y = _raw.maximum2(x, lo) if isinstance(lo, Variable) else _raw.maximum_scalar(x, lo)
    return _raw.minimum2(y, hi) if isinstance(hi, Variable) else _raw.minimum_scalar(y, hi)

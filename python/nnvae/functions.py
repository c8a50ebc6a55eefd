"""nnvae.functions (import as F): every engine function, with NNabla's Python
names, argument names and defaults.

Each function takes Variables (and plain numbers for options) and returns a
new Variable whose shape is known at once; its values are computed by
``forward()`` on a later variable, or at once under ``nnvae.auto_forward()``.
Shape and value errors raise ValueError naming the function and the shapes;
arguments of the wrong type raise TypeError.
"""
import numbers

from . import _core
from ._core import Variable

_raw = _core.functions

__all__ = [
    "affine", "elu", "relu", "sigmoid", "tanh", "softplus", "exp", "log", "identity",
    "add2", "sub2", "mul2", "div2",
    "add_scalar", "mul_scalar", "pow_scalar", "r_sub_scalar", "r_div_scalar",
    "sum", "mean", "sigmoid_cross_entropy", "greater_equal_scalar", "reshape",
    "randn", "rand", "constant",
]


# --- argument checks ----------------------------------------------------------

def _var(x, fname, argname):
    if not isinstance(x, Variable):
        hint = " (wrap arrays with nnvae.Variable.from_numpy_array)" if hasattr(x, "__array__") else ""
        raise TypeError(f"F.{fname}: {argname} must be an nnvae.Variable, got {type(x).__name__}{hint}")
    return x


def _real(v, fname, argname):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"F.{fname}: {argname} must be a real number, got {type(v).__name__}")
    return float(v)


def _int(v, fname, argname):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise TypeError(f"F.{fname}: {argname} must be an int, got {type(v).__name__}")
    return int(v)


def _flag(v, fname, argname):
    if not isinstance(v, (bool, int)):
        raise TypeError(f"F.{fname}: {argname} must be a bool, got {type(v).__name__}")
    return bool(v)


_INT32 = 2**31


def _int_list(v, fname, argname):
    """An int or a sequence of ints as a list (shapes and axes)."""
    items = [v] if isinstance(v, numbers.Integral) and not isinstance(v, bool) else v
    try:
        items = list(items)
    except TypeError:
        raise TypeError(f"F.{fname}: {argname} must be an int or a tuple of ints, "
                        f"got {type(v).__name__}") from None
    out = [_int(i, fname, f"each entry of {argname}") for i in items]
    for i in out:
        if not -_INT32 <= i < _INT32:
            raise ValueError(f"F.{fname}: {argname} {tuple(out)} has an entry out of the int32 range")
    return out


def _shape(shape, fname):
    dims = _int_list(shape, fname, "shape")
    if any(d < 0 for d in dims):
        raise ValueError(f"F.{fname}: shape {tuple(dims)} has a negative entry")
    return dims


def _seed(seed, fname):
    seed = _int(seed, fname, "seed")
    if not (seed == -1 or 0 <= seed < _INT32):
        raise ValueError(f"F.{fname}: seed must be -1 (global generator) or in [0, 2**31), got {seed}")
    return seed


def _single_output(fname, n_outputs, outputs):
    """NNabla's n_outputs/outputs options: every nnvae function has exactly
    one output, created by the call; anything else is refused by name."""
    if n_outputs not in (-1, 1) or isinstance(n_outputs, bool):
        raise ValueError(f"F.{fname}: n_outputs={n_outputs!r} is not supported (nnvae functions have one output; "
                         f"leave n_outputs=-1)")
    if outputs is not None:
        raise ValueError(f"F.{fname}: outputs= (writing into given variables) is not supported by nnvae; "
                         f"leave outputs=None")


# --- affine and activations --------------------------------------------------

def affine(x, weight, bias=None, base_axis=1, n_outputs=-1, outputs=None):
    """y = X·W + b, where X is x flattened to (prod(shape[:base_axis]),
    prod(shape[base_axis:])); W: (cols, ...), b: W.shape[1:] or None;
    y: x.shape[:base_axis] + W.shape[1:]."""
    _single_output("affine", n_outputs, outputs)
    if bias is not None:
        _var(bias, "affine", "bias")
    return _raw.affine(_var(x, "affine", "x"), _var(weight, "affine", "weight"), bias,
                       _int(base_axis, "affine", "base_axis"))


def elu(x, alpha=1.0, n_outputs=-1, outputs=None):
    """x if x >= 0 else alpha·(exp(x) − 1)."""
    _single_output("elu", n_outputs, outputs)
    return _raw.elu(_var(x, "elu", "x"), _real(alpha, "elu", "alpha"))


def relu(x, inplace=False, n_outputs=-1, outputs=None):
    """max(x, 0). (inplace is accepted; the engine computes out of place.)"""
    _single_output("relu", n_outputs, outputs)
    return _raw.relu(_var(x, "relu", "x"), _flag(inplace, "relu", "inplace"))


def sigmoid(x, n_outputs=-1, outputs=None):
    """1 / (1 + exp(−x))."""
    _single_output("sigmoid", n_outputs, outputs)
    return _raw.sigmoid(_var(x, "sigmoid", "x"))


def tanh(x, n_outputs=-1, outputs=None):
    """tanh(x)."""
    _single_output("tanh", n_outputs, outputs)
    return _raw.tanh(_var(x, "tanh", "x"))


def softplus(x, beta=1.0, n_outputs=-1, outputs=None):
    """log(1 + exp(beta·x)) / beta, beta > 0."""
    _single_output("softplus", n_outputs, outputs)
    return _raw.softplus(_var(x, "softplus", "x"), _real(beta, "softplus", "beta"))


def exp(x, n_outputs=-1, outputs=None):
    """exp(x)."""
    _single_output("exp", n_outputs, outputs)
    return _raw.exp(_var(x, "exp", "x"))


def log(x, n_outputs=-1, outputs=None):
    """Natural logarithm."""
    _single_output("log", n_outputs, outputs)
    return _raw.log(_var(x, "log", "x"))


def identity(x, n_outputs=-1, outputs=None):
    """y = x (a new variable with the same values)."""
    _single_output("identity", n_outputs, outputs)
    return _raw.identity(_var(x, "identity", "x"))


# --- two variables, broadcast as numpy does -----------------------------------

def add2(x0, x1, inplace=False, n_outputs=-1, outputs=None):
    """x0 + x1."""
    _single_output("add2", n_outputs, outputs)
    return _raw.add2(_var(x0, "add2", "x0"), _var(x1, "add2", "x1"), _flag(inplace, "add2", "inplace"))


def sub2(x0, x1, inplace=False, n_outputs=-1, outputs=None):
    """x0 − x1."""
    _single_output("sub2", n_outputs, outputs)
    return _raw.sub2(_var(x0, "sub2", "x0"), _var(x1, "sub2", "x1"), _flag(inplace, "sub2", "inplace"))


def mul2(x0, x1, inplace=False, n_outputs=-1, outputs=None):
    """x0 · x1."""
    _single_output("mul2", n_outputs, outputs)
    return _raw.mul2(_var(x0, "mul2", "x0"), _var(x1, "mul2", "x1"), _flag(inplace, "mul2", "inplace"))


def div2(x0, x1, inplace=False, n_outputs=-1, outputs=None):
    """x0 / x1."""
    _single_output("div2", n_outputs, outputs)
    return _raw.div2(_var(x0, "div2", "x0"), _var(x1, "div2", "x1"), _flag(inplace, "div2", "inplace"))


# --- a variable and a scalar ------------------------------------------------------

def add_scalar(x, val=1, inplace=False, n_outputs=-1, outputs=None):
    """x + val."""
    _single_output("add_scalar", n_outputs, outputs)
    return _raw.add_scalar(_var(x, "add_scalar", "x"), _real(val, "add_scalar", "val"),
                           _flag(inplace, "add_scalar", "inplace"))


def mul_scalar(x, val=1, inplace=False, n_outputs=-1, outputs=None):
    """x · val."""
    _single_output("mul_scalar", n_outputs, outputs)
    return _raw.mul_scalar(_var(x, "mul_scalar", "x"), _real(val, "mul_scalar", "val"),
                           _flag(inplace, "mul_scalar", "inplace"))


def pow_scalar(x, val=1, inplace=False, n_outputs=-1, outputs=None):
    """x ** val."""
    _single_output("pow_scalar", n_outputs, outputs)
    return _raw.pow_scalar(_var(x, "pow_scalar", "x"), _real(val, "pow_scalar", "val"),
                           _flag(inplace, "pow_scalar", "inplace"))


def r_sub_scalar(x, val=1, n_outputs=-1, outputs=None):
    """val − x."""
    _single_output("r_sub_scalar", n_outputs, outputs)
    return _raw.r_sub_scalar(_var(x, "r_sub_scalar", "x"), _real(val, "r_sub_scalar", "val"))


def r_div_scalar(x, val=1, n_outputs=-1, outputs=None):
    """val / x."""
    _single_output("r_div_scalar", n_outputs, outputs)
    return _raw.r_div_scalar(_var(x, "r_div_scalar", "x"), _real(val, "r_div_scalar", "val"))


# --- reductions -------------------------------------------------------------------

def _reduce(raw, fname, x, axis, keepdims):
    _var(x, fname, "x")
    keepdims = _flag(keepdims, fname, "keepdims")
    if axis is None:
        axes = []  # the engine reads "no axes" as every axis
    else:
        axes = _int_list(axis, fname, "axis")
        if not axes:
            # numpy: an empty axis tuple reduces nothing.
            return _raw.identity(x)
    return raw(x, axes, keepdims)


def sum(x, axis=None, keepdims=False):
    """Sum over `axis` (an int, a tuple of ints, or None for all; negative
    axes count from the end). Reducing everything without keepdims gives a
    0-dim variable."""
    return _reduce(_raw.sum, "sum", x, axis, keepdims)


def mean(x, axis=None, keepdims=False):
    """Mean over `axis`, as sum."""
    return _reduce(_raw.mean, "mean", x, axis, keepdims)


# --- loss, comparison, shape ----------------------------------------------------------

def sigmoid_cross_entropy(x, target, n_outputs=-1, outputs=None):
    """Elementwise max(x, 0) − x·t + log(1 + exp(−|x|)) for logits x and
    targets t of the same shape; the gradient flows to x only."""
    _single_output("sigmoid_cross_entropy", n_outputs, outputs)
    return _raw.sigmoid_cross_entropy(_var(x, "sigmoid_cross_entropy", "x"),
                                      _var(target, "sigmoid_cross_entropy", "target"))


def greater_equal_scalar(x0, val=1, n_outputs=-1, outputs=None):
    """1.0 where x0 >= val, else 0.0. No gradient: back-propagating through it
    into a variable that needs one is an error."""
    _single_output("greater_equal_scalar", n_outputs, outputs)
    return _raw.greater_equal_scalar(_var(x0, "greater_equal_scalar", "x0"),
                                     _real(val, "greater_equal_scalar", "val"))


def reshape(x, shape, inplace=True, n_outputs=-1, outputs=None):
    """The same elements under `shape` (one entry may be -1, inferred).
    inplace=True shares x's buffer instead of copying it."""
    _single_output("reshape", n_outputs, outputs)
    return _raw.reshape(_var(x, "reshape", "x"), _int_list(shape, "reshape", "shape"),
                        _flag(inplace, "reshape", "inplace"))


# --- sources (no inputs, no gradient) ---------------------------------------------------

def randn(mu=0, sigma=1, shape=[], seed=-1, n_outputs=-1, outputs=None):
    """Samples of N(mu, sigma²). seed=-1 draws from the global generator
    (nnvae.seed); any other seed gives this node its own generator, seeded
    once, so each forward continues its own sequence."""
    _single_output("randn", n_outputs, outputs)
    return _raw.randn(_real(mu, "randn", "mu"), _real(sigma, "randn", "sigma"), _shape(shape, "randn"),
                      _seed(seed, "randn"))


def rand(low=0, high=1, shape=[], seed=-1, n_outputs=-1, outputs=None):
    """Samples of U[low, high); seed as in randn."""
    _single_output("rand", n_outputs, outputs)
    return _raw.rand(_real(low, "rand", "low"), _real(high, "rand", "high"), _shape(shape, "rand"),
                     _seed(seed, "rand"))


def constant(val=0, shape=[], n_outputs=-1, outputs=None):
    """A variable of `shape` filled with val."""
    _single_output("constant", n_outputs, outputs)
    return _raw.constant(_real(val, "constant", "val"), _shape(shape, "constant"))

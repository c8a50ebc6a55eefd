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


# =================================================================================
# The second set of engine functions (cpp/include/nnvae/functions_more.hpp):
# activations, elementwise maths, shapes, softmax and losses, dropout, one_hot,
# max/min and batch_matmul. Names, parameters and defaults as NNabla 1.39.0's
# nnabla.functions; sqrt is nnvae's own.
# =================================================================================

__all__ += [
    "leaky_relu", "abs", "sqrt", "maximum_scalar", "minimum_scalar", "clip_by_value",
    "pow2", "maximum2", "minimum2",
    "concatenate", "stack", "split", "slice", "transpose", "broadcast",
    "softmax", "log_softmax", "softmax_cross_entropy", "binary_cross_entropy",
    "dropout", "one_hot", "max", "min", "batch_matmul",
]


def _axis(axis, fname, default):
    """An axis argument (None: `default`)."""
    return default if axis is None else _int(axis, fname, "axis")


def _variadic(x, kw, fname, defaults):
    """The inputs and keyword options of a function of *x: every x a
    Variable, options among `defaults` (plus n_outputs/outputs)."""
    if not x:
        raise ValueError(f"F.{fname}: needs at least one input variable")
    xs = [_var(v, fname, f"x[{i}]") for i, v in enumerate(x)]
    kw = dict(kw)
    _single_output(fname, kw.pop("n_outputs", -1), kw.pop("outputs", None))
    unknown = sorted(set(kw) - set(defaults))
    if unknown:
        raise TypeError(f"F.{fname}: unexpected keyword argument(s) {', '.join(unknown)}")
    return xs, {k: kw.get(k, v) for k, v in defaults.items()}


def leaky_relu(x, alpha=0.1, inplace=False, n_outputs=-1, outputs=None):
    """x if x > 0 else alpha·x. (inplace is accepted; the engine computes out of place.)"""
    _single_output("leaky_relu", n_outputs, outputs)
    return _raw.leaky_relu(_var(x, "leaky_relu", "x"), _real(alpha, "leaky_relu", "alpha"),
                           _flag(inplace, "leaky_relu", "inplace"))


def abs(x, n_outputs=-1, outputs=None):
    """|x|; the gradient is sign(x), taken as +1 at 0."""
    _single_output("abs", n_outputs, outputs)
    return _raw.abs(_var(x, "abs", "x"))


def sqrt(x, n_outputs=-1, outputs=None):
    """√x (nnvae's own; NNabla writes x ** 0.5)."""
    _single_output("sqrt", n_outputs, outputs)
    return _raw.sqrt(_var(x, "sqrt", "x"))


def maximum_scalar(x, val=1.0, n_outputs=-1, outputs=None):
    """max(x, val); the gradient passes where x > val."""
    _single_output("maximum_scalar", n_outputs, outputs)
    return _raw.maximum_scalar(_var(x, "maximum_scalar", "x"), _real(val, "maximum_scalar", "val"))


def minimum_scalar(x, val=1.0, n_outputs=-1, outputs=None):
    """min(x, val); the gradient passes where x < val."""
    _single_output("minimum_scalar", n_outputs, outputs)
    return _raw.minimum_scalar(_var(x, "minimum_scalar", "x"), _real(val, "minimum_scalar", "val"))


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


def pow2(x0, x1, inplace=False, n_outputs=-1, outputs=None):
    """x0 ** x1, broadcast as numpy does; the gradient to x1 is log(x0)·y."""
    _single_output("pow2", n_outputs, outputs)
    return _raw.pow2(_var(x0, "pow2", "x0"), _var(x1, "pow2", "x1"), _flag(inplace, "pow2", "inplace"))


def maximum2(x0, x1, n_outputs=-1, outputs=None):
    """Elementwise max(x0, x1), broadcast; on ties the gradient goes to x1."""
    _single_output("maximum2", n_outputs, outputs)
    return _raw.maximum2(_var(x0, "maximum2", "x0"), _var(x1, "maximum2", "x1"))


def minimum2(x0, x1, n_outputs=-1, outputs=None):
    """Elementwise min(x0, x1), broadcast; on ties the gradient goes to x1."""
    _single_output("minimum2", n_outputs, outputs)
    return _raw.minimum2(_var(x0, "minimum2", "x0"), _var(x1, "minimum2", "x1"))


# --- shapes ------------------------------------------------------------------------

def concatenate(*x, **kw):
    """Joins the variables along an existing axis (keyword axis; default the
    last); every other axis must agree."""
    xs, opt = _variadic(x, kw, "concatenate", {"axis": None})
    return _raw.concatenate(xs, _axis(opt["axis"], "concatenate", len(xs[0].shape) - 1))


def stack(*x, **kw):
    """Joins variables of one shape along a new axis (keyword axis, default 0)."""
    xs, opt = _variadic(x, kw, "stack", {"axis": 0})
    return _raw.stack(xs, _int(opt["axis"], "stack", "axis"))


def split(x, axis=0):
    """A tuple of x.shape[axis] variables: x at each index of `axis`, that axis removed."""
    return tuple(_raw.split(_var(x, "split", "x"), _int(axis, "split", "axis")))


def slice(x, start=None, stop=None, step=None, n_outputs=-1, outputs=None):
    """x[start[0]:stop[0]:step[0], ...] as Python slices do (entries may be
    None; negative start/stop count from the end). start, stop and step have
    one entry per axis, or fewer for the last axes."""
    _single_output("slice", n_outputs, outputs)
    _var(x, "slice", "x")
    nd = len(x.shape)
    start = [0] * nd if start is None else list(start)
    stop = list(x.shape) if stop is None else list(stop)
    step = [1] * nd if step is None else list(step)
    if not len(start) == len(stop) == len(step):
        raise ValueError(f"F.slice: start {tuple(start)}, stop {tuple(stop)} and step {tuple(step)} "
                         f"must have the same length")
    lead = nd - len(start)  # leading axes taken whole
    if lead < 0:
        raise ValueError(f"F.slice: start {tuple(start)} has {len(start)} entries but x has shape {x.shape}")
    for i in range(len(start)):
        s = 1 if step[i] is None else _int(step[i], "slice", "each entry of step")
        step[i] = s
        if start[i] is None:
            start[i] = -1 if s < 0 else 0
        if stop[i] is None:
            # Going down, −(size + 1) is the stop just before index 0.
            size = x.shape[lead + i]
            stop[i] = -size - 1 if s < 0 else size
    return _raw.slice(x, _int_list(start, "slice", "start"), _int_list(stop, "slice", "stop"),
                      _int_list(step, "slice", "step"))


def transpose(x, axes, n_outputs=-1, outputs=None):
    """y.shape[i] = x.shape[axes[i]]."""
    _single_output("transpose", n_outputs, outputs)
    return _raw.transpose(_var(x, "transpose", "x"), _int_list(axes, "transpose", "axes"))


def broadcast(x, shape, n_outputs=-1, outputs=None):
    """x repeated along its axes of size 1 to `shape` (x's axes aligned to the end)."""
    _single_output("broadcast", n_outputs, outputs)
    return _raw.broadcast(_var(x, "broadcast", "x"), _shape(shape, "broadcast"))


# --- softmax and losses ----------------------------------------------------------------

def softmax(x, axis=None, n_outputs=-1, outputs=None):
    """exp(x) / Σ exp(x) along `axis` (None: the last)."""
    _single_output("softmax", n_outputs, outputs)
    _var(x, "softmax", "x")
    return _raw.softmax(x, _axis(axis, "softmax", len(x.shape) - 1))


def log_softmax(x, axis=None, n_outputs=-1, outputs=None):
    """x − log Σ exp(x) along `axis` (None: the last), computed stably."""
    _single_output("log_softmax", n_outputs, outputs)
    _var(x, "log_softmax", "x")
    return _raw.log_softmax(x, _axis(axis, "log_softmax", len(x.shape) - 1))


def softmax_cross_entropy(x, target, axis=None, n_outputs=-1, outputs=None):
    """−log softmax(x)[t] along `axis` (None: the last). target holds integer
    class indices with x's shape but 1 at `axis` (a negative index: loss 0);
    the result has target's shape. No gradient to target."""
    _single_output("softmax_cross_entropy", n_outputs, outputs)
    _var(x, "softmax_cross_entropy", "x")
    return _raw.softmax_cross_entropy(x, _var(target, "softmax_cross_entropy", "target"),
                                      _axis(axis, "softmax_cross_entropy", len(x.shape) - 1))


def binary_cross_entropy(x, target, n_outputs=-1, outputs=None):
    """−(t·log x + (1 − t)·log(1 − x)) for probabilities x and targets t of
    one shape; gradients to both."""
    _single_output("binary_cross_entropy", n_outputs, outputs)
    return _raw.binary_cross_entropy(_var(x, "binary_cross_entropy", "x"),
                                     _var(target, "binary_cross_entropy", "target"))


# --- dropout, one_hot ---------------------------------------------------------------------

def dropout(x, p=0.5, seed=-1, n_outputs=-1, outputs=None):
    """x / (1 − p) where a uniform draw is >= p, else 0 (0 <= p < 1); a new
    mask at each forward. seed as in randn."""
    _single_output("dropout", n_outputs, outputs)
    return _raw.dropout(_var(x, "dropout", "x"), _real(p, "dropout", "p"), _seed(seed, "dropout"))


def one_hot(x, shape, n_outputs=-1, outputs=None):
    """x: (..., len(shape)) integer indices; y: x.shape[:-1] + shape, 1 at each
    row's index tuple. Negative indices count from the end; indices outside
    give a row of zeros. No gradient."""
    _single_output("one_hot", n_outputs, outputs)
    return _raw.one_hot(_var(x, "one_hot", "x"), _shape(shape, "one_hot"))


# --- max / min --------------------------------------------------------------------------

def _extreme(raw, raw_with_index, fname, x, axis, keepdims, with_index, only_index):
    _var(x, fname, "x")
    keepdims = _flag(keepdims, fname, "keepdims")
    with_index, only_index = _flag(with_index, fname, "with_index"), _flag(only_index, fname, "only_index")
    if axis is None:
        axes = []  # the engine reads "no axes" as every axis
    else:
        axes = _int_list(axis, fname, "axis")
        if not axes:
            # Nothing reduced: the values themselves, each at index 0.
            if only_index or with_index:
                idx = _raw.constant(0.0, list(x.shape))
                return idx if only_index else (_raw.identity(x), idx)
            return _raw.identity(x)
    if only_index:
        return raw(x, axes, keepdims, True)
    if with_index:
        return tuple(raw_with_index(x, axes, keepdims))
    return raw(x, axes, keepdims, False)


def max(x, axis=None, keepdims=False, with_index=False, only_index=False):
    """Max over `axis` (an int, a tuple of ints, or None for all). with_index:
    (values, indices); only_index: the indices alone. An index counts the
    reduced elements in row-major order (the first maximum wins); indices
    are float values and have no gradient."""
    return _extreme(_raw.max, _raw.max_with_index, "max", x, axis, keepdims, with_index, only_index)


def min(x, axis=None, keepdims=False, with_index=False, only_index=False):
    """Min over `axis`, as max."""
    return _extreme(_raw.min, _raw.min_with_index, "min", x, axis, keepdims, with_index, only_index)


# --- products ---------------------------------------------------------------------------

def batch_matmul(a, b, transpose_a=False, transpose_b=False, n_outputs=-1, outputs=None):
    """One matrix product per batch position: a (..., P, Q) · b (..., Q, R) →
    (..., P, R), each last pair transposed first when asked. a and b have the
    same number (>= 3) of axes; batch axes of size 1 broadcast."""
    _single_output("batch_matmul", n_outputs, outputs)
    return _raw.batch_matmul(_var(a, "batch_matmul", "a"), _var(b, "batch_matmul", "b"),
                             _flag(transpose_a, "batch_matmul", "transpose_a"),
                             _flag(transpose_b, "batch_matmul", "transpose_b"))

"""The nnvae.functions whose Python form is written by hand: the function
table's rows of form CPP (NNabla's Python signature differs from its C++
one: sum, mean, slice) and HAND (overloads, several outputs, variadic
inputs: clip_by_value, max, min, concatenate, stack, split). Each calls the
engine function of the same name once its arguments are checked; defaults
that NNabla's Python shares with the C++ row are read from the table."""
import numbers

from .._core import Variable
from .checks import _raw, _axis, _flag, _int, _int_list, _real, _single_output, _var, _variadic
from .table import row_defaults


# --- reductions ---------------------------------------------------------------------------

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


def _indices(idx):
    """The index output, read as uint64 (NNabla's index type) through .d."""
    idx._holds_indices = True
    return idx


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
                idx = _indices(_raw.constant(0.0, list(x.shape)))
                return idx if only_index else (_raw.identity(x), idx)
            return _raw.identity(x)
    if only_index:
        return _indices(raw(x, axes, keepdims, True))
    if with_index:
        values, idx = raw_with_index(x, axes, keepdims)
        return values, _indices(idx)
    return raw(x, axes, keepdims, False)


def max(x, axis=None, keepdims=False, with_index=False, only_index=False):
    """Max over `axis` (an int, a tuple of ints, or None for all). with_index:
    (values, indices); only_index: the indices alone. An index counts the
    reduced elements in row-major order (the first maximum wins); indices
    have no gradient, and their .d is uint64, as in NNabla (a read-only
    copy: the engine holds them as floats; assign to .d to change them)."""
    return _extreme(_raw.max, _raw.max_with_index, "max", x, axis, keepdims, with_index, only_index)


def min(x, axis=None, keepdims=False, with_index=False, only_index=False):
    """Min over `axis`, as max."""
    return _extreme(_raw.min, _raw.min_with_index, "min", x, axis, keepdims, with_index, only_index)


# --- clipping ------------------------------------------------------------------------------

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


# --- joins, splits and slices ----------------------------------------------------------------

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


# --- normalization ----------------------------------------------------------------------------

_BN = row_defaults("batch_normalization")


def batch_normalization(x, beta, gamma, mean, variance, axes=list(_BN["axes"]), decay_rate=_BN["decay_rate"],
                        eps=_BN["eps"], batch_stat=_BN["batch_stat"], output_stat=False, n_outputs=None):
    """(x − μ) / sqrt(σ² + eps)·gamma + beta along the channel axis `axes`
    (one axis); beta, gamma, mean, variance have x's shape with 1 on every
    other axis. batch_stat=True: μ, σ² are the batch's statistics and each
    forward moves the running mean and variance (the variables given) by
    decay_rate, NNabla's rule (the unbiased batch variance); False: μ, σ²
    are mean and variance. beta or gamma may be None (no shift / no scale).
    output_stat (the batch statistics as extra outputs) is not supported."""
    fname = "batch_normalization"
    if output_stat is not False:
        raise ValueError(f"F.{fname}: output_stat=True (the batch statistics as outputs) is not supported by "
                         f"nnvae")
    if n_outputs not in (None, -1, 1) or isinstance(n_outputs, bool):
        raise ValueError(f"F.{fname}: n_outputs={n_outputs!r} is not supported (one output)")
    _var(x, fname, "x")
    for v, argname in ((mean, "mean"), (variance, "variance")):
        _var(v, fname, argname)
    for v, argname in ((beta, "beta"), (gamma, "gamma")):
        if v is not None:
            _var(v, fname, argname)
    return _raw.batch_normalization(x, beta, gamma, mean, variance, _int_list(axes, fname, "axes"),
                                    _real(decay_rate, fname, "decay_rate"), _real(eps, fname, "eps"),
                                    _flag(batch_stat, fname, "batch_stat"), gamma is None, beta is None)

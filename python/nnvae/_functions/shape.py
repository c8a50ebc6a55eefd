"""Shape functions of nnvae.functions (reshape, joins, splits, slices,
transposes, broadcasts, one_hot, batch_matmul) and the sources that draw or
fill values (randn, rand, constant, dropout)."""
from .checks import _raw, _axis, _flag, _int, _int_list, _real, _seed, _shape, _single_output, _var, _variadic


def reshape(x, shape, inplace=True, n_outputs=-1, outputs=None):
    """The same elements under `shape` (one entry may be -1, inferred).
    inplace=True shares x's buffer instead of copying it."""
    _single_output("reshape", n_outputs, outputs)
    return _raw.reshape(_var(x, "reshape", "x"), _int_list(shape, "reshape", "shape"),
                        _flag(inplace, "reshape", "inplace"))


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


def one_hot(x, shape, n_outputs=-1, outputs=None):
    """x: (..., len(shape)) integer indices; y: x.shape[:-1] + shape, 1 at each
    row's index tuple. Negative indices count from the end; indices outside
    give a row of zeros. No gradient."""
    _single_output("one_hot", n_outputs, outputs)
    return _raw.one_hot(_var(x, "one_hot", "x"), _shape(shape, "one_hot"))


def batch_matmul(a, b, transpose_a=False, transpose_b=False, n_outputs=-1, outputs=None):
    """One matrix product per batch position: a (..., P, Q) · b (..., Q, R) →
    (..., P, R), each last pair transposed first when asked. a and b have the
    same number (>= 3) of axes; batch axes of size 1 broadcast."""
    _single_output("batch_matmul", n_outputs, outputs)
    return _raw.batch_matmul(_var(a, "batch_matmul", "a"), _var(b, "batch_matmul", "b"),
                             _flag(transpose_a, "batch_matmul", "transpose_a"),
                             _flag(transpose_b, "batch_matmul", "transpose_b"))


# --- sources (no inputs, no gradient) and dropout ---------------------------------------

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


def dropout(x, p=0.5, seed=-1, n_outputs=-1, outputs=None):
    """x / (1 − p) where a uniform draw is >= p, else 0 (0 <= p < 1); a new
    mask at each forward. seed as in randn."""
    _single_output("dropout", n_outputs, outputs)
    return _raw.dropout(_var(x, "dropout", "x"), _real(p, "dropout", "p"), _seed(seed, "dropout"))

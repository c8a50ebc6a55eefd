"""Reductions (sum, mean, max, min), softmax and the losses of nnvae.functions."""
from .checks import _raw, _axis, _flag, _int_list, _single_output, _var


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


# --- max / min --------------------------------------------------------------------------

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


def sigmoid_cross_entropy(x, target, n_outputs=-1, outputs=None):
    """Elementwise max(x, 0) − x·t + log(1 + exp(−|x|)) for logits x and
    targets t of the same shape; the gradient flows to x only."""
    _single_output("sigmoid_cross_entropy", n_outputs, outputs)
    return _raw.sigmoid_cross_entropy(_var(x, "sigmoid_cross_entropy", "x"),
                                      _var(target, "sigmoid_cross_entropy", "target"))


def binary_cross_entropy(x, target, n_outputs=-1, outputs=None):
    """−(t·log x + (1 − t)·log(1 − x)) for probabilities x and targets t of
    one shape; gradients to both."""
    _single_output("binary_cross_entropy", n_outputs, outputs)
    return _raw.binary_cross_entropy(_var(x, "binary_cross_entropy", "x"),
                                     _var(target, "binary_cross_entropy", "target"))

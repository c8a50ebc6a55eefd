"""Argument checks shared by every nnvae.functions wrapper, and the makers of
the wrappers that only check their inputs and call the engine.

Each check names the function (as F.name) and the argument it refuses."""
import numbers

from .. import _core
from .._core import Variable

_raw = _core.functions
_INT32 = 2**31


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


def _axis(axis, fname, default):
    """An axis argument (None: `default`)."""
    return default if axis is None else _int(axis, fname, "axis")


def _single_output(fname, n_outputs, outputs):
    """NNabla's n_outputs/outputs options: every nnvae function has exactly
    one output, created by the call; anything else is refused by name."""
    if n_outputs not in (-1, 1) or isinstance(n_outputs, bool):
        raise ValueError(f"F.{fname}: n_outputs={n_outputs!r} is not supported (nnvae functions have one output; "
                         f"leave n_outputs=-1)")
    if outputs is not None:
        raise ValueError(f"F.{fname}: outputs= (writing into given variables) is not supported by nnvae; "
                         f"leave outputs=None")


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


# --- wrappers made from a name ------------------------------------------------
# NNabla's signature for each shape of function; the engine function of the
# same name does the work once the arguments are checked.

def _named(fn, name, doc):
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def unary(name, doc):
    """F.name(x, n_outputs=-1, outputs=None)."""
    raw = getattr(_raw, name)

    def fn(x, n_outputs=-1, outputs=None):
        _single_output(name, n_outputs, outputs)
        return raw(_var(x, name, "x"))
    return _named(fn, name, doc)


def binary(name, doc, inplace):
    """F.name(x0, x1[, inplace=False], n_outputs=-1, outputs=None), broadcast."""
    raw = getattr(_raw, name)
    if inplace:
        def fn(x0, x1, inplace=False, n_outputs=-1, outputs=None):
            _single_output(name, n_outputs, outputs)
            return raw(_var(x0, name, "x0"), _var(x1, name, "x1"), _flag(inplace, name, "inplace"))
    else:
        def fn(x0, x1, n_outputs=-1, outputs=None):
            _single_output(name, n_outputs, outputs)
            return raw(_var(x0, name, "x0"), _var(x1, name, "x1"))
    return _named(fn, name, doc)


def scalar(name, doc, inplace, default=1):
    """F.name(x, val=default[, inplace=False], n_outputs=-1, outputs=None)."""
    raw = getattr(_raw, name)
    if inplace:
        def fn(x, val=default, inplace=False, n_outputs=-1, outputs=None):
            _single_output(name, n_outputs, outputs)
            return raw(_var(x, name, "x"), _real(val, name, "val"), _flag(inplace, name, "inplace"))
    else:
        def fn(x, val=default, n_outputs=-1, outputs=None):
            _single_output(name, n_outputs, outputs)
            return raw(_var(x, name, "x"), _real(val, name, "val"))
    return _named(fn, name, doc)

"""Argument checks shared by every nnvae.functions function: the types of
the arguments (their values are the engine's to check). Each check names the
function (as F.name) and the argument it refuses."""
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

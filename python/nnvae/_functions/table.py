"""nnvae.functions made from the engine's function table (functions.def,
read through _core.function_table()): for each row of form GEN, a Python
function with NNabla's signature (the row's arguments and defaults, then
n_outputs=-1, outputs=None) that checks each argument's type by its kind and
calls the engine. The engine checks the values."""
import ast
import inspect

from .. import _core
from .checks import _INT32, _flag, _int, _int_list, _real, _single_output, _var

# C++ spellings of defaults that Python writes otherwise.
_CPP_LITERALS = {"true": True, "false": False, "{}": []}


def python_default(kind, text):
    """The Python default of an argument of `kind` whose C++ default is
    `text` (None: required). AXIS defaults show as None, as in NNabla."""
    if kind in ("AXIS", "OPT_VAR", "SPATIAL"):
        return None
    if text is None:
        return inspect.Parameter.empty
    if text in _CPP_LITERALS:
        return _CPP_LITERALS[text]
    if text.startswith("{"):  # {a, b}: NNabla's Python shows the tuple (a, b)
        return tuple(ast.literal_eval("[" + text[1:-1] + "]"))
    return ast.literal_eval(text)


def _int32(v, fname, argname):
    v = _int(v, fname, argname)
    if not -_INT32 <= v < _INT32:
        raise ValueError(f"F.{fname}: {argname}={v} is out of the int32 range")
    return v


def _opt_var(v, fname, argname):
    return None if v is None else _var(v, fname, argname)


def _spatial(v, fname, argname):
    return [] if v is None else _int_list(v, fname, argname)


def _axis_or(cpp_default):
    def check(v, fname, argname):
        return cpp_default if v is None else _int32(v, fname, argname)
    return check


# The type check of each argument kind: (value, function name, argument name) -> what the engine takes.
_CHECKS = {
    "VAR": _var, "OPT_VAR": _opt_var, "REAL": _real, "FLOAT": _real, "INT": _int32, "FLAG": _flag,
    "INTS": _int_list, "SHAPE": _int_list, "SPATIAL": _spatial,
}


def signature(row):
    """NNabla's Python signature of a GEN row."""
    params = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=python_default(kind, text))
              for name, kind, text in row["arguments"]]
    params += [inspect.Parameter("n_outputs", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=-1),
               inspect.Parameter("outputs", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None)]
    return inspect.Signature(params)


def make_function(row):
    """The Python function of a GEN row."""
    name = row["name"]
    sig = signature(row)
    raw = getattr(_core.functions, name)
    checks = [(arg, _axis_or(int(text)) if kind == "AXIS" else _CHECKS[kind])
              for arg, kind, text in row["arguments"]]

    def fn(*args, **kwargs):
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"F.{name}{sig}: {e}") from None
        bound.apply_defaults()
        given = bound.arguments
        _single_output(name, given["n_outputs"], given["outputs"])
        return raw(*[check(given[arg], name, arg) for arg, check in checks])

    fn.__name__ = fn.__qualname__ = name
    fn.__signature__ = sig
    fn.__doc__ = row["description"]
    return fn


ROWS = _core.function_table()


def row_defaults(name):
    """{argument: Python default} of the row `name`, for the functions
    written by hand (so that their defaults come from the table too)."""
    row = next(r for r in ROWS if r["name"] == name)
    return {arg: python_default(kind, text) for arg, kind, text in row["arguments"]
            if python_default(kind, text) is not inspect.Parameter.empty}

"""nnvae.functions (import as F): every engine function, with NNabla's Python
names, argument names and defaults.

Each function takes Variables (and plain numbers for options) and returns a
new Variable whose shape is known at once; its values are computed by
``forward()`` on a later variable, or at once under ``nnvae.auto_forward()``.
Shape and value errors raise ValueError naming the function and the shapes;
arguments of the wrong type raise TypeError.

The functions are the rows of the engine's function table (functions.def):
most are made from their row (nnvae/_functions/table.py), the few whose
Python form differs from the C++ one are written by hand
(nnvae/_functions/python_forms.py). Names, parameters and defaults are NNabla
1.39.0's; sqrt is nnvae's own.
"""
from ._functions import python_forms as _by_hand
from ._functions.table import ROWS as _ROWS, make_function as _make_function

__all__ = [row["name"] for row in _ROWS]

for _row in _ROWS:
    _fn = _make_function(_row) if _row["form"] == "GEN" else getattr(_by_hand, _row["name"])
    # help(F) and F.x.__module__ name the public module, not the file that made it.
    _fn.__module__ = __name__
    globals()[_row["name"]] = _fn
del _row, _fn

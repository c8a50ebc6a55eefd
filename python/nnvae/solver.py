"""nnvae.solver: NNabla's other name for its solvers (``import nnabla.solver
as S``). Importing it gives the module nnvae.solvers itself, so both names
hold the same classes and functions."""
import sys

from . import solvers as _solvers

sys.modules[__name__] = _solvers

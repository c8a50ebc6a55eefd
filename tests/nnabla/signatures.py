"""Prints, as JSON, the Python signatures of the public names nnvae shares
with NNabla, read from the NNabla installed in the running interpreter.

    <nnabla venv>/bin/python tests/nnabla/signatures.py > signatures.json

Output: {"module.name": "(params)" or null when NNabla has no such name}.
Modules: nnabla (nn), nnabla.functions (F), nnabla.parametric_functions
(PF), nnabla.solvers (S), nnabla.initializer (I), nnabla.parameter (P),
nnabla.random, and the
methods of a Variable, an NdArray and a solver (as "Variable.forward", ...).
"""
import inspect
import json
import sys

import nnabla as nn
import nnabla.functions as F
import nnabla.initializer as I
import nnabla.parameter as P
import nnabla.parametric_functions as PF
import nnabla.random
import nnabla.solvers as S


def signature(obj):
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return None


def main(names):
    modules = {"nn": nn, "F": F, "PF": PF, "S": S, "I": I, "P": P, "random": nnabla.random}
    variable = nn.Variable((2, 3))
    instances = {"Variable": variable, "NdArray": variable.data, "Solver": S.Sgd()}
    out = {}
    for key in names:
        owner, name = key.split(".", 1)
        holder = modules.get(owner) or instances[owner]
        obj = getattr(holder, name, None)
        out[key] = None if obj is None else signature(obj)
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(json.load(sys.stdin))

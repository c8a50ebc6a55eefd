"""nnvae.functions (import as F): every engine function, with NNabla's Python
names, argument names and defaults.

Each function takes Variables (and plain numbers for options) and returns a
new Variable whose shape is known at once; its values are computed by
``forward()`` on a later variable, or at once under ``nnvae.auto_forward()``.
Shape and value errors raise ValueError naming the function and the shapes;
arguments of the wrong type raise TypeError.

The functions live in nnvae/_functions by family; this module is their one
public name. Names, parameters and defaults as NNabla 1.39.0's
nnabla.functions; sqrt is nnvae's own.
"""
from ._functions.elementwise import (
    abs, add2, add_scalar, affine, clip_by_value, div2, elu, exp, greater_equal_scalar, identity,
    leaky_relu, log, maximum2, maximum_scalar, minimum2, minimum_scalar, mul2, mul_scalar, pow2,
    pow_scalar, r_div_scalar, r_sub_scalar, relu, sigmoid, softplus, sqrt, sub2, tanh,
)
from ._functions.reduction import (
    binary_cross_entropy, log_softmax, max, mean, min, sigmoid_cross_entropy, softmax,
    softmax_cross_entropy, sum,
)
from ._functions.shape import (
    batch_matmul, broadcast, concatenate, constant, dropout, one_hot, rand, randn, reshape, slice,
    split, stack, transpose,
)

__all__ = [
    "affine", "elu", "relu", "sigmoid", "tanh", "softplus", "exp", "log", "identity",
    "add2", "sub2", "mul2", "div2",
    "add_scalar", "mul_scalar", "pow_scalar", "r_sub_scalar", "r_div_scalar",
    "sum", "mean", "sigmoid_cross_entropy", "greater_equal_scalar", "reshape",
    "randn", "rand", "constant",
    "leaky_relu", "abs", "sqrt", "maximum_scalar", "minimum_scalar", "clip_by_value",
    "pow2", "maximum2", "minimum2",
    "concatenate", "stack", "split", "slice", "transpose", "broadcast",
    "softmax", "log_softmax", "softmax_cross_entropy", "binary_cross_entropy",
    "dropout", "one_hot", "max", "min", "batch_matmul",
]

# help(F) and F.x.__module__ name the public module, not the family's file.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name

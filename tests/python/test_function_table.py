"""The function table (functions.def) and what comes from it: every row is a
function of nnvae.functions with its row's signature and description, its
node reports the row's NNabla type name, and every row is in the test
tables: the NNabla comparison's cases (tests/nnabla/cases.py) and the
gradient check below, which runs every differentiable case of those tables
against central finite differences, with accumulation (the programs'
expressions of cases.EXPRESSIONS too). A row missing from them fails here,
unless it is listed with its reason."""
import importlib.util
import inspect
import os

import numpy as np
import pytest

import nnvae
import nnvae.functions as F
from nnvae._core import function_table
from nnvae._functions.table import signature

pytestmark = pytest.mark.usefixtures("fresh_engine")

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("nnabla_cases", os.path.join(HERE, "..", "nnabla", "cases.py"))
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)

ROWS = function_table()
KINDS = {row["name"]: [kind for _, kind, _ in row["arguments"]] for row in ROWS}
CASES = cases.with_defaults(KINDS)

# Rows NNabla 1.39 does not have (so the comparison cannot cover them), and why.
NOT_IN_NNABLA = {"sqrt": "nnvae's own (NNabla writes x ** 0.5); its values are tested in test_engine_functions.py"}

# Rows without a gradient check, and why.
NO_GRADIENT = {
    "greater_equal_scalar": "no gradient (back-propagating through it is an error, tested in test_engine_errors)",
    "one_hot": "no gradient: its input holds integer indices",
    "image_augmentation": "no gradient (NNabla's has none either); its values are tested in C++",
    "randn": "a source: no inputs", "rand": "a source: no inputs", "constant": "a source: no inputs",
}


def test_every_row_is_a_function_of_nnvae_functions():
    assert F.__all__ == [row["name"] for row in ROWS]
    for row in ROWS:
        fn = getattr(F, row["name"])
        assert fn.__module__ == "nnvae.functions"
        if row["form"] == "GEN":
            assert inspect.signature(fn) == signature(row)
            assert fn.__doc__ == row["description"]


def test_defaults_come_from_the_table():
    assert str(inspect.signature(F.leaky_relu)) == "(x, alpha=0.1, inplace=False, n_outputs=-1, outputs=None)"
    assert str(inspect.signature(F.softmax)) == "(x, axis=None, n_outputs=-1, outputs=None)"
    assert str(inspect.signature(F.affine)) == "(x, weight, bias=None, base_axis=1, n_outputs=-1, outputs=None)"
    assert str(inspect.signature(F.randn)) == "(mu=0, sigma=1, shape=[], seed=-1, n_outputs=-1, outputs=None)"
    x = nnvae.Variable.from_numpy_array(np.array([-2.0, 3.0], np.float32))
    with nnvae.auto_forward():
        np.testing.assert_allclose(F.leaky_relu(x).d, [-0.2, 3.0], rtol=1e-6)


def test_argument_kinds_are_checked_by_name():
    x = nnvae.Variable((2, 3))
    with pytest.raises(TypeError, match=r"F.elu: alpha must be a real number, got str"):
        F.elu(x, "1")
    with pytest.raises(TypeError, match=r"F.relu: inplace must be a bool, got float"):
        F.relu(x, 0.5)
    with pytest.raises(TypeError, match=r"F.softmax: axis must be an int, got float"):
        F.softmax(x, 1.0)
    with pytest.raises(ValueError, match=r"F.softmax: axis=4294967296 is out of the int32 range"):
        F.softmax(x, 2**32)
    with pytest.raises(TypeError, match=r"F.elu\(x, alpha=1.0, n_outputs=-1, outputs=None\): .*'beta'"):
        F.elu(x, beta=2.0)
    with pytest.raises(TypeError, match=r"F.affine: bias must be an nnvae.Variable, got int"):
        F.affine(x, nnvae.Variable((3, 4)), 0)
    with pytest.raises(ValueError, match=r"dropout: seed must be -1 \(the global generator\) or in \[0, 2\*\*31\), "
                                         r"got -2"):
        F.dropout(x, 0.5, -2)


def test_nodes_report_the_rows_nnabla_type_name():
    x = nnvae.Variable((2, 3))
    assert F.leaky_relu(x).parent.name == "LeakyReLU"
    assert F.softplus(x).parent.name == "SoftPlus"
    assert F.concatenate(x, x, axis=0).parent.name == "Concatenate"


@pytest.mark.parametrize("name", [row["name"] for row in ROWS])
def test_every_row_is_in_the_test_tables(name):
    assert name in CASES or name in cases.NOT_COMPARED or name in NOT_IN_NNABLA, (
        f"{name}: no case in tests/nnabla/cases.py (CASES, or default_cases for its arguments "
        f"{KINDS[name]}), nor a reason in cases.NOT_COMPARED or NOT_IN_NNABLA")
    assert name in CASES or name in NO_GRADIENT, f"{name}: no case to check its gradient, nor a reason in NO_GRADIENT"


# --- the gradient check ---------------------------------------------------------------------------------

# The function cases and the programs' expressions (cases.EXPRESSIONS).
GRADIENT_CASES = {**CASES, **{name: expression_cases for name, (_, expression_cases) in cases.EXPRESSIONS.items()}}


def _case_ids():
    return [(name, i) for name in sorted(GRADIENT_CASES)
            if (name in KINDS and name not in NO_GRADIENT) or name in cases.EXPRESSIONS
            for i, case in enumerate(GRADIENT_CASES[name]) if any(cases.takes_grad(case))]


@pytest.mark.parametrize("name,index", _case_ids(), ids=[f"{n}-{i}" for n, i in _case_ids()])
def test_gradient_matches_finite_differences_and_accumulates(name, index):
    """L = Σ_k sum(y_k · u_k) with fixed random u_k; backward gives dL/dx,
    compared with (L(x + h) − L(x − h)) / 2h per element (forward in float32,
    L summed in float64); a second backward without zeroing doubles it."""
    case = GRADIENT_CASES[name][index]
    arrays = cases.make_inputs(case, np.random.RandomState(7 + index))
    grads = cases.takes_grad(case)
    xs = [nnvae.Variable.from_numpy_array(a, need_grad=bool(g)) for a, g in zip(arrays, grads)]
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in case.get("kwargs", {}).items()}
    if name in cases.EXPRESSIONS:
        ys = cases.EXPRESSIONS[name][0](F, *xs, **kwargs)
    else:
        ys = getattr(F, name)(*xs, **kwargs)
    ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    ys = [y for y in ys if not getattr(y, "_holds_indices", False)]
    rng = np.random.RandomState(100 + index)
    us = [rng.standard_normal(y.shape).astype(np.float32) for y in ys]

    def loss():
        total = 0.0
        for y, u in zip(ys, us):
            y.forward()
            total += float(np.sum(np.asarray(y.d, np.float64) * u))
        return total

    loss()
    for x in xs:
        x.grad.zero()
    for y, u in zip(ys, us):
        y.backward(u)  # the u_k are the output gradients: dL/dy_k
    analytic = [np.array(x.g, np.float64) for x in xs]
    for y, u in zip(ys, us):
        y.backward(u)
    for x, g, a in zip(xs, grads, analytic):
        if g:
            np.testing.assert_allclose(x.g, 2 * a, rtol=1e-5, atol=1e-6, err_msg=f"{name}: accumulation")

    # Central differences with steps h and h/2, compared where the two agree:
    # where they do not, a kink of the function (abs at 0, max at a tie, a
    # clip bound) lies within h, and no difference is valid there.
    h = 1e-2

    def central(x, base, i, step):
        diff = 0.0
        for sign in (1, -1):
            d = base.copy()
            d[i] += sign * step
            x.d = d
            diff += sign * loss()
        x.d = base
        return diff / (2 * step)

    for j, (x, g) in enumerate(zip(xs, grads)):
        if not g:
            continue
        base = np.array(x.d)
        checked = 0
        for i in np.ndindex(base.shape):
            coarse, fine = central(x, base, i, h), central(x, base, i, h / 2)
            if abs(coarse - fine) > 2e-3 * (1 + abs(fine)):
                continue
            checked += 1
            assert abs(analytic[j][i] - fine) <= 2e-2 + 2e-2 * abs(fine), (
                f"{name} case {index}: gradient to input {j} at {i}: backward {analytic[j][i]:.6g}, "
                f"finite differences {fine:.6g}")
        assert checked >= base.size / 2, f"{name} case {index}: only {checked} of {base.size} elements are smooth"

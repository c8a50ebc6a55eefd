"""The NNabla-style API at its edges: what NNabla 1.39 does (checked there)
or a clear error naming the values, never a crash or a silent surprise.
"""
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnvae

pytestmark = pytest.mark.usefixtures("fresh_engine")


# --- Variable.from_numpy_array copies, as NNabla's ---------------------------------------

def test_from_numpy_array_copies_the_array_as_nnabla():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    g = np.ones((2, 3), np.float32)
    x = nnvae.Variable.from_numpy_array(a, g)
    assert not np.shares_memory(a, x.d) and not np.shares_memory(g, x.g)  # NNabla 1.39: False, False
    a[0, 0] = 7.0
    g[0, 0] = 7.0
    assert x.d[0, 0] == 0.0 and x.g[0, 0] == 1.0
    x.d[1, 1] = -1.0
    assert a[1, 1] == 4.0
    # Zero-copy where NNabla has it: x.d and x.g are views on the variable.
    x.d[0, 1] = 5.0
    assert x.d[0, 1] == 5.0 and np.shares_memory(x.d, x.d)
    n = nnvae.NdArray.from_numpy_array(a)
    assert not np.shares_memory(a, n.data)  # NNabla 1.39: False


def test_resizing_the_numpy_array_leaves_the_variable_intact():
    # Before: the variable read the array's freed memory (an interpreter crash).
    code = textwrap.dedent("""
        import numpy as np, nnvae
        a = np.arange(1 << 16, dtype=np.float32)
        x = nnvae.Variable.from_numpy_array(a)
        a.resize((1 << 22,), refcheck=False)
        a[:] = -1.0
        y = (x * 2.0)
        y.forward()
        assert np.array_equal(x.d, np.arange(1 << 16, dtype=np.float32)), x.d[:4]
        assert y.d[3] == 6.0
        print("intact")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "intact", r.stderr[-2000:]


# --- shapes beyond int64 name the shape -------------------------------------------------

@pytest.mark.parametrize("shape, shown, why", [
    ((2 ** 63,), r"\(9223372036854775808,\)", "has an entry beyond 2\\*\\*63 - 1"),
    ((3, 2 ** 64), r"\(3, 18446744073709551616\)", "has an entry beyond 2\\*\\*63 - 1"),
    (2 ** 63, r"\(9223372036854775808,\)", "has an entry beyond 2\\*\\*63 - 1"),
    ((np.uint64(2 ** 63), 1), r"\(9223372036854775808, 1\)", "has an entry beyond 2\\*\\*63 - 1"),
    ((-2 ** 63 - 1,), r"\(-9223372036854775809,\)", "has a negative entry"),
])
def test_a_shape_entry_beyond_int64_names_the_shape(shape, shown, why):
    # NNabla 1.39 and nnvae before: OverflowError "int too big to convert".
    with pytest.raises(ValueError, match=rf"^Variable: shape {shown} {why}"):
        nnvae.Variable(shape)
    with pytest.raises(ValueError, match=rf"shape {shown} {why}"):
        nnvae.parameter.get_parameter_or_create("w", shape)


# --- Variable.reshape: -1 with and without unlink ----------------------------------------

def test_reshape_infers_minus_one_with_unlink_as_without():
    # NNabla 1.39 refuses -1 with unlink=True (a raw RuntimeError: "The total
    # size must be the same ... Given: -3"); nnvae infers it both ways.
    x = nnvae.Variable.from_numpy_array(np.arange(12, dtype=np.float32).reshape(2, 6), need_grad=True)
    linked = x.reshape((3, -1))
    unlinked = x.reshape((3, -1), unlink=True)
    assert linked.shape == unlinked.shape == (3, 4)
    assert unlinked.parent is None and unlinked.need_grad
    assert np.shares_memory(unlinked.d, x.d)
    assert x.reshape(-1, unlink=True).shape == (12,)
    assert x.reshape([-1, 2, 3], unlink=True).shape == (2, 2, 3)
    for shape, message in [((5, -1), r"cannot infer the -1 entry: input shape \(2, 6\) has 12 elements, not a "
                                     r"multiple of 5"),
                           ((-1, -1), "more than one -1 in the target shape"),
                           ((3, -2), "target shape entry 1 is -2"),
                           ((5, 2), r"input shape \(2, 6\) has 12 elements but the target shape \(5, 2\) has 10")]:
        for unlink in (False, True):
            with pytest.raises(ValueError, match=message):
                x.reshape(shape, unlink=unlink)


# --- Solver.set_parameters: reset and retain_state are bools ----------------------------

@pytest.mark.parametrize("arg", ["reset", "retain_state"])
@pytest.mark.parametrize("value", ["no", "", 0, 1, None, 1.0])
def test_set_parameters_flags_must_be_bools(arg, value):
    # bool('no') is True: a string taken as a flag would reset the solver.
    import nnvae.solvers as S
    w = nnvae.parameter.get_parameter_or_create("w", (2,))
    solver = S.Adam()
    solver.set_parameters({"w": w})
    with pytest.raises(TypeError, match=rf"Solver.set_parameters: {arg} must be a bool \(True or False\), got "
                                        rf"{type(value).__name__} {re.escape(repr(value))}"):
        solver.set_parameters({"w": w}, **{arg: value})
    solver.set_parameters({"w": w}, reset=np.bool_(False), retain_state=True)  # numpy's bool is a bool
    assert solver.parameter_names() == ["w"]

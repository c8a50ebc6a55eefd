"""The NNabla-style API at its edges: what NNabla 1.39 does (checked there)
or a clear error naming the values, never a crash or a silent surprise.
"""
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

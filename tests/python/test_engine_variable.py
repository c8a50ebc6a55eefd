"""nnvae.Variable: properties, zero-copy numpy views and their lifetime,
from_numpy_array, forward/backward options, operators, global switches."""
import gc
import sys

import numpy as np
import pytest

import nnvae
import nnvae.functions as F

pytestmark = pytest.mark.usefixtures("fresh_engine")


def var(values, need_grad=False):
    return nnvae.Variable.from_numpy_array(np.asarray(values, np.float32), need_grad=need_grad)


# --- properties -------------------------------------------------------------------

def test_properties():
    x = nnvae.Variable((2, 3, 4), need_grad=True)
    assert x.shape == (2, 3, 4) and x.ndim == 3 and x.size == 24
    assert x.need_grad and not x.persistent and x.parent is None
    x.need_grad = False
    x.persistent = True
    assert not x.need_grad and x.persistent
    assert repr(x) == "<Variable((2, 3, 4), need_grad=False)>"
    assert nnvae.Variable().shape == ()
    assert nnvae.Variable(5).shape == (5,)
    assert nnvae.Variable([2, np.int64(3)]).shape == (2, 3)
    # A new variable reads as zeros.
    np.testing.assert_array_equal(x.d, np.zeros((2, 3, 4), np.float32))
    np.testing.assert_array_equal(x.g, np.zeros((2, 3, 4), np.float32))


def test_parent_names_the_function_and_its_inputs():
    x = nnvae.Variable((2,))
    y = F.elu(x)
    assert y.parent.name == "ELU" and repr(y.parent) == "ELU"
    assert y.parent.inputs[0] is x
    assert (x * 2).parent.name == "MulScalar"
    assert (x + x).parent.name == "Add2"


def test_function_names_are_nnablas_type_names():
    # The names NNabla 1.39.0 gives these functions' nodes (y.parent.name).
    x, t = nnvae.Variable((2, 3)), nnvae.Variable((2, 3))
    w, b = nnvae.Variable((3, 4)), nnvae.Variable((4,))
    b3 = nnvae.Variable((2, 3, 3))
    expected = {
        "Affine": F.affine(x, w, b), "ELU": F.elu(x), "ReLU": F.relu(x), "LeakyReLU": F.leaky_relu(x),
        "SoftPlus": F.softplus(x), "Sigmoid": F.sigmoid(x), "Reshape": F.reshape(x, (3, 2)),
        "SigmoidCrossEntropy": F.sigmoid_cross_entropy(x, t), "MulScalar": -x, "Add2": x + t,
        "GreaterEqualScalar": F.greater_equal_scalar(x, 0.5), "BatchMatmul": F.batch_matmul(b3, b3),
        "RSubScalar": 1 - x, "RDivScalar": 1 / x, "PowScalar": x ** 2, "AddScalar": x - 1, "Pow2": F.pow2(x, t),
        "Sum": F.sum(x, axis=1), "Max": F.max(x, axis=1, only_index=True), "LogSoftmax": F.log_softmax(x),
        "SoftmaxCrossEntropy": F.softmax_cross_entropy(x, nnvae.Variable((2, 1))),
        "OneHot": F.one_hot(nnvae.Variable((2, 1)), (3,)), "Randn": F.randn(shape=(2,)),
        "Constant": F.constant(1, (2,)), "MaximumScalar": F.maximum_scalar(x, 1),
    }
    assert {name: y.parent.name for name, y in expected.items()} == {name: name for name in expected}


# --- numpy views ---------------------------------------------------------------------

def test_d_and_g_are_writable_views_on_the_engine_memory():
    x = nnvae.Variable((2, 3), need_grad=True)
    d = x.d
    assert d.dtype == np.float32 and d.shape == (2, 3) and d.flags.c_contiguous and d.flags.writeable
    assert np.shares_memory(d, x.d)
    d[...] = np.arange(6).reshape(2, 3)
    y = F.mul_scalar(x, 2.0)
    y.forward()
    np.testing.assert_array_equal(y.d, 2 * np.arange(6).reshape(2, 3))
    x.g[0, 0] = 7  # writes to the gradient buffer reach the engine too
    assert x.g[0, 0] == 7


def test_assigning_d_and_g_copies_values():
    x = nnvae.Variable((2, 2))
    view = x.d
    source = np.array([[1, 2], [3, 4]], np.int64)
    x.d = source
    np.testing.assert_array_equal(view, source)  # same buffer, values copied in
    assert not np.shares_memory(x.d, source)
    x.d = 0.5  # a scalar fills
    np.testing.assert_array_equal(x.d, np.full((2, 2), 0.5, np.float32))
    x.g = [[1.0, 0.0], [0.0, 1.0]]
    np.testing.assert_array_equal(x.g, np.eye(2))


def test_a_view_outlives_its_variable():
    x = nnvae.Variable((1000,))
    x.d = np.arange(1000)
    view = x.d
    del x
    gc.collect()
    # Memory churn that would reuse a freed block.
    junk = [F.constant(9.0, (1000,)) for _ in range(10)]
    for j in junk:
        j.forward()
    np.testing.assert_array_equal(view, np.arange(1000, dtype=np.float32))
    view[:] = 1  # still writable, still ours
    assert view.sum() == 1000


def test_a_view_outlives_clear_buffer():
    x = var(np.ones(4))
    h = F.exp(x)
    y = F.sum(h)
    y.forward()
    old = h.d
    y.forward(clear_buffer=True)  # frees h's buffer in the engine
    np.testing.assert_allclose(old, np.full(4, np.e, np.float32), rtol=1e-6)


def test_views_of_intermediate_results():
    x = var([[1.0, -2.0]])
    h = F.relu(x)
    y = h * 3
    y.forward()
    np.testing.assert_array_equal(h.d, [[1.0, 0.0]])
    np.testing.assert_array_equal(y.d, [[3.0, 0.0]])


# --- from_numpy_array ------------------------------------------------------------------

def test_from_numpy_array_copies_float32_c_contiguous_too():
    # As NNabla: a copy, so numpy may resize or free the array afterwards.
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    refs = sys.getrefcount(a)
    x = nnvae.Variable.from_numpy_array(a)
    assert not np.shares_memory(x.d, a)
    assert sys.getrefcount(a) == refs  # the engine keeps no reference
    a[1, 2] = -5.0  # writes through the original array are not seen
    assert x.d[1, 2] == 6.0
    x.d[0, 0] = 42.0  # nor the other way round
    assert a[0, 0] == 0.0


def test_copied_values_outlive_the_numpy_array():
    a = np.linspace(0, 1, 5, dtype=np.float32)
    x = nnvae.Variable.from_numpy_array(a, need_grad=True)
    del a
    gc.collect()
    view = x.d
    del x
    gc.collect()
    np.testing.assert_allclose(view, np.linspace(0, 1, 5))


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.arange(12, dtype=np.float64).reshape(3, 4),
        lambda: np.arange(12, dtype=np.int32).reshape(3, 4),
        lambda: np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)),
        lambda: np.arange(24, dtype=np.float32).reshape(3, 8)[:, ::2],
        lambda: np.arange(12, dtype=np.float32).reshape(4, 3).T,
        lambda: np.arange(12, dtype=np.float32).reshape(3, 4).astype(">f4"),
    ],
    ids=["float64", "int32", "fortran", "strided", "transposed", "big-endian"],
)
def test_from_numpy_array_converts_other_layouts(make):
    a = make()
    x = nnvae.Variable.from_numpy_array(a)
    assert x.shape == a.shape and x.d.dtype == np.float32
    assert not np.shares_memory(x.d, a)
    np.testing.assert_array_equal(x.d, a.astype(np.float32))


def test_from_numpy_array_copies_read_only_input_and_accepts_lists():
    a = np.arange(4, dtype=np.float32)
    a.flags.writeable = False
    x = nnvae.Variable.from_numpy_array(a)
    assert not np.shares_memory(x.d, a)
    x.d[0] = 9.0  # the engine may write; the read-only original is untouched
    assert a[0] == 0.0
    lst = nnvae.Variable.from_numpy_array([[1, 2], [3, 4]], grad=0.5, need_grad=True)
    assert lst.shape == (2, 2) and lst.need_grad
    np.testing.assert_array_equal(lst.g, np.full((2, 2), 0.5))
    scalar = nnvae.Variable.from_numpy_array(3.0)
    assert scalar.shape == () and float(scalar.d) == 3.0
    empty = nnvae.Variable.from_numpy_array(np.zeros((0, 3), np.float32))
    assert empty.shape == (0, 3) and empty.d.shape == (0, 3)


# --- forward and backward ---------------------------------------------------------------------

def test_backward_grad_scalar_array_and_none():
    a = np.array([1.0, 2.0, 3.0], np.float32)
    x = var(a, need_grad=True)
    y = x * x
    y.forward()
    y.backward()  # grad=1 by default
    np.testing.assert_array_equal(x.g, 2 * a)
    x.g = 0
    y.backward(grad=np.array([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(x.g, [2.0, 0.0, -6.0])
    x.g = 0
    y.g = [0.5, 0.5, 0.5]
    y.backward(grad=None)  # seeded from y.g as it is
    np.testing.assert_array_equal(x.g, a)


def test_leaf_gradients_accumulate_until_zeroed():
    x = var([1.0, -1.0], need_grad=True)
    y = F.sum(x * 3)
    y.forward()
    y.backward()
    y.backward()
    np.testing.assert_array_equal(x.g, [6.0, 6.0])
    x.g = 0
    y.backward()
    np.testing.assert_array_equal(x.g, [3.0, 3.0])


def test_diamond_graph_gradient():
    # x reaches y along two paths: y = e^x · (x + 1), dy/dx = e^x (x + 2).
    a = np.array([0.5, -0.3], np.float32)
    x = var(a, need_grad=True)
    y = F.exp(x) * (x + 1)
    y.forward()
    y.backward()
    np.testing.assert_allclose(x.g, np.exp(a) * (a + 2), rtol=1e-6)


def test_forward_clear_buffer_frees_intermediates_but_not_persistent_ones():
    x = var(np.ones(3))
    h1 = F.exp(x)
    h2 = F.exp(h1)
    keep = F.tanh(h2)
    keep.persistent = True
    y = F.sum(keep)
    y.forward(clear_buffer=True)
    np.testing.assert_allclose(float(y.d), 3 * np.tanh(np.exp(np.e)), rtol=1e-6)
    for freed in (h1, h2):
        with pytest.raises(ValueError, match="clear_buffer"):
            freed.d
    np.testing.assert_allclose(keep.d, np.tanh(np.exp(np.e)) * np.ones(3), rtol=1e-6)
    np.testing.assert_array_equal(x.d, np.ones(3))  # leaves are never freed
    y.forward()  # a second forward recomputes everything
    np.testing.assert_allclose(h1.d, np.full(3, np.e), rtol=1e-6)


def test_backward_clear_buffer_and_clear_no_need_grad():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 3)).astype(np.float32)
    x = var(a, need_grad=True)
    y = F.sum(F.tanh(F.mul_scalar(x, 2.0)))
    y.forward(clear_no_need_grad=True)
    y.backward(clear_buffer=True)
    np.testing.assert_allclose(x.g, 2 * (1 - np.tanh(2 * a.astype(np.float64)) ** 2), rtol=1e-5)
    with pytest.raises(ValueError, match="clear_buffer"):
        y.parent.inputs[0].d


def test_very_deep_graphs_are_built_run_and_freed():
    # 100,000 functions in a chain: forward and destruction must not recurse
    # that deep (it would overflow the C stack and kill the interpreter).
    x = var([1.0])
    y = x
    for i in range(100_000):
        y = y * 1.0 if i % 2 else y + 1.0
    y.forward()
    assert float(y.d[0]) == 50_001.0
    del y
    gc.collect()


# --- operators --------------------------------------------------------------------------------------

def test_operators_with_variables_and_numbers():
    a = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    b = np.array([0.5, -2.0], np.float32)  # broadcasts over rows
    x, y = var(a), var(b)
    cases = {
        "x + y": (x + y, a + b), "x - y": (x - y, a - b), "x * y": (x * y, a * b), "x / y": (x / y, a / b),
        "x + 2": (x + 2, a + 2), "2 + x": (2 + x, 2 + a), "x - 2": (x - 2, a - 2), "2 - x": (2 - x, 2 - a),
        "x * 3": (x * 3, a * 3), "3 * x": (3 * x, 3 * a), "x / 4": (x / 4, a / 4), "4 / x": (4 / x, 4 / a),
        "-x": (-x, -a), "+x": (+x, a), "x ** 2": (x**2, a**2), "x ** 0.5": (x**0.5, np.sqrt(a)),
        "np.float32(2) * x": (np.float32(2) * x, 2 * a), "x + np.int64(1)": (x + np.int64(1), a + 1),
        "x * True": (x * True, a),
    }
    for text, (v, expected) in cases.items():
        assert isinstance(v, nnvae.Variable), text
        v.forward()
        np.testing.assert_allclose(v.d, expected, rtol=1e-6, err_msg=text)


def test_operator_gradients():
    a = np.array([1.0, 2.0, 4.0], np.float32)
    x = var(a, need_grad=True)
    y = F.sum(2 / x - x**3 + 3 * x - 1)
    y.forward()
    y.backward()
    np.testing.assert_allclose(x.g, -2 / a**2 - 3 * a**2 + 3, rtol=1e-6)


def test_unsupported_operands_raise_type_error():
    x = var([1.0, 2.0])
    with pytest.raises(TypeError, match="math.log"):
        2**x
    with pytest.raises(TypeError, match="pow2"):
        x**x
    for other in ("a", None, [1.0, 2.0], 1j):
        with pytest.raises(TypeError):
            x + other
        with pytest.raises(TypeError):
            other * x
    with pytest.raises(TypeError):
        np.ones(2) + x  # numpy defers to Variable, which refuses
    with pytest.raises(TypeError):
        x @ x


# --- global switches -----------------------------------------------------------------------------------

def test_auto_forward_context_restores_the_previous_mode():
    assert nnvae.get_auto_forward() is False
    with nnvae.auto_forward():
        assert nnvae.get_auto_forward() is True
        y = F.exp(var([0.0, 1.0]))
        np.testing.assert_allclose(y.d, [1.0, np.e], rtol=1e-6)  # computed without forward()
        with nnvae.auto_forward(False):
            assert nnvae.get_auto_forward() is False
        assert nnvae.get_auto_forward() is True
    assert nnvae.get_auto_forward() is False
    with pytest.raises(KeyError):
        with nnvae.auto_forward():
            raise KeyError("inside")
    assert nnvae.get_auto_forward() is False
    nnvae.set_auto_forward(True)
    assert nnvae.get_auto_forward() is True
    nnvae.set_auto_forward(False)
    static = F.exp(var([1.0]))
    np.testing.assert_array_equal(static.d, [0.0])  # not computed yet


def test_threads_and_version():
    before = nnvae.get_num_threads()
    nnvae.set_num_threads(1)
    assert nnvae.get_num_threads() == 1
    nnvae.set_num_threads(before)
    assert nnvae.get_num_threads() == before
    assert isinstance(nnvae.__version__, str) and nnvae.__version__.count(".") == 2
    try:
        from importlib.metadata import PackageNotFoundError, version
        assert version("nnvae") == nnvae.__version__
    except PackageNotFoundError:
        pass  # running from the source tree


def test_public_surface():
    for name in ("Variable", "functions", "parametric_functions", "solvers", "parameter_scope",
                 "get_parameters", "clear_parameters", "seed", "set_auto_forward", "get_auto_forward",
                 "auto_forward", "set_num_threads", "get_num_threads", "__version__"):
        assert hasattr(nnvae, name), name
    assert nnvae.Variable is nnvae._core.Variable

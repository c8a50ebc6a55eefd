"""nnvae.functions, nnvae.parametric_functions and nnvae.solvers against numpy.

Forward values are compared with a float64 numpy reference; gradients with
central finite differences of that same reference (float64), seeded with a
random upstream gradient so that every element of it matters.
"""
import inspect
import math

import numpy as np
import pytest

import nnvae
import nnvae.functions as F
import nnvae.initializer as I
import nnvae.parametric_functions as PF
import nnvae.solvers as S

pytestmark = pytest.mark.usefixtures("fresh_engine")


# --- helpers -------------------------------------------------------------------

def away_from_zero(rng, shape, low=0.1, high=2.0):
    """Values in ±[low, high): no kinks (relu, elu) within a finite-difference step."""
    return (rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)).astype(np.float32)


def positive(rng, shape, low=0.5, high=2.0):
    return rng.uniform(low, high, shape).astype(np.float32)


def numeric_grads(ref, arrays, upstream, eps=1e-6):
    """d/da_i of sum(ref(*arrays) * upstream), by central differences in float64."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            orig = a[idx]
            a[idx] = orig + eps
            f_plus = np.sum(ref(*arrays) * upstream)
            a[idx] = orig - eps
            f_minus = np.sum(ref(*arrays) * upstream)
            a[idx] = orig
            g[idx] = (f_plus - f_minus) / (2 * eps)
        grads.append(g)
    return grads


def check_function(fn, ref, arrays, rng, grad=True, rtol=2e-5, atol=1e-6, grad_rtol=1e-4, grad_atol=2e-5):
    """fn on Variables holding `arrays` matches ref (forward and, if grad,
    the gradient of every input)."""
    xs = [nnvae.Variable.from_numpy_array(a.copy(), need_grad=grad) for a in arrays]
    y = fn(*xs)
    expected = np.asarray(ref(*[a.astype(np.float64) for a in arrays]))
    assert y.shape == expected.shape  # known before forward
    y.forward()
    assert y.d.dtype == np.float32
    np.testing.assert_allclose(y.d, expected, rtol=rtol, atol=atol)
    if not grad:
        return
    upstream = rng.standard_normal(expected.shape).astype(np.float32)
    y.backward(upstream)
    for x, g in zip(xs, numeric_grads(ref, arrays, upstream.astype(np.float64))):
        np.testing.assert_allclose(x.g, g, rtol=grad_rtol, atol=grad_atol)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# --- elementwise functions of one variable ---------------------------------------

UNARY = [
    ("elu", lambda x: F.elu(x), lambda x: np.where(x >= 0, x, np.expm1(x)), away_from_zero),
    ("elu_alpha", lambda x: F.elu(x, alpha=0.5), lambda x: np.where(x >= 0, x, 0.5 * np.expm1(x)), away_from_zero),
    ("relu", F.relu, lambda x: np.maximum(x, 0), away_from_zero),
    ("sigmoid", F.sigmoid, sigmoid, away_from_zero),
    ("tanh", F.tanh, np.tanh, away_from_zero),
    ("softplus", F.softplus, lambda x: np.log1p(np.exp(x)), away_from_zero),
    ("softplus_beta", lambda x: F.softplus(x, beta=2.0), lambda x: np.log1p(np.exp(2 * x)) / 2, away_from_zero),
    ("exp", F.exp, np.exp, away_from_zero),
    ("log", F.log, np.log, positive),
    ("identity", F.identity, lambda x: x, away_from_zero),
    ("add_scalar_default", F.add_scalar, lambda x: x + 1, away_from_zero),
    ("add_scalar", lambda x: F.add_scalar(x, 2.5), lambda x: x + 2.5, away_from_zero),
    ("mul_scalar", lambda x: F.mul_scalar(x, val=-1.5), lambda x: x * -1.5, away_from_zero),
    ("pow_scalar_2", lambda x: F.pow_scalar(x, 2), lambda x: x**2, away_from_zero),
    ("pow_scalar_3", lambda x: F.pow_scalar(x, 3), lambda x: x**3, away_from_zero),
    ("pow_scalar_half", lambda x: F.pow_scalar(x, 0.5), np.sqrt, positive),
    ("r_sub_scalar", lambda x: F.r_sub_scalar(x, 2), lambda x: 2 - x, away_from_zero),
    ("r_div_scalar", lambda x: F.r_div_scalar(x, val=3), lambda x: 3 / x, positive),
]


@pytest.mark.parametrize("fn,ref,make", [c[1:] for c in UNARY], ids=[c[0] for c in UNARY])
def test_unary_forward_and_gradient(fn, ref, make):
    rng = np.random.default_rng(1)
    check_function(fn, ref, [make(rng, (3, 4))], rng)


def test_unary_on_0dim_and_large_input():
    rng = np.random.default_rng(2)
    check_function(F.tanh, np.tanh, [np.float32(0.3) * np.ones((), np.float32)], rng)
    # Long enough for the engine's threaded loops.
    big = away_from_zero(rng, (300, 400))
    y = F.sigmoid(nnvae.Variable.from_numpy_array(big))
    y.forward()
    np.testing.assert_allclose(y.d, sigmoid(big.astype(np.float64)), rtol=1e-5, atol=1e-7)


# --- two variables, with broadcasting ----------------------------------------------

BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1,), (2, 3)), ((), (2, 3))]
BINARY = [
    ("add2", F.add2, np.add),
    ("sub2", F.sub2, np.subtract),
    ("mul2", F.mul2, np.multiply),
    ("div2", F.div2, np.divide),
]


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
@pytest.mark.parametrize("fn,ref", [c[1:] for c in BINARY], ids=[c[0] for c in BINARY])
def test_binary_forward_and_gradient_with_broadcasting(fn, ref, shapes):
    rng = np.random.default_rng(3)
    a = away_from_zero(rng, shapes[0])
    b = positive(rng, shapes[1]) if fn is F.div2 else away_from_zero(rng, shapes[1])
    check_function(fn, ref, [a, b], rng)


def test_binary_same_variable_twice():
    # x * x: both inputs are one variable; its gradient is the sum of both (2x).
    rng = np.random.default_rng(4)
    a = away_from_zero(rng, (5,))
    x = nnvae.Variable.from_numpy_array(a, need_grad=True)
    y = F.mul2(x, x)
    y.forward()
    y.backward(np.ones(5, np.float32))
    np.testing.assert_allclose(x.g, 2 * a, rtol=1e-6)


# --- affine --------------------------------------------------------------------------

@pytest.mark.parametrize(
    "x_shape,w_shape,base_axis,with_bias",
    [((3, 5), (5, 4), 1, True), ((3, 5), (5, 4), 1, False), ((2, 3, 5), (15, 4), 1, True),
     ((2, 3, 5), (5, 4), 2, True), ((4, 6), (6, 2, 3), 1, True)],
)
def test_affine(x_shape, w_shape, base_axis, with_bias):
    rng = np.random.default_rng(5)
    rows = int(np.prod(x_shape[:base_axis]))
    out_shape = x_shape[:base_axis] + w_shape[1:]

    def ref(x, w, b=None):
        y = x.reshape(rows, -1) @ w.reshape(w.shape[0], -1)
        if b is not None:
            y = y + b.reshape(-1)
        return y.reshape(out_shape)

    arrays = [rng.standard_normal(x_shape).astype(np.float32), rng.standard_normal(w_shape).astype(np.float32)]
    if with_bias:
        arrays.append(rng.standard_normal(w_shape[1:]).astype(np.float32))
        fn = lambda x, w, b: F.affine(x, w, b, base_axis=base_axis)  # noqa: E731
    else:
        fn = lambda x, w: F.affine(x, w, base_axis=base_axis)  # noqa: E731
    check_function(fn, ref, arrays, rng, rtol=1e-5, atol=1e-5)


# --- reductions ------------------------------------------------------------------------

REDUCE_CASES = [
    dict(), dict(axis=1), dict(axis=(0, 2)), dict(axis=-1, keepdims=True), dict(axis=[0, 1, 2]),
    dict(axis=None, keepdims=True), dict(axis=(-3, 1), keepdims=True),
]


@pytest.mark.parametrize("kwargs", REDUCE_CASES, ids=str)
@pytest.mark.parametrize("name", ["sum", "mean"])
def test_reductions(name, kwargs):
    rng = np.random.default_rng(6)
    fn = lambda x: getattr(F, name)(x, **kwargs)  # noqa: E731
    ref = lambda x: getattr(np, name)(x, axis=(  # noqa: E731
        tuple(kwargs["axis"]) if isinstance(kwargs.get("axis"), list) else kwargs.get("axis")),
        keepdims=kwargs.get("keepdims", False))
    check_function(fn, ref, [rng.standard_normal((2, 3, 4)).astype(np.float32)], rng, atol=1e-5)


def test_sum_over_everything_is_0dim_and_empty_axis_reduces_nothing():
    x = nnvae.Variable.from_numpy_array(np.arange(6, dtype=np.float32).reshape(2, 3))
    total = F.sum(x)
    assert total.shape == () and total.ndim == 0
    total.forward()
    assert float(total.d) == 15.0
    same = F.mean(x, axis=())
    same.forward()
    np.testing.assert_array_equal(same.d, x.d)


# --- loss, comparison, reshape ----------------------------------------------------------

def test_sigmoid_cross_entropy():
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((4, 5)) * 3).astype(np.float32)
    t = (rng.uniform(size=(4, 5)) > 0.5).astype(np.float32)
    xv = nnvae.Variable.from_numpy_array(x, need_grad=True)
    tv = nnvae.Variable.from_numpy_array(t)
    y = F.sigmoid_cross_entropy(xv, tv)
    y.forward()
    x64 = x.astype(np.float64)
    # The naive form -t·log σ(x) − (1−t)·log(1−σ(x)), as a reference.
    ref = -t * np.log(sigmoid(x64)) - (1 - t) * np.log(1 - sigmoid(x64))
    np.testing.assert_allclose(y.d, ref, rtol=1e-5, atol=1e-6)
    upstream = rng.standard_normal((4, 5)).astype(np.float32)
    y.backward(upstream)
    np.testing.assert_allclose(xv.g, (sigmoid(x64) - t) * upstream, rtol=1e-5, atol=1e-6)


def test_sigmoid_cross_entropy_is_stable_for_large_logits():
    x = nnvae.Variable.from_numpy_array(np.array([-100.0, 100.0, 0.0], np.float32))
    t = nnvae.Variable.from_numpy_array(np.array([1.0, 0.0, 1.0], np.float32))
    y = F.sigmoid_cross_entropy(x, t)
    y.forward()
    np.testing.assert_allclose(y.d, [100.0, 100.0, math.log(2)], rtol=1e-6)


def test_greater_equal_scalar():
    a = np.array([[-1.0, 0.5, 0.49], [0.51, 2.0, 0.5]], np.float32)
    x = nnvae.Variable.from_numpy_array(a)
    for val, expected in ((0.5, a >= 0.5), (1, a >= 1)):
        y = F.greater_equal_scalar(x, val)
        y.forward()
        np.testing.assert_array_equal(y.d, expected.astype(np.float32))
    y = F.greater_equal_scalar(x)  # default val=1
    y.forward()
    np.testing.assert_array_equal(y.d, (a >= 1).astype(np.float32))


@pytest.mark.parametrize("inplace", [True, False])
@pytest.mark.parametrize("shape", [(4, -1), (24,), (2, 12, 1), [3, 8]])
def test_reshape(shape, inplace):
    rng = np.random.default_rng(8)
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    check_function(lambda x: F.reshape(x, shape, inplace=inplace), lambda x: x.reshape(shape), [a], rng)


def test_reshape_inplace_shares_the_input_buffer():
    x = nnvae.Variable.from_numpy_array(np.arange(6, dtype=np.float32))
    h = F.identity(x)
    y = F.reshape(h, (2, 3))
    y.forward()
    assert np.shares_memory(y.d, h.d)
    y2 = F.reshape(h, (3, 2), inplace=False)
    y2.forward()
    assert not np.shares_memory(y2.d, h.d)
    np.testing.assert_array_equal(y2.d, np.arange(6).reshape(3, 2))


# --- sources ----------------------------------------------------------------------------------

def test_randn_rand_constant_values():
    nnvae.seed(11)
    n = F.randn(mu=2.0, sigma=0.5, shape=(200, 100))
    u = F.rand(low=-1, high=3, shape=[20000])
    c = F.constant(2.5, (2, 3))
    for v in (n, u, c):
        v.forward()
    assert n.shape == (200, 100) and u.shape == (20000,) and c.shape == (2, 3)
    assert abs(n.d.mean() - 2.0) < 0.01 and abs(n.d.std() - 0.5) < 0.01
    assert u.d.min() >= -1 and u.d.max() < 3 and abs(u.d.mean() - 1.0) < 0.05
    np.testing.assert_array_equal(c.d, np.full((2, 3), 2.5, np.float32))
    scalar = F.randn()  # shape () by default
    scalar.forward()
    assert scalar.shape == () and np.isfinite(scalar.d)
    assert F.constant().shape == ()


def test_seed_reproducibility():
    def draw():
        nnvae.seed(5)
        a, b = F.randn(shape=(3, 4)), F.rand(shape=(5,))
        a.forward()
        b.forward()
        init = I.UniformInitializer((-1, 1))((2, 2))
        return a.d.copy(), b.d.copy(), init

    first, second = draw(), draw()
    for p, q in zip(first, second):
        np.testing.assert_array_equal(p, q)
    nnvae.seed(6)
    other = F.randn(shape=(3, 4))
    other.forward()
    assert not np.array_equal(other.d, first[0])


def test_randn_with_its_own_seed():
    # Two nodes with the same seed give the same numbers whatever the global
    # generator does; each forward continues the node's own sequence.
    a, b = F.randn(shape=(4,), seed=706), F.randn(shape=(4,), seed=706)
    a.forward()
    nnvae.seed(99)
    F.randn(shape=(10,)).forward()
    b.forward()
    np.testing.assert_array_equal(a.d, b.d)
    first = a.d.copy()
    a.forward()
    assert not np.array_equal(a.d, first)


# --- parametric functions and parameter scopes -----------------------------------------------------

def test_pf_affine_names_shapes_and_values():
    rng = np.random.default_rng(9)
    xa = rng.standard_normal((4, 3, 5)).astype(np.float32)
    x = nnvae.Variable.from_numpy_array(xa)
    with nnvae.parameter_scope("fc1"):
        y = PF.affine(x, 7)
    assert y.shape == (4, 7)
    params = nnvae.get_parameters()
    assert list(params) == ["fc1/affine/W", "fc1/affine/b"]
    w, b = params["fc1/affine/W"], params["fc1/affine/b"]
    assert w.shape == (15, 7) and b.shape == (7,) and w.need_grad and b.need_grad
    lim = math.sqrt(6 / (15 + 7))
    assert np.abs(w.d).max() <= lim and w.d.std() > lim / 3
    assert np.allclose(I.calc_uniform_lim_glorot(15, 7), (-lim, lim))
    np.testing.assert_array_equal(b.d, np.zeros(7, np.float32))
    y.forward()
    np.testing.assert_allclose(y.d, xa.reshape(4, 15) @ w.d + b.d, rtol=1e-5, atol=1e-5)


def test_pf_affine_scopes_nest_and_parameters_are_reused():
    x = nnvae.Variable((2, 6))
    with nnvae.parameter_scope("vae"):
        with nnvae.parameter_scope("enc"):
            PF.affine(x, 3)
            assert nnvae.parameter.current_scope_path() == "vae/enc"
        PF.affine(x, 4, name="dec")
        PF.affine(x, 2, base_axis=1, with_bias=False, name="head")
        # Inside a scope names are relative to it, as in NNabla.
        assert list(nnvae.get_parameters()) == [
            "enc/affine/W", "enc/affine/b", "dec/affine/W", "dec/affine/b", "head/affine/W"]
        w_before = nnvae.get_parameters()["dec/affine/W"].d.copy()
        y = PF.affine(x, 4, name="dec")  # reused, not re-created
        np.testing.assert_array_equal(nnvae.get_parameters()["dec/affine/W"].d, w_before)
        assert y.shape == (2, 4)
    assert nnvae.parameter.current_scope_path() == ""
    params = nnvae.get_parameters()
    assert [(k, v.shape) for k, v in params.items()] == [
        ("vae/enc/affine/W", (6, 3)), ("vae/enc/affine/b", (3,)), ("vae/dec/affine/W", (6, 4)),
        ("vae/dec/affine/b", (4,)), ("vae/head/affine/W", (6, 2))]
    # The same objects as the engine holds: writes through .d reach them.
    params["vae/dec/affine/b"].d = 1.5
    np.testing.assert_array_equal(nnvae.get_parameters()["vae/dec/affine/b"].d, np.full(4, 1.5, np.float32))
    nnvae.clear_parameters()
    assert nnvae.get_parameters() == {}


def test_parameter_scope_is_left_on_error():
    with pytest.raises(RuntimeError):
        with nnvae.parameter_scope("a"):
            raise RuntimeError("boom")
    assert nnvae.parameter.current_scope_path() == ""


def test_pf_affine_initializers():
    x = nnvae.Variable.from_numpy_array(np.ones((2, 3), np.float32))
    w0 = np.arange(12, dtype=np.float64).reshape(3, 4)
    y = PF.affine(x, 4, w_init=w0, b_init=0.5, name="array")
    PF.affine(x, 4, w_init=I.ConstantInitializer(2.0), b_init=lambda shape: np.full(shape, -1.0), name="objects")
    PF.affine(x, 4, w_init=I.NormalInitializer(0.01), name="normal")
    p = nnvae.get_parameters()
    np.testing.assert_array_equal(p["array/affine/W"].d, w0.astype(np.float32))
    np.testing.assert_array_equal(p["array/affine/b"].d, np.full(4, 0.5, np.float32))
    np.testing.assert_array_equal(p["objects/affine/W"].d, np.full((3, 4), 2.0, np.float32))
    np.testing.assert_array_equal(p["objects/affine/b"].d, np.full(4, -1.0, np.float32))
    assert 0 < p["normal/affine/W"].d.std() < 0.05
    y.forward()
    np.testing.assert_allclose(y.d, np.ones((2, 3)) @ w0 + 0.5)
    # get_parameter_or_create: reuse, and grad_only filtering of get_parameters.
    fixed = nnvae.parameter.get_parameter_or_create("fixed", (2,), 3.0, need_grad=False)
    again = nnvae.parameter.get_parameter_or_create("fixed", (2,))
    assert np.shares_memory(fixed.d, again.d) and not again.need_grad
    assert "fixed" not in nnvae.get_parameters() and "fixed" in nnvae.get_parameters(grad_only=False)


def test_pf_affine_is_reproducible_with_the_seed():
    x = nnvae.Variable((1, 8))
    nnvae.seed(3)
    PF.affine(x, 5, name="a")
    nnvae.seed(3)
    PF.affine(x, 5, name="b")
    p = nnvae.get_parameters()
    np.testing.assert_array_equal(p["a/affine/W"].d, p["b/affine/W"].d)


# --- solvers ----------------------------------------------------------------------------------------

def quadratic_problem(rng, shape=(3, 4)):
    """A parameter w and loss = sum(c·w²), whose gradient is 2·c·w."""
    w0 = rng.standard_normal(shape).astype(np.float32)
    c = rng.uniform(0.5, 2.0, shape).astype(np.float32)
    w = nnvae.parameter.get_parameter_or_create("w", shape, w0)
    loss = F.sum(nnvae.Variable.from_numpy_array(c) * w * w)
    return w, w0.astype(np.float64), c.astype(np.float64), loss


def test_adam_matches_the_spec_formula():
    rng = np.random.default_rng(10)
    w, w_ref, c, loss = quadratic_problem(rng)
    alpha, beta1, beta2, eps = 0.05, 0.8, 0.9, 1e-6
    solver = S.Adam(alpha, beta1, beta2, eps)
    assert solver.name == "Adam" and solver.learning_rate() == pytest.approx(alpha)
    solver.set_parameters(nnvae.get_parameters())
    m = np.zeros_like(w_ref)
    v = np.zeros_like(w_ref)
    for t in range(1, 6):
        solver.zero_grad()
        loss.forward()
        loss.backward()
        solver.update()
        g = 2 * c * w_ref
        alpha_t = alpha * math.sqrt(1 - beta2**t) / (1 - beta1**t)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        w_ref = w_ref - alpha_t * m / (np.sqrt(v) + eps)
        np.testing.assert_allclose(w.d, w_ref, rtol=1e-5, atol=1e-6)


def test_sgd_weight_decay_and_learning_rate():
    rng = np.random.default_rng(11)
    w, w_ref, c, loss = quadratic_problem(rng)
    solver = S.Sgd(lr=0.1)
    assert solver.name == "Sgd" and solver.learning_rate() == pytest.approx(0.1)
    solver.set_parameters(nnvae.get_parameters())
    for lr in (0.1, 0.05):
        solver.set_learning_rate(lr)
        assert solver.learning_rate() == pytest.approx(lr)
        solver.zero_grad()
        loss.forward()
        loss.backward()
        solver.weight_decay(0.01)
        solver.update()
        w_ref = w_ref - lr * (2 * c * w_ref + 0.01 * w_ref)
        np.testing.assert_allclose(w.d, w_ref, rtol=1e-5, atol=1e-6)


def test_solver_skips_parameters_without_gradient_and_grads_accumulate():
    x = nnvae.Variable.from_numpy_array(np.ones((1, 3), np.float32))
    used = PF.affine(x, 2, name="used")
    PF.affine(x, 2, name="unused")
    loss = F.sum(used)
    solver = S.Adam(0.1)
    solver.set_parameters(nnvae.get_parameters())
    assert solver.parameter_names() == ["used/affine/W", "used/affine/b", "unused/affine/W", "unused/affine/b"]
    before = {k: v.d.copy() for k, v in nnvae.get_parameters().items()}
    solver.zero_grad()
    loss.forward()
    loss.backward()
    loss.backward()  # leaves accumulate: d(sum)/db = 1 per backward
    np.testing.assert_array_equal(nnvae.get_parameters()["used/affine/b"].g, np.full(2, 2.0, np.float32))
    solver.update()
    after = nnvae.get_parameters()
    assert not np.array_equal(after["used/affine/W"].d, before["used/affine/W"])
    np.testing.assert_array_equal(after["unused/affine/W"].d, before["unused/affine/W"])
    np.testing.assert_array_equal(after["unused/affine/b"].d, before["unused/affine/b"])


# --- static and dynamic graphs -------------------------------------------------------------------------

def small_model(xa):
    """A two-layer net with a sampled noise term, as the VAE's shape of graph."""
    x = nnvae.Variable.from_numpy_array(xa)
    h = F.tanh(PF.affine(x, 6, name="l1"))
    z = h + 0.1 * F.randn(shape=h.shape, seed=42)
    y = PF.affine(z, 2, name="l2")
    return F.mean(F.sum(y * y, axis=1)) + F.sum(F.softplus(h)) / 10


def test_static_and_dynamic_graphs_give_identical_numbers():
    xa = np.random.default_rng(12).standard_normal((5, 4)).astype(np.float32)
    results = []
    for dynamic in (False, True):
        nnvae.clear_parameters()
        nnvae.seed(8)
        with nnvae.auto_forward(dynamic):
            loss = small_model(xa)
            if dynamic:
                value = float(loss.d)  # computed already
            else:
                loss.forward()
                value = float(loss.d)
            loss.backward()
        grads = {k: v.g.copy() for k, v in nnvae.get_parameters().items()}
        results.append((value, grads))
    (v0, g0), (v1, g1) = results
    assert v0 == v1
    assert list(g0) == list(g1)
    for k in g0:
        np.testing.assert_array_equal(g0[k], g1[k])


# --- the tutorial's VAE, written in Python -------------------------------------------------------------

def vae_loss(xa):
    """The tutorial's VAE loss: the one-sample negative ELBO averaged over the batch."""
    batch = xa.shape[0]
    x = nnvae.Variable.from_numpy_array(xa)
    xb = F.greater_equal_scalar(x, 0.5)
    h1 = F.elu(PF.affine(x, 500, name="fc1"), 1.0)
    h2 = F.elu(PF.affine(h1, 500, name="fc2"), 1.0)
    mu = PF.affine(h2, 50, name="fc_mu")
    logvar = PF.affine(h2, 50, name="fc_logvar")
    sigma = F.exp(logvar * 0.5)
    epsilon = F.randn(0.0, 1.0, mu.shape, 706)
    z = mu + sigma * epsilon
    h3 = F.elu(PF.affine(z, 500, name="fc3"), 1.0)
    h4 = F.elu(PF.affine(h3, 500, name="fc4"), 1.0)
    h5 = PF.affine(h4, 784, name="fc5")
    prob = F.reshape(h5, (batch, 1, 28, 28), True)
    # The tutorial's names: each term is a negated log-density.
    logpx = F.sum(F.sigmoid_cross_entropy(prob, xb), (1, 2, 3), False)
    logpz = 0.5 * F.sum(mu * mu + sigma * sigma, (1,), False)
    logqz = 0.5 * F.sum(1.0 + logvar, (1,), False)
    return F.mean(logpx + logpz - logqz, (0,), False)


def mnist_like_batch(rng, batch):
    """Blobs of ink on a dark background, pixel/255 as in the tutorial."""
    yy, xx = np.mgrid[0:28, 0:28]
    images = np.zeros((batch, 1, 28, 28), np.float32)
    for i in range(batch):
        cy, cx = rng.uniform(8, 20, 2)
        r = rng.uniform(4, 8)
        images[i, 0] = np.clip(1.5 - np.hypot(yy - cy, xx - cx) / r, 0, 1)
    return (np.round(images * 255) / 255).astype(np.float32)


def test_tutorial_vae_trains():
    nnvae.seed(0)
    loss = vae_loss(mnist_like_batch(np.random.default_rng(13), 16))
    params = nnvae.get_parameters()
    expected = [("fc1", 784, 500), ("fc2", 500, 500), ("fc_mu", 500, 50), ("fc_logvar", 500, 50),
                ("fc3", 50, 500), ("fc4", 500, 500), ("fc5", 500, 784)]
    assert [(k, v.shape) for k, v in params.items()] == [
        item for name, n_in, n_out in expected
        for item in ((f"{name}/affine/W", (n_in, n_out)), (f"{name}/affine/b", (n_out,)))]
    assert sum(v.size for v in params.values()) == 1_361_884

    solver = S.Adam(1e-3, 0.9, 0.999, 1e-8)
    solver.set_parameters(params)
    losses = []
    for _ in range(12):
        solver.zero_grad()
        loss.forward(clear_no_need_grad=True)
        losses.append(float(loss.d))
        loss.backward(clear_buffer=True)
        solver.update()
    # Logits near 0 at the start: about ln 2 nats per pixel plus a small KL.
    assert 784 * math.log(2) - 20 < losses[0] < 784 * math.log(2) + 60
    assert losses[-1] < 0.6 * losses[0]
    assert all(np.isfinite(losses))

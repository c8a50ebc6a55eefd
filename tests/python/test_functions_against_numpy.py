"""nnvae.functions beyond affine and the tutorial's (leaky_relu, clipping,
pow2, the joins, slices, softmax and losses, dropout, one_hot, max/min,
batch_matmul) against numpy: forward for several shapes, axes and arguments, every
input's gradient against central finite differences of the float64 numpy
reference, accumulation, and the errors naming shapes and values."""
import numpy as np
import pytest

import nnvae
import nnvae.functions as F
from test_engine_functions import away_from_zero, check_function, positive

pytestmark = pytest.mark.usefixtures("fresh_engine")


def grid(rng, shape):
    """Values (k + 0.5)/10, k in [-20, 20): at least 0.05 from every multiple
    of 0.1 (the kinks of leaky_relu, abs, clip and the bounds used here)."""
    return ((rng.integers(-20, 20, shape) + 0.5) / 10).astype(np.float32)


def distinct(rng, shape):
    """Values pairwise at least 0.05 apart (max/min never tie under a finite-difference step)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.05 - n * 0.025).reshape(shape).astype(np.float32)


def var(a, need_grad=False):
    return nnvae.Variable.from_numpy_array(np.asarray(a, np.float32), need_grad=need_grad)


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


# --- elementwise, one input ----------------------------------------------------------

UNARY = [
    ("leaky_relu", F.leaky_relu, lambda x: np.where(x > 0, x, 0.1 * x), grid),
    ("leaky_relu_alpha", lambda x: F.leaky_relu(x, alpha=0.3), lambda x: np.where(x > 0, x, 0.3 * x), grid),
    ("abs", F.abs, np.abs, grid),
    ("sqrt", F.sqrt, np.sqrt, positive),
    ("maximum_scalar", lambda x: F.maximum_scalar(x, 0.5), lambda x: np.maximum(x, 0.5), grid),
    ("maximum_scalar_default", F.maximum_scalar, lambda x: np.maximum(x, 1.0), grid),
    ("minimum_scalar", lambda x: F.minimum_scalar(x, val=-0.2), lambda x: np.minimum(x, -0.2), grid),
    ("clip_by_value", lambda x: F.clip_by_value(x, -0.5, 1), lambda x: np.clip(x, -0.5, 1), grid),
]


@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 2)])
@pytest.mark.parametrize("fn,ref,make", [c[1:] for c in UNARY], ids=[c[0] for c in UNARY])
def test_unary(fn, ref, make, shape):
    rng = np.random.default_rng(1)
    check_function(fn, ref, [make(rng, shape)], rng)


def test_abs_gradient_at_zero_is_one():
    x = var([-2, 0, 3], need_grad=True)
    y = F.abs(x)
    y.forward()
    y.backward(np.ones(3, np.float32))
    np.testing.assert_array_equal(x.g, [-1, 1, 1])


# --- elementwise, two inputs -------------------------------------------------------------

BINARY = [
    ("pow2", F.pow2, np.power, positive),
    ("maximum2", F.maximum2, np.maximum, distinct),
    ("minimum2", F.minimum2, np.minimum, distinct),
]


@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1), (1, 5)), ((2, 1, 3), ())])
@pytest.mark.parametrize("fn,ref,make", [c[1:] for c in BINARY], ids=[c[0] for c in BINARY])
def test_binary_with_broadcasting(fn, ref, make, shapes):
    rng = np.random.default_rng(2)
    a = make(rng, shapes[0])
    b = make(rng, shapes[1]) + (0.0123 if make is distinct else 0)  # no ties between a and b either
    check_function(fn, ref, [a, b.astype(np.float32)], rng)


def test_maximum2_minimum2_ties_send_the_gradient_to_x1():
    for fn in (F.maximum2, F.minimum2):
        a, b = var([1, 2, 3], True), var([1, 0, 5], True)
        y = fn(a, b)
        y.forward()
        y.backward(np.ones(3, np.float32))
        expected_a = [0, 1, 0] if fn is F.maximum2 else [0, 0, 1]
        np.testing.assert_array_equal(a.g, expected_a)
        np.testing.assert_array_equal(b.g, 1 - np.array(expected_a))


def test_clip_by_value_with_variable_bounds():
    rng = np.random.default_rng(3)
    x, lo, hi = distinct(rng, (3, 4)), distinct(rng, (3, 4)) - 0.1123, distinct(rng, (3, 4)) + 0.1123
    check_function(F.clip_by_value, lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
                   [x, lo.astype(np.float32), hi.astype(np.float32)], rng)
    # One bound a number, the other a variable.
    check_function(lambda x, hi: F.clip_by_value(x, -0.33, hi), lambda x, hi: np.minimum(np.maximum(x, -0.33), hi),
                   [x, hi.astype(np.float32)], rng)
    with pytest.raises(TypeError, match="F.clip_by_value: min must be a Variable or a number, got str"):
        F.clip_by_value(var(x), "0", 1)


# --- shapes --------------------------------------------------------------------------------

@pytest.mark.parametrize("shapes,axis", [
    ([(2, 3), (2, 4)], None), ([(2, 3), (2, 4), (2, 1)], 1), ([(1, 3), (4, 3)], 0),
    ([(2, 3, 4), (2, 1, 4)], -2), ([(5,), (2,)], None),
])
def test_concatenate(shapes, axis):
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    kw = {} if axis is None else {"axis": axis}
    np_axis = -1 if axis is None else axis
    check_function(lambda *xs: F.concatenate(*xs, **kw), lambda *xs: np.concatenate(xs, axis=np_axis), arrays, rng)


@pytest.mark.parametrize("shape,axis", [((3,), 0), ((2, 3), 0), ((2, 3), 1), ((2, 3), 2), ((2, 3), -1)])
def test_stack(shape, axis):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]
    check_function(lambda *xs: F.stack(*xs, axis=axis), lambda *xs: np.stack(xs, axis=axis), arrays, rng)
    if axis == 0:
        check_function(lambda *xs: F.stack(*xs), lambda *xs: np.stack(xs), arrays, rng)


@pytest.mark.parametrize("shape,axis", [((4,), 0), ((2, 3), 0), ((2, 3), 1), ((2, 3, 4), -1)])
def test_split(shape, axis):
    rng = np.random.default_rng(6)
    a = rng.standard_normal(shape).astype(np.float32)
    parts = F.split(var(a), axis=axis)
    assert isinstance(parts, tuple) and len(parts) == shape[axis]
    for i, p in enumerate(parts):
        check_function(lambda x, i=i: F.split(x, axis)[i], lambda x, i=i: np.take(x, i, axis=axis), [a], rng)


def test_split_parts_back_propagate_into_one_input():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((3, 2)).astype(np.float32)
    check_function(lambda x: F.split(x)[0] * 2.0 + F.split(x)[2] - F.split(x)[0],
                   lambda x: x[0] * 2 + x[2] - x[0], [a], rng)


@pytest.mark.parametrize("start,stop,step,py", [
    ((0, 1), (3, 4), (2, 2), np.s_[0:3:2, 1:4:2]),
    ((-1, -1), (-4, -5), (-1, -1), np.s_[-1:-4:-1, -1:-5:-1]),
    ((None, None), (None, None), (-1, -2), np.s_[::-1, ::-2]),
    ((1,), (3,), (1,), np.s_[:, 1:3]),
    ((0, 2), (3, 100), (1, 1), np.s_[0:3, 2:100]),
    ((2, 0), (1, 4), (1, 1), np.s_[2:1, 0:4]),
    (None, None, None, np.s_[:, :]),
])
def test_slice(start, stop, step, py):
    rng = np.random.default_rng(8)
    a = rng.standard_normal((3, 5)).astype(np.float32)
    check_function(lambda x: F.slice(x, start, stop, step), lambda x: x[py], [a], rng)


@pytest.mark.parametrize("shape,axes", [((2, 3), (1, 0)), ((2, 3, 4), (2, 0, 1)), ((2, 3, 4), (0, 2, 1)),
                                        ((2, 3, 4), (-1, 0, 1)), ((5,), (0,))])
def test_transpose(shape, axes):
    rng = np.random.default_rng(9)
    a = rng.standard_normal(shape).astype(np.float32)
    check_function(lambda x: F.transpose(x, axes), lambda x: np.transpose(x, axes), [a], rng)


@pytest.mark.parametrize("shape,target", [((2, 1), (2, 3)), ((1, 3), (4, 2, 3)), ((), (2, 2)), ((3,), (2, 3)),
                                          ((2, 3), (2, 3))])
def test_broadcast(shape, target):
    rng = np.random.default_rng(10)
    a = rng.standard_normal(shape).astype(np.float32)
    check_function(lambda x: F.broadcast(x, target), lambda x: np.broadcast_to(x, target), [a], rng)


# --- softmax and losses ----------------------------------------------------------------------

@pytest.mark.parametrize("shape,axis", [((5,), None), ((3, 4), None), ((3, 4), 0), ((2, 3, 4), 1),
                                        ((2, 3, 4), -3)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_and_log_softmax(name, shape, axis):
    rng = np.random.default_rng(11)
    a = (3 * rng.standard_normal(shape)).astype(np.float32)
    fn = getattr(F, name)
    ref = np_softmax if name == "softmax" else np_log_softmax
    np_axis = -1 if axis is None else axis
    check_function(lambda x: fn(x) if axis is None else fn(x, axis=axis), lambda x: ref(x, np_axis), [a], rng)


def test_log_softmax_is_stable_for_large_logits():
    y = F.log_softmax(var([[1000.0, 0.0, -1000.0]]))
    y.forward()
    np.testing.assert_allclose(y.d, [[0, -1000, -2000]])


@pytest.mark.parametrize("shape,axis", [((4, 5), None), ((4, 5), 1), ((3, 4, 2), 1), ((3, 4), 0)])
def test_softmax_cross_entropy(shape, axis):
    rng = np.random.default_rng(12)
    a = (2 * rng.standard_normal(shape)).astype(np.float32)
    ax = len(shape) - 1 if axis is None else axis
    label_shape = list(shape)
    label_shape[ax] = 1
    labels = rng.integers(0, shape[ax], label_shape)
    labels.flat[0] = -1  # no class: loss 0, no gradient
    t = var(labels)

    def ref(x):
        lp = np_log_softmax(x, ax)
        picked = -np.take_along_axis(lp, np.maximum(labels, 0), axis=ax)
        return np.where(labels < 0, 0.0, picked)

    kw = {} if axis is None else {"axis": axis}
    check_function(lambda x: F.softmax_cross_entropy(x, t, **kw), ref, [a], rng)


def test_binary_cross_entropy():
    rng = np.random.default_rng(13)
    p = rng.uniform(0.1, 0.9, (3, 4)).astype(np.float32)
    t = rng.uniform(0, 1, (3, 4)).astype(np.float32)
    check_function(F.binary_cross_entropy, lambda x, t: -(t * np.log(x) + (1 - t) * np.log(1 - x)), [p, t], rng,
                   grad_rtol=3e-4)


def test_binary_cross_entropy_is_finite_at_0_and_1():
    y = F.binary_cross_entropy(var([0.0, 1.0]), var([1.0, 0.0]))
    y.forward()
    assert np.all(np.isfinite(y.d)) and np.all(y.d > 80)


# --- dropout and one_hot ------------------------------------------------------------------------

def test_dropout_scales_kept_values_and_backprops_through_the_mask():
    rng = np.random.default_rng(14)
    a = rng.uniform(0.5, 1.5, (40, 50)).astype(np.float32)
    x = var(a, need_grad=True)
    y = F.dropout(x, p=0.3, seed=5)
    y.forward()
    kept = y.d != 0
    np.testing.assert_allclose(y.d[kept], a[kept] / 0.7, rtol=1e-6)
    assert abs(kept.mean() - 0.7) < 4 * np.sqrt(0.7 * 0.3 / a.size)
    up = rng.standard_normal(a.shape).astype(np.float32)
    y.backward(up)
    np.testing.assert_allclose(x.g, np.where(kept, up / 0.7, 0), rtol=1e-6)
    y.backward(up)  # a leaf accumulates
    np.testing.assert_allclose(x.g, np.where(kept, 2 * up / 0.7, 0), rtol=1e-6)
    # The same seed, the same mask; the global generator follows nnvae.seed.
    z = F.dropout(var(a), p=0.3, seed=5)
    z.forward()
    np.testing.assert_array_equal(z.d, y.d)
    nnvae.seed(3)
    g1 = F.dropout(var(a))
    g1.forward()
    nnvae.seed(3)
    g2 = F.dropout(var(a))
    g2.forward()
    np.testing.assert_array_equal(g1.d, g2.d)


def test_dropout_p_zero_is_identity():
    rng = np.random.default_rng(15)
    check_function(lambda x: F.dropout(x, p=0.0, seed=1), lambda x: x, [rng.standard_normal((3, 2)).astype(np.float32)],
                   rng)


def test_one_hot():
    y = F.one_hot(var([[9], [4], [5], [-9], [10]]), shape=(10,))
    assert y.shape == (5, 10)
    y.forward()
    expected = np.zeros((5, 10), np.float32)
    for r, c in enumerate([9, 4, 5, 1]):
        expected[r, c] = 1
    np.testing.assert_array_equal(y.d, expected)
    y2 = F.one_hot(var([[1, 7], [4, 0]]), (5, 8))
    y2.forward()
    expected2 = np.zeros((2, 5, 8), np.float32)
    expected2[0, 1, 7] = expected2[1, 4, 0] = 1
    np.testing.assert_array_equal(y2.d, expected2)


# --- max / min -------------------------------------------------------------------------------------

def np_arg(x, axes, is_max):
    """The index NNabla's max/min give: the reduced axes moved to the end
    and flattened, then argmax/argmin."""
    axes = sorted(a % x.ndim for a in axes)
    kept = [d for d in range(x.ndim) if d not in axes]
    moved = np.transpose(x, kept + axes).reshape([x.shape[d] for d in kept] + [-1])
    return (np.argmax if is_max else np.argmin)(moved, axis=-1)


@pytest.mark.parametrize("axis,keepdims", [(None, False), (None, True), (0, False), (1, True), ((0, 2), False),
                                           ((-1, 0), True), (-2, False)])
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min(name, axis, keepdims):
    rng = np.random.default_rng(16)
    a = distinct(rng, (3, 4, 2))
    fn, ref = getattr(F, name), getattr(np, name)
    check_function(lambda x: fn(x, axis=axis, keepdims=keepdims), lambda x: ref(x, axis=axis, keepdims=keepdims),
                   [a], rng)
    axes = list(range(3)) if axis is None else ([axis] if isinstance(axis, int) else list(axis))
    want = np_arg(a, axes, name == "max")
    if keepdims:
        want = np.expand_dims(want, tuple(sorted(d % 3 for d in axes)))
    values, index = fn(var(a), axis=axis, keepdims=keepdims, with_index=True)
    only = fn(var(a), axis=axis, keepdims=keepdims, only_index=True)
    for v in (values, index, only):
        v.forward()
    np.testing.assert_array_equal(values.d, ref(a, axis=axis, keepdims=keepdims))
    np.testing.assert_array_equal(index.d, want)
    np.testing.assert_array_equal(only.d, want)


def test_max_ties_and_empty_axis():
    x = var([1, 3, 3, 0], need_grad=True)
    y = F.max(x)
    y.forward()
    y.backward()
    np.testing.assert_array_equal(x.g, [0, 1, 0, 0])  # the first maximum
    v, i = F.min(var([[2, 1], [0, 5]]), axis=(), with_index=True)
    v.forward()
    i.forward()
    np.testing.assert_array_equal(v.d, [[2, 1], [0, 5]])
    np.testing.assert_array_equal(i.d, np.zeros((2, 2)))


def test_index_outputs_have_no_gradient():
    x = var([1, 2, 3], need_grad=True)
    i = F.max(x, only_index=True)
    i.forward()
    with pytest.raises(ValueError, match="max has no gradient with respect to input 0"):
        i.backward()


def test_indices_read_as_uint64_as_in_nnabla():
    # NNabla 1.39.0 on this array, the same calls: uint64 indices, these values.
    a = np.array([[[3, 1, 7, 7], [0, 9, 2, 9], [5, 5, 5, 5]],
                  [[-1, -2, -3, -4], [4, 3, 2, 1], [0, 0, 8, 0]]], np.float32)
    cases = [(F.max, dict(axis=1, with_index=True), [[2, 1, 0, 1], [1, 1, 2, 1]]),
             (F.min, dict(axis=1, with_index=True), [[1, 0, 1, 2], [0, 0, 0, 0]]),
             (F.max, dict(axis=2, only_index=True), [[2, 1, 0], [0, 0, 2]]),
             (F.min, dict(axis=2, only_index=True), [[1, 0, 0], [3, 3, 0]]),
             (F.max, dict(with_index=True), 5),
             (F.min, dict(with_index=True), 15),
             (F.max, dict(axis=(0, 2), only_index=True), [2, 1, 6]),
             (F.min, dict(axis=(0, 2), only_index=True), [7, 0, 4]),
             (F.max, dict(axis=1, keepdims=True, only_index=True), [[[2, 1, 0, 1]], [[1, 1, 2, 1]]]),
             (F.min, dict(axis=(), only_index=True), np.zeros((2, 3, 4)))]
    for fn, kw, want in cases:
        out = fn(var(a), **kw)
        index = out[1] if isinstance(out, tuple) else out
        index.forward()
        assert index.d.dtype == np.uint64 and index.data.dtype == np.uint64, (fn.__name__, kw)
        np.testing.assert_array_equal(index.d, np.array(want, np.uint64))
        assert index.g.dtype == np.float32 and not index.need_grad
        if isinstance(out, tuple):
            out[0].forward()
            assert out[0].d.dtype == np.float32
    # As in NNabla: they index numpy arrays; computing with them gives floats.
    index = F.max(var(a[0]), axis=1, only_index=True)
    y = index + 1
    y.forward()
    assert np.array_equal(a[0][np.arange(3), index.d], [7, 9, 5])
    assert y.d.dtype == np.float32 and y.d.tolist() == [3, 2, 1]
    # Assignment writes; the copy itself is read-only (it is not the engine's memory).
    index.d = [1, 0, 3]
    assert index.d.tolist() == [1, 0, 3] and not index.d.flags.writeable
    assert index.data.cast(np.uint64).dtype == np.uint64
    assert index.data.cast(np.float32).dtype == np.float32 and index.d.dtype == np.float32  # cast for good
    with pytest.raises(ValueError, match="uint64 is not supported"):
        var(a).data.cast(np.uint64)


# --- batch_matmul -------------------------------------------------------------------------------------

@pytest.mark.parametrize("sa,sb", [((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (1, 3, 4, 2)), ((1, 2, 3), (3, 3, 2))])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_batch_matmul(sa, sb, ta, tb):
    rng = np.random.default_rng(17)
    swap = lambda s: s[:-2] + (s[-1], s[-2])  # noqa: E731
    a = rng.standard_normal(swap(sa) if ta else sa).astype(np.float32)
    b = rng.standard_normal(swap(sb) if tb else sb).astype(np.float32)

    def ref(a, b):
        return np.matmul(np.swapaxes(a, -1, -2) if ta else a, np.swapaxes(b, -1, -2) if tb else b)

    check_function(lambda a, b: F.batch_matmul(a, b, ta, tb), ref, [a, b], rng, rtol=1e-5, atol=1e-5)


# --- errors ------------------------------------------------------------------------------------------

def raises(fn, exc, *fragments):
    with pytest.raises(exc) as info:
        fn()
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in {str(info.value)!r}"


def test_shape_and_argument_errors_name_the_shapes():
    x23, x24 = var(np.ones((2, 3))), var(np.ones((2, 4)))
    raises(lambda: F.concatenate(x23, x24, axis=0), ValueError,
           "concatenate: input 1 has shape (2, 4) but input 0 has shape (2, 3)")
    raises(lambda: F.concatenate(x23, x24, axis=2), ValueError, "concatenate: axis 2 is out of range for shape (2, 3)")
    raises(lambda: F.concatenate(), ValueError, "F.concatenate: needs at least one input")
    raises(lambda: F.concatenate(x23, x24, axes=1), TypeError, "F.concatenate: unexpected keyword argument(s) axes")
    raises(lambda: F.stack(x23, x24), ValueError, "stack: input 1 has shape (2, 4) but input 0 has shape (2, 3)")
    raises(lambda: F.split(x23, axis=2), ValueError, "split: axis 2 is out of range for shape (2, 3)")
    raises(lambda: F.slice(x23, (0, 0), (1, 1), (1, 0)), ValueError, "slice: step (1, 0) has a 0 (axis 1)")
    raises(lambda: F.slice(x23, (0, 0, 0), (1, 1, 1), (1, 1, 1)), ValueError, "has 3 entries but x has shape (2, 3)")
    raises(lambda: F.transpose(x23, (0, 0)), ValueError, "transpose: axes (0, 0) is not a permutation")
    raises(lambda: F.broadcast(x23, (2, 4)), ValueError, "broadcast: x of shape (2, 3) cannot be broadcast to (2, 4)")
    raises(lambda: F.maximum2(x23, x24), ValueError, "maximum2: shapes (2, 3) and (2, 4) cannot be broadcast")
    raises(lambda: F.pow2(x23, x24), ValueError, "pow2: shapes (2, 3) and (2, 4) cannot be broadcast")
    raises(lambda: F.softmax(x23, axis=2), ValueError, "softmax: axis 2 is out of range for shape (2, 3)")
    raises(lambda: F.softmax_cross_entropy(x23, var(np.zeros((2, 3)))), ValueError,
           "softmax_cross_entropy: target has shape (2, 3) but x has shape (2, 3); target must be x's shape "
           "with 1 at axis 1, i.e. (2, 1)")
    y = F.softmax_cross_entropy(x23, var([[0], [3]]))
    raises(y.forward, ValueError, "target value 3.000000 at position 1 is not a class index")
    raises(lambda: F.binary_cross_entropy(x23, x24), ValueError,
           "binary_cross_entropy: x has shape (2, 3) but target has shape (2, 4)")
    raises(lambda: F.dropout(x23, p=1.0), ValueError, "dropout: p must be in [0, 1), got 1.0")
    raises(lambda: F.one_hot(x23, (4,)), ValueError, "one_hot: x has shape (2, 3) but shape (4,) has 1 axes")
    raises(lambda: F.max(x23, axis=2), ValueError, "max: axis 2 is out of range for input shape (2, 3)")
    raises(lambda: F.min(x23, axis=(0, -2)), ValueError, "min: axis -2 is given twice")
    raises(lambda: F.batch_matmul(x23, x23), ValueError, "batch_matmul: inputs need >= 3 axes")
    a, b = var(np.ones((2, 3, 4))), var(np.ones((2, 3, 4)))
    raises(lambda: F.batch_matmul(a, b), ValueError,
           "batch_matmul: the inner sizes differ: op(a) has 4 columns, op(b) has 3 rows")
    raises(lambda: F.softmax(np.ones(3)), TypeError, "F.softmax: x must be an nnvae.Variable")
    raises(lambda: F.leaky_relu(x23, n_outputs=2), ValueError, "F.leaky_relu: n_outputs=2 is not supported")
    raises(lambda: F.batch_matmul(a, b, outputs=[a]), ValueError, "F.batch_matmul: outputs=")

"""PF.convolution, PF.deconvolution and PF.batch_normalization on their own
(no NNabla): the parameters they create (names, shapes, need_grad, initial
values), their reuse, fix_parameters, with_bias, name=, the initializers,
the values they compute (against numpy), and the errors for bad input,
which name the function and the argument."""
import math

import numpy as np
import pytest

import nnvae as nn
import nnvae.functions as F
import nnvae.initializer as I
import nnvae.parametric_functions as PF

pytestmark = pytest.mark.usefixtures("fresh_engine")


def shapes(grad_only=True):
    return {k: v.shape for k, v in nn.get_parameters(grad_only=grad_only).items()}


def conv_reference(x, w, b, pad, stride, group):
    """y (N, M, H', W') = the cross-correlation of x (N, C, H, W), padded with
    zeros, with w (M, C / group, KH, KW), plus b (M,), channels in groups."""
    n, c, _, _ = x.shape
    m, cg, kh, kw = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    ho = (xp.shape[2] - kh) // stride[0] + 1
    wo = (xp.shape[3] - kw) // stride[1] + 1
    y = np.zeros((n, m, ho, wo))
    mg = m // group
    for o in range(m):
        g = o // mg
        for i in range(ho):
            for j in range(wo):
                patch = xp[:, g * cg:(g + 1) * cg, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw]
                y[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3))
    if b is not None:
        y += b.reshape(1, m, 1, 1)
    return y


# --- PF.convolution -----------------------------------------------------------------------------------

def test_convolution_parameters_and_values():
    rng = np.random.RandomState(0)
    xa = rng.standard_normal((2, 4, 7, 6)).astype(np.float32)
    x = nn.Variable.from_numpy_array(xa)
    y = PF.convolution(x, 6, (3, 2), pad=(1, 0), stride=(2, 1), group=2, name="c")
    assert y.shape == (2, 6, 4, 5)
    assert shapes() == {"c/conv/W": (6, 2, 3, 2), "c/conv/b": (6,)}
    p = nn.get_parameters()
    w, b = p["c/conv/W"], p["c/conv/b"]
    assert w.need_grad and b.need_grad
    # W ~ U(±sqrt(6 / (K·(C + M)))), K = 3·2, C = 4, M = 6; b = 0.
    lim = math.sqrt(6 / (6 * (4 + 6)))
    assert np.abs(w.d).max() <= lim and w.d.std() > lim / 3
    np.testing.assert_array_equal(b.d, np.zeros(6, np.float32))
    b.d = rng.standard_normal(6)
    y.forward()
    np.testing.assert_allclose(y.d, conv_reference(xa, w.d, b.d, (1, 0), (2, 1), 2), rtol=1e-5, atol=1e-5)


def test_convolution_without_bias_has_only_w():
    rng = np.random.RandomState(1)
    xa = rng.standard_normal((1, 3, 5, 5)).astype(np.float32)
    y = PF.convolution(nn.Variable.from_numpy_array(xa), 2, (3, 3), with_bias=False)
    assert shapes() == {"conv/W": (2, 3, 3, 3)}
    y.forward()
    w = nn.get_parameters()["conv/W"].d
    np.testing.assert_allclose(y.d, conv_reference(xa, w, None, (0, 0), (1, 1), 1), rtol=1e-5, atol=1e-5)


def test_convolution_initial_values_come_from_rng():
    x = nn.Variable((1, 3, 8, 8))
    PF.convolution(x, 5, (3, 3), rng=np.random.RandomState(42), name="a")
    lim = math.sqrt(6 / (9 * (3 + 5)))
    expected = np.random.RandomState(42).uniform(-lim, lim, (5, 3, 3, 3)).astype(np.float32)
    np.testing.assert_allclose(nn.get_parameters()["a/conv/W"].d, expected, rtol=1e-6)
    assert I.calc_uniform_lim_glorot(3, 5, (3, 3)) == pytest.approx((-lim, lim))


def test_convolution_reuses_existing_parameters():
    x = nn.Variable((2, 3, 6, 6))
    with nn.parameter_scope("net"):
        PF.convolution(x, 4, (3, 3), name="conv1")
        before = nn.get_parameters()["conv1/conv/W"].d.copy()
        # Reused as they are: neither the initializer nor the rng is used again.
        y = PF.convolution(x, 4, (3, 3), name="conv1", w_init=I.ConstantInitializer(9.0))
    assert y.shape == (2, 4, 4, 4)
    assert list(nn.get_parameters()) == ["net/conv1/conv/W", "net/conv1/conv/b"]
    np.testing.assert_array_equal(nn.get_parameters()["net/conv1/conv/W"].d, before)
    # A reuse that asks for another shape is refused, naming the parameter.
    with pytest.raises(ValueError, match="conv1/conv/W"):
        PF.convolution(x, 5, (3, 3), name="net/conv1")


def test_convolution_initializers():
    x = nn.Variable.from_numpy_array(np.ones((1, 2, 3, 3), np.float32))
    w0 = np.arange(2 * 2 * 3 * 3, dtype=np.float64).reshape(2, 2, 3, 3) / 10
    y = PF.convolution(x, 2, (3, 3), w_init=w0, b_init=I.ConstantInitializer(0.5), name="arr")
    y.forward()
    np.testing.assert_allclose(y.d.reshape(2), w0.sum(axis=(1, 2, 3)) + 0.5, rtol=1e-6)
    with pytest.raises(ValueError, match=r"PF.convolution: w_init.*\(3, 3\).*\(2, 2, 3, 3\)"):
        PF.convolution(x, 2, (3, 3), w_init=np.zeros((3, 3)), name="bad")


def test_fix_parameters_leaves_their_gradients_alone():
    rng = np.random.RandomState(2)
    x = nn.Variable.from_numpy_array(rng.standard_normal((2, 2, 4, 4)).astype(np.float32), need_grad=True)
    loss = F.sum(PF.convolution(x, 3, (2, 2), fix_parameters=True, name="fixed"))
    for v in nn.get_parameters().values():
        v.g = 0
    loss.forward()
    loss.backward()
    params = nn.get_parameters()
    assert list(params) == ["fixed/conv/W", "fixed/conv/b"]
    assert all(v.need_grad for v in params.values())  # the stored parameters keep need_grad
    assert all(not v.g.any() for v in params.values())
    assert np.abs(x.g).sum() > 0
    # The same layer without fix_parameters does compute them.
    loss = F.sum(PF.convolution(x, 3, (2, 2), name="fixed"))
    loss.forward()
    loss.backward()
    np.testing.assert_allclose(nn.get_parameters()["fixed/conv/b"].g, np.full(3, 2 * 3 * 3, np.float32))


# --- PF.deconvolution ---------------------------------------------------------------------------------

def test_deconvolution_parameters_and_shape():
    x = nn.Variable((2, 4, 5, 5))
    y = PF.deconvolution(x, 6, (3, 3), pad=(1, 1), stride=(2, 2), group=2, name="up")
    assert y.shape == (2, 6, 9, 9)  # 2·(5 − 1) − 2 + 3
    assert shapes() == {"up/deconv/W": (4, 3, 3, 3), "up/deconv/b": (6,)}
    lim = math.sqrt(6 / (9 * (4 + 6)))
    w = nn.get_parameters()["up/deconv/W"].d
    assert np.abs(w).max() <= lim and w.std() > lim / 3
    PF.deconvolution(x, 2, (2, 2), with_bias=False, name="nob")
    assert shapes()["nob/deconv/W"] == (4, 2, 2, 2) and "nob/deconv/b" not in shapes()


def test_deconvolution_is_the_convolutions_transpose():
    # <deconv(x, W), y> = <x, conv(y, W)>: the deconvolution's forward is the
    # convolution's backward with respect to its input.
    rng = np.random.RandomState(3)
    xa = rng.standard_normal((1, 3, 4, 4)).astype(np.float32)
    ya = rng.standard_normal((1, 2, 9, 9)).astype(np.float32)
    d = PF.deconvolution(nn.Variable.from_numpy_array(xa), 2, (3, 3), stride=(2, 2), with_bias=False, name="t")
    d.forward()
    w = nn.get_parameters()["t/deconv/W"].d  # (3, 2, 3, 3): conv from 2 to 3 maps
    cy = conv_reference(ya, w, None, (0, 0), (2, 2), 1)
    assert d.shape == ya.shape and cy.shape == xa.shape
    np.testing.assert_allclose((d.d * ya).sum(), (xa * cy).sum(), rtol=1e-4)


# --- PF.batch_normalization ---------------------------------------------------------------------------

def test_batch_normalization_parameters():
    x = nn.Variable((4, 3, 2, 2))
    y = PF.batch_normalization(x, name="bn1")
    assert y.shape == x.shape
    assert shapes() == {"bn1/bn/beta": (1, 3, 1, 1), "bn1/bn/gamma": (1, 3, 1, 1)}
    assert shapes(grad_only=False) == {"bn1/bn/beta": (1, 3, 1, 1), "bn1/bn/gamma": (1, 3, 1, 1),
                                       "bn1/bn/mean": (1, 3, 1, 1), "bn1/bn/var": (1, 3, 1, 1)}
    p = nn.get_parameters(grad_only=False)
    for key, value in (("beta", 0), ("gamma", 1), ("mean", 0), ("var", 1)):
        np.testing.assert_array_equal(p[f"bn1/bn/{key}"].d, np.full((1, 3, 1, 1), value, np.float32))
    assert not p["bn1/bn/mean"].need_grad and not p["bn1/bn/var"].need_grad
    PF.batch_normalization(nn.Variable((5, 6)), axes=[1], no_scale=True, no_bias=True, name="bare")
    assert sorted(k for k in shapes(grad_only=False) if k.startswith("bare")) == ["bare/bn/mean", "bare/bn/var"]


def test_batch_normalization_batch_stat_values_and_running_statistics():
    rng = np.random.RandomState(4)
    xa = rng.standard_normal((6, 2, 3)).astype(np.float32) * 3 + 1
    y = PF.batch_normalization(nn.Variable.from_numpy_array(xa), decay_rate=0.8, eps=1e-3,
                               param_init={"gamma": 2.0, "beta": 0.5})
    y.forward()
    mu = xa.mean(axis=(0, 2), keepdims=True)
    var = xa.var(axis=(0, 2), keepdims=True)
    np.testing.assert_allclose(y.d, (xa - mu) / np.sqrt(var + 1e-3) * 2 + 0.5, rtol=1e-4, atol=1e-5)
    p = nn.get_parameters(grad_only=False)
    m = 6 * 3
    np.testing.assert_allclose(p["bn/mean"].d, 0.2 * mu, rtol=1e-5)
    np.testing.assert_allclose(p["bn/var"].d, 0.8 + 0.2 * var * m / (m - 1), rtol=1e-5)


def test_batch_normalization_with_running_statistics():
    rng = np.random.RandomState(5)
    xa = rng.standard_normal((3, 4)).astype(np.float32)
    mean = rng.standard_normal((1, 4)).astype(np.float32)
    var = rng.uniform(0.5, 2, (1, 4)).astype(np.float32)
    y = PF.batch_normalization(nn.Variable.from_numpy_array(xa), batch_stat=False,
                               param_init={"mean": mean, "var": lambda shape: var})
    y.forward()
    np.testing.assert_allclose(y.d, (xa - mean) / np.sqrt(var + 1e-5), rtol=1e-5, atol=1e-6)
    p = nn.get_parameters(grad_only=False)
    np.testing.assert_array_equal(p["bn/mean"].d, mean)  # not moved
    np.testing.assert_array_equal(p["bn/var"].d, var)


def test_batch_normalization_reuse_and_fix_parameters():
    x = nn.Variable.from_numpy_array(np.random.RandomState(6).standard_normal((4, 2)).astype(np.float32))
    PF.batch_normalization(x, name="n")
    nn.get_parameters()["n/bn/gamma"].d = 3.0
    loss = F.sum(PF.batch_normalization(x, name="n", fix_parameters=True) * x)
    p = nn.get_parameters(grad_only=False)
    assert list(p) == ["n/bn/beta", "n/bn/gamma", "n/bn/mean", "n/bn/var"]
    np.testing.assert_array_equal(p["n/bn/gamma"].d, np.full((1, 2), 3.0, np.float32))  # reused
    for v in p.values():
        v.g = 0
    loss.forward()
    loss.backward()
    assert not p["n/bn/gamma"].g.any() and not p["n/bn/beta"].g.any()


# --- bad input ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("layer", [PF.convolution, PF.deconvolution])
def test_conv_layers_name_the_bad_argument(layer):
    where = f"PF.{layer.__name__}"
    x = nn.Variable((2, 4, 6, 6))
    with pytest.raises(TypeError, match=f"{where}: inp must be an nnvae.Variable, got ndarray"):
        layer(np.zeros((2, 4, 6, 6), np.float32), 4, (3, 3))
    with pytest.raises(TypeError, match=f"{where}: kernel must be a tuple of ints, got int"):
        layer(x, 4, 3)
    with pytest.raises(ValueError, match=fr"{where}: kernel must be .*positive ints, got \(3, 0\)"):
        layer(x, 4, (3, 0))
    with pytest.raises(ValueError, match=fr"{where}: kernel .*got \(\)"):
        layer(x, 4, ())
    with pytest.raises(ValueError, match=fr"{where}: group 3 must divide the input channels \(4\) and outmaps"):
        layer(x, 6, (3, 3), group=3)
    with pytest.raises(TypeError, match=f"{where}: outmaps must be an int, got float"):
        layer(x, 4.0, (3, 3))
    with pytest.raises(ValueError, match=fr"{where}: outmaps \(0\) and group \(1\) must be > 0"):
        layer(x, 0, (3, 3))
    with pytest.raises(ValueError, match=fr"{where}: input shape \(2, 4, 6, 6\) has no channel axis 2"):
        layer(x, 4, (3, 3), base_axis=2)
    with pytest.raises(TypeError, match=f"{where}: apply_w must be a callable"):
        layer(x, 4, (3, 3), apply_w=1)
    assert nn.get_parameters(grad_only=False) == {}  # nothing created by the failed calls


def test_convolution_kernel_larger_than_input_names_the_shapes():
    with pytest.raises(ValueError, match="convolution"):
        PF.convolution(nn.Variable((1, 1, 3, 3)), 2, (5, 5))


def test_batch_normalization_names_the_bad_argument():
    where = "PF.batch_normalization"
    x = nn.Variable((2, 3, 4))
    with pytest.raises(TypeError, match=f"{where}: inp must be an nnvae.Variable, got list"):
        PF.batch_normalization([1.0, 2.0])
    with pytest.raises(ValueError, match=fr"{where}: axes must name one axis, got \[0, 1\]"):
        PF.batch_normalization(x, axes=[0, 1])
    with pytest.raises(ValueError, match=fr"{where}: axis 3 is out of range for input shape \(2, 3, 4\)"):
        PF.batch_normalization(x, axes=[3])
    with pytest.raises(ValueError, match=fr"{where}: param_init has unknown names \['variance'\]"):
        PF.batch_normalization(x, param_init={"variance": 1.0})
    with pytest.raises(TypeError, match=f"{where}: param_init must be a dict"):
        PF.batch_normalization(x, param_init=[1.0])
    with pytest.raises(ValueError, match=fr"{where}: param_init\['gamma'\].*\(3,\).*\(1, 3, 1\)"):
        PF.batch_normalization(x, param_init={"gamma": np.ones(3)}, name="g")
    with pytest.raises(ValueError, match=f"{where}: output_stat=True is not supported"):
        PF.batch_normalization(x, output_stat=True)

"""The Python API pieces NNabla's DCGAN, Siamese and VAT programs use around
their graphs, with NNabla 1.39.0's behaviour (its numbers were read from
NNabla itself): the solvers module under both names (nnvae.solver and
nnvae.solvers), weight_decay, learning_rate and set_learning_rate, a new
root sharing a variable's arrays (get_unlinked_variable), persistent and
need_grad, and F.constant, F.squared_error and F.kl_multinomial from Python.
"""
import math

import numpy as np
import pytest

import nnvae
import nnvae.functions as F
import nnvae.solvers

pytestmark = pytest.mark.usefixtures("fresh_engine")


def _param(values, grad=None):
    w = nnvae.Variable.from_numpy_array(np.array(values, np.float32), need_grad=True)
    if grad is not None:
        w.g = np.array(grad, np.float32)
    return w


def test_nnvae_solver_is_the_solvers_module():
    import nnvae.solver as S

    assert S is nnvae.solvers and nnvae.solver is nnvae.solvers
    assert S.Adam is nnvae.solvers.Adam and S.Sgd is nnvae.solvers.Sgd
    from nnvae.solver import Solver

    assert Solver is nnvae.solvers.Solver


@pytest.mark.parametrize("make", [lambda S: S.Sgd(0.1), lambda S: S.Adam(0.01)], ids=["Sgd", "Adam"])
def test_weight_decay_adds_rate_times_w_as_nnabla(make):
    solver = make(nnvae.solvers)
    w = _param([1.0, -2.0, 3.0], grad=[0.5, 0.5, 0.5])
    solver.set_parameters({"w": w})
    solver.weight_decay(0.1)
    np.testing.assert_allclose(w.g, [0.6, 0.3, 0.8], rtol=1e-6)  # NNabla's
    solver.weight_decay(0)
    np.testing.assert_allclose(w.g, [0.6, 0.3, 0.8], rtol=1e-6)


def test_adam_after_weight_decay_matches_nnabla():
    solver = nnvae.solvers.Adam(0.1)
    w = _param([1.0, -2.0])
    solver.set_parameters({"w": w})
    solver.zero_grad()
    w.g = np.array([0.3, 0.1], np.float32)
    solver.weight_decay(0.01)
    np.testing.assert_allclose(w.g, [0.31, 0.08], rtol=1e-6)
    solver.update()
    np.testing.assert_allclose(w.d, [0.9000001, -2.0999997], rtol=1e-7)


def test_weight_decay_leaves_parameters_update_skips():
    # NNabla: a parameter without a gradient since zero_grad is neither
    # decayed nor updated; one never zeroed is both.
    w1, w2 = _param([1.0, 2.0]), _param([3.0, 4.0])
    solver = nnvae.solvers.Sgd(0.1)
    solver.set_parameters({"w1": w1, "w2": w2})
    solver.zero_grad()
    loss = F.sum(w1 * w1)
    loss.forward()
    loss.backward()
    solver.weight_decay(0.5)
    np.testing.assert_array_equal(w1.g, [2.5, 5.0])
    np.testing.assert_array_equal(w2.g, [0.0, 0.0])
    solver.update()
    np.testing.assert_allclose(w1.d, [0.75, 1.5], rtol=1e-7)
    np.testing.assert_array_equal(w2.d, [3.0, 4.0])
    fresh = _param([1.0, 2.0])
    other = nnvae.solvers.Sgd(0.1)
    other.set_parameters({"w3": fresh})
    other.weight_decay(0.5)
    other.update()
    np.testing.assert_allclose(fresh.d, [0.95, 1.9], rtol=1e-7)


def test_solver_without_parameters_does_nothing():
    solver = nnvae.solvers.Adam()
    solver.weight_decay(0.5)
    solver.zero_grad()
    solver.update()
    assert solver.get_parameters() == {} and solver.get_states() == {}


def test_learning_rate_reads_and_sets_as_nnabla():
    solver = nnvae.solvers.Sgd(0.1)
    assert solver.learning_rate() == 0.10000000149011612  # float32, as NNabla's
    solver.set_learning_rate(solver.learning_rate() * 0.9)  # VAT's decay
    assert solver.learning_rate() == pytest.approx(0.09, rel=1e-6)
    adam = nnvae.solvers.Adam(2e-3)
    assert adam.learning_rate() == pytest.approx(2e-3, rel=1e-7)


@pytest.mark.parametrize("bad,shown", [(math.nan, "nan"), (-1.0, "-1"), (0.0, "0"), (math.inf, "inf")])
def test_set_learning_rate_refuses_what_cannot_train(bad, shown):
    # NNabla takes any of these; nnvae refuses them, naming the call and the value.
    solver = nnvae.solvers.Adam(0.01)
    with pytest.raises(ValueError, match=r"Adam.set_learning_rate: learning rate must be a finite number > 0, got "
                                         + shown):
        solver.set_learning_rate(bad)
    assert solver.learning_rate() == pytest.approx(0.01, rel=1e-7)
    with pytest.raises(TypeError, match=r"S.set_learning_rate: learning_rate must be a real number, got str"):
        solver.set_learning_rate("0.1")


def test_weight_decay_refuses_a_rate_that_is_not_finite():
    solver = nnvae.solvers.Sgd(0.1)
    w = _param([1.0], grad=[0.5])
    solver.set_parameters({"w": w})
    with pytest.raises(ValueError, match=r"Sgd.weight_decay: decay_rate must be a finite number, got nan"):
        solver.weight_decay(math.nan)
    np.testing.assert_array_equal(w.g, [0.5])
    solver.weight_decay(-1.0)  # NNabla takes a negative rate: g − w
    np.testing.assert_array_equal(w.g, [-0.5])


def test_get_unlinked_variable_shares_arrays_as_nnabla():
    x = nnvae.Variable.from_numpy_array(np.arange(6, dtype=np.float32).reshape(2, 3), need_grad=True)
    y = F.mul_scalar(x, 2.0)
    y.persistent = True
    u = y.get_unlinked_variable()
    assert u.parent is None and u.need_grad and not u.persistent and u.shape == (2, 3)
    y.forward()
    np.testing.assert_array_equal(u.d, [[0, 2, 4], [6, 8, 10]])
    u.g = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(y.g, np.ones((2, 3)))
    z = F.sum(u * u)
    z.forward()
    z.backward()
    # As NNabla: the new root's gradient adds into the shared array, and
    # nothing flows past it to x.
    np.testing.assert_array_equal(u.g, [[1, 5, 9], [13, 17, 21]])
    np.testing.assert_array_equal(y.g, u.g)
    np.testing.assert_array_equal(x.g, np.zeros((2, 3)))
    v = y.get_unlinked_variable(need_grad=False)
    assert not v.need_grad and y.need_grad


def test_need_grad_and_persistent_flags():
    w = nnvae.Variable((2,))
    assert not w.persistent and not w.need_grad  # NNabla's defaults
    w.need_grad = True
    w.persistent = True
    assert w.need_grad and w.persistent


def test_constant_shapes_refused_by_name():
    assert F.constant(1, (3, 1)).shape == (3, 1) and F.constant().shape == ()
    with pytest.raises(ValueError, match=r"constant: shape \(-1, 2\) has a negative entry \(entry 0 is -1\)"):
        F.constant(1, [-1, 2])
    with pytest.raises(ValueError, match=r"F.constant: shape \(2147483648, 2\) has an entry out of the int32 range"):
        F.constant(1, [2**31, 2])
    with pytest.raises(ValueError, match=r"constant: shape \(1073741824, 1073741824, 1073741824\) has more "
                                         r"elements than an array can hold"):
        F.constant(1, [2**30] * 3)


def test_squared_error_and_kl_multinomial_from_python():
    x0 = nnvae.Variable.from_numpy_array(np.arange(6, dtype=np.float32).reshape(2, 3), need_grad=True)
    x1 = nnvae.Variable.from_numpy_array(np.array([[1.0], [4.0]], np.float32), need_grad=True)
    y = F.squared_error(x0, x1)
    assert y.shape == (2, 3) and y.parent.name == "SquaredError"
    y.forward()
    np.testing.assert_array_equal(y.d, [[1, 0, 1], [1, 0, 1]])
    with pytest.raises(ValueError, match=r"squared_error: x0 has shape \(2, 3\) and x1 has shape \(3,\)"):
        F.squared_error(x0, nnvae.Variable((3,)))
    p = nnvae.Variable.from_numpy_array(np.array([[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]], np.float32), need_grad=True)
    q = nnvae.Variable.from_numpy_array(np.array([[0.3, 0.3, 0.4], [0.5, 0.25, 0.25]], np.float32), need_grad=True)
    kl = F.kl_multinomial(p, q)
    assert kl.shape == (2, 1) and kl.parent.name == "KLMultinomial"
    kl.forward()
    np.testing.assert_allclose(kl.d, [[0.03047875], [0.419034]], rtol=1e-6)  # NNabla's
    with pytest.raises(ValueError, match=r"kl_multinomial: base_axis 2 is out of range for p of shape \(2, 3\)"):
        F.kl_multinomial(p, q, 2)

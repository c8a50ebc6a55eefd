"""Errors, never crashes: every shape/axis/argument error is a ValueError
naming the function, the shapes and the values; a wrong type is a TypeError;
a freed buffer or a missing gradient is a clear error, not garbage or zeros.
After any of these errors the engine keeps working."""
import numpy as np
import pytest

import nnvae
import nnvae.functions as F
import nnvae.initializer as I
import nnvae.parametric_functions as PF
import nnvae.solvers as S

pytestmark = pytest.mark.usefixtures("fresh_engine")


def var(shape, need_grad=False):
    return nnvae.Variable.from_numpy_array(np.ones(shape, np.float32), need_grad=need_grad)


def raises_value_error(fn, *fragments):
    """fn() raises ValueError whose message contains every fragment."""
    with pytest.raises(ValueError) as info:
        fn()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


# --- shape, axis and value errors: ValueError naming function, shapes, values ---------------

SHAPE_ERRORS = [
    ("add2", lambda: F.add2(var((3, 4)), var((5,))), ["add2", "(3, 4)", "(5,)"]),
    ("mul operator", lambda: var((2, 3)) * var((3, 2)), ["mul2", "(2, 3)", "(3, 2)"]),
    ("div2", lambda: F.div2(var((2,)), var((3,))), ["div2", "(2,)", "(3,)"]),
    ("affine features", lambda: F.affine(var((4, 5)), var((6, 3))), ["affine", "5", "(6, 3)"]),
    ("affine bias", lambda: F.affine(var((4, 5)), var((5, 3)), var((4,))), ["affine", "(4,)", "(5, 3)"]),
    ("affine base_axis", lambda: F.affine(var((4, 5)), var((5, 3)), base_axis=2), ["affine", "base_axis 2", "(4, 5)"]),
    ("sum axis", lambda: F.sum(var((2, 3)), axis=2), ["sum", "axis 2", "(2, 3)"]),
    ("mean axis", lambda: F.mean(var((2, 3)), axis=(-3,)), ["mean", "-3", "(2, 3)"]),
    ("sum axis twice", lambda: F.sum(var((2, 3)), axis=(1, -1)), ["sum", "twice"]),
    ("reshape size", lambda: F.reshape(var((2, 3)), (4, 2)), ["reshape", "(2, 3)", "(4, 2)"]),
    ("reshape -1", lambda: F.reshape(var((2, 3)), (4, -1)), ["reshape", "(2, 3)", "6"]),
    ("reshape two -1", lambda: F.reshape(var((2, 3)), (-1, -1)), ["reshape", "-1"]),
    ("sigmoid_cross_entropy", lambda: F.sigmoid_cross_entropy(var((2, 3)), var((3, 2))),
     ["sigmoid_cross_entropy", "(2, 3)", "(3, 2)"]),
    ("softplus beta", lambda: F.softplus(var((2,)), beta=0), ["softplus", "beta", "0"]),
    ("randn sigma", lambda: F.randn(sigma=-1.0, shape=(2,)), ["randn", "sigma", "-1"]),
    ("rand bounds", lambda: F.rand(low=2, high=1, shape=(2,)), ["rand", "2", "1"]),
    ("randn shape", lambda: F.randn(shape=(2, -3)), ["randn", "(2, -3)"]),
    ("constant shape", lambda: F.constant(1.0, (-1,)), ["constant", "(-1,)"]),
    ("randn seed", lambda: F.randn(shape=(2,), seed=-2), ["randn", "seed", "-2"]),
    ("Variable shape", lambda: nnvae.Variable((2, -1)), ["Variable", "(2, -1)"]),
    ("d shape", lambda: setattr(var((2, 3)), "d", np.zeros((3, 2))), ["Variable.d", "(3, 2)", "(2, 3)"]),
    ("g shape", lambda: setattr(var((2, 3)), "g", np.zeros(6)), ["Variable.g", "(6,)", "(2, 3)"]),
    ("backward grad shape", lambda: F.exp(var((2, 3), True)).backward(np.ones((3,))),
     ["backward", "(3,)", "(2, 3)"]),
    ("PF.affine n_outmaps", lambda: PF.affine(var((2, 3)), 0), ["PF.affine", "n_outmaps", "0"]),
    ("PF.affine base_axis", lambda: PF.affine(var((2, 3)), 4, base_axis=2), ["PF.affine", "base_axis 2", "(2, 3)"]),
    ("PF.affine w_init shape", lambda: PF.affine(var((2, 3)), 4, w_init=np.zeros((4, 3))),
     ["w_init", "(4, 3)", "(3, 4)"]),
    ("parameter_scope name", lambda: nnvae.parameter_scope("").__enter__(), ["parameter_scope", "''"]),
    ("Adam betas", lambda: S.Adam(beta1=1.0), ["Adam", "beta1"]),
    ("Adam eps", lambda: S.Adam(eps=0), ["Adam", "eps"]),
    ("Sgd lr", lambda: S.Sgd(lr=-1), ["learning rate", "-1"]),
    ("seed range", lambda: nnvae.seed(-1), ["seed", "-1"]),
    ("threads", lambda: nnvae.set_num_threads(0), ["set_num_threads", "0"]),
    ("UniformInitializer", lambda: I.UniformInitializer((1, -1)), ["UniformInitializer", "1", "-1"]),
]


@pytest.mark.parametrize("fn,fragments", [c[1:] for c in SHAPE_ERRORS], ids=[c[0] for c in SHAPE_ERRORS])
def test_value_errors_name_function_shapes_and_values(fn, fragments):
    raises_value_error(fn, *fragments)


def test_parameter_shape_mismatch_on_reuse():
    PF.affine(var((2, 3)), 4, name="fc")
    raises_value_error(lambda: PF.affine(var((2, 5)), 4, name="fc"), "fc/affine/W", "(3, 4)", "(5, 4)")
    raises_value_error(lambda: nnvae.parameter.get_parameter_or_create("fc/affine/b", (5,)),
                       "fc/affine/b", "(4,)", "(5,)")


def test_learning_rate_errors():
    solver = S.Sgd(0.1)
    raises_value_error(lambda: solver.set_learning_rate(0), "learning rate", "0")
    assert solver.learning_rate() == pytest.approx(0.1)


# --- wrong types: TypeError -----------------------------------------------------------------------

TYPE_ERRORS = [
    ("function input", lambda: F.relu(np.ones(3)), "F.relu: x must be an nnvae.Variable"),
    ("function option", lambda: F.elu(var((2,)), alpha="1"), "F.elu: alpha"),
    ("bool as number", lambda: F.add_scalar(var((2,)), True), "F.add_scalar: val"),
    ("affine bias", lambda: F.affine(var((2, 3)), var((3, 2)), np.zeros(2)), "F.affine: bias"),
    ("axis float", lambda: F.sum(var((2, 3)), axis=1.5), "F.sum"),
    ("axis str", lambda: F.mean(var((2, 3)), axis="0"), "F.mean"),
    ("reshape shape", lambda: F.reshape(var((2, 3)), None), "F.reshape: shape"),
    ("randn shape", lambda: F.randn(shape=(2.0, 3)), "F.randn"),
    ("Variable shape", lambda: nnvae.Variable("ab"), "Variable: shape"),
    ("Variable shape entry", lambda: nnvae.Variable((2.5,)), "Variable: shape entries"),
    ("d from str", lambda: setattr(var((2,)), "d", "ab"), "Variable.d"),
    ("d from Variable", lambda: setattr(var((2,)), "d", var((2,))), "with .d"),
    ("d from objects", lambda: setattr(var((2,)), "d", [object(), object()]), "Variable.d"),
    ("backward grad", lambda: F.exp(var((2,), True)).backward("x"), "Variable.backward"),
    ("from_numpy_array", lambda: nnvae.Variable.from_numpy_array("abc"), "from_numpy_array"),
    ("from_numpy_array None", lambda: nnvae.Variable.from_numpy_array(None), "from_numpy_array"),
    ("PF.affine x", lambda: PF.affine(np.ones((2, 3)), 4), "PF.affine: inp"),
    ("PF.affine n_outmaps", lambda: PF.affine(var((2, 3)), 4.0), "PF.affine: n_outmaps"),
    ("PF.affine w_init", lambda: PF.affine(var((2, 3)), 4, w_init="glorot"), "w_init"),
    ("set_parameters list", lambda: S.Adam().set_parameters([var((2,))]), "set_parameters"),
    ("set_parameters values", lambda: S.Adam().set_parameters({"w": np.ones(2)}), "set_parameters"),
    ("seed", lambda: nnvae.seed(1.5), "nnvae.seed"),
    ("scope name", lambda: nnvae.parameter_scope(3).__enter__(), "parameter_scope"),
    ("solver lr", lambda: S.Sgd(lr="fast"), "S.Sgd: lr"),
    ("solver beta", lambda: S.Adam(beta1=None), "S.Adam: beta1"),
]


@pytest.mark.parametrize("fn,fragment", [c[1:] for c in TYPE_ERRORS], ids=[c[0] for c in TYPE_ERRORS])
def test_type_errors(fn, fragment):
    with pytest.raises(TypeError, match=fragment):
        fn()


# --- freed buffers ----------------------------------------------------------------------------------

def test_reading_a_freed_buffer_is_an_error_not_garbage():
    x = var((2, 3), need_grad=True)
    h = F.exp(x)
    y = F.sum(F.tanh(h))
    y.forward(clear_buffer=True)
    raises_value_error(lambda: h.d, "Variable.d", "(2, 3)", "clear_buffer")
    y.forward()
    y.backward(clear_buffer=True)
    raises_value_error(lambda: h.g, "Variable.g", "(2, 3)", "clear_buffer")
    raises_value_error(lambda: h.d, "Variable.d", "clear_buffer")
    # Writing re-creates the buffer; forward recomputes everything.
    h.d = 0.0
    np.testing.assert_array_equal(h.d, np.zeros((2, 3)))
    y.forward()
    np.testing.assert_allclose(h.d, np.full((2, 3), np.e), rtol=1e-6)


def test_computing_from_a_freed_buffer_is_an_error():
    x = var((3,))
    h = F.exp(x)
    y = F.sum(h)
    y.forward(clear_buffer=True)
    with nnvae.auto_forward():
        raises_value_error(lambda: F.identity(h), "identity", "(3,)", "clear_buffer")


def test_a_gradient_backward_cannot_compute_through_freed_data_is_lost():
    x = var((3,), need_grad=True)
    h = F.exp(x)
    y = F.sum(F.tanh(h))
    y.forward(clear_buffer=True)  # inference-style forward: backward needs what it freed
    y.backward()
    raises_value_error(lambda: x.g, "Variable.g", "(3,)", "clear_buffer")
    solver = S.Sgd(0.1)
    solver.set_parameters({"x": x})
    raises_value_error(lambda: solver.update(), "update", "gradient of parameter x", "lost")


def test_backward_without_a_seed_gradient():
    y = F.exp(var((2,), need_grad=True))
    y.forward()
    raises_value_error(lambda: y.backward(grad=None), "backward", "(2,)", "never set")


# --- functions without a gradient ------------------------------------------------------------------------

def test_gradient_through_greater_equal_scalar_is_an_error():
    x = var((2, 3), need_grad=True)
    y = F.sum(F.greater_equal_scalar(x, 0.5) * x)
    y.forward()
    raises_value_error(lambda: y.backward(), "greater_equal_scalar", "(2, 3)", "need_grad")
    # Without need_grad on x there is nothing to compute and no error.
    x.need_grad = False
    x.g = 0
    y.backward()
    np.testing.assert_array_equal(x.g, np.zeros((2, 3)))


def test_gradient_into_the_target_of_sigmoid_cross_entropy_is_an_error():
    x, t = var((2,), need_grad=True), var((2,), need_grad=True)
    y = F.sum(F.sigmoid_cross_entropy(x, t))
    y.forward()
    raises_value_error(lambda: y.backward(), "sigmoid_cross_entropy", "input 1")


def test_randn_output_marked_need_grad_gets_its_gradient_not_silent_zeros():
    # randn has no inputs to differentiate; its output marked need_grad is
    # treated as a leaf, as in NNabla.
    eps = F.randn(shape=(2, 3))
    assert not eps.need_grad
    eps.need_grad = True
    mu = var((2, 3), need_grad=True)
    y = F.sum((mu + eps) * 3)
    y.forward()
    y.backward()
    np.testing.assert_array_equal(eps.g, np.full((2, 3), 3.0))
    np.testing.assert_array_equal(mu.g, np.full((2, 3), 3.0))


# --- the engine keeps working after errors ------------------------------------------------------------------

def test_state_is_intact_after_errors():
    for _, fn, _ in SHAPE_ERRORS:
        with pytest.raises(ValueError):
            fn()
    assert nnvae.parameter.current_scope_path() == ""
    x = var((2, 2), need_grad=True)
    y = F.sum(x * x)
    y.forward()
    y.backward()
    assert float(y.d) == 4.0
    np.testing.assert_array_equal(x.g, np.full((2, 2), 2.0))

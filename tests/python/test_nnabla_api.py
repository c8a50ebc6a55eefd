"""nnvae's Python API against NNabla 1.39.0's: the signatures as a table, and
the pieces NNabla code uses around a model (parameter files, NdArray,
reshape/unlinked, PF.affine's options, solver states, seeding).

The table's facts were read from NNabla 1.39.0 itself with
tests/nnabla/signatures.py (`inspect.signature` on its Python modules);
tests/nnabla/test_against_nnabla.py checks the table against an installed
NNabla when one is available.
"""
import inspect
from collections import OrderedDict

import numpy as np
import pytest

import nnvae
import nnvae.functions as F
import nnvae.initializer as I
import nnvae.parameter as P
import nnvae.parametric_functions as PF
import nnvae.random
import nnvae.solvers as S
from nnvae._core import function_table
from nnvae._functions.table import signature as table_signature

pytestmark = pytest.mark.usefixtures("fresh_engine")

_GEN = "n_outputs=-1, outputs=None"  # the two options every generated NNabla function ends with

# "module.name" -> NNabla 1.39.0's signature. Modules: nn (nnabla), F, PF, S,
# I (initializer), P (parameter), random; and methods of a Variable, an
# NdArray, a solver.
NNABLA_SIGNATURES = {
    "nn.parameter_scope": "(name, scope=None)",
    "nn.get_parameters": "(params=None, path='', grad_only=True)",
    "nn.clear_parameters": "()",
    "nn.get_current_parameter_scope": "()",
    "nn.save_parameters": "(path, params=None, extension=None)",
    "nn.load_parameters": "(path, proto=None, needs_proto=False, extension='.nntxt')",
    "nn.seed": "(seed_value, set_function_seed=True, set_parameter_seed=True)",
    "nn.set_auto_forward": "(auto)",
    "nn.get_auto_forward": "()",
    "nn.auto_forward": "(auto=True)",
    "random.seed": "(seed_value, set_function_seed=True, set_parameter_seed=True)",
    "P.parameter_scope": "(name, scope=None)",
    "P.get_current_parameter_scope": "()",
    "P.get_parameters": "(params=None, path='', grad_only=True)",
    "P.get_parameter": "(key)",
    "P.get_parameter_or_create": "(name, shape=None, initializer=None, need_grad=True, as_need_grad=None)",
    "P.clear_parameters": "()",
    "F.clip_by_value": "(x, min, max)",
    "F.sum": "(x, axis=None, keepdims=False)",
    "F.mean": "(x, axis=None, keepdims=False)",
    "F.max": "(x, axis=None, keepdims=False, with_index=False, only_index=False)",
    "F.min": "(x, axis=None, keepdims=False, with_index=False, only_index=False)",
    "F.prod": "(x, axis=None, keepdims=False)",
    "F.categorical_cross_entropy": f"(x, target, axis=None, {_GEN})",
    "F.concatenate": "(*x, **kw)",  # axis=x[0].ndim - 1 by keyword
    "F.stack": "(*x, **kw)",  # axis=0 by keyword
    "F.split": "(x, axis=0)",
    "F.slice": f"(x, start=None, stop=None, step=None, {_GEN})",
    "F.tile": "(x, reps)",
    "F.flip": f"(x, axes=None, {_GEN})",
    "F.where": f"(condition, x_true, x_false, {_GEN})",
    "F.randint": f"(low=0, high=1, shape=[], seed=-1, {_GEN})",
    "PF.affine": ("(inp, n_outmaps, base_axis=1, w_init=None, b_init=None, fix_parameters=False, rng=None, "
                  "with_bias=True, apply_w=None, apply_b=None, name=None)"),
    "PF.convolution": ("(inp, outmaps, kernel, pad=None, stride=None, dilation=None, group=1, channel_last=False, "
                       "w_init=None, b_init=None, base_axis=1, fix_parameters=False, rng=None, with_bias=True, "
                       "apply_w=None, apply_b=None, name=None)"),
    "PF.deconvolution": ("(inp, outmaps, kernel, pad=None, stride=None, dilation=None, group=1, "
                         "channel_last=False, output_padding=None, w_init=None, b_init=None, base_axis=1, "
                         "fix_parameters=False, rng=None, with_bias=True, apply_w=None, apply_b=None, name=None)"),
    "F.batch_normalization": ("(x, beta, gamma, mean, variance, axes=[1], decay_rate=0.9, eps=1e-05, "
                              "batch_stat=True, output_stat=False, n_outputs=None)"),
    "PF.batch_normalization": ("(inp, axes=[1], decay_rate=0.9, eps=1e-05, batch_stat=True, output_stat=False, "
                               "fix_parameters=False, param_init=None, no_scale=False, no_bias=False, name=None)"),
    "S.Adam": "(alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-08)",
    "S.Sgd": "(lr=0.001)",
    "S.SolverState": "()",
    "I.UniformInitializer": "(lim=(-1, 1), rng=None)",
    "I.ConstantInitializer": "(value=0)",
    "I.NormalInitializer": "(sigma=1.0, rng=None)",
    "I.calc_uniform_lim_glorot": "(inmaps, outmaps, kernel=(1, 1))",
    "Variable.forward": ("(clear_buffer=False, clear_no_need_grad=False, function_pre_hook=None, "
                         "function_post_hook=None)"),
    "Variable.backward": ("(grad=1, clear_buffer=False, communicator_callbacks=None, function_pre_hook=None, "
                          "function_post_hook=None)"),
    "Variable.reshape": "(shape, unlink=False)",
    "Variable.unlinked": "(need_grad=None)",
    "Variable.get_unlinked_variable": "(need_grad=None)",
    "Variable.from_numpy_array": "(data, grad=None, need_grad=None)",
    "NdArray.fill": "(value)",
    "NdArray.zero": "()",
    "NdArray.cast": "(dtype, ctx=None)",
    "NdArray.get_data": "(mode='rw', dtype=None)",
    "NdArray.copy_from": "(arr, use_current_context=True)",
    "NdArray.from_numpy_array": "(nparr)",
    "Solver.set_parameters": "(param_dict, reset=True, retain_state=False)",
    "Solver.get_parameters": "()",
    "Solver.get_states": "()",
    "Solver.set_states": "(states)",
    "Solver.save_states": "(path)",
    "Solver.load_states": "(path)",
    "Solver.zero_grad": "()",
    "Solver.update": "(update_pre_hook=None, update_post_hook=None)",
    "Solver.weight_decay": "(decay_rate, pre_hook=None, post_hook=None)",
    "Solver.learning_rate": "()",
    "Solver.set_learning_rate": "(learning_rate)",
}

# nnvae's exports NNabla 1.39.0 lacks (nothing to compare), and submodules.
NOT_IN_NNABLA = {
    "nn.set_num_threads", "nn.get_num_threads", "nn.__version__", "nn.cmake_prefix_path",
    "nn.set_matmul_precision", "nn.get_matmul_precision", "nn.matmul_precision", "nn.bf16_path",
    "nn.clear_memory_cache",  # NNabla's is its extension's: nnabla_ext.cpu.clear_memory_cache()
    "nn.memory_cache_stats",  # what clear_memory_cache gives back, to see it
    "S.Solver",  # NNabla's solver class is nnabla.solver.Solver, not exported by nnabla.solvers
    "S.SolverStateError",  # what load_states / save_states raise (NNabla: assorted built-in errors)
    "F.sqrt", "F.square", "F.neg", "F.sub_scalar", "F.div_scalar", "F.log1p", "F.expm1", "F.matmul",
    "I.Initializer",  # NNabla's base class takes no parameters worth comparing
    "P.current_scope_path",  # the current scope as a "a/b" string
}
# The function table's generated functions (form GEN): the signature each has
# is the table's, so the table's is what tests/nnabla compares with NNabla's.
NNABLA_SIGNATURES.update({f"F.{row['name']}": str(table_signature(row)) for row in function_table()
                          if row["form"] == "GEN" and f"F.{row['name']}" not in NOT_IN_NNABLA})

SUBMODULES = {"nn.functions", "nn.parametric_functions", "nn.solvers", "nn.random"}
# Classes whose constructor NNabla does not expose to inspect (Cython); their
# documented signatures are checked by use below.
CLASSES = {"nn.Variable": "(shape=(), need_grad=False)", "nn.NdArray": "(shape=())"}

MODULES = {"nn": nnvae, "F": F, "PF": PF, "S": S, "I": I, "P": P, "random": nnvae.random}


def _exported():
    for prefix, module in MODULES.items():
        for name in module.__all__:
            yield f"{prefix}.{name}", getattr(module, name)


def _methods():
    variable = nnvae.Variable((2, 3))
    holders = {"Variable": variable, "NdArray": variable.data, "Solver": S.Sgd()}
    for key in NNABLA_SIGNATURES:
        owner, name = key.split(".", 1)
        if owner in holders:
            yield key, getattr(holders[owner], name)


def test_every_exported_name_is_classified():
    known = set(NNABLA_SIGNATURES) | NOT_IN_NNABLA | SUBMODULES | set(CLASSES)
    unknown = sorted(key for key, _ in _exported() if key not in known)
    assert not unknown, f"exported names missing from the NNabla signature table: {unknown}"


def test_signatures_equal_nnablas():
    compared, differ = [], []
    for key, obj in list(_exported()) + list(_methods()):
        if key not in NNABLA_SIGNATURES:
            continue
        got = str(inspect.signature(obj))
        compared.append(key)
        if got != NNABLA_SIGNATURES[key]:
            differ.append(f"{key}{got} != NNabla's {key}{NNABLA_SIGNATURES[key]}")
    assert not differ, "\n".join(differ)
    assert len(compared) >= 60  # every old name, the methods and PF/S/I at least


def test_class_constructors_take_nnablas_arguments():
    v = nnvae.Variable(shape=(2, 3), need_grad=True)
    assert v.shape == (2, 3) and v.need_grad and nnvae.Variable().shape == ()
    a = nnvae.NdArray(shape=(4,))
    assert a.shape == (4,) and np.array_equal(a.data, np.zeros(4, np.float32))


def test_unsupported_values_are_refused_by_name():
    x = nnvae.Variable((2, 3))
    cases = [
        (lambda: F.exp(x, n_outputs=2), "n_outputs"),
        (lambda: F.exp(x, outputs=[x]), "outputs"),
        (lambda: x.forward(function_pre_hook=print), "function_pre_hook"),
        (lambda: x.backward(communicator_callbacks=[]), "communicator_callbacks"),
        (lambda: x.data.cast(np.float64), "float64"),
        (lambda: x.data.cast(np.float32, ctx="cudnn"), "ctx"),
        (lambda: S.Sgd().update(update_pre_hook=print), "update_pre_hook"),
        (lambda: nnvae.seed(1, set_function_seed=False), "set_function_seed"),
        (lambda: nnvae.load_parameters("p.protobuf", proto=object()), "proto"),
        (lambda: nnvae.save_parameters("p.nnp"), "'.nnp'"),
        (lambda: nnvae.get_parameters(path="x"), "path"),
        (lambda: nnvae.parameter_scope("a", scope={}).__enter__(), "scope"),
    ]
    for fn, fragment in cases:
        with pytest.raises(ValueError, match=fragment):
            fn()


# --- the pieces around a model -------------------------------------------------

def _model(x, **kw):
    with nnvae.parameter_scope("enc"):
        h = F.elu(PF.affine(x, 5, name="fc1", **kw))
    return F.sum(PF.affine(h, 3, name="fc2") ** 2)


@pytest.mark.parametrize("suffix", [".protobuf", ".h5"])
def test_save_and_load_parameters(tmp_path, suffix):
    if suffix == ".h5":
        pytest.importorskip("h5py")
    x = nnvae.Variable.from_numpy_array(np.arange(8, dtype=np.float32).reshape(2, 4))
    _model(x)
    params = nnvae.get_parameters(grad_only=False)
    params["enc/fc1/affine/b"].need_grad = False
    saved = {k: v.d.copy() for k, v in params.items()}
    path = tmp_path / f"p{suffix}"
    nnvae.save_parameters(str(path))
    nnvae.clear_parameters()
    nnvae.load_parameters(str(path))
    loaded = nnvae.get_parameters(grad_only=False)
    assert list(loaded) == list(saved)
    for k in saved:
        np.testing.assert_array_equal(loaded[k].d, saved[k])
    assert not loaded["enc/fc1/affine/b"].need_grad and loaded["enc/fc1/affine/W"].need_grad
    # Into existing parameters (values replaced) and under a scope (names relative).
    loaded["fc2/affine/W"].d = 0
    nnvae.load_parameters(str(path))
    np.testing.assert_array_equal(nnvae.get_parameters()["fc2/affine/W"].d, saved["fc2/affine/W"])
    with nnvae.parameter_scope("copy"):
        nnvae.load_parameters(str(path))
    assert "copy/fc2/affine/W" in nnvae.get_parameters()


def test_ndarray_views_share_memory():
    v = nnvae.Variable((2, 3), need_grad=True)
    assert isinstance(v.data, nnvae.NdArray) and v.data.shape == (2, 3) and v.data.dtype == np.float32
    v.data.fill(2.5)
    np.testing.assert_array_equal(v.d, np.full((2, 3), 2.5, np.float32))
    view = v.data.data
    view[0, 0] = 7
    assert v.d[0, 0] == 7 and v.data.cast(np.float32)[0, 0] == 7
    v.grad.fill(1)
    v.grad.zero()
    np.testing.assert_array_equal(v.g, np.zeros((2, 3), np.float32))
    w = nnvae.Variable((2, 3))
    w.data = v.data  # shared, as in NNabla
    v.d[1, 1] = -3
    assert w.d[1, 1] == -3
    a = nnvae.NdArray.from_numpy_array(np.ones((2, 2), np.float32))
    assert a.data.sum() == 4


def test_reshape_unlinked_persistent_parent():
    x = nnvae.Variable.from_numpy_array(np.arange(6, dtype=np.float32).reshape(2, 3), need_grad=True)
    y = x.reshape((3, 2))
    assert y.parent is not None and y.parent.name.lower() == "reshape"
    loss = F.sum(y * y)
    loss.forward()
    loss.backward()
    np.testing.assert_allclose(x.g, 2 * x.d)
    u = x.reshape((6,), unlink=True)
    assert u.parent is None and u.need_grad and u.shape == (6,)
    u.d[0] = 100
    assert x.d[0, 0] == 100
    z = x.unlinked()
    assert z.parent is None and z.need_grad and z.shape == (2, 3)
    assert not x.unlinked(need_grad=False).need_grad and x.need_grad
    z.d[1, 2] = -1
    assert x.d[1, 2] == -1
    x.persistent = True
    assert x.persistent


def test_parameter_order_follows_the_scope_tree():
    # A revisited scope keeps its parameters together, in the order NNabla
    # 1.39.0 gives for the same calls: each scope's children in the order they
    # first appeared, walked depth first.
    import contextlib

    for name in ["a/x", "b/y", "a/z", "a/s/p", "c", "b/t/q", "a/w", "a/s/r", "d/e/f", "b/u"]:
        *scopes, leaf = name.split("/")
        with contextlib.ExitStack() as stack:
            for scope in scopes:
                stack.enter_context(nnvae.parameter_scope(scope))
            P.get_parameter_or_create(leaf, (1,))
    assert list(nnvae.get_parameters()) == ["a/x", "a/z", "a/s/p", "a/s/r", "a/w", "b/y", "b/t/q", "b/u", "c",
                                            "d/e/f"]
    with nnvae.parameter_scope("a"):
        assert list(nnvae.get_parameters()) == ["x", "z", "s/p", "s/r", "w"]


def test_pf_affine_fix_parameters_rng_apply_w():
    x = nnvae.Variable.from_numpy_array(np.ones((2, 4), np.float32))
    rng = np.random.RandomState(313)
    y = PF.affine(x, 3, 1, None, None, True, rng, name="fixed")  # positional, in NNabla's order
    lim = np.sqrt(6 / (4 + 3))
    expected = np.random.RandomState(313).uniform(-lim, lim, size=(4, 3)).astype(np.float32)
    params = nnvae.get_parameters()
    np.testing.assert_allclose(params["fixed/affine/W"].d, expected, rtol=1e-6)
    assert "fixed/affine/b" in params and params["fixed/affine/W"].need_grad  # stored flag kept
    loss = F.sum(y)
    loss.forward()
    loss.backward()
    assert not np.any(params["fixed/affine/W"].g)  # fixed: no gradient flows into W
    seen = []
    y2 = PF.affine(x, 3, name="scaled", apply_w=lambda w: seen.append(w.shape) or w * 2, with_bias=False)
    y2.forward()
    assert seen == [(4, 3)] and "scaled/affine/b" not in nnvae.get_parameters()
    np.testing.assert_allclose(y2.d, x.d @ (2 * nnvae.get_parameters()["scaled/affine/W"].d), rtol=1e-6)


def _train_one_step(solver):
    x = nnvae.Variable.from_numpy_array(np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4))
    loss = _model(x)
    solver.set_parameters(nnvae.get_parameters())
    solver.zero_grad()
    loss.forward()
    loss.backward()
    solver.update()
    return loss


def test_solver_states_round_trip(tmp_path):
    solver = S.Adam(0.01)
    _train_one_step(solver)
    states = solver.get_states()
    assert list(states) == list(nnvae.get_parameters())
    st = states["fc2/affine/W"]
    assert st.t == 1 and sorted(st.pstate) == ["mean", "var"] and st.pstate["mean"].shape == (5, 3)
    assert np.any(st.pstate["mean"].d) and np.all(st.pstate["var"].d >= 0)
    other = S.Adam(0.01)
    other.set_parameters(nnvae.get_parameters())
    other.set_states(states)
    for name, s in other.get_states().items():
        assert s.t == 1
        np.testing.assert_array_equal(s.pstate["var"].d, states[name].pstate["var"].d)
    pytest.importorskip("h5py")
    path = tmp_path / "states.h5"
    solver.save_states(str(path))
    third = S.Adam(0.01)
    third.set_parameters(nnvae.get_parameters())
    third.load_states(str(path))
    for name, s in third.get_states().items():
        assert s.t == 1
        np.testing.assert_array_equal(s.pstate["mean"].d, states[name].pstate["mean"].d)


def test_solver_states_protobuf(tmp_path):
    solver = S.Adam(0.01)
    loss = _train_one_step(solver)
    solver.zero_grad()
    loss.forward()
    loss.backward()
    solver.update()
    states = solver.get_states()
    path = tmp_path / "states.protobuf"
    solver.save_states(str(path))
    other = S.Adam(0.01)
    other.set_parameters(nnvae.get_parameters())
    other.load_states(str(path))
    got = other.get_states()
    assert list(got) == list(states)
    for name, st in got.items():
        assert st.t == 2 and list(st.pstate) == ["mean", "var"]
        for key in ("mean", "var"):
            np.testing.assert_array_equal(st.pstate[key].d, states[name].pstate[key].d)
    # The wire format, as NNabla writes it: Optimizer.solver (30) > Solver.states
    # (40) entries {key 1: name, value 2: SolverState {t 1, state_parameter 2
    # entries {key, value: {shape 20 {dim 1, packed}, data 100, packed float32}}}}.
    one = nnvae.Variable((2,), need_grad=True)
    sgd = S.Sgd(0.1)
    sgd.set_parameters({"w": one})
    adam = S.Adam()
    adam.set_parameters({"w": one})
    adam.set_states({"w": S.SolverState._of({"mean": np.array([1.0, -2.0], np.float32),
                                             "var": np.array([0.5, 4.0], np.float32)}, 3)})
    adam.save_states(str(tmp_path / "w.protobuf"))
    mean = b"\x0a\x04mean\x12\x11\xa2\x01\x03\x0a\x01\x02\xa2\x06\x08" + np.array([1, -2], "<f4").tobytes()
    var = b"\x0a\x03var\x12\x11\xa2\x01\x03\x0a\x01\x02\xa2\x06\x08" + np.array([0.5, 4], "<f4").tobytes()
    state = b"\x08\x03\x12" + bytes([len(mean)]) + mean + b"\x12" + bytes([len(var)]) + var
    entry = b"\x0a\x01w\x12" + bytes([len(state)]) + state
    solver_msg = b"\xc2\x02" + bytes([len(entry)]) + entry
    assert (tmp_path / "w.protobuf").read_bytes() == b"\xf2\x01" + bytes([len(solver_msg)]) + solver_msg
    sgd.save_states(str(tmp_path / "sgd.protobuf"))  # SGD: a step count only (0: omitted, as proto3 does)
    assert (tmp_path / "sgd.protobuf").read_bytes() == b"\xf2\x01\x08\xc2\x02\x05\x0a\x01w\x12\x00"
    sgd.load_states(str(tmp_path / "sgd.protobuf"))
    # Damaged or misnamed files are refused, naming the file and the place.
    (tmp_path / "cut.protobuf").write_bytes((tmp_path / "w.protobuf").read_bytes()[:-3])
    with pytest.raises(ValueError, match=r"cut.protobuf: not a valid NNabla protobuf solver state file: .* at byte "
                                         r"offset \d+ needs"):
        adam.load_states(str(tmp_path / "cut.protobuf"))
    with pytest.raises(ValueError, match=r"states.nnp: the state file must end in .protobuf or .h5"):
        adam.save_states(str(tmp_path / "states.nnp"))
    with pytest.raises(ValueError, match="no state for parameter"):
        adam.load_states(str(path))  # another model's states


def test_set_parameters_retain_state():
    solver = S.Adam(0.01)
    _train_one_step(solver)
    params = nnvae.get_parameters()
    solver.set_parameters(OrderedDict(params), reset=False, retain_state=True)
    assert all(s.t == 1 for s in solver.get_states().values())
    solver.set_parameters(OrderedDict(params), reset=False, retain_state=False)
    assert all(s.t == 0 for s in solver.get_states().values())
    assert list(solver.get_parameters()) == list(params)


def test_current_parameter_scope_is_a_mapping_as_in_nnabla():
    x = nnvae.Variable((2, 3))
    with nnvae.parameter_scope("b"):
        PF.affine(x, 2, name="c")
        scope = nnvae.get_current_parameter_scope()
        assert list(scope) == ["c"] and list(scope["c"]) == ["affine"]
        assert scope["c"]["affine"]["W"] is not None and scope["c"]["affine"]["W"].shape == (3, 2)
        assert nnvae.parameter.current_scope_path() == "b"
        with pytest.raises(TypeError):
            scope["d"] = 1  # a snapshot: writes would not reach the directory
    assert list(nnvae.get_current_parameter_scope()) == ["b"]


def test_clear_parameters_clears_the_current_scope_as_in_nnabla():
    # NNabla 1.39.0, the same calls: clearing inside "a" leaves b/... and
    # top/...; inside "a/inner" only a/inner/...; a scope with no
    # parameters clears nothing; at the top level everything goes.
    x = nnvae.Variable((2, 3))
    with nnvae.parameter_scope("a"):
        PF.affine(x, 4)
        with nnvae.parameter_scope("inner"):
            PF.affine(x, 2)
    with nnvae.parameter_scope("ab"):  # shares the prefix "a", not the scope
        PF.affine(x, 3)
    with nnvae.parameter_scope("b"):
        PF.affine(x, 5)
    PF.affine(x, 6, name="top")
    held = nnvae.get_parameters()["a/affine/W"]
    with nnvae.parameter_scope("a"):
        with nnvae.parameter_scope("inner"):
            nnvae.clear_parameters()
        assert list(nnvae.get_parameters()) == ["affine/W", "affine/b"]
        nnvae.clear_parameters()
        assert list(nnvae.get_parameters()) == []
    with nnvae.parameter_scope("b"):
        with nnvae.parameter_scope("zzz"):
            nnvae.clear_parameters()
    assert list(nnvae.get_parameters()) == ["ab/affine/W", "ab/affine/b", "b/affine/W", "b/affine/b",
                                            "top/affine/W", "top/affine/b"]
    assert held.shape == (3, 4) and P.get_parameter("a/affine/W") is None  # forgotten, still usable
    with nnvae.parameter_scope("a"):
        assert PF.affine(x, 4).parent.inputs[1] is not held  # created afresh
    nnvae.clear_parameters()
    assert list(nnvae.get_parameters(grad_only=False)) == []


def test_random_seed_repeats_numbers():
    nnvae.random.seed(42)
    a = F.randn(shape=(5,))
    a.forward()
    nnvae.seed(42)
    b = F.randn(shape=(5,))
    b.forward()
    np.testing.assert_array_equal(a.d, b.d)

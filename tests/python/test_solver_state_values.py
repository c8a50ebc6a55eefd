"""Solver states holding values no update can make are refused: NaN or an
infinity in any state array, a negative Adam var (a running mean of squared
gradients). The check is the engine's Solver::set_states; Solver.set_states
and Solver.load_states (.protobuf and .h5) reach it, and the refusal names
the parameter, the state, the value and its position (and the file), and
changes no state.
"""
import re

import numpy as np
import pytest

import nnvae
import nnvae.solvers as S
from nnvae import _core
from nnvae.parameter import get_parameter_or_create

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

pytestmark = pytest.mark.usefixtures("fresh_engine")

CI = settings(max_examples=80, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), print_blob=False)

SHAPES = {"enc/W": (2, 3), "enc/b": (3,)}
NEGATIVE_VAR = "Adam's var, a running mean of squared gradients, cannot be negative"
NOT_FINITE = "a solver state must be a finite number"


def adam():
    """An Adam solver over enc/W (2, 3) and enc/b (3,) after one update."""
    params = {n: get_parameter_or_create(n, s) for n, s in SHAPES.items()}
    solver = S.Adam()
    solver.set_parameters(params)
    for v in params.values():
        v.g = 0.5
    solver.update()
    return solver


def plain(states):
    """{name: (t, {key: array copy})}, to compare states before and after."""
    return {n: (s.t, {k: np.array(v.d) for k, v in s.pstate.items()}) for n, s in states.items()}


def same(a, b):
    return a.keys() == b.keys() and all(
        a[n][0] == b[n][0] and a[n][1].keys() == b[n][1].keys()
        and all(np.array_equal(a[n][1][k], b[n][1][k], equal_nan=True) for k in a[n][1]) for n in a)


@st.composite
def hostile_state(draw):
    """(parameter, state key, flat index, value) of an impossible value."""
    name = draw(st.sampled_from(sorted(SHAPES)))
    key = draw(st.sampled_from(["mean", "var"]))
    index = draw(st.integers(0, int(np.prod(SHAPES[name])) - 1))
    bad = [st.just(float("nan")), st.just(float("inf")), st.just(-float("inf")),
           st.just(1e300), st.just(-1e300)]  # beyond float32: infinities once stored
    if key == "var":
        # Any negative float32, the smallest subnormal's negative included.
        bad.append(st.floats(max_value=-float(np.finfo(np.float32).smallest_subnormal), allow_infinity=False,
                             width=32))
    return name, key, index, draw(st.one_of(bad))


@CI
@given(hostile_state())
def test_set_states_refuses_a_value_no_update_makes(case):
    name, key, index, value = case
    nnvae.clear_parameters()
    solver = adam()
    before = plain(solver.get_states())
    states = solver.get_states()
    arr = np.array(states[name].pstate[key].d, dtype=np.float64)
    arr.flat[index] = value
    states[name].pstate[key] = arr
    stored = np.float32(value) if abs(value) < 1e39 or np.isnan(value) else np.float32(np.copysign(np.inf, value))
    reason = NEGATIVE_VAR if np.isfinite(stored) else NOT_FINITE
    position = np.unravel_index(index, SHAPES[name])
    where = "(" + ", ".join(str(int(i)) for i in position) + ("," if len(position) == 1 else "") + ")"
    with pytest.raises(ValueError) as e, np.errstate(over="ignore"):  # 1e300 -> inf, on purpose
        solver.set_states(states)
    m = re.fullmatch(rf"set_states: state {key} of parameter {name} holds (\S+) at {re.escape(where)}: "
                     rf"{re.escape(reason)}", str(e.value))
    assert m, str(e.value)
    shown = np.float32(float(m.group(1)))  # the value itself, exactly
    assert (np.isnan(shown) and np.isnan(stored)) or shown.view(np.uint32) == stored.view(np.uint32), str(e.value)
    assert same(plain(solver.get_states()), before)


@CI
@given(st.sampled_from(sorted(SHAPES)), st.floats(allow_nan=False, allow_infinity=False, width=32),
       st.floats(min_value=0, allow_infinity=False, width=32) | st.just(-0.0))
def test_set_states_takes_every_value_an_update_can_make(name, mean, var):
    nnvae.clear_parameters()
    solver = adam()
    states = solver.get_states()
    states[name].pstate["mean"] = np.full(SHAPES[name], mean, np.float32)
    states[name].pstate["var"] = np.full(SHAPES[name], var, np.float32)
    solver.set_states(states)
    got = solver.get_states()[name].pstate
    assert np.array_equal(got["mean"].d, np.full(SHAPES[name], mean, np.float32))
    assert np.array_equal(got["var"].d, np.full(SHAPES[name], var, np.float32))


def _write_states(path, states):
    """`states` ({name: (t, {key: array})}) as a state file, bypassing the
    solver's checks, as another program might write it."""
    if path.suffix == ".protobuf":
        path.write_bytes(_core.encode_solver_states_protobuf(
            [(n, t, [(k, np.asarray(a, np.float32)) for k, a in arrays.items()]) for n, (t, arrays) in states.items()]))
        return
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        for i, (n, (t, arrays)) in enumerate(states.items()):
            g = f.create_group(n)
            g.attrs["index"] = i
            for j, (k, a) in enumerate(arrays.items()):
                g.create_dataset(k, data=np.asarray(a, np.float32)).attrs["index"] = j
            g.create_dataset("t", data=np.int64(t))


@pytest.mark.parametrize("fmt", [".protobuf", ".h5"])
@pytest.mark.parametrize("key, value, shown, reason", [
    ("var", -0.25, "-0.25", NEGATIVE_VAR),
    ("var", float("inf"), "inf", NOT_FINITE),
    ("mean", float("nan"), "nan", NOT_FINITE),
])
def test_a_state_file_with_an_impossible_value_is_refused_naming_the_file(tmp_path, fmt, key, value, shown, reason):
    solver = adam()
    before = plain(solver.get_states())
    bad = {n: (t, {k: a.copy() for k, a in arrays.items()}) for n, (t, arrays) in before.items()}
    bad["enc/W"][1][key][1, 2] = value
    path = tmp_path / ("states" + fmt)
    _write_states(path, bad)
    with pytest.raises(S.SolverStateError) as e:
        solver.load_states(path)
    assert str(e.value) == (f"Solver.load_states: {path}: state {key} of parameter enc/W holds {shown} at (1, 2): "
                            f"{reason}")
    assert e.value.path == str(path)
    assert same(plain(solver.get_states()), before)

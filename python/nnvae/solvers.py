"""nnvae.solvers (import as S): Adam and SGD, as in NNabla.

    solver = S.Adam(alpha=3e-4)
    solver.set_parameters(nnvae.get_parameters())
    # each step:
    solver.zero_grad(); loss.forward(); loss.backward(); solver.update()
    solver.save_states("states.h5"); solver.load_states("states.h5")

Methods, as NNabla's: set_parameters(param_dict, reset=True,
retain_state=False), get_parameters(), zero_grad(), update() (parameters
that received no gradient since zero_grad are left as they are),
weight_decay(decay_rate) (adds decay_rate·w to each gradient),
learning_rate(), set_learning_rate(learning_rate), get_states() /
set_states(states), save_states(path) / load_states(path).

"Received a gradient" means the gradient buffer was written or handed out
since zero_grad(): backward into it, or any access to ``param.g`` (a numpy
view may be written through, so reading it counts too).

Solver states use NNabla's names: Adam's first and second moments are
"mean" and "var", with the step count t. State files are NNabla's two
formats, chosen by the suffix: `.h5` (needs h5py): a group per parameter, by
its full name, with attribute `index` (order), holding one float32 dataset
per state (attribute `index`) and an int64 scalar dataset `t`; `.protobuf`:
the Optimizer message NNabla writes, encoded and decoded by the C++ codec
(nnvae/solver_state_file.hpp), t a uint32.
"""
import numbers
import os
from collections import OrderedDict

import numpy as np

from . import _core

__all__ = ["Solver", "SolverState", "Adam", "Sgd"]


class SolverState:
    """One parameter's solver state: pstate (state name -> Variable) and the
    step count t, as NNabla's SolverState."""

    def __init__(self):
        self.pstate = OrderedDict()
        self.t = 0

    @classmethod
    def _of(cls, pstate, t):
        state = cls()
        state.pstate, state.t = pstate, t
        return state

    def __repr__(self):
        return f"SolverState(pstate={dict(self.pstate)}, t={self.t})"


class Solver:
    """A solver over a set of parameters; create one with S.Adam or S.Sgd.
    The updates run in the engine (C++), without the GIL. One solver may be
    shared by threads: each call takes the solver's lock, so a set_parameters
    from another thread waits for a running update (docs/threads.md)."""

    def __init__(self, engine):
        self._engine = engine
        self._params = OrderedDict()

    @property
    def name(self):
        return self._engine.name

    def set_parameters(self, param_dict, reset=True, retain_state=False):
        """reset=True forgets every parameter and its state first. Each
        entry is then added with a fresh state, or, for a known name,
        replaced; with retain_state=True (and reset=False) its state is kept
        (the shapes must match)."""
        self._engine.set_parameters(param_dict, bool(reset), bool(retain_state))
        if reset:
            self._params.clear()
        self._params.update(param_dict)

    def parameter_names(self):
        """The names of the parameters this solver updates, in order."""
        return self._engine.parameter_names()

    def get_parameters(self):
        """name -> Variable, the parameters this solver updates."""
        return OrderedDict(self._params)

    def zero_grad(self):
        """Zeroes every parameter's gradient."""
        self._engine.zero_grad()

    def update(self, update_pre_hook=None, update_post_hook=None):
        """One update of every parameter that received a gradient."""
        _refuse("update", update_pre_hook=update_pre_hook, update_post_hook=update_post_hook)
        self._engine.update()

    def weight_decay(self, decay_rate, pre_hook=None, post_hook=None):
        """Adds decay_rate·w to each parameter's gradient."""
        _refuse("weight_decay", pre_hook=pre_hook, post_hook=post_hook)
        self._engine.weight_decay(_real(decay_rate, "weight_decay", "decay_rate"))

    def learning_rate(self):
        return self._engine.learning_rate()

    def set_learning_rate(self, learning_rate):
        self._engine.set_learning_rate(_real(learning_rate, "set_learning_rate", "learning_rate"))

    # --- states -----------------------------------------------------------------------

    def get_states(self):
        """name -> SolverState, in parameter order; the state arrays are
        copies (Variables), as in NNabla."""
        raw = self._engine._get_states()
        out = OrderedDict()
        for name in self._engine.parameter_names():
            arrays, t = raw[name]
            pstate = OrderedDict((k, _core.Variable.from_numpy_array(a)) for k, a in sorted(arrays.items()))
            out[name] = SolverState._of(pstate, int(t))
        return out

    def set_states(self, states):
        """Restores states as get_states gives them (every parameter, each
        with its state arrays of the parameter's shape)."""
        raw = {}
        for name, st in states.items():
            if not hasattr(st, "pstate") or not hasattr(st, "t"):
                raise TypeError(f"Solver.set_states: the state of {name!r} must have .pstate and .t "
                                f"(a SolverState), got {type(st).__name__}")
            arrays = {k: _values(v) for k, v in st.pstate.items()}
            raw[name] = (arrays, int(st.t))
        missing = [n for n in self._engine.parameter_names() if n not in raw]
        if missing:
            raise ValueError(f"Solver.set_states: no state for parameter(s) {missing}")
        self._engine._set_states(raw)

    def save_states(self, path):
        """Writes get_states() to path, NNabla's .protobuf or .h5 (needs h5py)
        state file by the suffix."""
        from .files import atomic_write
        states = self.get_states()
        if _state_format(path, "save_states") == ".protobuf":
            data = _core.encode_solver_states_protobuf(
                [(name, st.t, [(key, _values(v)) for key, v in st.pstate.items()]) for name, st in states.items()])
            atomic_write(path, lambda f: f.write(data))
            return
        h5py = _h5py(path, "save_states")

        def write(tmp):
            with h5py.File(tmp, "w") as f:
                for i, (name, st) in enumerate(states.items()):
                    g = f.create_group(name)
                    g.attrs["index"] = i
                    for j, (key, var) in enumerate(st.pstate.items()):
                        ds = g.create_dataset(key, data=np.asarray(var.d, dtype=np.float32))
                        ds.attrs["index"] = j
                    g.create_dataset("t", data=np.int64(st.t))

        atomic_write(path, None, by_name=write)

    def load_states(self, path):
        """Reads a state file written by save_states (or by NNabla), .protobuf
        or .h5 by the suffix, and restores it with set_states."""
        if _state_format(path, "load_states") == ".protobuf":
            from .inputs import read_bounded
            data = read_bounded(path, _core.PARAMETER_FILE_MAX_BYTES, "solver state file", ValueError)
            try:
                decoded = _core.decode_solver_states_protobuf(data, os.fspath(path))
            except _core.ParameterFileError as e:
                raise ValueError(f"Solver.load_states: {e}") from None
            except UnicodeDecodeError as e:  # a name pybind11 cannot turn into str
                raise ValueError(f"Solver.load_states: {os.fspath(path)}: a parameter or state name is not valid "
                                 f"UTF-8 ({e.reason} at its byte {e.start})") from None
            self.set_states(OrderedDict((name, SolverState._of(OrderedDict(arrays), int(t)))
                                        for name, t, arrays in decoded))
            return
        h5py = _h5py(path, "load_states")
        states = []
        try:
            with h5py.File(path, "r") as f:
                def visit(name, obj):
                    if isinstance(obj, h5py.Group) and "t" in obj and isinstance(obj["t"], h5py.Dataset):
                        keys = sorted((k for k in obj if k != "t"), key=lambda k: int(obj[k].attrs.get("index", 0)))
                        pstate = OrderedDict((k, np.asarray(obj[k][()], dtype=np.float32)) for k in keys)
                        states.append((int(obj.attrs.get("index", 0)), name,
                                       SolverState._of(pstate, int(obj["t"][()]))))
                f.visititems(visit)
        except OSError as e:
            raise ValueError(f"Solver.load_states: cannot read {os.fspath(path)}: {e}") from e
        states.sort(key=lambda s: s[0])
        self.set_states(OrderedDict((name, st) for _, name, st in states))

    def __repr__(self):
        return f"<Solver {self.name}>"


def Adam(alpha=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam in NNabla's form: per parameter, t += 1,
    alpha_t = alpha·sqrt(1 − beta2^t)/(1 − beta1^t), m = beta1·m + (1 − beta1)·g,
    v = beta2·v + (1 − beta2)·g², w −= alpha_t·m/(sqrt(v) + eps)."""
    return Solver(_core.AdamSolver(_real(alpha, "Adam", "alpha"), _real(beta1, "Adam", "beta1"),
                                   _real(beta2, "Adam", "beta2"), _real(eps, "Adam", "eps")))


def Sgd(lr=0.001):
    """Plain gradient descent: w −= lr·g."""
    return Solver(_core.SgdSolver(_real(lr, "Sgd", "lr")))


def _real(v, where, argname):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"S.{where}: {argname} must be a real number, got {type(v).__name__}")
    return float(v)


def _refuse(where, **hooks):
    for name, value in hooks.items():
        if value is not None:
            raise ValueError(f"Solver.{where}: {name} is not supported by nnvae (leave it None)")


def _values(v):
    """A state array from a Variable, an NdArray or an array-like."""
    if isinstance(v, _core.Variable):
        return v.d
    data = getattr(v, "data", None)
    return data if isinstance(data, np.ndarray) else np.asarray(v, dtype=np.float32)


def _state_format(path, where):
    """".protobuf" or ".h5", NNabla's two state file formats, by the suffix."""
    for suffix in (".protobuf", ".h5"):
        if os.fspath(path).endswith(suffix):
            return suffix
    raise ValueError(f"Solver.{where}: {os.fspath(path)}: the state file must end in .protobuf or .h5 "
                     f"(NNabla's formats)")


def _h5py(path, where):
    try:
        import h5py
    except ImportError as e:
        raise ImportError(f"Solver.{where}: {os.fspath(path)}: writing .h5 files needs h5py "
                          f"(pip install h5py)") from e
    return h5py

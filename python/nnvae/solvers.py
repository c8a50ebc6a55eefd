"""nnvae.solvers (import as S; nnvae.solver is the same module, NNabla's
other name): Adam and SGD, as in NNabla.

    solver = S.Adam(alpha=3e-4)
    solver.set_parameters(nnvae.get_parameters())
    # each step:
    solver.zero_grad(); loss.forward(); loss.backward(); solver.update()
    solver.save_states("states.h5"); solver.load_states("states.h5")

Methods, as NNabla's: set_parameters(param_dict, reset=True,
retain_state=False), get_parameters(), zero_grad(), update() (parameters
that received no gradient since zero_grad are left as they are),
weight_decay(decay_rate) (adds decay_rate·w to the gradient of each
parameter update() would update), learning_rate(),
set_learning_rate(learning_rate) (a finite rate > 0: NNabla takes any, nnvae
refuses NaN, inf, 0 and negative rates), get_states() /
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
(nnvae/solver_state_file.hpp), t a uint32 (so set_states takes t in
[0, 2**32 − 1]). Reading is bounded as for parameter files: a regular file of
at most PARAMETER_FILE_MAX_BYTES, each array's declared shape checked before
its values are read. A state file that cannot be read or written, or whose
states do not fit the solver (another solver's arrays, other shapes, a value
no update makes: NaN or an infinity, a negative Adam var), raises
SolverStateError (a ValueError) naming the file; a failed load changes no
state.
"""
import math
import numbers
import os
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from . import _core
from .errors import NnvaeError
from .files import atomic_write, write_failure
from .inputs import check_regular_file, read_bounded
from .params_io import PARAMETER_FILE_MAX_BYTES, _check_h5_dataset, _check_h5_names, _int_attr

__all__ = ["Solver", "SolverState", "SolverStateError", "Adam", "Sgd"]


class SolverStateError(NnvaeError, ValueError):
    """A solver state file cannot be read or written, is malformed, or holds
    states that do not fit the solver; the message names the file."""

    def __init__(self, message, *, path=None):
        super().__init__(message)
        self.path = None if path is None else os.fspath(path)


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
        (the shapes must match). Both flags must be bools (TypeError
        otherwise: bool('no') would be True)."""
        self._engine.set_parameters(param_dict, _flag(reset, "reset"), _flag(retain_state, "retain_state"))
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
        """Adds decay_rate·w to the gradient of each parameter update() would
        update: a parameter without a gradient since zero_grad is left as it
        is (and update() still skips it), as in NNabla. decay_rate must be
        finite."""
        _refuse("weight_decay", pre_hook=pre_hook, post_hook=post_hook)
        self._engine.weight_decay(_real(decay_rate, "weight_decay", "decay_rate"))

    def learning_rate(self):
        """The learning rate (Adam's alpha), a float32 value as NNabla's."""
        return self._engine.learning_rate()

    def set_learning_rate(self, learning_rate):
        """Sets the learning rate, a finite number > 0 (ValueError otherwise)."""
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
        """Restores states as get_states gives them: every parameter's, with
        this solver's state arrays (another solver's are refused, naming
        both), each of the parameter's shape, every value one an update can
        make (finite; Adam's var >= 0: the engine's check, naming the
        parameter, the state, the value and its position), t an integer in
        [0, 2**32 − 1] (a uint32 in NNabla's state files). All or nothing."""
        if not isinstance(states, Mapping):
            raise TypeError(f"Solver.set_states: states must be a mapping name -> SolverState (as get_states "
                            f"gives), got {type(states).__name__}")
        raw = {}
        for name, st in states.items():
            if not isinstance(name, str):
                raise TypeError(f"Solver.set_states: parameter names must be str, got {type(name).__name__}")
            if not hasattr(st, "pstate") or not hasattr(st, "t"):
                raise TypeError(f"Solver.set_states: the state of {name!r} must have .pstate and .t "
                                f"(a SolverState), got {type(st).__name__}")
            if not isinstance(st.pstate, Mapping):
                raise TypeError(f"Solver.set_states: the pstate of {name!r} must be a mapping state name -> "
                                f"array, got {type(st.pstate).__name__}")
            raw[name] = ({k: _values(v) for k, v in st.pstate.items()}, st.t)
        missing = [n for n in self._engine.parameter_names() if n not in raw]
        if missing:
            raise ValueError(f"Solver.set_states: no state for parameter(s) {missing}")
        self._engine._set_states(raw)

    def save_states(self, path):
        """Writes get_states() to path, NNabla's .protobuf or .h5 (needs h5py)
        state file by the suffix, atomically. Raises SolverStateError."""
        fmt = _state_format(path, "save_states")
        states = self.get_states()
        p = os.fspath(path)
        try:
            if fmt == ".protobuf":
                data = _core.encode_solver_states_protobuf(
                    [(name, st.t, [(key, _values(v)) for key, v in st.pstate.items()])
                     for name, st in states.items()])
                atomic_write(path, lambda f: f.write(data))
            else:
                h5py = _h5py(path, "writing")
                _check_h5_names(p, list(states), SolverStateError)
                atomic_write(path, None, by_name=lambda tmp: _write_h5_states(h5py, tmp, states))
        except SolverStateError as e:
            raise SolverStateError(f"Solver.save_states: {e}", path=p) from None
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as e:  # h5py's too
            raise SolverStateError(f"Solver.save_states: {p}: cannot write the solver states: "
                                   f"{write_failure(path, e)}", path=p) from e

    def load_states(self, path):
        """Reads a state file written by save_states (or by NNabla), .protobuf
        or .h5 by the suffix, and restores it with set_states (all or
        nothing). Only a regular file within PARAMETER_FILE_MAX_BYTES is read
        (a FIFO is refused, not waited on). Raises SolverStateError naming the
        file."""
        p = os.fspath(path)
        fmt = _state_format(path, "load_states")
        try:
            if fmt == ".protobuf":
                states = _read_protobuf_states(path)
            else:
                shapes = {name: tuple(v.shape) for name, v in self._params.items()}
                states = _read_h5_states(_h5py(path, "reading"), path, shapes)
            try:
                self.set_states(states)
            except (ValueError, TypeError) as e:  # the file's states do not fit this solver
                reason = str(e)
                for prefix in ("Solver.set_states: ", "set_states: "):
                    reason = reason[len(prefix):] if reason.startswith(prefix) else reason
                raise SolverStateError(f"{p}: {reason}", path=p) from None
        except SolverStateError as e:
            raise SolverStateError(f"Solver.load_states: {e}", path=p) from None

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


def _flag(value, argname):
    # bool only: bool('no') is True, so a string must not be read as a flag.
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"Solver.set_parameters: {argname} must be a bool (True or False), got "
                        f"{type(value).__name__} {value!r}")
    return bool(value)


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
    raise SolverStateError(f"Solver.{where}: {os.fspath(path)}: the state file must end in .protobuf or .h5 "
                           f"(NNabla's formats)", path=path)


def _h5py(path, doing):
    try:
        import h5py
    except ImportError:
        raise SolverStateError(f"{os.fspath(path)}: {doing} .h5 state files needs the h5py package (pip install "
                               f"h5py); .protobuf works without it", path=path) from None
    return h5py


# --- the state files ---------------------------------------------------------------------
# .protobuf: NNabla's Optimizer message, by the C++ codec. .h5: a group per
# parameter (its full name, attribute `index`), holding one float32 dataset
# per state (attribute `index`) and an int64 scalar dataset `t`.

def _read_protobuf_states(path):
    p = os.fspath(path)
    data = read_bounded(path, PARAMETER_FILE_MAX_BYTES, "solver state file", SolverStateError)
    try:
        decoded = _core.decode_solver_states_protobuf(data, p)
    except _core.ParameterFileError as e:
        raise SolverStateError(str(e), path=p) from None
    except UnicodeDecodeError as e:  # a name pybind11 cannot turn into str
        raise SolverStateError(f"{p}: a parameter or state name is not valid UTF-8 ({e.reason} at its byte "
                               f"{e.start})", path=p) from None
    except MemoryError:
        raise SolverStateError(f"{p}: not enough memory to decode its {len(data)} bytes of states", path=p) from None
    return OrderedDict((name, SolverState._of(OrderedDict(arrays), int(t))) for name, t, arrays in decoded)


def _write_h5_states(h5py, tmp, states):
    with h5py.File(tmp, "w") as f:
        for i, (name, st) in enumerate(states.items()):
            g = f.create_group(name)
            g.attrs["index"] = i
            for j, (key, var) in enumerate(st.pstate.items()):
                ds = g.create_dataset(key, data=np.asarray(_values(var), dtype=np.float32))
                ds.attrs["index"] = j
            g.create_dataset("t", data=np.int64(st.t))


def _read_h5_states(h5py, path, shapes):
    """The states of an .h5 file, by parameter (in `index` order). Only the
    parameters in `shapes` (name -> the solver's parameter shape) have their
    arrays read, each checked against that shape first; links to elsewhere
    (soft, external) are refused, never followed."""
    p = os.fspath(path)
    check_regular_file(path, PARAMETER_FILE_MAX_BYTES, "solver state file", SolverStateError)
    found = []
    try:
        with h5py.File(p, "r") as f:
            groups = []
            f.visititems(lambda name, obj: groups.append((name, obj))
                         if isinstance(obj, h5py.Group) and "t" in obj else None)
            for pos, (name, g) in enumerate(groups):
                members = {}
                for key in g:
                    if not isinstance(g.get(key, getlink=True), h5py.HardLink):
                        raise SolverStateError(f"{p}: {name}/{key} is a link to elsewhere; a state file holds "
                                               f"its arrays", path=p)
                    members[key] = g[key]
                t = members.pop("t")
                if not isinstance(t, h5py.Dataset) or t.shape != () or t.dtype.kind not in "iu":
                    raise SolverStateError(f"{p}: the step count t of parameter {name} is not an integer scalar",
                                           path=p)
                pstate = []
                for key, ds in members.items():
                    what = f"state {key} of parameter {name}"
                    if not isinstance(ds, h5py.Dataset):
                        raise SolverStateError(f"{p}: {what} is not a dataset", path=p)
                    _check_h5_dataset(p, what, ds, SolverStateError)
                    if name in shapes and ds.shape != shapes[name]:
                        raise SolverStateError(f"{p}: {what} has shape {ds.shape} but the parameter's is "
                                               f"{shapes[name]}", path=p)
                    index = _int_attr(p, what, ds.attrs, "index", SolverStateError)
                    pstate.append((math.inf if index is None else index, key, ds))
                pstate.sort(key=lambda e: (e[0], e[1]))
                arrays = OrderedDict((key, np.asarray(ds[()], dtype=np.float32) if name in shapes else None)
                                     for _, key, ds in pstate)
                index = _int_attr(p, f"parameter {name}", g.attrs, "index", SolverStateError)
                found.append((math.inf if index is None else index, pos, name,
                              SolverState._of(arrays, int(t[()]))))
    except SolverStateError:
        raise
    except MemoryError:
        raise SolverStateError(f"{p}: not enough memory to read its states", path=p) from None
    except Exception as e:  # h5py raises OSError, KeyError, RuntimeError, ... on bad files
        raise SolverStateError(f"{p}: not a readable HDF5 solver state file: {' '.join(str(e).split())}",
                               path=p) from None
    found.sort(key=lambda s: (s[0], s[1]))
    return OrderedDict((name, st) for _, _, name, st in found if name in shapes)

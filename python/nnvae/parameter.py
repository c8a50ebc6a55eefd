"""Parameter management, as nnabla.parameter: one global directory of named
parameters, a current scope, and NNabla's order (scope by scope).

    with nnvae.parameter_scope("fc1"):
        h = PF.affine(x, 500)            # creates fc1/affine/W and fc1/affine/b
    nnvae.get_parameters()               # OrderedDict: full name -> Variable

Names join scopes with "/". The parameters themselves live in the engine
(one C++ ParameterDirectory), so C++ code sees the same ones.
"""
import contextvars
from collections import OrderedDict
from types import MappingProxyType
from contextlib import contextmanager

import numpy as np

from . import _core

__all__ = [
    "parameter_scope",
    "get_current_parameter_scope",
    "current_scope_path",
    "get_parameters",
    "get_parameter",
    "get_parameter_or_create",
    "clear_parameters",
]

# The scope names entered with parameter_scope, outermost first, as a tuple
# in a context variable: each thread (and each asyncio task) has its own
# stack, so scopes entered in one thread never name another's parameters.
# The parameters themselves are one directory shared by all threads.
_scope_stack = contextvars.ContextVar("nnvae_parameter_scope", default=())


def current_scope_path():
    """The current scope as a path ("" at the top level, "enc/fc1" inside
    parameter_scope("enc") and parameter_scope("fc1")), for this thread."""
    return "/".join(_scope_stack.get())


def get_current_parameter_scope():
    """The current scope as NNabla gives it: a mapping of each name one level
    down to either a parameter (Variable) or a nested mapping (a scope), in
    creation order. Here it is a read-only snapshot (NNabla hands out its
    live dictionary; writing into this one raises TypeError)."""
    prefix = current_scope_path()
    prefix = prefix + "/" if prefix else ""
    tree = OrderedDict()
    for name, var in _core._parameters():
        if not name.startswith(prefix):
            continue
        *scopes, leaf = name[len(prefix):].split("/")
        node = tree
        for part in scopes:
            node = node.setdefault(part, OrderedDict())
        node[leaf] = var

    def freeze(node):
        return MappingProxyType(OrderedDict((k, freeze(v) if isinstance(v, OrderedDict) else v)
                                            for k, v in node.items()))

    return freeze(tree)


def _check_name(name, where):
    if not isinstance(name, str):
        raise TypeError(f"{where}: name must be a str, got {type(name).__name__}")
    if not name or any(part == "" for part in name.split("/")):
        raise ValueError(f"{where}: name {name!r} has an empty part; use non-empty names joined by '/'")


def _full_name(name):
    scope = current_scope_path()
    return f"{scope}/{name}" if scope else name


@contextmanager
def parameter_scope(name, scope=None):
    """Parameters created inside the block are named ``name/...`` (nested
    scopes join with "/"). The scope is left on exit, even on an error.
    (NNabla's `scope`, a custom directory to enter, is not supported.)"""
    if scope is not None:
        raise ValueError("parameter_scope: scope= (a custom parameter directory) is not supported by nnvae; "
                         "leave it None")
    _check_name(name, "parameter_scope")
    token = _scope_stack.set(_scope_stack.get() + (name,))
    try:
        yield
    finally:
        _scope_stack.reset(token)


def get_parameters(params=None, path="", grad_only=True):
    """The parameters under the current scope, in NNabla's order (scope by
    scope, each scope's parameters and sub-scopes in the order they first
    appeared), as an OrderedDict name -> Variable. At the top level the
    names are full ("fc1/affine/W"); inside a scope they are relative to it,
    as in NNabla.
    grad_only=True keeps only parameters with need_grad. (NNabla's params
    and path serve its own recursion; only their defaults are accepted.)"""
    if params is not None or path != "":
        raise ValueError("get_parameters: params= and path= are not supported by nnvae; leave the defaults "
                         "(use parameter_scope to select a sub-tree)")
    scope = current_scope_path()
    prefix = scope + "/" if scope else ""
    params = OrderedDict()
    for name, var in _core._parameters():
        if not name.startswith(prefix) or (grad_only and not var.need_grad):
            continue
        params[name[len(prefix):]] = var
    return params


def get_parameter(key):
    """The parameter `key` (a name) under the current scope, or None."""
    _check_name(key, "get_parameter")
    return _core._get_parameter(_full_name(key))


def _as_initializer(init, shape, where):
    """An engine initializer from what NNabla accepts: None (zeros), an
    initializer, a number (constant), an array of `shape`, or a callable
    taking the shape and returning such an array."""
    if init is None or isinstance(init, _core.Initializer):
        return init
    engine = getattr(init, "_engine", None)  # nnvae.initializer objects
    if isinstance(engine, _core.Initializer):
        return engine
    if isinstance(init, bool):
        raise TypeError(f"{where}: initializer must be an Initializer, a number, an array or a callable, got bool")
    if isinstance(init, (int, float, np.number)):
        return _core.ConstantInitializer(float(init))
    if callable(init):
        init = init(tuple(shape))
    if isinstance(init, (np.ndarray, list, tuple)):
        values = np.asarray(init, dtype=np.float32, order="C")  # (ascontiguousarray makes 0-d arrays 1-d)
        if values.shape != tuple(shape):
            raise ValueError(f"{where}: an initial value of shape {values.shape} does not fit the "
                             f"parameter's shape {tuple(shape)}")
        return _core._ArrayInitializer(values, where)
    raise TypeError(f"{where}: initializer must be an Initializer, a number, an array or a callable, "
                    f"got {type(init).__name__}")


def get_parameter_or_create(name, shape=None, initializer=None, need_grad=True, as_need_grad=None):
    """The parameter `name` under the current scope: reused if it exists (its
    shape must match), else created with `shape`, filled by `initializer`
    (zeros by default) and with `need_grad`. as_need_grad, if given, returns
    instead a leaf sharing the parameter's arrays with that need_grad (the
    stored parameter keeps its own)."""
    var = _get_parameter_or_create(name, shape, initializer, need_grad)
    if as_need_grad is not None and bool(as_need_grad) != var.need_grad:
        return var._unlinked(bool(as_need_grad))
    return var


def _get_parameter_or_create(name, shape, initializer, need_grad):
    _check_name(name, "get_parameter_or_create")
    full = _full_name(name)
    existing = _core._get_parameter(full)
    if existing is not None and shape is None:
        return existing
    if shape is None:
        raise ValueError(f"get_parameter_or_create: parameter {full!r} does not exist and no shape was given")
    if existing is not None:
        init = None  # reused: the engine only checks the shape
    else:
        # Validate the shape (and learn its canonical form) before calling a
        # user callable with it.
        probe = _core.Variable(shape)
        init = _as_initializer(initializer, probe.shape, f"get_parameter_or_create({full!r})")
    try:
        return _core._get_parameter_or_create(full, shape, init, bool(need_grad))
    except MemoryError as e:  # name the parameter, not just the shape
        raise MemoryError(f"parameter {full!r}: {e}") from None


def clear_parameters():
    """Removes the parameters of the current scope, as NNabla does: at the top
    level every parameter; inside parameter_scope("enc") those named
    "enc/...", nested scopes included. Variables already held elsewhere keep
    working; they are just forgotten."""
    _core._clear_parameters(current_scope_path())

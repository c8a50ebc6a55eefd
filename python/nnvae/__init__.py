"""nnvae: a small autodiff graph engine with NNabla's API style.

    import nnvae
    import nnvae.functions as F
    import nnvae.parametric_functions as PF
    import nnvae.solvers as S

The engine is the C++ extension ``nnvae._core``; this package gives it
NNabla's Python names. The public surface is what ``__all__`` lists;
``nnvae.errors`` and the parameter files' ``nnvae.params_io`` are imported on
demand. The application built on it, the NNabla tutorial's VAE on MNIST
(training, data sets, the commands), is the subpackage ``nnvae.app``, which
this API never imports.
"""
import os as _os
from contextlib import contextmanager as _contextmanager

import numpy as _np

# OpenMP threads that wait for work spin for a long time by default; when
# another process wants the same cores, two spinning threads make training
# 10-50x slower. A short spin costs nothing on an idle machine. libgomp reads
# this when the engine loads, so it is set (unless the user set it) first.
_os.environ.setdefault("GOMP_SPINCOUNT", "20000")

from . import _core  # noqa: E402
from ._core import Variable
from .ndarray import NdArray  # also gives Variable NNabla's .data/.grad, reshape, unlinked
from .parameter import clear_parameters, get_current_parameter_scope, get_parameters, parameter_scope
from .random import seed
from . import functions, parametric_functions, random, solvers, solver  # solver: NNabla's other name of solvers

# Keep in step with `version` in pyproject.toml.
__version__ = "0.1.0"


def _find_cmake_prefix(folders):
    """The first of `folders` that holds the installed C++ side, include/,
    lib/ and lib/cmake/nnvae (the CMake package); None when none does."""
    for folder in folders:
        if _os.path.isfile(_os.path.join(folder, "lib", "cmake", "nnvae", "nnvaeConfig.cmake")):
            return _os.path.abspath(folder)
    return None


# The folder to give CMake as CMAKE_PREFIX_PATH for find_package(nnvae
# CONFIG): this package's folder after `pip install .`; after `pip install -e
# .` the install tree scikit-build-core keeps apart from the sources (on this
# package's __path__, and where the compiled _core was put). None for a
# source tree on PYTHONPATH, whose C++ package `cmake --install` makes.
cmake_prefix_path = _find_cmake_prefix(list(__path__) + [_os.path.dirname(_core.__file__)])

__all__ = [
    "Variable",
    "NdArray",
    "functions",
    "parametric_functions",
    "solvers",
    "parameter_scope",
    "get_parameters",
    "clear_parameters",
    "get_current_parameter_scope",
    "save_parameters",
    "load_parameters",
    "random",
    "seed",
    "set_auto_forward",
    "get_auto_forward",
    "auto_forward",
    "set_num_threads",
    "get_num_threads",
    "set_matmul_precision",
    "get_matmul_precision",
    "matmul_precision",
    "bf16_path",
    "clear_memory_cache",
    "memory_cache_stats",
    "__version__",
    "cmake_prefix_path",
]


def _file_format(path, extension, where):
    """".protobuf" or ".h5", from `extension` or else the path's suffix."""
    if not isinstance(path, (str, _os.PathLike)):
        raise TypeError(f"{where}: path must be a file name (str or os.PathLike); file objects are not "
                        f"supported, got {type(path).__name__}")
    ext = extension if extension is not None else _os.path.splitext(_os.fspath(path))[1]
    if ext not in (".protobuf", ".h5"):
        raise ValueError(f"{where}: {_os.fspath(path)}: format {ext!r} is not supported; nnvae reads and "
                         f"writes NNabla's .protobuf and .h5 parameter files")
    if not _os.fspath(path).endswith(ext):
        raise ValueError(f"{where}: {_os.fspath(path)}: extension={extension!r} must match the file name's suffix")
    return ext


def save_parameters(path, params=None, extension=None):
    """Writes parameters to an NNabla parameter file, `.protobuf` or `.h5`
    (h5py), chosen by the suffix; params defaults to every parameter
    (get_parameters(grad_only=False)), each with its need_grad flag."""
    from . import params_io
    _file_format(path, extension, "nnvae.save_parameters")
    if params is None:
        params = get_parameters(grad_only=False)
    flags = {name: bool(getattr(v, "need_grad", True)) for name, v in params.items()}
    values = {name: (v.d if isinstance(v, Variable) else v) for name, v in params.items()}
    params_io.save_parameters(path, values, need_grad=flags)


def load_parameters(path, proto=None, needs_proto=False, extension=".nntxt"):
    """Reads an NNabla parameter file (`.protobuf` or `.h5`) into the
    parameter directory under the current scope: parameters that exist take
    the values (shapes must match), others are created; each takes the
    file's need_grad. All or nothing: every record is checked before any
    parameter changes, so a load that fails (ParameterFileError, a
    ValueError) leaves every parameter as it was. (extension only concerns
    file objects in NNabla; proto and needs_proto, for network definitions,
    are not supported.)"""
    from . import params_io
    from .parameter import _check_name, current_scope_path
    if proto is not None or needs_proto:
        raise ValueError("nnvae.load_parameters: proto= and needs_proto=True (network definitions) are not "
                         "supported by nnvae; it reads parameters only")
    _file_format(path, None, "nnvae.load_parameters")
    records = params_io.load_parameter_records(path)
    for record in records:
        _check_name(record.name, f"nnvae.load_parameters: {_os.fspath(path)}")
    try:
        _core._load_parameter_records(current_scope_path(), [(r.name, r.data, bool(r.need_grad)) for r in records],
                                      _os.fspath(path))
    except _core.ParameterFileError as e:
        raise params_io.ParameterFileError(str(e), path=path) from None


def _auto_flag(auto, where):
    # bool only: bool('no') is True, so a string must not be read as a flag.
    if not isinstance(auto, (bool, _np.bool_)):
        raise TypeError(f"{where}: auto must be a bool (True or False), got {type(auto).__name__} {auto!r}")
    return bool(auto)


def set_auto_forward(auto):
    """Dynamic graph mode: with auto=True every function computes its output
    as soon as it is created (no forward() call needed). The setting is
    process-wide (all threads)."""
    _core.set_auto_forward(_auto_flag(auto, "nnvae.set_auto_forward"))


def get_auto_forward():
    """Whether functions compute at creation (see set_auto_forward)."""
    return _core.get_auto_forward()


@_contextmanager
def auto_forward(auto=True):
    """``with nnvae.auto_forward(): ...`` builds a dynamic graph inside the
    block; the previous mode is restored on leaving it, even on an error."""
    auto = _auto_flag(auto, "nnvae.auto_forward")
    previous = _core.get_auto_forward()
    _core.set_auto_forward(auto)
    try:
        yield
    finally:
        _core.set_auto_forward(previous)


def set_num_threads(n):
    """Threads for matrix products and long elementwise loops, 1 <= n <=
    nnvae._core.MAX_THREADS (the engine's bound for this machine)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"nnvae.set_num_threads: n must be an int, got {type(n).__name__}")
    if not 1 <= n <= _core.MAX_THREADS:
        raise ValueError(f"nnvae.set_num_threads: n must be in [1, {_core.MAX_THREADS}] (nnvae._core.MAX_THREADS, "
                         f"the most this machine can sensibly run), got {n}")
    _core.set_num_threads(n)


def get_num_threads():
    """The thread count set_num_threads gave (or OpenMP's default)."""
    return _core.get_num_threads()


def set_matmul_precision(precision):
    """The precision of every matrix product (affine, matmul, batch_matmul,
    convolution, deconvolution; forward and backward), process-wide: "fp32"
    (the default) uses the operands as stored; "bf16" rounds both operands of
    each product to bfloat16 (to nearest, ties to even) and sums in fp32.
    Storage, parameters, gradients, solver states and elementwise functions
    stay fp32 either way."""
    if not isinstance(precision, str):
        raise TypeError(f"nnvae.set_matmul_precision: precision must be a str (one of "
                        f"{', '.join(_core.MATMUL_PRECISIONS)}), got {type(precision).__name__} {precision!r}")
    try:
        _core.set_matmul_precision(precision)
    except ValueError as e:
        raise ValueError(f"nnvae.set_matmul_precision: {e}") from None


def get_matmul_precision():
    """The product precision's name, "fp32" or "bf16"."""
    return _core.get_matmul_precision()


@_contextmanager
def matmul_precision(precision):
    """``with nnvae.matmul_precision("bf16"): ...`` computes the block's
    products in that precision; the previous one is restored on leaving it,
    even on an error. Process-wide like set_matmul_precision."""
    previous = _core.get_matmul_precision()
    set_matmul_precision(precision)
    try:
        yield
    finally:
        _core.set_matmul_precision(previous)


def bf16_path():
    """How this machine computes bf16 products: {'path': 'emulated' |
    'avx512_bf16' | 'amx', 'reason': one line saying why, 'cpu': the CPU's
    bf16 features}."""
    return _core.bf16_dispatch()


def clear_memory_cache():
    """Gives the engine's cached array memory back to the system: blocks
    freed by arrays no longer alive, kept for the next array of the same
    size. Arrays in use (parameters, graphs still alive) keep theirs; the
    next step allocates afresh. NNabla's name for this is its extension's
    (nnabla_ext.cpu.clear_memory_cache())."""
    _core.clear_storage_cache()


def memory_cache_stats():
    """The engine's array memory, in bytes: {'in_use_bytes', 'cached_bytes'
    (freed blocks kept for reuse), 'peak_in_use_bytes' (since the start or
    the last clear_memory_cache), 'hits' and 'misses' (requests met from the
    cache, or passed to the system)}. NNabla has no counterpart."""
    return _core.storage_cache_stats()

"""NdArray, as nnabla.NdArray: a float32 array in the engine's memory, and
the Variable methods NNabla code reaches for around it.

    x.data                 # NdArray over x's values (x.grad: over its gradient)
    x.data.data            # numpy view sharing memory (the same as x.d)
    x.data.fill(0.5); x.grad.zero()
    x.data.cast(np.float32)
    y = x.reshape((10, -1))               # graph-connected (F.reshape, inplace)
    y = x.reshape((10, -1), unlink=True)  # a leaf over the same buffers
    z = x.get_unlinked_variable()         # a leaf sharing x's arrays (or x.unlinked())
    x.data = other.data                   # x now uses other's array (shared)

nnvae arrays are float32 on the CPU only (the indices of F.max / F.min read
as uint64, as in NNabla); other dtypes and contexts are refused by name.
"""
import numpy as np

from . import _core

__all__ = ["NdArray"]

Variable = _core.Variable


def _check_dtype(dtype, where, indices=False):
    """float32; for the indices of F.max / F.min also uint64, the type they read as."""
    if np.dtype(dtype) != np.float32 and not (indices and np.dtype(dtype) == np.uint64):
        also = " (indices: float32 or uint64)" if indices else ""
        raise ValueError(f"{where}: dtype {np.dtype(dtype).name} is not supported; nnvae arrays are "
                         f"float32{also}")


def _check_ctx(ctx, where):
    if ctx is not None:
        raise ValueError(f"{where}: ctx={ctx!r} is not supported; nnvae computes on the CPU in float32 "
                         f"(leave ctx=None)")


class NdArray:
    """A float32 array of a fixed shape. NdArray(shape) creates one (zeros);
    Variable.data and Variable.grad give the arrays of a variable. Each is a
    view on the engine's buffer: writes through any view reach the engine."""

    __slots__ = ("_var", "_grad")

    def __init__(self, shape=tuple()):
        self._var = _core.Variable(shape)
        self._grad = False

    @classmethod
    def _of(cls, var, grad):
        arr = cls.__new__(cls)
        arr._var = var
        arr._grad = grad
        return arr

    @staticmethod
    def from_numpy_array(nparr):
        """An NdArray holding a float32 copy of nparr's values (as NNabla:
        later changes to nparr do not reach it)."""
        return NdArray._of(_core.Variable.from_numpy_array(nparr), False)

    @property
    def shape(self):
        return self._var.shape

    @property
    def ndim(self):
        return self._var.ndim

    @property
    def size(self):
        return self._var.size

    @property
    def dtype(self):
        """float32; uint64 for the indices of F.max / F.min (their data)."""
        return np.dtype(np.uint64 if self._indices() else np.float32)

    def _indices(self):
        return not self._grad and self._var._holds_indices

    @property
    def data(self):
        """The values as a numpy float32 view sharing the engine's memory
        (the indices of F.max / F.min: a read-only uint64 copy); assigning
        copies values in (a scalar fills)."""
        return self._var.g if self._grad else self._var.d

    @data.setter
    def data(self, value):
        if self._grad:
            self._var.g = value
        else:
            self._var.d = value

    def get_data(self, mode="rw", dtype=None):
        """The numpy view, as `data` (mode is accepted for NNabla's sake:
        every view here can be read and written); a dtype casts as `cast`."""
        if mode not in ("r", "w", "rw"):
            raise ValueError(f"NdArray.get_data: mode must be 'r', 'w' or 'rw', got {mode!r}")
        if dtype is not None:
            return self._cast(dtype, None, "NdArray.get_data")
        return self.data

    def fill(self, value):
        """Sets every element to value."""
        self.data = value

    def zero(self):
        """Sets every element to 0."""
        self.data = 0.0

    def cast(self, dtype, ctx=None):
        """NNabla casts the array in place and returns the numpy view; here
        only float32 (already the type; indices become float32 values from
        then on) and, for indices, uint64 are possible, and ctx=None."""
        return self._cast(dtype, ctx, "NdArray.cast")

    def _cast(self, dtype, ctx, where):
        _check_dtype(dtype, where, self._indices())
        _check_ctx(ctx, where)
        if self._indices() and np.dtype(dtype) == np.float32:
            self._var._holds_indices = False
        return self.data

    def copy_from(self, arr, use_current_context=True):
        """Copies another NdArray's values (the shapes must be equal);
        use_current_context has no other choice on the CPU."""
        if not isinstance(arr, NdArray):
            raise TypeError(f"NdArray.copy_from: expected an NdArray, got {type(arr).__name__}")
        self.data = arr.data

    def __repr__(self):
        return f"<NdArray({self.shape})>"


# --- the Variable methods (added to the engine's Variable class) --------------

def _array_property(grad):
    name = "grad" if grad else "data"

    def get(self):
        return NdArray._of(self, grad)

    def set(self, value):
        if isinstance(value, NdArray):
            self._set_array(grad, value._var, value._grad)
        else:
            raise TypeError(f"Variable.{name} must be set to an NdArray (shared), got {type(value).__name__}; "
                            f"to copy values use Variable.{'g' if grad else 'd'} = array")

    return property(get, set, doc=f"The {name} as an NdArray (shares memory with Variable."
                                  f"{'g' if grad else 'd'}).")


def _refuse(where, **hooks):
    for name, value in hooks.items():
        if value is not None:
            raise ValueError(f"{where}: {name} is not supported by nnvae (leave it None)")


_core_forward = Variable.forward
_core_backward = Variable.backward
_core_from_numpy_array = Variable.from_numpy_array


def forward(self, clear_buffer=False, clear_no_need_grad=False, function_pre_hook=None, function_post_hook=None):
    """Runs every function this variable depends on. clear_buffer frees
    intermediate values once no later function reads them (for inference);
    clear_no_need_grad frees only what backward will not need."""
    _refuse("Variable.forward", function_pre_hook=function_pre_hook, function_post_hook=function_post_hook)
    _core_forward(self, clear_buffer, clear_no_need_grad)


def backward(self, grad=1, clear_buffer=False, communicator_callbacks=None, function_pre_hook=None,
             function_post_hook=None):
    """Back-propagates from this variable, seeded with grad (a number or an
    array of its shape; None uses the current .g). Leaf gradients accumulate
    until zeroed."""
    _refuse("Variable.backward", communicator_callbacks=communicator_callbacks,
            function_pre_hook=function_pre_hook, function_post_hook=function_post_hook)
    if isinstance(grad, NdArray):
        grad = grad.data
    _core_backward(self, grad, clear_buffer)


def from_numpy_array(data, grad=None, need_grad=None):
    """A Variable holding a float32 copy of data (as NNabla: later changes
    to the array do not reach it) and optionally of grad; need_grad None
    means False. Its .d and .g are then views on the variable's own memory."""
    if isinstance(data, NdArray):
        data = data.data
    if isinstance(grad, NdArray):
        grad = grad.data
    return _core_from_numpy_array(data, grad, bool(need_grad) if need_grad is not None else False)


def reshape(self, shape, unlink=False):
    """The same elements under shape (one entry may be -1, inferred as
    F.reshape does, either way). unlink=False: a graph-connected F.reshape
    (inplace: the buffer is shared, gradients flow back); unlink=True: a
    leaf over the same data and grad buffers, no parent."""
    if unlink:
        return self._view(shape, self.need_grad)
    from .functions import reshape as f_reshape
    return f_reshape(self, shape, inplace=True)


def unlinked(self, need_grad=None):
    """A leaf variable sharing this variable's data and grad arrays, without
    a parent; need_grad None keeps this variable's flag."""
    return self._unlinked(self.need_grad if need_grad is None else bool(need_grad))


Variable.data = _array_property(False)
Variable.grad = _array_property(True)
Variable.forward = forward
Variable.backward = backward
Variable.from_numpy_array = staticmethod(from_numpy_array)
Variable.reshape = reshape
Variable.unlinked = unlinked
Variable.get_unlinked_variable = unlinked  # NNabla's longer name for the same call

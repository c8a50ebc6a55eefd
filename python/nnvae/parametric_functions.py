"""nnvae.parametric_functions (import as PF): functions that create their
parameters in the global directory, under the current parameter scope.

    with nnvae.parameter_scope("fc1"):
        h = PF.affine(x, 500)        # parameters fc1/affine/W (n_in, 500), fc1/affine/b (500,)
    h = PF.affine(x, 500, name="fc1")  # the same

Names, arguments, defaults, parameter names and initial values are NNabla
1.39's Python ones (NNabla's C++ pf:: differ in places: the convolutions'
Glorot limit, batch normalization's "variance"; the engine's pf:: follow
NNabla's C++).
"""
import numbers

from . import functions as F
from ._core import Variable
from ._functions.table import row_defaults
from .initializer import ConstantInitializer, UniformInitializer, calc_uniform_lim_glorot
from .parameter import _as_initializer, get_parameter, get_parameter_or_create, parameter_scope

__all__ = ["affine", "convolution", "deconvolution", "batch_normalization"]


def affine(inp, n_outmaps, base_axis=1, w_init=None, b_init=None, fix_parameters=False, rng=None,
           with_bias=True, apply_w=None, apply_b=None, name=None):
    """The fully connected layer y = X·W + b (see F.affine) with W
    "affine/W" of shape (n_in, n_outmaps), n_in = prod(inp.shape[base_axis:]),
    and b "affine/b" of shape (n_outmaps,), created under the current scope
    (and under `name`, if given) or reused when they exist.

    w_init defaults to Glorot's uniform U(±sqrt(6/(n_in + n_outmaps))) drawn
    from `rng` (a numpy RandomState, as NNabla draws it) or, without rng,
    from nnvae's global generator; b_init to zeros. Either may be an
    nnvae.initializer object, a number, a numpy array of the parameter's
    shape, or a callable shape -> array. fix_parameters=True uses W and b
    without computing their gradients (the stored parameters keep need_grad).
    apply_w / apply_b, callables Variable -> Variable, transform W / b
    before use (e.g. a weight normalisation). with_bias=False: no b."""
    if not isinstance(inp, Variable):
        raise TypeError(f"PF.affine: inp must be an nnvae.Variable, got {type(inp).__name__}")
    for value, argname in ((n_outmaps, "n_outmaps"), (base_axis, "base_axis")):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"PF.affine: {argname} must be an int, got {type(value).__name__}")
    if n_outmaps <= 0:
        raise ValueError(f"PF.affine: n_outmaps must be > 0, got {n_outmaps}")
    if -inp.ndim <= base_axis < 0:  # counts from the end, as in NNabla
        base_axis += inp.ndim
    if not 0 <= base_axis < inp.ndim:
        raise ValueError(f"PF.affine: base_axis {base_axis} is out of range for input shape {inp.shape}")
    for fn, argname in ((apply_w, "apply_w"), (apply_b, "apply_b")):
        if fn is not None and not callable(fn):
            raise TypeError(f"PF.affine: {argname} must be a callable Variable -> Variable, got {type(fn).__name__}")
    if name is not None:
        with parameter_scope(name):
            return affine(inp, n_outmaps, base_axis, w_init, b_init, fix_parameters, rng, with_bias,
                          apply_w, apply_b)

    n_in = 1
    for d in inp.shape[base_axis:]:
        n_in *= d
    if w_init is None:
        w_init = UniformInitializer(calc_uniform_lim_glorot(n_in, n_outmaps), rng=rng)
    as_need_grad = False if fix_parameters else None
    # Initial values are only produced for parameters that do not exist yet,
    # so an initializer is not run (nor a generator advanced) on reuse.
    with parameter_scope("affine"):
        w = _parameter("W", (n_in, n_outmaps), w_init, "PF.affine: w_init", as_need_grad)
        b = _parameter("b", (n_outmaps,), b_init, "PF.affine: b_init", as_need_grad) if with_bias else None
    if apply_w is not None:
        w = apply_w(w)
    if b is not None and apply_b is not None:
        b = apply_b(b)
    return F.affine(inp, w, b, base_axis)


def _parameter(name, shape, init, where, as_need_grad):
    """The parameter `name` of the current scope, created from `init` (the
    error naming `where` when it does not fit) only if it does not exist."""
    if get_parameter(name) is None:
        init = _as_initializer(init, shape, where)
    return get_parameter_or_create(name, shape, init, True, as_need_grad)


def _check_common(where, inp, ints, apply_w, apply_b):
    """The checks every layer makes: inp a Variable, `ints` ({name: value})
    ints, apply_w/apply_b callables or None."""
    if not isinstance(inp, Variable):
        raise TypeError(f"{where}: inp must be an nnvae.Variable, got {type(inp).__name__}")
    for argname, value in ints.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{where}: {argname} must be an int, got {type(value).__name__}")
    for fn, argname in ((apply_w, "apply_w"), (apply_b, "apply_b")):
        if fn is not None and not callable(fn):
            raise TypeError(f"{where}: {argname} must be a callable Variable -> Variable, got {type(fn).__name__}")


def _kernel(kernel, where):
    try:
        kernel = tuple(kernel)
    except TypeError:
        raise TypeError(f"{where}: kernel must be a tuple of ints, got {type(kernel).__name__}") from None
    if not kernel or any(isinstance(k, bool) or not isinstance(k, numbers.Integral) or k <= 0 for k in kernel):
        raise ValueError(f"{where}: kernel must be a non-empty tuple of positive ints, got {kernel}")
    return kernel


def _conv_layer(kind, inp, outmaps, kernel, pad, stride, dilation, group, channel_last, output_padding, w_init,
                b_init, base_axis, fix_parameters, rng, with_bias, apply_w, apply_b, name):
    """PF.convolution and PF.deconvolution: W "<kind>/W" and b "<kind>/b"
    under the current scope, then F.<kind>. W's shape is (outmaps, C / group,
    *kernel) for a convolution and (C, outmaps / group, *kernel) for a
    deconvolution, C = inp.shape[base_axis]."""
    where = f"PF.{kind}"
    _check_common(where, inp, {"outmaps": outmaps, "group": group, "base_axis": base_axis}, apply_w, apply_b)
    kernel = _kernel(kernel, where)
    if -inp.ndim <= base_axis < 0:  # counts from the end, as in NNabla
        base_axis += inp.ndim
    if not 0 <= base_axis < inp.ndim - len(kernel):
        raise ValueError(f"{where}: input shape {inp.shape} has no channel axis {base_axis} followed by "
                         f"{len(kernel)} spatial axes (kernel {kernel})")
    inmaps = inp.shape[base_axis]
    if outmaps <= 0 or group <= 0:
        raise ValueError(f"{where}: outmaps ({outmaps}) and group ({group}) must be > 0")
    split = outmaps if kind == "convolution" else inmaps  # the channels W cuts into groups
    if split % group or (inmaps if kind == "convolution" else outmaps) % group:
        raise ValueError(f"{where}: group {group} must divide the input channels ({inmaps}) and outmaps "
                         f"({outmaps})")
    if name is not None:
        with parameter_scope(name):
            return _conv_layer(kind, inp, outmaps, kernel, pad, stride, dilation, group, channel_last,
                               output_padding, w_init, b_init, base_axis, fix_parameters, rng, with_bias,
                               apply_w, apply_b, None)
    if kind == "convolution":
        w_shape = (outmaps, inmaps // group) + kernel
    else:
        w_shape = (inmaps, outmaps // group) + kernel
    if w_init is None:
        w_init = UniformInitializer(calc_uniform_lim_glorot(inmaps, outmaps, kernel), rng=rng)
    as_need_grad = False if fix_parameters else None
    scope = "conv" if kind == "convolution" else "deconv"
    with parameter_scope(scope):
        w = _parameter("W", w_shape, w_init, f"{where}: w_init", as_need_grad)
        b = _parameter("b", (outmaps,), b_init, f"{where}: b_init", as_need_grad) if with_bias else None
    if apply_w is not None:
        w = apply_w(w)
    if b is not None and apply_b is not None:
        b = apply_b(b)
    if kind == "convolution":
        return F.convolution(inp, w, b, base_axis, pad, stride, dilation, group, channel_last)
    return F.deconvolution(inp, w, b, base_axis, pad, stride, dilation, group, channel_last, output_padding)


def convolution(inp, outmaps, kernel, pad=None, stride=None, dilation=None, group=1, channel_last=False,
                w_init=None, b_init=None, base_axis=1, fix_parameters=False, rng=None, with_bias=True,
                apply_w=None, apply_b=None, name=None):
    """A convolution layer (see F.convolution) with W "conv/W" of shape
    (outmaps, C / group, *kernel), C = inp.shape[base_axis], and b "conv/b"
    of shape (outmaps,), created under the current scope (and `name`) or
    reused. w_init defaults to U(±sqrt(6 / (K·(C + outmaps)))), K the
    kernel's area (NNabla's Python rule), drawn from `rng` or nnvae's
    generator; b_init to zeros. The other options as PF.affine's."""
    return _conv_layer("convolution", inp, outmaps, kernel, pad, stride, dilation, group, channel_last, None,
                       w_init, b_init, base_axis, fix_parameters, rng, with_bias, apply_w, apply_b, name)


def deconvolution(inp, outmaps, kernel, pad=None, stride=None, dilation=None, group=1, channel_last=False,
                  output_padding=None, w_init=None, b_init=None, base_axis=1, fix_parameters=False, rng=None,
                  with_bias=True, apply_w=None, apply_b=None, name=None):
    """A deconvolution layer (see F.deconvolution) with W "deconv/W" of
    shape (C, outmaps / group, *kernel) and b "deconv/b" of shape
    (outmaps,); initial values and options as PF.convolution's."""
    return _conv_layer("deconvolution", inp, outmaps, kernel, pad, stride, dilation, group, channel_last,
                       output_padding, w_init, b_init, base_axis, fix_parameters, rng, with_bias, apply_w, apply_b,
                       name)


_BN = row_defaults("batch_normalization")


def batch_normalization(inp, axes=list(_BN["axes"]), decay_rate=_BN["decay_rate"], eps=_BN["eps"],
                        batch_stat=_BN["batch_stat"], output_stat=False, fix_parameters=False, param_init=None,
                        no_scale=False, no_bias=False, name=None):
    """Batch normalization (see F.batch_normalization) over the channel axis
    `axes` (one axis), with NNabla's Python parameters under the current
    scope (and `name`): "bn/beta" (zeros) and "bn/gamma" (ones), learned,
    and the running statistics "bn/mean" (zeros) and "bn/var" (ones),
    need_grad False, each of inp's shape with 1 on every other axis.
    param_init: {"beta", "gamma", "mean", "var"} -> initializer, overriding
    those. no_scale / no_bias: no gamma / no beta. fix_parameters: beta and
    gamma get no gradient. (NNabla's C++ pf::batch_normalization names the
    running variance "bn/variance"; its Python, this one, "bn/var".)"""
    where = "PF.batch_normalization"
    if not isinstance(inp, Variable):
        raise TypeError(f"{where}: inp must be an nnvae.Variable, got {type(inp).__name__}")
    axes = [axes] if isinstance(axes, numbers.Integral) and not isinstance(axes, bool) else list(axes)
    if len(axes) != 1 or isinstance(axes[0], bool) or not isinstance(axes[0], numbers.Integral):
        raise ValueError(f"{where}: axes must name one axis, got {axes}")
    axis = axes[0] + inp.ndim if -inp.ndim <= axes[0] < 0 else axes[0]
    if not 0 <= axis < inp.ndim:
        raise ValueError(f"{where}: axis {axes[0]} is out of range for input shape {inp.shape}")
    if output_stat is not False:
        raise ValueError(f"{where}: output_stat=True is not supported by nnvae")
    if param_init is not None and not isinstance(param_init, dict):
        raise TypeError(f"{where}: param_init must be a dict name -> initializer, got {type(param_init).__name__}")
    if name is not None:
        with parameter_scope(name):
            return batch_normalization(inp, axes, decay_rate, eps, batch_stat, output_stat, fix_parameters,
                                       param_init, no_scale, no_bias)
    init = dict(param_init or {})
    unknown = sorted(set(init) - {"beta", "gamma", "mean", "var"})
    if unknown:
        raise ValueError(f"{where}: param_init has unknown names {unknown} (beta, gamma, mean, var)")
    shape = tuple(d if i == axis else 1 for i, d in enumerate(inp.shape))
    as_need_grad = False if fix_parameters else None
    with parameter_scope("bn"):
        beta = None if no_bias else _parameter("beta", shape, init.get("beta", ConstantInitializer(0)),
                                                f"{where}: param_init['beta']", as_need_grad)
        gamma = None if no_scale else _parameter("gamma", shape, init.get("gamma", ConstantInitializer(1)),
                                                  f"{where}: param_init['gamma']", as_need_grad)
        mean = _running("mean", shape, init.get("mean", ConstantInitializer(0)), f"{where}: param_init['mean']")
        var = _running("var", shape, init.get("var", ConstantInitializer(1)), f"{where}: param_init['var']")
    return F.batch_normalization(inp, beta, gamma, mean, var, [axis], decay_rate, eps, batch_stat)


def _running(name, shape, init, where):
    """A running statistic: a parameter that takes no gradient."""
    if get_parameter(name) is None:
        init = _as_initializer(init, shape, where)
    return get_parameter_or_create(name, shape, init, False)

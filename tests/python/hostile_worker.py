"""Runs a batch of hostile Python-API cases in this (sub)process.

Reads a JSON list of cases on stdin and prints one line per case, flushed
before the next one starts:  "<index> ok", "<index> raised <Type>" or
"<index> BAD <why>". A case may only return a correct result or raise
ValueError, TypeError or MemoryError; a crash ends the process, and the
parent names the first case without a line. Cases are plain data (see
test_hostile_api.py, which generates them with Hypothesis).
"""
import json
import math
import sys
import warnings

import numpy as np

import nnvae
import nnvae.functions as F

ALLOWED = (ValueError, TypeError, MemoryError)
# Shapes with more elements than this are never computed with: they must be
# refused (MemoryError or ValueError) or be empty.
SMALL = 4096


class Bad(Exception):
    pass


def prod(shape):
    return math.prod(int(d) for d in shape)


def close(got, want, what):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise Bad(f"{what}: shape {got.shape}, expected {want.shape}")
    if not np.allclose(got, want, rtol=2e-5, atol=1e-5, equal_nan=True):
        bad = np.argwhere(~np.isclose(got, want, rtol=2e-5, atol=1e-5, equal_nan=True))[0]
        raise Bad(f"{what}: at {tuple(bad)} got {got[tuple(bad)]!r}, expected {want[tuple(bad)]!r}")


def variable(values, shape):
    return nnvae.Variable.from_numpy_array(np.asarray(values, dtype=np.float32).reshape(shape))


def values_for(case):
    n = prod(case["shape"])
    vals = case.get("values") or [0.5]
    return (vals * (n // len(vals) + 1))[:n]


def entry(d, kind):
    """A shape entry as a Python int or a numpy integer (np.int32 where the
    value fits: numpy itself refuses to make larger ones)."""
    if kind == "np32" and -2 ** 31 <= d < 2 ** 31:
        return np.int32(d)
    if kind == "np64" and -2 ** 63 <= d < 2 ** 63:
        return np.int64(d)
    return int(d)


# --- the case kinds ----------------------------------------------------------------

def case_variable(c):
    shape = [entry(d, c.get("entry", "int")) for d in c["shape"]]
    x = nnvae.Variable(tuple(shape))
    n = prod(c["shape"])
    if x.size != n or tuple(x.shape) != tuple(int(d) for d in c["shape"]):
        raise Bad(f"Variable{tuple(c['shape'])}: size {x.size}, shape {x.shape}")
    if n <= SMALL:
        y = F.sum(x)
        y.forward()
        close(y.d, 0.0, "sum of a new variable")
    else:
        y = F.sum(x, axis=0)
        y.forward()  # must raise MemoryError: nothing this large is computed
        raise Bad(f"forward over {n} elements returned")


UNARY = {
    "exp": (F.exp, np.exp), "log": (F.log, np.log), "sigmoid": (F.sigmoid, lambda v: 1 / (1 + np.exp(-v))),
    "tanh": (F.tanh, np.tanh), "relu": (F.relu, lambda v: np.maximum(v, 0)), "abs": (F.abs, np.abs),
    "sqrt": (F.sqrt, np.sqrt), "identity": (F.identity, lambda v: v),
    "softplus": (F.softplus, lambda v: np.logaddexp(0, v)),
    "elu": (F.elu, lambda v: np.where(v >= 0, v, np.expm1(np.minimum(v, 0)))),
    "neg": (lambda x: -x, lambda v: -v), "square": (lambda x: x * x, lambda v: v * v),
}


def case_unary(c):
    f, ref = UNARY[c["f"]]
    v = np.asarray(values_for(c), dtype=np.float32).reshape(c["shape"])
    y = f(variable(v, c["shape"]))
    y.forward()
    with np.errstate(all="ignore"):
        want = ref(v.astype(np.float64)).astype(np.float32)  # overflows as float32 does
    finite = np.isfinite(v) & np.isfinite(want)  # NaN/Inf inputs: no crash is all we ask
    close(np.where(finite, y.d, 0), np.where(finite, want, 0), f"F.{c['f']}")


def case_reduce(c):
    v = np.asarray(values_for(c), dtype=np.float32).reshape(c["shape"])
    f = getattr(F, c["f"])
    axis = c["axis"] if not isinstance(c["axis"], list) else tuple(c["axis"])
    y = f(variable(v, c["shape"]), axis=axis, keepdims=c["keepdims"])
    y.forward()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            want = getattr(np, {"sum": "sum", "mean": "mean", "max": "max", "min": "min"}[c["f"]])(
                v.astype(np.float64), axis=axis, keepdims=c["keepdims"])
        except (ValueError, TypeError):
            raise Bad(f"F.{c['f']} axis={axis} on {c['shape']} returned where numpy refuses")
    if np.all(np.isfinite(v)):
        close(y.d, want, f"F.{c['f']} axis={axis}")
    elif np.shape(y.d) != np.shape(want):
        raise Bad(f"F.{c['f']}: shape {np.shape(y.d)}, expected {np.shape(want)}")


def case_reshape(c):
    v = np.arange(prod(c["shape"]), dtype=np.float32).reshape(c["shape"])
    target = [entry(d, c.get("entry", "int")) for d in c["target"]]
    y = F.reshape(variable(v, c["shape"]), tuple(target), inplace=c["inplace"])
    y.forward()
    try:
        want = v.reshape([int(d) for d in c["target"]])
    except ValueError:
        raise Bad(f"reshape {c['shape']} -> {c['target']} accepted where numpy refuses")
    close(y.d, want, "F.reshape")


def case_affine(c):
    x = np.linspace(-1, 1, prod(c["xs"]), dtype=np.float32).reshape(c["xs"])
    w = np.linspace(-2, 2, prod(c["ws"]), dtype=np.float32).reshape(c["ws"])
    b = None if c["bs"] is None else np.linspace(0, 1, prod(c["bs"]), dtype=np.float32).reshape(c["bs"])
    y = F.affine(variable(x, c["xs"]), variable(w, c["ws"]), None if b is None else variable(b, c["bs"]),
                 base_axis=c["base_axis"])
    y.forward()
    ba = c["base_axis"] + len(c["xs"]) if c["base_axis"] < 0 else c["base_axis"]
    rows = x.reshape(prod(c["xs"][:ba]), -1)
    if rows.shape[1] != c["ws"][0] or (b is not None and list(c["bs"]) != list(c["ws"][1:])):
        raise Bad(f"affine x{c['xs']} W{c['ws']} b{c['bs']} base_axis {c['base_axis']} accepted")
    want = rows.astype(np.float64) @ w.reshape(c["ws"][0], -1)
    if b is not None:
        want = want + b.reshape(1, -1)
    close(y.d, want.reshape(tuple(c["xs"][:ba]) + tuple(c["ws"][1:])), "F.affine")


BINARY = {"add2": (F.add2, np.add), "sub2": (F.sub2, np.subtract), "mul2": (F.mul2, np.multiply),
          "div2": (F.div2, np.divide)}


def case_binary(c):
    a = np.asarray(values_for({"shape": c["sa"], "values": c["values"]}), np.float32).reshape(c["sa"])
    b = np.asarray(values_for({"shape": c["sb"], "values": c["values"][::-1]}), np.float32).reshape(c["sb"])
    f, ref = BINARY[c["f"]]
    y = f(variable(a, c["sa"]), variable(b, c["sb"]))
    y.forward()
    try:
        with np.errstate(all="ignore"):
            want = ref(a.astype(np.float64), b.astype(np.float64)).astype(np.float32)
    except ValueError:
        raise Bad(f"{c['f']} of {c['sa']} and {c['sb']} accepted where numpy cannot broadcast")
    ok = np.isfinite(want)
    close(np.where(ok, y.d, 0), np.where(ok, want, 0), f"F.{c['f']}")


def case_source(c):
    shape = tuple(c["shape"])
    arg = c["arg"]
    if c["f"] == "constant":
        y = F.constant(arg, shape)
    elif c["f"] == "randn":
        y = F.randn(0.0, arg, shape)
    else:
        y = F.rand(0.0, arg, shape)
    if tuple(y.shape) != shape:
        raise Bad(f"F.{c['f']}: shape {y.shape}, expected {shape}")
    y.forward()
    if prod(shape) > SMALL:
        raise Bad(f"F.{c['f']} computed {prod(shape)} elements")
    if c["f"] == "constant":
        close(y.d, np.full(shape, np.float32(arg)), "F.constant")
    elif c["f"] == "rand" and prod(shape) and not (np.all(y.d >= 0) and np.all(y.d <= np.float32(arg))):
        raise Bad(f"F.rand(0, {arg}) gave values outside [0, {arg}]")


def case_argument(c):
    """A function given an odd argument value (NaN, Inf, huge, wrong type)."""
    x = variable(np.linspace(-2, 2, 6, dtype=np.float32), (2, 3))
    arg = c["arg"]
    name = c["f"]
    calls = {
        "elu": lambda: F.elu(x, alpha=arg), "softplus": lambda: F.softplus(x, beta=arg),
        "leaky_relu": lambda: F.leaky_relu(x, alpha=arg), "pow_scalar": lambda: F.pow_scalar(x, arg),
        "add_scalar": lambda: F.add_scalar(x, arg), "mul_scalar": lambda: F.mul_scalar(x, arg),
        "r_div_scalar": lambda: F.r_div_scalar(x, arg), "clip_by_value": lambda: F.clip_by_value(x, arg, 1.0),
        "dropout": lambda: F.dropout(x, p=arg), "sum_axis": lambda: F.sum(x, axis=arg),
        "softmax_axis": lambda: F.softmax(x, axis=arg), "transpose": lambda: F.transpose(x, arg),
        "broadcast": lambda: F.broadcast(x, arg), "base_axis": lambda: F.affine(x, x, base_axis=arg),
        "backward_grad": lambda: x.backward(arg), "set_d": lambda: setattr(x, "d", arg),
        "set_num_threads": lambda: nnvae.set_num_threads(arg),
        "set_auto_forward": lambda: nnvae.set_auto_forward(arg),
    }
    before = nnvae.get_num_threads()
    try:
        y = calls[name]()
    finally:
        nnvae.set_num_threads(before)
        nnvae.set_auto_forward(False)
    if name == "set_auto_forward" and not isinstance(arg, (bool, np.bool_)):
        raise Bad(f"set_auto_forward({arg!r}) accepted")
    if isinstance(y, nnvae.Variable):
        y.forward()
        if y.size <= SMALL:
            np.asarray(y.d).sum()


def case_from_numpy(c):
    dtype = np.dtype(c["dtype"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            a = np.asarray(values_for(c), dtype=np.float64).reshape(c["shape"]).astype(dtype)
        if c.get("fortran"):
            a = np.asfortranarray(a)
        x = nnvae.Variable.from_numpy_array(a)
        want = a.astype(np.float32) if dtype.kind != "c" else None
    if tuple(x.shape) != a.shape:
        raise Bad(f"from_numpy_array {dtype}: shape {x.shape}, expected {a.shape}")
    if want is not None:
        close(x.d, want, f"from_numpy_array {dtype}")


KINDS = {"variable": case_variable, "unary": case_unary, "reduce": case_reduce, "reshape": case_reshape,
         "affine": case_affine, "binary": case_binary, "source": case_source, "argument": case_argument,
         "from_numpy": case_from_numpy}


def decode(v):
    """JSON cannot hold every argument a case needs: {"py": "..."} is a literal."""
    if isinstance(v, dict) and set(v) == {"py"}:
        return eval(v["py"], {"nan": float("nan"), "inf": float("inf"), "np": np})  # noqa: S307 (test data)
    if isinstance(v, dict):
        return {k: decode(x) for k, x in v.items()}
    return v


def main():
    cases = json.load(sys.stdin)
    for i, case in enumerate(cases):
        case = decode(case)
        try:
            KINDS[case["k"]](case)
            line = "ok"
        except Bad as e:
            line = f"BAD {e}"
        except ALLOWED as e:
            line = f"raised {type(e).__name__}"
            if not str(e).strip():
                line = f"BAD {type(e).__name__} without a message"
        except Exception as e:  # noqa: BLE001 - anything else is a finding
            line = f"BAD unexpected {type(e).__name__}: {e}"
        print(i, line.replace("\n", " "), flush=True)


if __name__ == "__main__":
    main()

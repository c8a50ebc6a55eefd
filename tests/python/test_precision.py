"""The bf16 product precision (nnvae.set_matmul_precision): the rounding
against a numpy reference of its own (the nearer bf16 neighbour, ties to the
even one); each product of the engine in bf16 mode against the fp32 product
of the rounded operands and a float64 reference; gradient checks in bf16
mode; the setting's errors, its context manager (restored on errors) and
threads; the fast paths, each skipped naming the CPU feature it needs."""
import threading

import numpy as np
import pytest

import nnvae
import nnvae.functions as F

pytestmark = pytest.mark.usefixtures("fresh_engine")

F32_EPS = 2.0 ** -24  # float32's unit roundoff
# bf16 keeps 8 significant bits: rounding moves a value by at most 2^-9 of
# itself, so a product of two rounded values is within 2^-8 + 2^-18 of the
# exact product, relative.
BF16_PRODUCT = 2.0 ** -8 + 2.0 ** -18


def np_round_bf16(x):
    """float32 x rounded to bf16 by choosing between its two bf16
    neighbours (toward zero, and the next one away from zero; past the
    largest finite one, inf counts as 2^128) by their float64 distance, ties
    to the neighbour whose last kept bit is 0. NaN stays NaN."""
    with np.errstate(invalid="ignore"):  # NaNs pass through the arithmetic; they are put back at the end
        return _np_round_bf16(np.asarray(x, np.float32))


def _np_round_bf16(x):
    u = x.view(np.uint32).astype(np.uint64)
    toward = u & 0xFFFF0000
    away = toward + 0x10000
    lo = toward.astype(np.uint32).view(np.float32).astype(np.float64)
    hi_bits = away.astype(np.uint32)
    hi = hi_bits.view(np.float32).astype(np.float64)
    hi = np.where(np.isinf(hi), np.copysign(2.0 ** 128, x.astype(np.float64)), hi)
    xd = x.astype(np.float64)
    d_lo, d_hi = np.abs(xd - lo), np.abs(hi - xd)
    take_hi = (d_hi < d_lo) | ((d_hi == d_lo) & ((toward >> 16) & 1 == 1))
    out = np.where(take_hi, hi_bits, toward.astype(np.uint32)).astype(np.uint32).view(np.float32)
    out = np.where(np.isinf(x), x, out)
    return np.where(np.isnan(x), np.float32(np.nan), out).astype(np.float32)


def bits(x):
    return np.asarray(x, np.float32).view(np.uint32)


def test_rounding_matches_the_numpy_reference_on_every_kind_of_value():
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 2 ** 32, 200_000, dtype=np.uint64).astype(np.uint32)
    # Exact ties (low half 0x8000) with odd and even kept halves, denormals,
    # and the edges: zeros, infs, the largest floats, NaNs with payloads in
    # either half.
    ties = (raw[:20_000] & 0xFFFF0000) | 0x8000
    denormals = raw[:20_000] & 0x807FFFFF
    edges = np.array([0, 0x80000000, 0x7F800000, 0xFF800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F7F7FFF, 0x7F7F8000,
                      0x7FC00000, 0xFFC00001, 0x7F800001, 0x7FBF8000, 0x00000001, 0x00008000, 0x00018000,
                      0x007FFFFF, 0x3F808000, 0x3F818000], np.uint32)
    x = np.concatenate([raw, ties, denormals, edges]).view(np.float32)
    got = nnvae._core.round_to_bf16(x)
    want = np_round_bf16(x)
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)
    bad = np.flatnonzero(bits(got)[~nan] != bits(want)[~nan])
    assert bad.size == 0, [(hex(bits(x[~nan])[i]), hex(bits(got[~nan])[i]), hex(bits(want[~nan])[i])) for i in bad[:5]]
    # Signs of NaNs kept; every result has a zero low half (a bf16 value).
    assert np.array_equal(np.signbit(got[nan]), np.signbit(x[nan]))
    assert not np.any(bits(got) & 0xFFFF)
    # The shape is kept, and a non-contiguous input is read as its values.
    assert nnvae._core.round_to_bf16(x[:12].reshape(3, 4).T).shape == (4, 3)


def var(a, need_grad=True):
    return nnvae.Variable.from_numpy_array(np.asarray(a, np.float32), need_grad=need_grad)


def run(fn, inputs, seed_grad, precision):
    """(output, [input gradients]) of fn(*inputs) with backward seeded by
    seed_grad, its products in `precision`."""
    with nnvae.matmul_precision(precision):
        vs = [var(a) for a in inputs]
        y = fn(*vs)
        y.forward()
        y.backward(seed_grad)
        return y.d.copy(), [v.g.copy() for v in vs]


def rounded(a):
    return nnvae._core.round_to_bf16(np.asarray(a, np.float32))


# Each product entry: (name, fn, input shapes, which inputs are product
# operands (a bias is not), the longest accumulation of its products).
CASES = [
    ("affine", lambda x, w, b: F.affine(x, w, b), [(6, 2, 35), (70, 9), (9,)], (0, 1), 70),
    ("affine_base_axis_2", lambda x, w: F.affine(x, w, base_axis=2), [(3, 4, 33), (33, 17)], (0, 1), 33),
    ("batch_matmul", lambda a, b: F.batch_matmul(a, b), [(2, 5, 40), (2, 40, 7)], (0, 1), 40),
    ("batch_matmul_ta_tb", lambda a, b: F.batch_matmul(a, b, True, True), [(3, 30, 6), (3, 8, 30)], (0, 1), 30),
    ("batch_matmul_broadcast", lambda a, b: F.batch_matmul(a, b, False, True), [(4, 6, 20), (1, 9, 20)], (0, 1),
     20),
    ("convolution", lambda x, w, b: F.convolution(x, w, b, pad=(1, 1)), [(2, 3, 7, 7), (5, 3, 3, 3), (5,)],
     (0, 1), 98),
    ("convolution_grouped_strided", lambda x, w: F.convolution(x, w, stride=(2, 2), group=2),
     [(2, 4, 8, 8), (6, 2, 3, 3)], (0, 1), 96),
    ("deconvolution", lambda x, w, b: F.deconvolution(x, w, b, stride=(2, 2)), [(2, 4, 5, 5), (4, 3, 3, 3), (3,)],
     (0, 1), 100),
]


def inputs_for(shapes, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, s).astype(np.float32) for s in shapes]


def seed_for(fn, inputs, seed):
    with nnvae.matmul_precision("fp32"):
        y = fn(*[var(a, False) for a in inputs])
    return np.random.default_rng(seed + 100).uniform(-1, 1, y.shape).astype(np.float32)


def abs_terms(fn, inputs, seed_grad):
    """Σ|terms| of each output and gradient element: the same products of
    the absolute values (every term then adds with the same sign)."""
    y, gs = run(fn, [np.abs(a) for a in inputs], np.abs(seed_grad), "fp32")
    return [y] + gs


@pytest.mark.parametrize("name, fn, shapes, operands, k", CASES, ids=[c[0] for c in CASES])
def test_bf16_products_equal_the_fp32_products_of_rounded_operands(name, fn, shapes, operands, k):
    inputs = inputs_for(shapes, len(name))
    r = seed_for(fn, inputs, len(name))
    y16, g16 = run(fn, inputs, r, "bf16")
    # The same graph in fp32 on the operands rounded beforehand, seeded with
    # the rounded dY. A bias is no product operand: it stays as it is, and
    # its gradient (a sum of dY) is fp32's of dY as it is.
    pre = [rounded(a) if i in operands else a for i, a in enumerate(inputs)]
    y_ref, g_ref = run(fn, pre, rounded(r), "fp32")
    _, g_plain = run(fn, pre, r, "fp32")
    g_ref = [g if i in operands else gp for i, (g, gp) in enumerate(zip(g_ref, g_plain))]
    terms = abs_terms(fn, pre, rounded(r))
    # Both sum the same fp32 terms, perhaps in another order.
    for what, got, want, t in zip(["y"] + [f"grad {i}" for i in range(len(inputs))], [y16] + g16, [y_ref] + g_ref,
                                  terms):
        bound = 2 * (k + 1) * F32_EPS * t + 1e-30
        assert np.all(np.abs(got - want) <= bound), f"{name} {what}: largest excess {np.max(np.abs(got - want) - bound)}"
    # The rounding did happen: fp32 of the unrounded operands is elsewhere.
    y32, _ = run(fn, inputs, r, "fp32")
    assert np.max(np.abs(y32 - y16)) > 10 * np.max(2 * (k + 1) * F32_EPS * terms[0])


def test_bf16_affine_against_float64_of_the_rounded_operands():
    rng = np.random.default_rng(7)
    for rows, k, n in [(1, 784, 500), (100, 784, 500), (100, 500, 100), (13, 3, 1)]:
        x, w, r = (rng.uniform(-1, 1, s).astype(np.float32) for s in [(rows, k), (k, n), (rows, n)])
        y, (dx, dw) = run(lambda a, b: F.affine(a, b), [x, w], r, "bf16")
        xr, wr, rr = (rounded(a).astype(np.float64) for a in (x, w, r))
        # float32 sums of length L: within L units of rounding of Σ|terms|.
        for got, want, terms, length in [(y, xr @ wr, np.abs(xr) @ np.abs(wr), k),
                                         (dx, rr @ wr.T, np.abs(rr) @ np.abs(wr.T), n),
                                         (dw, xr.T @ rr, np.abs(xr.T) @ np.abs(rr), rows)]:
            assert np.all(np.abs(got - want) <= (length + 1) * F32_EPS * terms + 1e-30), (rows, k, n)


def fd_gradients(fn, inputs, r, h=0.5):
    """Central differences of L = Σ r·fn(inputs) in fp32 (each function here
    is linear in each input, so h may be large: only float32 rounding of the
    outputs is left)."""
    def loss(xs):
        with nnvae.matmul_precision("fp32"):
            y = fn(*[var(a, False) for a in xs])
            y.forward()
            return float(np.sum(r.astype(np.float64) * y.d.astype(np.float64)))

    grads = []
    for i, a in enumerate(inputs):
        g = np.zeros(a.size)
        for j in range(a.size):
            plus, minus = [b.copy() for b in inputs], [b.copy() for b in inputs]
            plus[i].reshape(-1)[j] += h
            minus[i].reshape(-1)[j] -= h
            g[j] = (loss(plus) - loss(minus)) / (2 * h)
        grads.append(g.reshape(a.shape))
    return grads


# Small enough for a difference quotient per element.
GRAD_CASES = [
    ("affine", lambda x, w, b: F.affine(x, w, b), [(3, 2, 5), (10, 4), (4,)], (0, 1), 10),
    ("batch_matmul_ta_tb", lambda a, b: F.batch_matmul(a, b, True, True), [(2, 6, 3), (2, 4, 6)], (0, 1), 6),
    ("convolution", lambda x, w, b: F.convolution(x, w, b, pad=(1, 1)), [(1, 2, 5, 5), (3, 2, 3, 3), (3,)], (0, 1),
     25),
    ("deconvolution", lambda x, w, b: F.deconvolution(x, w, b, stride=(2, 2)), [(1, 2, 4, 4), (2, 3, 3, 3), (3,)],
     (0, 1), 16),
]


@pytest.mark.parametrize("name, fn, shapes, operands, k", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_bf16_gradients_against_finite_differences(name, fn, shapes, operands, k):
    """bf16's backward against the fp32 function's finite differences:
    each gradient element is a sum of products of dY and the other operand,
    each product within BF16_PRODUCT of exact, so the element is within
    BF16_PRODUCT·Σ|terms| (plus fp32 rounding, plus the differences' own)."""
    inputs = inputs_for(shapes, 3)
    r = seed_for(fn, inputs, 3)
    _, g16 = run(fn, inputs, r, "bf16")
    numeric = fd_gradients(fn, inputs, r)
    terms = abs_terms(fn, inputs, r)[1:]
    worst = 0.0
    for i, (got, want, t) in enumerate(zip(g16, numeric, terms)):
        bound = (BF16_PRODUCT + 2 * (k + 1) * F32_EPS) * t + 1e-4
        assert np.all(np.abs(got - want) <= bound), f"{name} grad {i}: largest excess {np.max(np.abs(got - want) - bound)}"
        worst = max(worst, float(np.max(np.abs(got - want))))
    # ... and bf16's error is there to be bounded (fp32's gradients are far closer).
    assert worst > 1e-4


def test_setting_names_errors_and_the_default():
    assert nnvae.get_matmul_precision() == "fp32"
    assert nnvae._core.MATMUL_PRECISIONS == ("fp32", "bf16")
    with pytest.raises(ValueError, match=r"^nnvae.set_matmul_precision: unknown matmul precision 'fp16': choose "
                                         r"fp32 or bf16$"):
        nnvae.set_matmul_precision("fp16")
    with pytest.raises(TypeError, match="precision must be a str .*got int 16"):
        nnvae.set_matmul_precision(16)
    assert nnvae.get_matmul_precision() == "fp32"
    nnvae.set_matmul_precision("bf16")
    try:
        assert nnvae.get_matmul_precision() == "bf16"
    finally:
        nnvae.set_matmul_precision("fp32")


def test_the_context_manager_restores_also_on_errors_and_nests():
    with nnvae.matmul_precision("bf16"):
        assert nnvae.get_matmul_precision() == "bf16"
        with nnvae.matmul_precision("fp32"):
            assert nnvae.get_matmul_precision() == "fp32"
        assert nnvae.get_matmul_precision() == "bf16"
    assert nnvae.get_matmul_precision() == "fp32"
    with pytest.raises(KeyError):
        with nnvae.matmul_precision("bf16"):
            raise KeyError("leaving")
    assert nnvae.get_matmul_precision() == "fp32"
    with pytest.raises(ValueError, match="'half'"):  # a bad value changes nothing
        with nnvae.matmul_precision("half"):
            pass
    assert nnvae.get_matmul_precision() == "fp32"


def test_the_setting_is_process_wide_across_threads():
    seen = []
    with nnvae.matmul_precision("bf16"):
        t = threading.Thread(target=lambda: seen.append(nnvae.get_matmul_precision()))
        t.start()
        t.join()
    assert seen == ["bf16"]
    # Products on 1 and 2 engine threads give the same bf16 result.
    x, w = inputs_for([(300, 200), (200, 257)], 5)
    results = []
    previous = nnvae.get_num_threads()
    try:
        for threads in (1, 2):
            nnvae.set_num_threads(threads)
            y, _ = run(lambda a, b: F.affine(a, b), [x, w], np.ones((300, 257), np.float32), "bf16")
            results.append(y)
    finally:
        nnvae.set_num_threads(previous)
    assert np.array_equal(results[0], results[1])


def test_this_machine_reports_its_bf16_path():
    d = nnvae.bf16_path()
    assert d["path"] in ("emulated", "avx512_bf16", "amx")
    assert d["reason"].startswith(d["path"] + ": ")
    if not d["cpu"]["avx512_bf16"] and not d["cpu"]["amx_bf16"]:
        assert d == {"path": "emulated", "reason": "emulated: this CPU has no avx512_bf16 and no amx_bf16",
                     "cpu": {"avx512_bf16": False, "amx_bf16": False, "amx_tile": False, "amx_permitted": False}}


@pytest.mark.parametrize("path, features", [("amx", ("amx_bf16", "amx_tile")), ("avx512_bf16", ("avx512_bf16",))])
def test_fast_path_equals_the_fp32_products_of_rounded_operands(path, features):
    d = nnvae.bf16_path()
    missing = [f for f in features if not d["cpu"][f]]
    if missing:
        pytest.skip(f"this CPU has no {' and no '.join(missing)} (needed by the {path} path)")
    if path == "amx" and not d["cpu"]["amx_permitted"]:
        pytest.skip(f"Linux did not grant the AMX tile state ({d['reason']})")
    if d["path"] != path:
        pytest.skip(f"this CPU has {', '.join(features)}, but this build has no {path} kernel yet")
    test_bf16_products_equal_the_fp32_products_of_rounded_operands(*CASES[0])
    test_bf16_products_equal_the_fp32_products_of_rounded_operands(*CASES[5])

"""Runs the engine's AVX-512 product kernels on the emulated CPU
(bochs_cpu.py): the AVX512-BF16 kernel ("dpbf16"), and the fp32 AVX-512
kernel in fp32 ("avx512") and in its bf16 emulation ("avx512 bf16"). Prints
one JSON line per kernel and case: the worst error against a float64
product of the same operands (rounded to bf16 for the bf16 ones), relative
to the bound of an fp32 sum of that length. Run by
tests/python/test_kernels_emulated.py:

    python run_kernels.py KERNELS_SO PATCHED_BOCHSCPU_DIR
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bochs_cpu  # noqa: E402

bochs_cpu.load_patched(sys.argv[2])
from nnvae._core import round_to_bf16  # noqa: E402  (the engine's rounding: the one rule)

machine = bochs_cpu.Machine(sys.argv[1])
rng = np.random.default_rng(7)
KERNELS = {"dpbf16": ("nnvae_dpbf16_block", True), "avx512": ("nnvae_avx512_block", False),
           "avx512 bf16": ("nnvae_avx512_block", True)}


def rounded(x):
    return np.asarray(round_to_bf16(np.ascontiguousarray(x, np.float32))).reshape(x.shape)


def run(kernel, m, n, k, ta=False, tb=False, accumulate=False, bias=False, ldc_pad=0, a=None, b=None):
    """C (m, n) [= bias | += C0] + op(A) · op(B) on the emulated CPU, and the
    float64 reference of the operands (rounded for the bf16 kernels)."""
    entry, bf16 = KERNELS[kernel]
    machine.reset_heap()
    a = rng.standard_normal((m, k)).astype(np.float32) if a is None else a
    b = rng.standard_normal((k, n)).astype(np.float32) if b is None else b
    ldc = n + ldc_pad
    c0 = rng.standard_normal((m, ldc)).astype(np.float32)
    bias_v = rng.standard_normal(n).astype(np.float32)
    a_stored = np.ascontiguousarray(a.T) if ta else a  # (k, m) when transposed
    b_stored = np.ascontiguousarray(b.T) if tb else b  # (n, k) when transposed
    pa, pb = machine.alloc(a_stored.tobytes() or b"\0"), machine.alloc(b_stored.tobytes() or b"\0")
    pc = machine.alloc(c0.tobytes())
    pbias = machine.alloc(bias_v.tobytes()) if bias else 0
    a_rs, a_cs = (1, m) if ta else (k, 1)
    b_rs, b_cs = (1, k) if tb else (n, 1)
    args = [pa, a_rs, a_cs, pb, b_rs, b_cs, pc, ldc, m, n, k, int(accumulate), pbias, int(bf16)]
    machine.call(entry, machine.alloc(struct.pack(f"<{len(args)}q", *args)))
    c = np.frombuffer(machine.read(pc, c0.nbytes), np.float32).reshape(m, ldc)
    ra, rb = (rounded(a), rounded(b)) if bf16 else (a, b)
    ra, rb = ra.astype(np.float64), rb.astype(np.float64)
    start = c0[:, :n].astype(np.float64) if accumulate else np.broadcast_to(bias_v, (m, n)) if bias else 0.0
    ref = start + ra @ rb
    scale = np.abs(start) + np.abs(ra) @ np.abs(rb)
    return c, ref, scale, c0


def report(kernel, name, m, n, k, **kw):
    c, ref, scale, c0 = run(kernel, m, n, k, **kw)
    bound = (k + 2) * 2.0 ** -24 * scale + 1e-30
    worst = float(np.max(np.abs(c[:, :n] - ref) / bound)) if c[:, :n].size else 0.0
    untouched = bool(np.array_equal(c[:, n:], c0[:, n:]))  # the columns past n (ldc padding) kept
    print(json.dumps({"kernel": kernel, "case": name, "worst_over_bound": worst,
                      "finite": bool(np.isfinite(c[:, :n]).all()), "padding_untouched": untouched}), flush=True)


for kernel in KERNELS:
    # (3, 5, 321) and (14, 70, 200) with B transposed take the fp32 kernel's
    # dot-product path (few rows, long k); the others its packed panels.
    for m, n, k in [(1, 1, 1), (1, 16, 2), (2, 17, 3), (5, 32, 7), (14, 33, 16), (15, 64, 33), (29, 70, 320),
                    (3, 5, 321), (14, 70, 200), (17, 40, 700), (28, 650, 9), (6, 31, 0)]:
        for ta, tb in [(False, False), (False, True), (True, False)]:
            report(kernel, f"{m}x{n}x{k} ta={int(ta)} tb={int(tb)}", m, n, k, ta=ta, tb=tb)
    for m, n, k in [(7, 45, 13), (14, 32, 640)]:
        report(kernel, f"{m}x{n}x{k} accumulate", m, n, k, accumulate=True, ldc_pad=3)
        report(kernel, f"{m}x{n}x{k} bias", m, n, k, bias=True, ldc_pad=5)
    # NaN in A's row 2 reaches every column of C's row 2 and nothing else.
    a = rng.standard_normal((4, 9)).astype(np.float32)
    a[2, 5] = np.nan
    c, _, _, _ = run(kernel, 4, 19, 9, a=a)
    print(json.dumps({"kernel": kernel, "case": "nan row",
                      "nan_rows": sorted({int(i) for i in np.argwhere(np.isnan(c))[:, 0]}),
                      "nan_count": int(np.isnan(c).sum())}), flush=True)

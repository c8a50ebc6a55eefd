"""The engine's AVX-512 product kernels on an emulated Sapphire Rapids, so
that they are tested on every machine, not only on those whose CPU has
AVX-512 or AVX512-BF16 (where test_matmul, test_precision and
test_precision.py run them natively through the engine):

- the AVX512-BF16 kernel (cpp/src/functions/gemm_kernel_dpbf16.cpp);
- the fp32 AVX-512 kernel (gemm_kernel.cpp, with its dot-product path
  gemm_dot.cpp), in fp32 and in its bf16 emulation.

Their sources are built with the entry in tests/emulated into a shared
object without the C library, and tests/emulated/run_kernels.py runs them
on Bochs' CPU emulator (tests/emulated/bochs_cpu.py) in a child process (an
emulator failure must not take pytest down with it).
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EMULATED = ROOT / "tests" / "emulated"
sys.path.insert(0, str(EMULATED))
import bochs_cpu  # noqa: E402

KERNELS = ("dpbf16", "avx512", "avx512 bf16")


def no_emulator():
    reason = bochs_cpu.unavailable()
    if reason:
        return f"no emulated CPU: {reason}"
    if (shutil.which("c++") or shutil.which("g++")) is None or not (ROOT / "cpp" / "src").exists():
        return "needs a C++ compiler and the engine's source tree"
    return None


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    reason = no_emulator()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("kernels")
    so = bochs_cpu.build_kernels(ROOT, folder / "kernels.so")
    bochs_cpu.prepare(folder)
    run = subprocess.run([sys.executable, str(EMULATED / "run_kernels.py"), str(so), str(folder)],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    return {(r["kernel"], r["case"]): r for r in map(json.loads, run.stdout.splitlines())}


@pytest.mark.parametrize("kernel", KERNELS)
def test_products_are_fp32_sums_of_the_operands(results, kernel):
    products = [r for (k, _), r in results.items() if k == kernel and "worst_over_bound" in r]
    # 12 shapes × 3 layouts, and accumulate and bias on 2 shapes.
    assert len(products) == 40
    for r in products:
        assert r["finite"], r
        # The error against float64 sums of the same operands (bf16-rounded
        # for the bf16 kernels) stays inside the bound of an fp32 sum of that
        # length; a bf16 kernel reading unrounded operands, or the fp32
        # kernel rounding them, would miss it by a factor of about 2**15 / k.
        assert r["worst_over_bound"] <= 1.0, r
        assert r["padding_untouched"], r


@pytest.mark.parametrize("kernel", KERNELS)
def test_empty_sum_leaves_zero_and_nan_stays_in_its_row(results, kernel):
    assert results[(kernel, "6x31x0 ta=0 tb=0")]["worst_over_bound"] == 0.0
    assert results[(kernel, "nan row")] == {"kernel": kernel, "case": "nan row", "nan_rows": [2], "nan_count": 19}


def test_an_instruction_the_emulated_cpu_lacks_is_reported_not_crashed(tmp_path):
    """The harness itself: an AMX instruction (this emulator has none) is a
    #UD, raised as an error naming where, in the child process."""
    reason = no_emulator()
    if reason:
        pytest.skip(reason)
    (tmp_path / "ud.cpp").write_text('extern "C" void f() { __asm__ volatile("tilerelease"); }\n')
    bochs_cpu.build_freestanding([tmp_path / "ud.cpp"], tmp_path / "ud.so")
    bochs_cpu.prepare(tmp_path)
    code = (f"import sys; sys.path.insert(0, {str(EMULATED)!r}); import bochs_cpu; "
            f"bochs_cpu.load_patched({str(tmp_path)!r}); m = bochs_cpu.Machine({str(tmp_path / 'ud.so')!r})\n"
            "try:\n    m.call('f')\nexcept RuntimeError as e:\n    print(e)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "f: the emulated CPU raised exception 6 at offset" in run.stdout

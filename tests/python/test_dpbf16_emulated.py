"""The AVX512-BF16 product kernel (cpp/src/functions/gemm_kernel_dpbf16.cpp)
on an emulated Sapphire Rapids, so that it is tested on every machine, not
only on those whose CPU has AVX512-BF16 (where test_precision.py runs it
natively through the engine).

The kernel's source is built with the entry in tests/emulated into a
shared object without the C++ runtime, and tests/emulated/run_dpbf16.py
runs it on Bochs' CPU emulator (tests/emulated/bochs_cpu.py) in a child
process (an emulator failure must not take pytest down with it).
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EMULATED = ROOT / "tests" / "emulated"
KERNEL = ROOT / "cpp" / "src" / "functions" / "gemm_kernel_dpbf16.cpp"
sys.path.insert(0, str(EMULATED))
import bochs_cpu  # noqa: E402


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    reason = bochs_cpu.unavailable()
    if reason:
        pytest.skip(f"no emulated CPU: {reason}")
    if (shutil.which("c++") or shutil.which("g++")) is None or not KERNEL.exists():
        pytest.skip("needs a C++ compiler and the engine's source tree")
    folder = tmp_path_factory.mktemp("dpbf16")
    so = bochs_cpu.build_dpbf16_kernel(ROOT, folder / "dpbf16.so")
    bochs_cpu.prepare(folder)
    run = subprocess.run([sys.executable, str(EMULATED / "run_dpbf16.py"), str(so), str(folder)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return {r["case"]: r for r in map(json.loads, run.stdout.splitlines())}


def test_products_are_fp32_sums_of_the_rounded_operands(results):
    products = [r for r in results.values() if "worst_over_bound" in r]
    # 11 shapes × 3 layouts, and accumulate and bias on 2 shapes.
    assert len(products) == 37
    for r in products:
        assert r["finite"], r
        # The error against float64 sums of the same bf16 operands stays
        # inside the bound of an fp32 sum of that length; unrounded operands
        # would miss it by a factor of about 2**15 / k.
        assert r["worst_over_bound"] <= 1.0, r
        assert r["padding_untouched"], r


def test_empty_sum_leaves_zero_and_nan_stays_in_its_row(results):
    assert results["6x31x0 ta=0 tb=0"]["worst_over_bound"] == 0.0
    assert results["nan row"] == {"case": "nan row", "nan_rows": [2], "nan_count": 19}


def test_an_instruction_the_emulated_cpu_lacks_is_reported_not_crashed(tmp_path):
    """The harness itself: an AMX instruction (this emulator has none) is a
    #UD, raised as an error naming where, in the child process."""
    reason = bochs_cpu.unavailable()
    if reason:
        pytest.skip(f"no emulated CPU: {reason}")
    compiler = shutil.which("cc") or shutil.which("gcc")
    (tmp_path / "ud.c").write_text("void f(void) { __asm__ volatile(\"tilerelease\"); }\n")
    subprocess.run([compiler, "-O2", "-fPIC", "-shared", "-nostdlib", str(tmp_path / "ud.c"), "-o",
                    str(tmp_path / "ud.so")], check=True)
    bochs_cpu.prepare(tmp_path)
    code = (f"import sys; sys.path.insert(0, {str(EMULATED)!r}); import bochs_cpu; "
            f"bochs_cpu.load_patched({str(tmp_path)!r}); m = bochs_cpu.Machine({str(tmp_path / 'ud.so')!r})\n"
            "try:\n    m.call('f')\nexcept RuntimeError as e:\n    print(e)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "f: the emulated CPU raised exception 6 at offset" in run.stdout

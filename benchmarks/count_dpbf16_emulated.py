"""Instructions the AVX512-BF16 product kernel runs for the VAE's products,
beside the fp32 AVX-512 kernel's, counted on the emulated CPU of
tests/emulated (Bochs): a stand-in for their speed on machines without
those units, where they cannot be timed. Counts are not cycles (a
broadcast, a load and a VDPBF16PS cost differently), but packing and loop
overheads show in them; per 32 multiply-adds the ideal is a little over one
instruction for VDPBF16PS, two for the fp32 kernel's FMAs (16 each).

    python benchmarks/count_dpbf16_emulated.py [--batch 100]

Needs what tests/python/test_kernels_emulated.py needs (bochscpu-python
0.4.0 on CPython 3.11, Linux x86-64; a C++ compiler); takes a few minutes.
"""
import argparse
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "emulated"))
import bochs_cpu  # noqa: E402


def count(machine, entry, m, n, k, ta, tb):
    """Instructions for C (m, n) = op(A) · op(B), A stored (k, m) when ta, B
    stored (n, k) when tb, all zeros (the count does not depend on values)."""
    machine.reset_heap()
    pa, pb, pc = machine.alloc(m * k * 4), machine.alloc(k * n * 4), machine.alloc(m * n * 4)
    a_rs, a_cs = (1, m) if ta else (k, 1)
    b_rs, b_cs = (1, k) if tb else (n, 1)
    args = [pa, a_rs, a_cs, pb, b_rs, b_cs, pc, n, m, n, k, 0, 0, 0]
    return machine.call(entry, machine.alloc(struct.pack(f"<{len(args)}q", *args)), count=True)


def child(so, batch):
    machine = bochs_cpu.Machine(so)
    print(f"{'product (the first layer, batch ' + str(batch) + ')':<40} {'instructions per 32 multiply-adds':>36}")
    print(f"{'':<40} {'AVX512-BF16':>14} {'fp32 AVX-512':>14}")
    for name, (m, n, k, ta, tb) in [("forward  x · W      ", (batch, 500, 784, False, False)),
                                    ("backward dY · Wᵀ    ", (batch, 784, 500, False, True)),
                                    ("backward Xᵀ · dY    ", (784, 500, batch, True, False))]:
        per = [count(machine, entry, m, n, k, ta, tb) / (m * n * k / 32)
               for entry in ("nnvae_dpbf16_block", "nnvae_avx512_block")]
        print(f"{name} ({m}, {k}) · ({k}, {n})".ljust(40) + f" {per[0]:>14.2f} {per[1]:>14.2f}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        bochs_cpu.load_patched(a.child[1])
        return child(a.child[0], a.batch)
    reason = bochs_cpu.unavailable()
    if reason:
        print(f"count_dpbf16_emulated: no emulated CPU: {reason}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        so = bochs_cpu.build_kernels(ROOT, Path(folder) / "kernels.so")
        bochs_cpu.prepare(Path(folder))
        return subprocess.run([sys.executable, __file__, "--batch", str(a.batch), "--child", str(so), folder]).returncode


if __name__ == "__main__":
    sys.exit(main())

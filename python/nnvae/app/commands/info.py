"""`nnvae info`: what this nnvae runs on this machine.

    nnvae info

Prints the version, the engine's thread count, the matrix products'
precision and the path bf16 products take here (and why), e.g.

    bf16 products: emulated: this CPU has no avx512_bf16 and no amx_bf16
"""
import argparse


def configure(p: argparse.ArgumentParser) -> None:
    pass


def run(args) -> int:
    import nnvae
    from ..cli import version_line

    print(version_line())
    print(f"threads: {nnvae.get_num_threads()} (at most {nnvae._core.MAX_THREADS})")
    print(f"matmul precision: {nnvae.get_matmul_precision()} (nnvae.set_matmul_precision, nnvae-train "
          f"--precision: {' or '.join(nnvae._core.MATMUL_PRECISIONS)})")
    print(f"bf16 products: {nnvae.bf16_path()['reason']}")
    return 0

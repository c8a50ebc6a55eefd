#!/usr/bin/env python3
"""Training-speed benchmark of issue 5: the same code as `nnvae bench`.

    python benchmarks/bench_train.py [options]     (python benchmarks/bench_train.py --help)

Runs from the source checkout without installing: it puts the checkout's
python/ folder first on the path (nnvae._core must have been built there, or
nnvae be installed) and builds the C++ worker benchmarks/bench_step itself.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from nnvae.commands import bench  # noqa: E402
from nnvae.errors import NnvaeError  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench_train.py", description=bench.__doc__.splitlines()[0])
    bench.configure(parser)
    args = parser.parse_args(argv)
    try:
        return bench.run(args)
    except NnvaeError as e:
        parser.exit(1, f"bench_train.py: error: {e}\n")


if __name__ == "__main__":
    sys.exit(main())

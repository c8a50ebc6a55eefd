"""Time loading all 70,000 MNIST images (train + test, labels too) from the .gz files.

    python benchmarks/bench_load.py [--data-dir D] [--repeat 5] [--download]

Measures nnvae.app.datasets.load_mnist (Python: zlib + numpy, every structural
check) and, when the C++ module is built, the C++ reader
(nnvae._core.vae.load_mnist_split). Target: under 1 s. The files are looked up
as load_mnist does (D/mnist, else $NNVAE_DATA/mnist, else the user cache);
nothing is downloaded unless --download is given.
"""
import argparse
import statistics
import sys
import time


def _time(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None, help="root holding mnist/ (default: the usual lookup)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; best and median are shown")
    parser.add_argument("--download", action="store_true", help="fetch the files first if missing")
    args = parser.parse_args(argv)

    from nnvae.app import datasets
    from nnvae.errors import NnvaeError

    def python_load():
        tx, ty = datasets.load_mnist("train", args.data_dir, download=args.download)
        sx, sy = datasets.load_mnist("test", args.data_dir, download=args.download)
        return len(tx) + len(sx)

    try:
        n = python_load()  # also warms the page cache
    except NnvaeError as e:
        print(f"bench_load: {e}", file=sys.stderr)
        return 1
    folder = datasets.dataset_dir("mnist", args.data_dir)
    best, median = _time(python_load, args.repeat)
    print(f"files: {folder}")
    print(f"python loader (nnvae.app.datasets.load_mnist): {n} images in {best:.3f} s best, "
          f"{median:.3f} s median of {args.repeat} ({'OK' if best < 1.0 else 'SLOWER THAN'} 1 s target)")

    try:
        from nnvae import _core
        loader = _core.vae.load_mnist_split
    except (ImportError, AttributeError) as e:
        print(f"C++ reader: skipped (nnvae._core.vae.load_mnist_split unavailable: {e})")
        return 0

    def cpp_load():
        tx, _ = loader(str(folder), "train")
        sx, _ = loader(str(folder), "test")
        return len(tx) + len(sx)

    best, median = _time(cpp_load, args.repeat)
    print(f"C++ reader (nnvae._core.vae.load_mnist_split): {cpp_load()} images in {best:.3f} s best, "
          f"{median:.3f} s median of {args.repeat}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

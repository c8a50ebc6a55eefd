"""Quality of the PyTorch twin: the tutorial's VAE trained by PyTorch on real
MNIST with the tutorial's recipe (Adam 3e-4, batch 100, fresh permutation each
epoch), then the full-test-set one-sample negative ELBO, to set beside
`nnvae-train`'s metrics.json.

    pip install torch==2.13.0
    python benchmarks/twin_quality.py --init fan-in --data-dir D   # nnvae-train's default (nn.Linear's)
    python benchmarks/twin_quality.py --init glorot --data-dir D   # the tutorial's pf::affine init

Takes about 12 minutes for 60,000 iterations on one thread here.
"""
import argparse
import time

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--init", choices=("fan-in", "glorot"), default="fan-in")
    p.add_argument("--iterations", type=int, default=60000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None, help="root holding mnist/ (as nnvae-train's --data-dir)")
    a = p.parse_args(argv)

    import torch
    from nnvae.app.datasets import load_mnist
    from torch_twin import Twin  # the same folder: the model bench_train.py times

    torch.set_num_threads(a.threads)
    train = torch.from_numpy(load_mnist("train", a.data_dir)[0].reshape(-1, 784))
    test = torch.from_numpy(load_mnist("test", a.data_dir)[0].reshape(-1, 784))
    twin = Twin(torch, 100, train.numpy(), seed=a.seed, init=a.init)

    t0, it = time.time(), 0
    while it < a.iterations:
        perm = torch.randperm(len(train))
        for b in range(len(train) // 100):
            if it >= a.iterations:
                break
            loss = twin.step(train[perm[b * 100:(b + 1) * 100]])
            it += 1
            if it % 5000 == 0:
                print(f"iter {it}: loss {loss.item():.3f} ({time.time() - t0:.0f} s)", flush=True)
    with torch.no_grad():
        nelbo = np.mean([twin.loss(test[i:i + 100]).item() for i in range(0, len(test), 100)])
    print(f"init {a.init}: test negative ELBO {nelbo:.4f} after {it} iterations, {time.time() - t0:.0f} s")

if __name__ == "__main__":
    main()

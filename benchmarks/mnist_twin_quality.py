"""Quality of a PyTorch twin of NNabla's MNIST programs (mnist_twin.py): the
program's recipe on real MNIST (its model, initial values, Adam settings,
batch 128, a fresh permutation each epoch), then the error on all 10,000
test images (batch normalization with its running statistics), every
--every iterations and at the end.

    python benchmarks/mnist_twin_quality.py --model resnet --data-dir D          # 10,000 iterations
    python benchmarks/mnist_twin_quality.py --model lenet --iterations 1000 --data-dir D

Long for ResNet: about 10,000 steps of a few tenths of a second each on one
quiet core here, plus the test passes; run it niced in the background.
"""
import argparse
import time

import numpy as np

import mnist_models


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=("lenet", "resnet"), default="resnet", help="a classifier (default resnet)")
    p.add_argument("--iterations", type=int, default=10000, help="the programs' max_iter (default 10000)")
    p.add_argument("--every", type=int, default=1000, help="iterations between test errors (default 1000)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=313, help="initial values and batch order (default 313)")
    p.add_argument("--data-dir", default=None, help="folder holding mnist/ or the MNIST files (as nnvae-train's)")
    a = p.parse_args(argv)

    import torch
    from nnvae.app.datasets import load_mnist
    from mnist_twin import Twin

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train_x, train_y = load_mnist("train", a.data_dir, download=False)
    test_x, test_y = load_mnist("test", a.data_dir, download=False)
    train_x, test_x = train_x.reshape(-1, 1, 28, 28), test_x.reshape(-1, 1, 28, 28)
    batch = mnist_models.model(a.model)["batch"]
    twin = Twin(torch, a.model, a.seed)
    rng = np.random.RandomState(a.seed)
    order, pos, losses, t0 = rng.permutation(len(train_x)), 0, [], time.perf_counter()

    def test_error():
        wrong = sum(twin.errors((test_x[i:i + 1000] / 255.0).astype(np.float32), test_y[i:i + 1000])
                    for i in range(0, len(test_x), 1000))
        return wrong / len(test_x)

    for it in range(1, a.iterations + 1):
        if pos + batch > len(order):
            order, pos = rng.permutation(len(train_x)), 0
        idx = order[pos:pos + batch]
        pos += batch
        losses.append(float(twin.step(mnist_models.batch(a.model, train_x[idx], train_y[idx], 0, batch)).detach()))
        if it % a.every == 0 or it == a.iterations:
            print(f"iter {it}: mean training loss {np.mean(losses):.4f}, "
                  f"test error {test_error():.4f} (all {len(test_x)} test images), "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
            losses = []


if __name__ == "__main__":
    main()

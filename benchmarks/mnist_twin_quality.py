"""Quality of a PyTorch twin of NNabla's MNIST programs (mnist_twin.py): the
program's recipe on real MNIST (its model, initial values, Adam settings,
batch 128, a fresh permutation each epoch), then the error on all 10,000
test images (batch normalization with its running statistics), every
--every iterations and at the end.

    python benchmarks/mnist_twin_quality.py --model resnet --data-dir D          # 10,000 iterations
    python benchmarks/mnist_twin_quality.py --model lenet --iterations 1000 --data-dir D

Long for ResNet: about 10,000 steps of a few tenths of a second each on one
quiet core here, plus the test passes; run it niced in the background.
With --checkpoint FILE the run can be stopped and taken up again: every
--checkpoint-every iterations (and at the end) the twin's parameters and
running statistics, Adam's states, both random generators, the data order
and the iteration go to FILE (written whole, then renamed into place); a
run started with an existing FILE goes on from there and ends where an
unbroken run would have (the same losses, to the last bit, on one thread).

    python benchmarks/mnist_twin_quality.py --model resnet --data-dir D --checkpoint twin_resnet.pt
"""
import argparse
import os
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
    p.add_argument("--checkpoint", default=None, metavar="FILE", help="where the run is saved and taken up from")
    p.add_argument("--checkpoint-every", type=int, default=100, metavar="N",
                   help="iterations between checkpoints (default 100)")
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
    first = 1
    if a.checkpoint and os.path.exists(a.checkpoint):
        state = torch.load(a.checkpoint, weights_only=False)
        if (state["model"], state["seed"]) != (a.model, a.seed):
            raise SystemExit(f"{a.checkpoint}: a checkpoint of {state['model']} with seed {state['seed']}, "
                             f"not of {a.model} with seed {a.seed}")
        twin.net.load_state_dict(state["net"])
        for opt, saved in zip(twin.opts, state["opts"]):
            opt.load_state_dict(saved)
        rng.set_state(state["numpy_rng"])
        torch.set_rng_state(state["torch_rng"])
        order, pos, losses, first = state["order"], state["pos"], state["losses"], state["iteration"] + 1
        print(f"taken up from {a.checkpoint} after iteration {state['iteration']}", flush=True)

    def save(it):
        state = {"model": a.model, "seed": a.seed, "iteration": it, "net": twin.net.state_dict(),
                 "opts": [opt.state_dict() for opt in twin.opts], "numpy_rng": rng.get_state(),
                 "torch_rng": torch.get_rng_state(), "order": order, "pos": pos, "losses": losses}
        tmp = f"{a.checkpoint}.{os.getpid()}.tmp"
        torch.save(state, tmp)
        os.replace(tmp, a.checkpoint)

    def test_error():
        wrong = sum(twin.errors((test_x[i:i + 1000] / 255.0).astype(np.float32), test_y[i:i + 1000])
                    for i in range(0, len(test_x), 1000))
        return wrong / len(test_x)

    for it in range(first, a.iterations + 1):
        if pos + batch > len(order):
            order, pos = rng.permutation(len(train_x)), 0
        idx = order[pos:pos + batch]
        pos += batch
        losses.append(float(twin.step(mnist_models.batch(a.model, train_x[idx], train_y[idx], 0, batch)).detach()))
        if a.checkpoint and (it % a.checkpoint_every == 0 or it == a.iterations):
            save(it)  # before a line empties `losses`: a run taken up from here prints what an unbroken one does
        if it % a.every == 0 or it == a.iterations:
            print(f"iter {it}: mean training loss {np.mean(losses):.4f}, "
                  f"test error {test_error():.4f} (all {len(test_x)} test images), "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
            losses = []


if __name__ == "__main__":
    main()

"""Quality of the PyTorch twin: the tutorial's VAE trained by PyTorch on real
MNIST with the tutorial's recipe (Adam 3e-4, batch 100, fresh permutation each
epoch), then the full-test-set one-sample negative ELBO, to set beside
`nnvae-train`'s metrics.json.

    pip install torch==2.13.0
    python benchmarks/twin_quality.py --init glorot --data-dir D   # nnvae's default init
    python benchmarks/twin_quality.py --init fan-in --data-dir D   # PyTorch's nn.Linear default

Takes about 12 minutes for 60,000 iterations on one thread here.
"""
import argparse
import time

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--init", choices=("glorot", "fan-in"), default="glorot")
    p.add_argument("--iterations", type=int, default=60000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None, help="root holding mnist/ (as nnvae-train's --data-dir)")
    a = p.parse_args(argv)

    import torch
    import torch.nn.functional as F
    from nnvae.datasets import load_mnist

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train = torch.from_numpy(load_mnist("train", a.data_dir)[0].reshape(-1, 784))
    test = torch.from_numpy(load_mnist("test", a.data_dir)[0].reshape(-1, 784))

    def affine(n_in, n_out):
        layer = torch.nn.Linear(n_in, n_out)  # fan-in: PyTorch's own U(±1/sqrt(n_in))
        if a.init == "glorot":  # nnvae's pf::affine: W ~ U(±sqrt(6/(n_in+n_out))), b = 0
            lim = (6.0 / (n_in + n_out)) ** 0.5
            torch.nn.init.uniform_(layer.weight, -lim, lim)
            torch.nn.init.zeros_(layer.bias)
        return layer

    fc1, fc2, fc_mu, fc_lv = affine(784, 500), affine(500, 500), affine(500, 50), affine(500, 50)
    fc3, fc4, fc5 = affine(50, 500), affine(500, 500), affine(500, 784)
    layers = torch.nn.ModuleList([fc1, fc2, fc_mu, fc_lv, fc3, fc4, fc5])
    opt = torch.optim.Adam(layers.parameters(), lr=3e-4, betas=(0.9, 0.999), eps=1e-8)

    def loss_of(x_u8):
        # SPEC §2: x = pixel/255, target x >= 0.5; reconstruction + KL, mean over the batch.
        x = x_u8.float() / 255
        h = F.elu(fc2(F.elu(fc1(x))))
        mu, logvar = fc_mu(h), fc_lv(h)
        sigma = torch.exp(0.5 * logvar)
        logits = fc5(F.elu(fc4(F.elu(fc3(mu + sigma * torch.randn_like(mu))))))
        rec = F.binary_cross_entropy_with_logits(logits, (x >= 0.5).float(), reduction="none").sum(1)
        kl = 0.5 * (mu * mu + sigma * sigma).sum(1) - 0.5 * (1 + logvar).sum(1)
        return (rec + kl).mean()

    t0, it = time.time(), 0
    while it < a.iterations:
        perm = torch.randperm(len(train))
        for b in range(len(train) // 100):
            if it >= a.iterations:
                break
            opt.zero_grad()
            loss = loss_of(train[perm[b * 100:(b + 1) * 100]])
            loss.backward()
            opt.step()
            it += 1
            if it % 5000 == 0:
                print(f"iter {it}: loss {loss.item():.3f} ({time.time() - t0:.0f} s)", flush=True)
    with torch.no_grad():
        nelbo = np.mean([loss_of(test[i:i + 100]).item() for i in range(0, len(test), 100)])
    print(f"init {a.init}: test negative ELBO {nelbo:.4f} after {it} iterations, {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()

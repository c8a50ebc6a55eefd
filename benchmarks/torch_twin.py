"""The PyTorch twin of the tutorial's VAE (SPEC §2), for `nnvae bench`.

Same layers, initialisation scheme, loss and optimiser as nnvae's trainer:
x (B, 784) = uint8 / 255, target xb = (x >= 0.5); encoder 784-500-500 with
ELU, mu and logvar (50 each), z = mu + exp(logvar / 2)·eps; decoder
50-500-500-784 with ELU, logits; loss = mean over the batch of
[Σ BCE-with-logits(logits, xb) + ½Σ(mu² + sigma²) − ½Σ(1 + logvar)];
Adam(3e-4, 0.9, 0.999, 1e-8). Each step converts its batch from uint8, as
nnvae's trainer does.

Run as a worker (the protocol of benchmarks/bench_step.cpp):

    python torch_twin.py --threads T
    stdin:  step B N    N training steps at batch B  -> {"seconds": s, "loss": l}
            quit

PyTorch is optional: install the CPU build with `pip install torch==2.13.0`.
"""
import argparse
import json
import sys
import time

import numpy as np


def make_images(count, seed=1):
    """MNIST-shaped uint8 digits: a bright blob in the middle, some noise."""
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[0:28, 0:28]
    centre = ((r > 5) & (r < 23) & (c > 7) & (c < 21)).reshape(-1)
    u = rng.random((count, 784))
    bright = (150 + 105 * rng.random((count, 784))).astype(np.uint8)
    return np.where(centre & (u < 0.45), bright, np.where(u < 0.02, 90, 0)).astype(np.uint8)


class Twin:
    """init "fan-in": PyTorch's own nn.Linear default, U(±1/sqrt(n_in)) for W
    and b, as nnvae-train's default; "glorot": W ~ U(±sqrt(6/(n_in + n_out))),
    b = 0, as the tutorial's pf::affine."""

    def __init__(self, torch, batch, images, seed=313, init="fan-in"):
        nn = torch.nn
        torch.manual_seed(seed)

        def affine(n_in, n_out):
            layer = nn.Linear(n_in, n_out)
            if init == "glorot":
                lim = (6.0 / (n_in + n_out)) ** 0.5
                nn.init.uniform_(layer.weight, -lim, lim)
                nn.init.zeros_(layer.bias)
            return layer

        self.torch = torch
        self.enc = nn.Sequential(affine(784, 500), nn.ELU(), affine(500, 500), nn.ELU())
        self.fc_mu, self.fc_logvar = affine(500, 50), affine(500, 50)
        self.dec = nn.Sequential(affine(50, 500), nn.ELU(), affine(500, 500), nn.ELU(), affine(500, 784))
        params = [p for m in (self.enc, self.fc_mu, self.fc_logvar, self.dec) for p in m.parameters()]
        self.opt = torch.optim.Adam(params, lr=3e-4, betas=(0.9, 0.999), eps=1e-8)
        self.batch = batch
        self.images = torch.from_numpy(images)
        self.pos = 0

    def loss(self, x_u8):
        """The mean one-sample negative ELBO of a uint8 batch (B, 784)."""
        torch = self.torch
        F = torch.nn.functional
        x = x_u8.float() / 255.0
        xb = (x >= 0.5).float()
        h = self.enc(x)
        mu, logvar = self.fc_mu(h), self.fc_logvar(h)
        sigma = torch.exp(0.5 * logvar)
        z = mu + sigma * torch.randn_like(mu)
        logits = self.dec(z)
        rec = F.binary_cross_entropy_with_logits(logits, xb, reduction="sum")
        kl = 0.5 * (mu * mu + sigma * sigma).sum() - 0.5 * (1.0 + logvar).sum()
        return (rec + kl) / x_u8.shape[0]

    def step(self, x_u8=None):
        """One Adam step on `x_u8`, or on the next batch of the twin's images."""
        if x_u8 is None:
            if self.pos + self.batch > self.images.shape[0]:
                self.pos = 0
            x_u8 = self.images[self.pos:self.pos + self.batch]
            self.pos += self.batch
        loss = self.loss(x_u8)
        self.opt.zero_grad(set_to_none=False)
        loss.backward()
        self.opt.step()
        return loss


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    images = make_images(6000)
    twins = {}
    print(json.dumps({"ready": True, "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        try:
            if words[0] != "step":
                raise ValueError(f"unknown command {words[0]!r}")
            batch, steps = int(words[1]), int(words[2])
            if batch not in twins:
                twins[batch] = Twin(torch, batch, images)
            twin = twins[batch]
            twin.step()  # warm outside the timing
            t0 = time.perf_counter()
            for _ in range(steps):
                loss = twin.step()
            seconds = time.perf_counter() - t0
            print(json.dumps({"seconds": seconds, "loss": float(loss.detach())}), flush=True)
        except Exception as e:  # reported to the driver, which stops
            print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

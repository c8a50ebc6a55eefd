"""The PyTorch twin of the tutorial's VAE, the other side of the training
benchmark (bench_train.py) and of the quality comparison (twin_quality.py).

Same layers (read from the engine's parameter table, workload.layers),
initialisation scheme, loss and optimiser settings (VaeConfig's) as
nnvae's trainer: x (B, 784) = uint8 / 255, target xb = (x >= 0.5); encoder
784-500-500 with ELU, mu and logvar (50 each), z = mu + exp(logvar / 2)·eps;
decoder 50-500-500-784 with ELU, logits; loss = mean over the batch of
[Σ BCE-with-logits(logits, xb) + ½Σ(mu² + sigma²) − ½Σ(1 + logvar)]; Adam.
Each step converts its batch from uint8, as nnvae's trainer does.

Run as a worker (the protocol in harness.py):

    python benchmarks/torch_twin.py --threads T [--autocast]

--autocast computes the step's forward pass under
`torch.autocast("cpu", dtype=torch.bfloat16)` (PyTorch's one-line bf16:
the products in bf16, the rest as autocast decides), as a PyTorch user
would add it; the backward pass follows the forward's types.

PyTorch is optional: install the CPU build with `pip install torch==2.13.0`.
"""
import argparse
import sys
import time

from harness import serve
from workload import adam_settings, images, layers


class Twin:
    """init "fan-in": PyTorch's own nn.Linear default, U(±1/sqrt(n_in)) for W
    and b, as nnvae-train's default; "glorot": W ~ U(±sqrt(6/(n_in + n_out))),
    b = 0, as the tutorial's pf::affine."""

    def __init__(self, torch, batch, images, seed=313, init="fan-in", autocast=False):
        nn = torch.nn
        torch.manual_seed(seed)

        def affine(n_in, n_out):
            layer = nn.Linear(n_in, n_out)
            if init == "glorot":
                lim = (6.0 / (n_in + n_out)) ** 0.5
                nn.init.uniform_(layer.weight, -lim, lim)
                nn.init.zeros_(layer.bias)
            return layer

        fc = {name: affine(n_in, n_out) for name, n_in, n_out in layers()}
        self.torch = torch
        self.enc = nn.Sequential(fc["fc1"], nn.ELU(), fc["fc2"], nn.ELU())
        self.fc_mu, self.fc_logvar = fc["fc_mu"], fc["fc_logvar"]
        self.dec = nn.Sequential(fc["fc3"], nn.ELU(), fc["fc4"], nn.ELU(), fc["fc5"])
        lr, beta1, beta2, eps = adam_settings()
        self.opt = torch.optim.Adam(list(nn.ModuleDict(fc).parameters()), lr=lr, betas=(beta1, beta2), eps=eps)
        self.batch = batch
        self.autocast = autocast
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
        if self.autocast:
            with self.torch.autocast("cpu", dtype=self.torch.bfloat16):
                loss = self.loss(x_u8)
        else:
            loss = self.loss(x_u8)
        self.opt.zero_grad(set_to_none=False)
        loss.backward()
        self.opt.step()
        return loss


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--autocast", action="store_true", help="bf16 autocast around the forward pass")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    data = images(6000)
    twins = {}

    def step(batch, steps):
        if batch not in twins:
            twins[batch] = Twin(torch, batch, data, autocast=args.autocast)
        twin = twins[batch]
        twin.step()  # warm-up
        t0 = time.perf_counter()
        for _ in range(steps):
            loss = twin.step()
        return time.perf_counter() - t0, float(loss.detach())

    return serve({"threads": torch.get_num_threads(), "torch": torch.__version__, "autocast": args.autocast}, step)


if __name__ == "__main__":
    sys.exit(main())

"""The PyTorch twins of NNabla's C++ MNIST programs, the other side of
bench_mnist.py: each built from its layer table (mnist_models.py), in
float32, starting from the same initial values as nnvae's and NNabla's
side, and trained the program's way (the inputs of mnist_models.batch, the
program's loss, Adam with the program's settings).

NNabla's semantics in PyTorch's terms: batch normalization with NNabla's
eps (1e-5) and momentum 1 - decay_rate (0.1), batch statistics in training;
max and average pooling over windows of `size` with stride `size` (the
rest of the border dropped, NNabla's ignore_border=True); ELU with alpha 1;
the residual unit's elu(h + x); the Siamese program's contrastive loss
with its margin and eps; for DCGAN, deconvolution as ConvTranspose2d (the
same W layout), the sigmoid cross entropy as BCE with logits, NNabla's
weight_decay as Adam's weight_decay (both add decay·w to the gradient); for
VAT, batch normalization over features as BatchNorm1d. (PyTorch's running variance uses the
unbiased batch variance; it only matters in evaluation.)

Run as a worker (the protocol in harness.py; `memory` answers the peak
resident memory, as mnist_graph_worker.py does):

    python benchmarks/mnist_twin.py --model resnet --threads T

PyTorch is optional: install the CPU build with `pip install torch`.
"""
import argparse
import sys
import time

import numpy as np

import mnist_models
from harness import peak_rss_mb, serve


def make_modules(torch, layers, shape, values, scope=()):
    """(modules, output shape) of the table's layers for an image of
    `shape`, their parameters set from `values` (NNabla's layout)."""
    nn = torch.nn
    mods = []
    for kind, o in layers:
        name = o.get("name")
        where = "/".join(scope + ((name,) if name else ()))
        after = mnist_models.walk(((kind, o),), shape)[1]
        if kind in ("conv", "deconv"):  # NNabla's W layouts are PyTorch's: (out, in, k, k) and (in, out, k, k)
            layer = nn.Conv2d if kind == "conv" else nn.ConvTranspose2d
            m = layer(shape[0], o["maps"], o["kernel"], stride=o.get("stride", 1), padding=o["pad"], bias=o["bias"])
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(values[f"{where}/{kind}/W"]))
                if o["bias"]:
                    m.bias.copy_(torch.from_numpy(values[f"{where}/{kind}/b"]))
        elif kind == "bn":
            bn = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
            m = bn(shape[0], eps=mnist_models.BN_EPS, momentum=1.0 - mnist_models.BN_DECAY)
            with torch.no_grad():
                for attr, p in (("bias", "beta"), ("weight", "gamma"), ("running_mean", "mean"),
                                ("running_var", "variance")):
                    getattr(m, attr).copy_(torch.from_numpy(values[f"{where}/bn/{p}"].reshape(-1)))
        elif kind == "relu":
            m = nn.ReLU()
        elif kind == "elu":
            m = nn.ELU(alpha=1.0)
        elif kind == "sigmoid":
            m = nn.Sigmoid()
        elif kind == "max_pool":
            m = nn.MaxPool2d(o["size"])
        elif kind == "avg_pool":
            m = nn.AvgPool2d(o["size"])
        elif kind == "affine":
            m = nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(shape)), o["units"]))
            with torch.no_grad():
                m[1].weight.copy_(torch.from_numpy(values[f"{where}/affine/W"].T))  # NNabla's W is (n_in, n_out)
                m[1].bias.copy_(torch.from_numpy(values[f"{where}/affine/b"]))
        elif kind in ("scope", "residual"):
            body, _ = make_modules(torch, o["body"], shape, values, scope + (name,))
            m = nn.Sequential(*body) if kind == "scope" else Residual(torch, nn.Sequential(*body))
        else:
            raise ValueError(f"{where}: unknown layer kind {kind!r}")
        mods.append(m)
        shape = after
    return mods, shape


def Residual(torch, body):
    """elu(body(x) + x)."""
    class _Residual(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = body

        def forward(self, x):
            return torch.nn.functional.elu(self.body(x) + x)

    return _Residual()


class Twin:
    """Model `name` in PyTorch, with the program's Adam."""

    def __init__(self, torch, name, seed=313):
        self.m = mnist_models.model(name)
        self.torch = torch
        mods, _ = make_modules(torch, self.m["layers"], mnist_models.input_shape(name),
                               mnist_models.initial_values(name, seed))
        self.net = torch.nn.Sequential(*mods)
        alpha, beta1, beta2, eps = self.m["adam"]
        # Adam's weight_decay adds decay·w to the gradient, as NNabla's solver.weight_decay.
        adam = dict(lr=alpha, betas=(beta1, beta2), eps=eps, weight_decay=self.m.get("weight_decay", 0.0))
        if self.m.get("loss") == "gan":  # the generator's and the discriminator's
            self.opts = [torch.optim.Adam(part.parameters(), **adam) for part in self.net]
        else:
            self.opts = [torch.optim.Adam(self.net.parameters(), **adam)]
            if self.m.get("loss") == "vat":  # two updates per step by the one solver
                self.opts *= 2

    def loss(self, arrays):
        """The program's loss of a batch as mnist_models.batch gives it."""
        torch = self.torch
        if self.m.get("loss") != "contrastive":
            x, t = arrays
            return torch.nn.functional.cross_entropy(self.net(torch.from_numpy(x)),
                                                     torch.from_numpy(t).reshape(-1).long())
        x0, x1, l = (torch.from_numpy(a) for a in arrays)
        sd = (self.net(x0) - self.net(x1)).pow(2).sum(1, keepdim=True)
        far = (self.m["margin"] - (sd + self.m["eps"]).sqrt()).clamp(min=0).pow(2)
        return (l * sd + (1 - l) * far).mean()

    def gan_losses(self, arrays):
        """The DCGAN program's (generator's loss, discriminator's loss) closures."""
        torch = self.torch
        z, x = (torch.from_numpy(a) for a in arrays)
        gen, dis = self.net
        sce = torch.nn.functional.binary_cross_entropy_with_logits
        ones, zeros = torch.ones(z.shape[0], 1), torch.zeros(z.shape[0], 1)
        # The discriminator's loss computes gen(z) again (with the updated
        # generator) and goes back into it, as the program's graph does.
        return [lambda: sce(dis(gen(z)), ones), lambda: sce(dis(gen(z)), zeros) + sce(dis(x), ones)]

    def vat_losses(self, arrays):
        """The VAT program's (labeled loss, unlabeled loss) closures; the
        second first finds the direction r by one power iteration."""
        torch = self.torch
        F = torch.nn.functional
        xl, tl, xu, noise = (torch.from_numpy(a) for a in arrays)

        def kl(y0, y1):  # Σ p·(log p − log q) over the classes
            p, q = F.softmax(y0, dim=1), F.softmax(y1, dim=1)
            return (p * (p.log() - q.log())).sum(1, keepdim=True)

        def direction(noise):
            noise = noise.clone().requires_grad_(True)
            return noise / noise.pow(2).sum((1, 2, 3), keepdim=True).pow(0.5)

        def unlabeled():
            y1 = self.net(xu).detach()  # y(xu) with batch statistics, a constant
            r = direction(noise)
            r.retain_grad()
            kl(y1, self.net(xu + self.m["xi"] * r)).mean(0).sum().backward()  # also into the parameters, as the program
            return kl(y1, self.net(xu + self.m["eps"] * direction(r.grad))).mean(0).sum()

        return [lambda: F.cross_entropy(self.net(xl), tl.reshape(-1).long()), unlabeled]

    def step(self, arrays):
        """One training step on a batch as mnist_models.batch gives it (for
        DCGAN the generator's update, then the discriminator's; for VAT the
        labeled then the unlabeled one); returns the last loss."""
        kind = self.m.get("loss")
        phases = (self.gan_losses(arrays) if kind == "gan" else self.vat_losses(arrays) if kind == "vat"
                  else [lambda: self.loss(arrays)])
        for loss_fn, opt in zip(phases, self.opts):
            loss = loss_fn()
            opt.zero_grad(set_to_none=False)
            loss.backward()
            opt.step()
        return loss

    def errors(self, x, labels):
        """Misclassified images of a batch x (B, 1, 28, 28) = pixels / 255,
        with the running statistics."""
        torch = self.torch
        self.net.eval()
        with torch.no_grad():
            y = self.net(torch.from_numpy(x))
        self.net.train()
        return int((y.argmax(1).numpy() != labels).sum())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=tuple(mnist_models.MODELS), default="lenet")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--images", type=int, default=2048, help="synthetic images to cycle through (default 2048)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    base_rss = peak_rss_mb()[1]
    images, labels = mnist_models.digits(args.images)
    twins = {}  # batch -> [twin, position]

    def step(batch, steps):
        if batch not in twins:
            twins.clear()
            twins[batch] = [Twin(torch, args.model), 0]
        state = twins[batch]

        def one():
            if state[1] + batch > len(images):
                state[1] = 0
            i = state[1]
            state[1] += batch
            return state[0].step(mnist_models.batch(args.model, images, labels, i, batch))

        one()  # warm-up
        t0 = time.perf_counter()
        for _ in range(steps):
            loss = one()
        return time.perf_counter() - t0, float(loss.detach())

    def memory():
        peak, now = peak_rss_mb()
        return {"peak_rss_mb": peak, "rss_mb": now, "base_rss_mb": base_rss}

    hello = {"api": "torch", "version": torch.__version__, "model": args.model, "threads": torch.get_num_threads()}
    return serve(hello, step, commands={"memory": memory})


if __name__ == "__main__":
    sys.exit(main())

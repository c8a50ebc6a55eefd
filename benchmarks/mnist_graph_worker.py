"""nnvae's and NNabla 1.39's side of bench_mnist.py: one of NNabla's C++
MNIST programs (mnist_models.py's table) built with the NNabla-style Python
API (nnvae's or NNabla's: the same code builds both) and trained the
program's way, speaking the worker protocol of harness.py.

    python benchmarks/mnist_graph_worker.py --api nnvae --model resnet --threads T
    <nnabla's python> benchmarks/mnist_graph_worker.py --api nnabla --model resnet

The graph is built once per batch size (a static graph, as the program's
default --static run); each step then does what the program's loop does:
the batch into the inputs (mnist_models.batch), zero_grad, forward
(clear_no_need_grad), backward (clear_buffer), the weight decay where the
program has one, Adam's update (for DCGAN: for the generator, then for the
discriminator; the answer's loss is the last one's). Each answer
to `step B N` also gives "engine_seconds", the time spent inside those four
calls, so that the driver can show how little the Python around them
costs. `memory` answers the process's peak and current resident memory and
its resident memory once the API was imported ("base_rss_mb").

NNabla's CPU build has no threads: --threads only sets nnvae's.
"""
import argparse
import contextlib
import sys
import time

import mnist_models
from harness import peak_rss_mb, serve


def load_api(name):
    """(nn, F, PF, S): the NNabla-style modules of nnvae or of NNabla."""
    if name == "nnvae":
        import nnvae as nn
        import nnvae.functions as F
        import nnvae.parametric_functions as PF
        import nnvae.solvers as S
    else:
        import nnabla as nn
        import nnabla.functions as F
        import nnabla.parametric_functions as PF
        import nnabla.solvers as S
    return nn, F, PF, S


def build(layers, h, api, values, scope=(), batch_stat=True):
    """The table's layers applied to h, creating their parameters under
    the current parameter scope with the given initial values ({C++
    parameter name: array}, mnist_models.initial_values); batch
    normalization normalizes by the batch's statistics (training) or, with
    batch_stat=False, by its running ones (the programs' test graphs)."""
    nn, F, PF, _ = api
    for kind, o in layers:
        name = o.get("name")
        where = "/".join(scope + ((name,) if name else ()))
        with nn.parameter_scope(name) if name else contextlib.nullcontext():
            if kind in ("conv", "deconv"):
                k, p, st = o["kernel"], o["pad"], o.get("stride", 1)
                layer = PF.convolution if kind == "conv" else PF.deconvolution
                h = layer(h, o["maps"], (k, k), pad=(p, p), stride=(st, st), with_bias=o["bias"],
                          w_init=values[f"{where}/{kind}/W"], b_init=values.get(f"{where}/{kind}/b"))
            elif kind == "bn":  # beta 0, gamma 1, mean 0, variance 1: both APIs' defaults
                h = PF.batch_normalization(h, axes=[1], decay_rate=mnist_models.BN_DECAY, eps=mnist_models.BN_EPS,
                                           batch_stat=batch_stat)
            elif kind == "relu":
                h = F.relu(h)
            elif kind == "elu":
                h = F.elu(h, 1.0)
            elif kind == "sigmoid":
                h = F.sigmoid(h)
            elif kind == "max_pool":
                h = F.max_pooling(h, (o["size"],) * 2)
            elif kind == "avg_pool":
                h = F.average_pooling(h, (o["size"],) * 2)
            elif kind == "affine":
                h = PF.affine(h, o["units"], w_init=values[f"{where}/affine/W"], b_init=values[f"{where}/affine/b"])
            elif kind == "scope":
                h = build(o["body"], h, api, values, scope + (name,), batch_stat)
            elif kind == "residual":
                h = F.elu(F.add2(build(o["body"], h, api, values, scope + (name,), batch_stat), h, inplace=True), 1.0)
            else:
                raise ValueError(f"{where}: unknown layer kind {kind!r}")
    return h


def gan_losses(m, inputs, api, values):
    """The DCGAN program's generator and discriminator losses of (z, x)."""
    _, F, _, _ = api
    z, x = inputs
    gen, dis = ((layer,) for layer in m["layers"])
    fake = build(gen, z, api, values)
    fake.persistent = True

    def sce(h, target):
        return F.mean(F.sigmoid_cross_entropy(build(dis, h, api, values), F.constant(target, (z.shape[0], 1))))

    return sce(fake, 1), sce(fake, 0) + sce(x, 1)  # dis's loss also goes back into gen, as in the program


def vat_losses(m, inputs, api, values):
    """The VAT program's labeled loss, the power iteration's loss, the
    unlabeled loss, y(xu) (computed first each step) and the direction r
    (whose gradient becomes the next noise), of (xl, tl, xu, noise)."""
    _, F, _, _ = api
    xl, tl, xu, noise = inputs

    def kl(y0, y1):  # Σ p·(log p − log q) over the classes: (B, 1)
        p, q = F.softmax(y0, axis=1), F.softmax(y1, axis=1)
        return F.sum(p * (F.log(p) - F.log(q)), axis=1, keepdims=True)

    loss_l = F.mean(F.softmax_cross_entropy(build(m["layers"], xl, api, values), tl, axis=1))
    yu = build(m["layers"], xu, api, values)
    unlinked = getattr(yu, "get_unlinked_variable", None) or yu.unlinked  # NNabla's name, nnvae's
    y1 = unlinked(need_grad=False)  # y(xu)'s values, a constant
    r = noise / F.pow_scalar(F.sum(F.pow_scalar(noise, 2.0), axis=(1, 2, 3), keepdims=True), 0.5)
    r.persistent = True
    loss_k = F.mean(kl(y1, build(m["layers"], xu + m["xi"] * r, api, values)), axis=0)
    loss_u = F.mean(kl(y1, build(m["layers"], xu + m["eps"] * r, api, values)), axis=0)
    return loss_l, loss_k, loss_u, yu, r


def training_loss(m, inputs, api, values):
    """The program's loss of its inputs (x, t), or for the Siamese program
    (x0, x1, l) (mnist_models.py)."""
    nn, F, _, _ = api
    if m.get("loss") != "contrastive":
        x, t = inputs
        return F.mean(F.softmax_cross_entropy(build(m["layers"], x, api, values), t, axis=1))
    x0, x1, l = inputs
    h0 = build(m["layers"], x0, api, values)
    h1 = build(m["layers"], x1, api, values)  # the same parameters
    sd = F.sum(F.pow_scalar(h0 - h1, 2.0), axis=1, keepdims=True)
    far = F.pow_scalar(F.maximum_scalar(m["margin"] - F.pow_scalar(sd + m["eps"], 0.5), 0.0), 2.0)
    return F.mean(l * sd + (1 - l) * far, axis=0)


class Stepper:
    """Model `name`'s training graph at `batch` and its Adam solver."""

    def __init__(self, api, name, batch, images, labels):
        nn, F, _, S = api
        nn.clear_parameters()
        m = mnist_models.model(name)
        shapes = [a.shape for a in mnist_models.batch(name, images, labels, 0, batch)]
        self.inputs = [nn.Variable(shape) for shape in shapes]
        values = mnist_models.initial_values(name)
        self.vat = None
        # The step's phases, each (loss, its solver): the generator's then the
        # discriminator's for the DCGAN program, one for the others (VAT's
        # step is its own, vat_step).
        if m.get("loss") == "vat":
            self.inputs[3].need_grad = True  # the noise, whose r's gradient is the next direction
            loss_l, loss_k, loss_u, yu, r = vat_losses(m, self.inputs, api, values)
            self.vat = (loss_k, yu, r)
            losses = [(loss_l, None), (loss_u, None)]
        elif m.get("loss") == "gan":
            losses = zip(gan_losses(m, self.inputs, api, values), ("gen", "dis"))
        else:
            losses = [(training_loss(m, self.inputs, api, values), None)]
        self.phases = []
        for loss, scope in losses:
            solver = self.phases[0][1] if self.vat and self.phases else S.Adam(*m["adam"])  # VAT: one solver
            with nn.parameter_scope(scope) if scope else contextlib.nullcontext():
                solver.set_parameters(nn.get_parameters())
            self.phases.append((loss, solver))
        self.weight_decay = m.get("weight_decay")
        self.name, self.batch, self.images, self.labels, self.pos = name, batch, images, labels, 0

    def run(self, steps):
        """(engine seconds, last loss) of `steps` steps."""
        inside = 0.0
        for _ in range(steps):
            if self.pos + self.batch > len(self.images):
                self.pos = 0
            self.feed(mnist_models.batch(self.name, self.images, self.labels, self.pos, self.batch))
            self.pos += self.batch
            t0 = time.perf_counter()
            self.update()
            inside += time.perf_counter() - t0
        return inside, self.loss(-1)

    def feed(self, arrays):
        """A step's arrays (mnist_models.batch's) into the graph's inputs."""
        for v, a in zip(self.inputs, arrays):
            v.d = a

    def update(self):
        """One training step on the fed inputs: each phase's zero_grad,
        forward, backward, weight decay and update (VAT's direction between
        its two)."""
        for i, (loss, solver) in enumerate(self.phases):
            if self.vat and i == 1:
                self.vat_direction()
            solver.zero_grad()
            loss.forward(clear_no_need_grad=True)
            loss.backward(clear_buffer=True)
            if self.weight_decay:
                solver.weight_decay(self.weight_decay)
            solver.update()

    def loss(self, phase):
        """The last step's loss of phase `phase` (VAT: 0 labeled, 1 unlabeled)."""
        return float(self.phases[phase][0].d.reshape(-1)[0])

    def vat_direction(self):
        """VAT between its two updates: y(xu), then one power iteration: the
        gradient of the KL divergence at xu + xi·r becomes the noise."""
        loss_k, yu, r = self.vat
        yu.forward(clear_no_need_grad=False)
        r.grad.zero()
        loss_k.forward(clear_no_need_grad=True)
        loss_k.backward(clear_buffer=True)
        self.inputs[3].d = r.g


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--api", choices=("nnvae", "nnabla"), default="nnvae")
    ap.add_argument("--model", choices=tuple(mnist_models.MODELS), default="lenet")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--images", type=int, default=2048, help="synthetic images to cycle through (default 2048)")
    args = ap.parse_args(argv)
    api = load_api(args.api)
    if args.api == "nnvae":
        api[0].set_num_threads(args.threads)
    base_rss = peak_rss_mb()[1]
    images, labels = mnist_models.digits(args.images)
    steppers = {}

    def step(batch, steps):
        if batch not in steppers:
            steppers.clear()  # one model's parameters at a time
            steppers[batch] = Stepper(api, args.model, batch, images, labels)
        s = steppers[batch]
        s.run(1)  # warm-up
        t0 = time.perf_counter()
        inside, loss = s.run(steps)
        return time.perf_counter() - t0, loss, {"engine_seconds": inside}

    def memory():
        peak, now = peak_rss_mb()
        return {"peak_rss_mb": peak, "rss_mb": now, "base_rss_mb": base_rss}

    threads = api[0].get_num_threads() if args.api == "nnvae" else 1
    hello = {"api": args.api, "version": api[0].__version__, "model": args.model, "threads": threads}
    return serve(hello, step, commands={"memory": memory})


if __name__ == "__main__":
    sys.exit(main())

"""The NNabla tutorial's Variational Auto-Encoder on MNIST, written in
NNabla's Python style on nnvae: the model with PF.affine, the whole training
loop in Python, the tutorial's monitor lines, the parameters saved.

    python examples/python/vae.py --iterations 3000
    python examples/python/vae.py --iterations 3000 --out runs/vae-py

Only the import lines and the data loading name nnvae; with
`import nnabla as nn` (and nnabla.functions, ...) the same code runs on NNabla.

Model: encoder 784 -> 500 -> 500 -> (mu, logvar) 50; decoder 50 -> 500 ->
500 -> 784 logits; loss = the one-sample negative ELBO in nats per image,
mean over the batch. Adam(3e-4), batch 100. Every --monitor-interval
iterations it prints the mean training loss of those iterations and the
loss on 10 test batches:

    iter: 9, tloss: 503.848297, vloss: 405.502197
"""
import argparse
import os
import time

import numpy as np

import nnvae as nn
import nnvae.functions as F
import nnvae.parametric_functions as PF
import nnvae.solvers as S
from nnvae.app.datasets import load_mnist


def vae(x, shape_z):
    """The negative ELBO of the batch x (B, 1, 28, 28) in [0, 1], one sample
    z = mu + sigma·eps per image."""
    h = F.elu(PF.affine(x, 500, name="fc1"))
    h = F.elu(PF.affine(h, 500, name="fc2"))
    mu = PF.affine(h, shape_z[1], name="fc_mu")
    logvar = PF.affine(h, shape_z[1], name="fc_logvar")
    sigma = F.exp(logvar * 0.5)
    z = mu + sigma * F.randn(0, 1, shape_z)
    h = F.elu(PF.affine(z, 500, name="fc3"))
    h = F.elu(PF.affine(h, 500, name="fc4"))
    logits = F.reshape(PF.affine(h, 784, name="fc5"), x.shape)
    xb = F.greater_equal_scalar(x, 0.5)
    # KL(q(z|x) || N(0, I)) = 1/2 sum(mu² + sigma² - 1 - logvar)
    logqz = 0.5 * F.sum(1.0 + logvar, axis=1)
    logpz = 0.5 * F.sum(mu * mu + sigma * sigma, axis=1)
    logpx = F.sum(F.sigmoid_cross_entropy(logits, xb), axis=(1, 2, 3))
    return F.mean(logpx + logpz - logqz)


class Batches:
    """Endless shuffled batches of images scaled to [0, 1], (B, 1, 28, 28)."""

    def __init__(self, images, batch_size, rng):
        self.images, self.batch_size, self.rng = images, batch_size, rng
        self.order, self.pos = rng.permutation(len(images)), 0

    def next(self):
        if self.pos + self.batch_size > len(self.order):
            self.order, self.pos = self.rng.permutation(len(self.images)), 0
        idx = self.order[self.pos:self.pos + self.batch_size]
        self.pos += self.batch_size
        return self.images[idx].reshape(-1, 1, 28, 28).astype(np.float32) / 255.0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iterations", type=int, default=60000)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--learning-rate", type=float, default=3e-4)
    p.add_argument("--latent", type=int, default=50)
    p.add_argument("--monitor-interval", type=int, default=10)
    p.add_argument("--save-interval", type=int, default=1000,
                   help="iterations between parameter snapshots (and at the end)")
    p.add_argument("--seed", type=int, default=313)
    p.add_argument("--data-dir", default=None, help="folder holding mnist/, or the MNIST files themselves (default: nnvae's data cache; "
                        "missing files are fetched)")
    p.add_argument("--out", default="runs/vae-python", help="folder for log.txt and parameters.protobuf")
    args = p.parse_args()

    nn.seed(args.seed)
    rng = np.random.RandomState(args.seed)
    train_images, _ = load_mnist("train", args.data_dir)
    test_images, _ = load_mnist("test", args.data_dir)
    train, test = Batches(train_images, args.batch_size, rng), Batches(test_images, args.batch_size, rng)
    os.makedirs(args.out, exist_ok=True)
    params_file = os.path.join(args.out, "parameters.protobuf")

    # One static graph for training and one for validation, sharing the parameters.
    shape_x = (args.batch_size, 1, 28, 28)
    shape_z = (args.batch_size, args.latent)
    x = nn.Variable(shape_x)
    loss = vae(x, shape_z)
    x_test = nn.Variable(shape_x)
    loss_test = vae(x_test, shape_z)

    solver = S.Adam(args.learning_rate, 0.9, 0.999, 1e-8)
    solver.set_parameters(nn.get_parameters())

    log = open(os.path.join(args.out, "log.txt"), "w")
    t0 = time.perf_counter()
    train_loss = 0.0
    for i in range(args.iterations):
        x.d = train.next()
        solver.zero_grad()
        loss.forward(clear_no_need_grad=True)
        loss.backward(clear_buffer=True)
        solver.update()
        train_loss += float(loss.d)
        if (i + 1) % args.monitor_interval == 0:
            valid_loss = 0.0
            for _ in range(10):
                x_test.d = test.next()
                loss_test.forward(clear_buffer=True)
                valid_loss += float(loss_test.d)
            line = (f"iter: {i}, tloss: {train_loss / args.monitor_interval:.6f}, "
                    f"vloss: {valid_loss / 10:.6f}")
            print(line, flush=True)
            log.write(line + "\n")
            train_loss = 0.0
        if (i + 1) % args.save_interval == 0:
            nn.save_parameters(params_file)
    elapsed = time.perf_counter() - t0
    nn.save_parameters(params_file)
    log.close()
    print(f"trained {args.iterations} iterations in {elapsed:.1f} s "
          f"({args.iterations * args.batch_size / elapsed:.0f} images/s); parameters: {params_file}")


if __name__ == "__main__":
    main()

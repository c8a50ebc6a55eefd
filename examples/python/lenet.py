"""NNabla's LeNet digit classifier on MNIST, written in NNabla's Python style
on nnvae: the network with PF.convolution and PF.affine, the training loop
in Python, NNabla's monitor lines, the test error on the whole test set at
the end, the parameters saved.

    python examples/python/lenet.py --iterations 1000
    python examples/python/lenet.py --iterations 10000 --out runs/lenet-py

Only the import lines and the data loading name nnvae; with
`import nnabla as nn` (and nnabla.functions, ...) the same code runs on NNabla.

Network (images (B, 1, 28, 28) scaled to [0, 1]): convolution 16 maps 5x5 ->
max pooling 2x2 -> relu -> convolution 16 maps 5x5 -> max pooling 2x2 ->
relu -> affine 50 -> relu -> affine 10 class scores. Loss: the mean softmax
cross entropy. Adam(1e-3), batch 128. Monitor lines, as NNabla's
MonitorSeries prints them: the mean training loss and error of every 10
iterations, the error on 10 test batches every 100 iterations, the time
every 100, and finally the error on all 10,000 test images:

    iter=9 {Training loss}=2.183554
    iter=100 {Test error}=0.131250
    iter=999 {Test error (all 10000 test images)}=0.022500
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


def mnist_lenet_prediction(image):
    """Class scores (B, 10) of the images (B, 1, 28, 28) with values 0..255."""
    image = image / 255.0
    c1 = PF.convolution(image, 16, (5, 5), name="conv1")   # (B, 16, 24, 24)
    c1 = F.relu(F.max_pooling(c1, (2, 2)), inplace=True)   # (B, 16, 12, 12)
    c2 = PF.convolution(c1, 16, (5, 5), name="conv2")      # (B, 16, 8, 8)
    c2 = F.relu(F.max_pooling(c2, (2, 2)), inplace=True)   # (B, 16, 4, 4)
    c3 = F.relu(PF.affine(c2, 50, name="fc3"), inplace=True)
    return PF.affine(c3, 10, name="fc4")


class Batches:
    """Endless batches of (images (B, 1, 28, 28), labels (B, 1)) as float32:
    in a new random order each epoch when `rng` is given, else in order."""

    def __init__(self, images, labels, batch_size, rng=None):
        self.images = images.reshape(-1, 1, 28, 28).astype(np.float32)
        self.labels = labels.reshape(-1, 1).astype(np.float32)
        self.batch_size, self.rng = batch_size, rng
        self.order, self.pos = self._new_order(), 0

    def _new_order(self):
        n = len(self.images)
        return self.rng.permutation(n) if self.rng is not None else np.arange(n)

    def next(self):
        if self.pos + self.batch_size > len(self.order):
            self.order, self.pos = self._new_order(), 0
        idx = self.order[self.pos:self.pos + self.batch_size]
        self.pos += self.batch_size
        return self.images[idx], self.labels[idx]


class MonitorSeries:
    """NNabla's monitor line: every `interval` values added, their mean as
    `iter=I {NAME}=MEAN`, printed and written to the log."""

    def __init__(self, name, log, interval):
        self.name, self.log, self.interval, self.values = name, log, interval, []

    def add(self, index, value):
        self.values.append(float(value))
        if len(self.values) == self.interval:
            line = f"iter={index} {{{self.name}}}={np.mean(self.values):.6f}"
            print(line, flush=True)
            self.log.write(line + "\n")
            self.values = []


def whole_set_error(images, labels, batch_size):
    """The fraction of misclassified images over the whole set: batches of
    batch_size, then one graph for the remaining images (all sharing the
    trained parameters)."""
    wrong, start = 0.0, 0
    while start < len(images):
        size = min(batch_size, len(images) - start)
        if start == 0 or size != batch_size:
            x = nn.Variable((size, 1, 28, 28))
            t = nn.Variable((size, 1))
            errors = F.sum(F.top_n_error(mnist_lenet_prediction(x), t, n=1))
        x.d = images[start:start + size].reshape(-1, 1, 28, 28)
        t.d = labels[start:start + size].reshape(-1, 1)
        errors.forward(clear_buffer=True)
        wrong += float(errors.d)
        start += size
    return wrong / len(images)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iterations", type=int, default=10000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--val-interval", type=int, default=100,
                   help="iterations between the errors on --val-iter test batches (from iteration 0)")
    p.add_argument("--val-iter", type=int, default=10)
    p.add_argument("--seed", type=int, default=313)
    p.add_argument("--data-dir", default=None, help="folder holding mnist/, or the MNIST files themselves (default: "
                   "nnvae's data cache; missing files are fetched)")
    p.add_argument("--out", default="runs/lenet-python", help="folder for log.txt and parameters.protobuf")
    args = p.parse_args()

    nn.seed(args.seed)
    train_images, train_labels = load_mnist("train", args.data_dir)
    test_images, test_labels = load_mnist("test", args.data_dir)
    data = Batches(train_images, train_labels, args.batch_size, np.random.RandomState(1223))
    vdata = Batches(test_images, test_labels, args.batch_size)
    os.makedirs(args.out, exist_ok=True)
    params_file = os.path.join(args.out, "parameters.protobuf")

    # One static graph for training and one for testing, sharing the parameters.
    image = nn.Variable((args.batch_size, 1, 28, 28))
    label = nn.Variable((args.batch_size, 1))
    pred = mnist_lenet_prediction(image)
    pred.persistent = True  # read after backward for the training error
    loss = F.mean(F.softmax_cross_entropy(pred, label))
    vimage = nn.Variable((args.batch_size, 1, 28, 28))
    vlabel = nn.Variable((args.batch_size, 1))
    vpred = mnist_lenet_prediction(vimage)

    solver = S.Adam(args.learning_rate)
    solver.set_parameters(nn.get_parameters())

    log = open(os.path.join(args.out, "log.txt"), "w")
    monitor_loss = MonitorSeries("Training loss", log, 10)
    monitor_err = MonitorSeries("Training error", log, 10)
    monitor_verr = MonitorSeries("Test error", log, 1)
    t0 = last = time.perf_counter()
    for i in range(args.iterations):
        if i % args.val_interval == 0:
            ve = 0.0
            for _ in range(args.val_iter):
                vimage.d, vlabel.d = vdata.next()
                vpred.forward(clear_buffer=True)
                ve += np.mean(vpred.d.argmax(1) != vlabel.d[:, 0])
            monitor_verr.add(i, ve / args.val_iter)
        image.d, label.d = data.next()
        solver.zero_grad()
        loss.forward(clear_no_need_grad=True)
        loss.backward(clear_buffer=True)
        solver.update()
        monitor_loss.add(i, loss.d)
        monitor_err.add(i, np.mean(pred.d.argmax(1) != label.d[:, 0]))
        if (i + 1) % 100 == 0:
            now = time.perf_counter()
            line = f"iter={i} {{Training time}}={now - last:.3f}[sec/100iter] {now - t0:.3f}[sec]"
            print(line, flush=True)
            log.write(line + "\n")
            last = now
    elapsed = time.perf_counter() - t0
    nn.save_parameters(params_file)

    error = whole_set_error(test_images, test_labels, args.batch_size)
    MonitorSeries(f"Test error (all {len(test_images)} test images)", log, 1).add(args.iterations - 1, error)
    log.close()
    print(f"trained {args.iterations} iterations in {elapsed:.1f} s "
          f"({args.iterations * args.batch_size / elapsed:.0f} images/s); parameters: {params_file}")


if __name__ == "__main__":
    main()

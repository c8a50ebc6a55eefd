"""Quality of NNabla's Siamese and VAT programs (siamese_training.hpp,
vat_training.hpp) trained through an NNabla-style Python API, nnvae's or
NNabla 1.39's: the program's recipe on real MNIST and its own monitor
figures, so that the two APIs' runs compare line by line.

    python benchmarks/mnist_program_quality.py --model siamese --api nnvae --data-dir D     # 5,000 iterations
    python benchmarks/mnist_program_quality.py --model vat --api nnabla --iterations 2400 --data-dir D

The model, initial values and Adam settings are mnist_models.py's table,
the graphs mnist_graph_worker.py's (the same code builds both APIs'); the
static graph of the programs' default --static run. What each run does:

Siamese: batch 128 pairs, Adam (1e-3, 0.9, 0.999, 1e-8), 5,000 iterations;
every 10 the program's monitor line: tloss, the mean training loss of those
10 iterations, and vloss, the mean loss of 10 pairs-batches of test images.

VAT: 100 labeled images (drawn once) and 250 unlabeled ones per iteration,
Adam (2e-3, ...), the rate times 0.9 after the updates of iterations 0,
240, 480, ..., 24,000 iterations; every 240 the monitor line: tloss, the
mean of labeled plus unlabeled loss, and verr, the error of the test graph
(batch normalization with its running statistics) on 10,000 images the
program's "valid" iterator draws: that iterator reads the training files
(the program's data reader takes any name but "test" as the training
set), so verr is measured on training images, including, by chance, some of
the 100 labeled ones. Beside it this script prints the error on the
10,000 test images ("test err"), which the program does not.

Where this rendition differs from the C++ programs:
- The order of the data: the programs' iterator shuffles with an unseeded
  std::mt19937; here numpy's RandomState(--seed) does, the same order for
  both APIs. Otherwise its draw is the program's: a shuffled copy of the
  set, batches taken in turn, a batch that reaches the end taken partly
  from the end and partly from the start of a fresh shuffle; and each
  provide_data draws two batches and feeds the second (so half of each
  pass is skipped). The Siamese pairs come from two such iterators over
  the same set, l = 1 where the two digits are the same.
- VAT's normal draw for the power iteration: numpy's standard_normal
  (seeded by --seed) instead of an unseeded std::normal_distribution.
- The initial values: mnist_models.initial_values (the pf:: defaults'
  distributions, seed 313) instead of the programs' unseeded draw.
- The Siamese loss's Σ (h0 − h1)² and VAT's KL divergence are composed of
  elementary functions (mnist_models.py), the programs call squared_error
  and kl_multinomial; weight_decay(0) is left out.
- Iterations count from 1 here; the Siamese program prints the last one's
  index from 0 (its "iter: 9" is this script's iteration 10).

With --api nnabla this script runs itself again under NNabla's python
(tests/nnabla/nnabla_env.py's venv, or --nnabla-python), handing it the
MNIST arrays it loaded (nnvae's reader needs nnvae's engine, which NNabla's
python does not import). NNabla's CPU build has no threads.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import mnist_models

HERE = Path(__file__).resolve().parent
PROGRAMS = ("siamese", "vat")


class ProgramIterator:
    """The programs' MnistDataIterator over (images, labels): a shuffled
    copy, batches in turn, a fresh shuffle at the end of a pass."""

    def __init__(self, images, labels, rng):
        self.images, self.labels, self.rng = images, labels, rng
        self.order, self.pos = rng.permutation(len(images)), 0

    def get_batch(self, size):
        """Indices of the next `size` examples (get_batch)."""
        n = len(self.order)
        tail = self.order[self.pos:] if self.pos + size >= n else self.order[:0]
        self.pos += len(tail)
        if self.pos >= n:
            self.order, self.pos = self.rng.permutation(n), 0
        head = self.order[self.pos:self.pos + size - len(tail)]
        self.pos += len(head)
        return np.concatenate([tail, head])

    def provide(self, size):
        """(x (size, 1, 28, 28) = pixels / 255, labels (size,)) of the
        second of two batches, as the program's provide_data feeds."""
        self.get_batch(size)
        idx = self.get_batch(size)
        return (self.images[idx] / 255.0).astype(np.float32), self.labels[idx]


def pairs(one, two, size):
    """The Siamese iterator's (x0, x1, l (size, 1)) from two iterators."""
    x0, t0 = one.provide(size)
    x1, t1 = two.provide(size)
    return x0, x1, (t0 == t1).reshape(-1, 1).astype(np.float32)


def error_rate(logits_of, x, t, chunk):
    """The fraction of images whose largest score is not their label, in
    chunks of the test graph's batch (len(x) a multiple of it)."""
    if len(x) % chunk:
        raise ValueError(f"error_rate: {len(x)} images are not a multiple of the test graph's batch {chunk}")
    wrong = 0
    for i in range(0, len(x), chunk):
        wrong += int(np.sum(np.argmax(logits_of(x[i:i + chunk]), axis=1) != t[i:i + chunk]))
    return wrong / len(x)


class Program:
    """Model `name`'s training graph (mnist_graph_worker.Stepper) and its
    monitor's graph, on the MNIST arrays (train and test)."""

    def __init__(self, api, name, data, seed):
        from mnist_graph_worker import Stepper, build, training_loss

        nn = api[0]
        self.api, self.name, self.m = api, name, mnist_models.model(name)
        (train_x, train_y), (test_x, test_y) = data
        size = self.m["batch"]
        # The Stepper builds from a few images' shapes; the data comes from here.
        self.step = Stepper(api, name, size, train_x[:4 * size], train_y[:4 * size])
        self.solver = self.step.phases[0][1]
        # The monitor graphs reuse the training graph's parameters (the values go unread).
        values = mnist_models.initial_values(name)
        rngs = [np.random.RandomState(seed + k) for k in range(4)]  # each iterator's own order
        if name == "siamese":
            self.train = [ProgramIterator(train_x, train_y, rngs[k]) for k in (0, 1)]
            self.valid = [ProgramIterator(test_x, test_y, rngs[k]) for k in (2, 3)]
            self.vinputs = [nn.Variable(v.shape) for v in self.step.inputs]
            self.vloss = training_loss(self.m, self.vinputs, api, values)
        else:
            self.train = ProgramIterator(train_x, train_y, rngs[0])
            self.labeled = self.train.get_batch(size)  # the program's labeled_set, drawn once
            self.xl = (train_x[self.labeled] / 255.0).astype(np.float32)
            self.tl = train_y[self.labeled].reshape(-1, 1).astype(np.float32)
            self.valid = ProgramIterator(train_x, train_y, rngs[1])  # "valid": the training files
            self.noise = rngs[2]
            self.xv = nn.Variable((self.m["valid_images"],) + mnist_models.IMAGE_SHAPE)
            self.hv = build(self.m["layers"], self.xv, api, values, batch_stat=False)
            self.test = ((test_x / 255.0).astype(np.float32), test_y)  # the test images, scaled
        self.iteration = 0

    def train_step(self):
        """One of the program's iterations; its training loss (VAT: labeled
        plus unlabeled)."""
        size = self.m["batch"]
        if self.name == "siamese":
            self.step.feed(pairs(*self.train, size))
        else:
            xu, _ = self.train.provide(mnist_models.unlabeled(self.name, size))
            self.step.feed((self.xl, self.tl, xu, self.noise.standard_normal(xu.shape).astype(np.float32)))
        self.step.update()
        if "lr_decay" in self.m:
            rate, every = self.m["lr_decay"]
            if self.iteration % every == 0:
                self.solver.set_learning_rate(self.solver.learning_rate() * rate)
        self.iteration += 1
        return sum(self.step.loss(i) for i in range(len(self.step.phases)))

    def monitor(self):
        """The program's validation figure: Siamese vloss, VAT verr and,
        beside it, the test images' error."""
        if self.name == "siamese":
            total = 0.0
            for _ in range(self.m["valid_batches"]):
                for v, a in zip(self.vinputs, pairs(*self.valid, self.m["batch"])):
                    v.d = a
                self.vloss.forward(clear_buffer=True)
                total += float(self.vloss.d.reshape(-1)[0])
            return {"vloss": total / self.m["valid_batches"]}
        x, t = self.valid.provide(self.m["valid_images"])
        chunk = self.m["valid_images"]
        return {"verr": error_rate(self.logits, x, t, chunk), "test err": error_rate(self.logits, *self.test, chunk)}

    def logits(self, x):
        self.xv.d = x
        self.hv.forward(clear_buffer=True)
        return np.array(self.hv.d)


def run(api, name, data, iterations, every, seed, out=print):
    """Train model `name` for `iterations`, printing the monitor figures
    every `every` iterations and at the end; the list of monitor lines
    ({"iter", "tloss", "vloss" or "verr" and "test err"})."""
    p = Program(api, name, data, seed)
    monitor_every = p.m["monitor_every"]
    lines, losses, printed, t0 = [], [], 0, time.perf_counter()
    for it in range(1, iterations + 1):
        losses.append(p.train_step())
        if it % monitor_every == 0 or it == iterations:
            lines.append({"iter": it, "tloss": float(np.mean(losses)), **p.monitor()})
            losses = []
        if it % every == 0 or it == iterations:
            since = [line for line in lines if line["iter"] > printed]
            if since:
                figures = ", ".join(f"{k} {v:.6f}" for k, v in since[-1].items() if k != "iter")
                key = "vloss" if name == "siamese" else "verr"
                figures += (f" (monitor line of iteration {since[-1]['iter']}); mean {key} of the {len(since)} "
                            f"monitor lines since iteration {printed}: {np.mean([l[key] for l in since]):.6f}")
            else:
                figures = f"no monitor line yet; mean training loss {np.mean(losses):.6f}"
            out(f"iter {it}: {figures}; {time.perf_counter() - t0:.0f} s", flush=True)
            printed = it
    return lines


def load_api(name, threads):
    from mnist_graph_worker import load_api as load

    api = load(name)
    if name == "nnvae":
        api[0].set_num_threads(threads)
    return api


def nnabla_python():
    """The python of the NNabla venv tests/nnabla/nnabla_env.py makes."""
    sys.path.insert(0, str(HERE.parent / "tests" / "nnabla"))
    try:
        import nnabla_env
        return nnabla_env.venv_python()
    finally:
        sys.path.pop(0)


def rerun_under_nnabla(script, argv, python, **arrays):
    """Runs `script argv --arrays F` under NNabla 1.39's python (`python`,
    or tests/nnabla/nnabla_env.py's venv), F an .npz of `arrays` (what the
    script read with nnvae's reader, which NNabla's venv does not have);
    returns its exit code."""
    python = python or nnabla_python()
    if not Path(python).is_file():
        sys.exit(f"no NNabla 1.39 python at {python} (make it with `python tests/nnabla/nnabla_env.py`)")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "arrays.npz")
        np.savez(path, **arrays)
        return subprocess.call([python, script, *argv, "--arrays", path])


def load_data(data_dir):
    """((train images (60000, 1, 28, 28), labels), (test images, labels)) uint8."""
    from nnvae.app.datasets import load_mnist

    out = []
    for split in ("train", "test"):
        x, y = load_mnist(split, data_dir, download=False)
        out.append((x.reshape(-1, 1, 28, 28), y))
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=PROGRAMS, default="siamese")
    p.add_argument("--api", choices=("nnvae", "nnabla"), default="nnvae")
    p.add_argument("--iterations", type=int, help="default: the program's max_iter (siamese 5000, vat 24000)")
    p.add_argument("--every", type=int, default=500, help="iterations between printed lines (default 500)")
    p.add_argument("--seed", type=int, default=313, help="data order and VAT's normal draws (default 313)")
    p.add_argument("--threads", type=int, default=1, help="nnvae's threads (default 1)")
    p.add_argument("--data-dir", default=None, help="folder holding mnist/ or the MNIST files (as nnvae-train's)")
    p.add_argument("--nnabla-python", default=None, help="the python that imports NNabla 1.39")
    p.add_argument("--arrays", default=None, help=argparse.SUPPRESS)  # the MNIST arrays, handed to NNabla's python
    a = p.parse_args(argv)
    iterations = a.iterations or mnist_models.model(a.model)["iterations"]
    if a.arrays:
        with np.load(a.arrays) as f:
            data = [(f["train_x"], f["train_y"]), (f["test_x"], f["test_y"])]
    else:
        data = load_data(a.data_dir)
        if a.api == "nnabla":
            return rerun_under_nnabla(__file__, argv, a.nnabla_python, train_x=data[0][0], train_y=data[0][1],
                                      test_x=data[1][0], test_y=data[1][1])
    api = load_api(a.api, a.threads)
    print(f"{a.model} ({mnist_models.model(a.model)['program']}) on {a.api} {api[0].__version__}, "
          f"{iterations} iterations, seed {a.seed}, load {open('/proc/loadavg').read().split()[0]}", flush=True)
    run(api, a.model, data, iterations, a.every, a.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())

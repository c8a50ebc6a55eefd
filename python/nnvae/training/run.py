"""The tutorial's VAE, trained end to end: the driver behind `nnvae-train`.

    from nnvae.training import TrainOptions, run_training
    metrics = run_training(TrainOptions(iterations=3000, data_dir="data"))

The training loop itself is C++ (`_core.VaeTrainer`, cpp/src/vae_training.cpp);
this module gives it a run folder and everything around it:

    RUN/log.txt              the monitor lines (`iter: 9, tloss: ..., vloss: ...`)
    RUN/losses.csv           iteration, train_loss, val_loss
    RUN/checkpoint.nnvckpt   parameters, Adam state, iteration, shuffle order,
                             generator states and the loss history (--resume)
    RUN/parameters.protobuf  NNabla's parameter file (and parameters.h5 with h5py)
    RUN/metrics.json         the full-test-set negative ELBO and run facts
    RUN/samples.png          an 8x8 grid decoded from z ~ N(0, I)
    RUN/reconstructions.png  test digits above their reconstructions
    RUN/loss.png             training and validation curves

A checkpoint is written every `checkpoint_every` iterations, on Ctrl-C (the
C++ loop stops at the next step) and at the end; every file is written to a
temporary file and renamed, so a killed run never leaves a truncated one.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Dict, List, Optional, TextIO, Tuple

import numpy as np

from . import _core
from .errors import NnvaeError, UsageError
from .files import atomic_text

CHECKPOINT_NAME = "checkpoint.nnvckpt"
PARAMS_NAME = "parameters.protobuf"
PARAMS_H5_NAME = "parameters.h5"
CHECKPOINT_FORMAT = "nnvae-vae-training"
CHECKPOINT_VERSION = 1
EVAL_SEED = 706  # the fixed seed of the final test evaluation
DATASET_NAMES = ("mnist", "fashion-mnist")
GRAPH_MODES = ("static", "dynamic")
INIT_SCHEMES = ("glorot", "fan-in")

# Settings that must agree between a checkpoint and the run resuming it:
# any of them changes the numbers of every later step.
_RESUME_FIXED = ("batch_size", "learning_rate", "beta1", "beta2", "eps", "seed", "latent", "hidden",
                 "monitor_interval", "validation_batches", "dataset")


@dataclass
class TrainOptions:
    """What `nnvae-train` can set. None means: the tutorial's default, or the
    checkpoint's value when resuming."""

    iterations: Optional[int] = None  # default 60,000 (100 epochs of MNIST at batch 100)
    epochs: Optional[int] = None  # alternative to iterations: whole epochs of floor(N / batch) steps
    batch_size: Optional[int] = None  # 100
    learning_rate: Optional[float] = None  # 3e-4 (Adam alpha)
    beta1: Optional[float] = None  # 0.9
    beta2: Optional[float] = None  # 0.999
    eps: Optional[float] = None  # 1e-8
    seed: Optional[int] = None  # 313
    latent: Optional[int] = None  # 50
    hidden: Optional[int] = None  # 500
    monitor_interval: Optional[int] = None  # 10
    validation_batches: Optional[int] = None  # 10
    dataset: Optional[str] = None  # "mnist"
    graph: str = "static"
    init: Optional[str] = None  # "fan-in" (default, PyTorch's nn.Linear) or "glorot" (the tutorial's)
    threads: Optional[int] = None  # None: the engine's default (all cores)
    data_dir: Optional[str] = None
    out: Optional[str] = None  # run folder; default runs/<time stamp>
    resume: Optional[str] = None  # a checkpoint file
    checkpoint_every: int = 1000
    eval_batch_size: int = 100
    progress: Optional[bool] = None  # None: a progress bar when stderr is a terminal
    pictures: bool = True
    download: bool = True


DEFAULTS = dict(iterations=60000, batch_size=100, learning_rate=3e-4, beta1=0.9, beta2=0.999, eps=1e-8,
                seed=313, latent=50, hidden=500, monitor_interval=10, validation_batches=10,
                dataset="mnist", init="fan-in")


def parameter_shapes(latent: int = 50, hidden: int = 500) -> Dict[str, Tuple[int, ...]]:
    """Full name -> shape of the model's parameters, in creation order."""
    return {name: tuple(shape) for name, shape in _core.vae_parameter_shapes(latent, hidden)}


def model_size(params: Dict[str, np.ndarray]) -> Tuple[int, int]:
    """(latent, hidden) read off a parameter set (fc_mu's W is hidden x latent)."""
    w = params.get("fc_mu/affine/W")
    if w is None or np.ndim(w) != 2:
        raise NnvaeError("the parameters have no 2-D fc_mu/affine/W, so this is not the tutorial's VAE")
    hidden, latent = (int(d) for d in np.shape(w))
    return latent, hidden


# --------------------------------------------------------------------------
# Option checks

def _positive_int(name: str, value, allow_zero: bool = False) -> None:
    lo = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise UsageError(f"{name} must be an integer >= {lo}, got {value!r}")


def check_options(o: TrainOptions) -> None:
    """Impossible values, before anything is loaded (UsageError, exit 2)."""
    if o.iterations is not None and o.epochs is not None:
        raise UsageError("give --iterations or --epochs, not both")
    for name in ("iterations", "epochs", "batch_size", "latent", "hidden", "monitor_interval",
                 "validation_batches", "checkpoint_every", "eval_batch_size"):
        v = getattr(o, name)
        if v is not None:
            _positive_int(name.replace("_", "-"), v)
    if o.threads is not None:
        _positive_int("threads", o.threads)
    if o.seed is not None:
        _positive_int("seed", o.seed, allow_zero=True)
        if o.seed >= 2 ** 32:
            raise UsageError(f"seed must be below 2**32, got {o.seed}")
    for name in ("learning_rate", "eps"):
        v = getattr(o, name)
        if v is not None and not (math.isfinite(v) and v > 0):
            raise UsageError(f"{name.replace('_', '-')} must be a finite number > 0, got {v}")
    for name in ("beta1", "beta2"):
        v = getattr(o, name)
        if v is not None and not (0 <= v < 1):
            raise UsageError(f"{name} must be in [0, 1), got {v}")
    if o.dataset is not None and o.dataset not in DATASET_NAMES:
        raise UsageError(f"unknown data set {o.dataset!r}: choose {' or '.join(DATASET_NAMES)}")
    if o.graph not in GRAPH_MODES:
        raise UsageError(f"unknown graph mode {o.graph!r}: choose static or dynamic")
    if o.init is not None and o.init not in INIT_SCHEMES:
        raise UsageError(f"unknown init {o.init!r}: choose glorot or fan-in")


# --------------------------------------------------------------------------
# The run folder and its text outputs

def new_run_folder(root: Path = Path("runs")) -> Path:
    """runs/YYYYmmdd-HHMMSS, with -2, -3... when that exists already."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        folder = root / (stamp if n == 1 else f"{stamp}-{n}")
        if not folder.exists():
            return folder
    raise NnvaeError(f"{root}: cannot find a free run folder name for {stamp}")


def prepare_folder(folder: Path) -> None:
    """Create `folder` and prove it writable (NnvaeError naming it if not)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise NnvaeError(f"cannot write to the output folder {folder}: {e.strerror or e}") from None


def write_losses_csv(path: Path, history: Dict[str, list]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["iteration", "train_loss", "val_loss"])
    for it, tl, vl in zip(history["iteration"], history["train_loss"], history["val_loss"]):
        w.writerow([it, f"{tl:.6f}", f"{vl:.6f}"])
    atomic_text(path, buf.getvalue())


class ProgressBar:
    """One self-rewriting line on a terminal: iteration, speed, time left and
    the latest losses. Lines printed meanwhile go above it."""

    def __init__(self, stream: TextIO, total: int, start: int, enabled: bool):
        self.stream, self.total, self.start = stream, total, start
        self.enabled = enabled
        self.t0 = time.monotonic()
        self.last = ""

    def clear(self) -> None:
        if self.enabled and self.last:
            self.stream.write("\r" + " " * len(self.last) + "\r")
            self.stream.flush()

    def show(self, done: int, tloss: Optional[float] = None, vloss: Optional[float] = None) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.t0
        rate = (done - self.start) / elapsed if elapsed > 0 else 0.0
        left = (self.total - done) / rate if rate > 0 else float("nan")
        width = 24
        filled = int(width * done / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        eta = "--:--" if not math.isfinite(left) else _clock(left)
        losses = "" if tloss is None else f"  tloss {tloss:.2f}  vloss {vloss:.2f}"
        self.last = f"[{bar}] {done}/{self.total}  {rate:.0f} it/s  {eta} left{losses}"
        self.stream.write("\r" + self.last)
        self.stream.flush()

    def done(self) -> None:
        if self.enabled and self.last:
            self.stream.write("\n")
            self.stream.flush()
            self.last = ""


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# --------------------------------------------------------------------------
# Checkpoints

def save_training_checkpoint(path: Path, trainer, settings: dict, history: Dict[str, list],
                             elapsed: float) -> None:
    """Everything an exact resume needs, in one atomic file."""
    from .params_io import save_checkpoint

    arrays: Dict[str, np.ndarray] = {}
    for name, value in trainer.get_parameters():
        arrays[f"param/{name}"] = value
    adam_t = {}
    for name, st in trainer.get_solver_state().items():
        arrays[f"adam/{name}/m"] = st["m"]
        arrays[f"adam/{name}/v"] = st["v"]
        adam_t[name] = int(st["t"])
    state = trainer.get_state()
    arrays["state/order"] = state.pop("order")
    arrays["history/iteration"] = np.asarray(history["iteration"], dtype=np.int64)
    arrays["history/train_loss"] = np.asarray(history["train_loss"], dtype=np.float64)
    arrays["history/val_loss"] = np.asarray(history["val_loss"], dtype=np.float64)
    meta = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "settings": settings,
            "state": state, "adam_t": adam_t, "elapsed_seconds": elapsed}
    save_checkpoint(path, arrays, meta)


def load_training_checkpoint(path: Path):
    """(params, solver state, trainer state, settings, history, elapsed) from a
    checkpoint; NnvaeError naming the file when it is not one of ours."""
    from .params_io import load_checkpoint

    if not Path(path).is_file():
        raise NnvaeError(f"{path}: no such checkpoint file")
    arrays, meta = load_checkpoint(path)
    if meta.get("format") != CHECKPOINT_FORMAT or meta.get("version") != CHECKPOINT_VERSION:
        raise NnvaeError(f"{path}: not an nnvae training checkpoint (format {meta.get('format')!r}, "
                         f"version {meta.get('version')!r})")
    try:
        settings = dict(meta["settings"])
        params = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
        solver = {}
        for name, t in meta["adam_t"].items():
            solver[name] = {"m": arrays[f"adam/{name}/m"], "v": arrays[f"adam/{name}/v"], "t": int(t)}
        state = dict(meta["state"])
        state["order"] = arrays["state/order"]
        history = {"iteration": [int(v) for v in arrays["history/iteration"]],
                   "train_loss": [float(v) for v in arrays["history/train_loss"]],
                   "val_loss": [float(v) for v in arrays["history/val_loss"]]}
        elapsed = float(meta.get("elapsed_seconds", 0.0))
    except (KeyError, TypeError, ValueError) as e:
        raise NnvaeError(f"{path}: incomplete training checkpoint: {type(e).__name__}: {e}") from None
    return params, solver, state, settings, history, elapsed


# --------------------------------------------------------------------------
# Evaluation and pictures (also used by `nnvae evaluate` / `nnvae generate`)

def negative_elbo(params, images, batch_size: int = 100, seed: int = EVAL_SEED,
                  progress: Optional[Callable[[int, int], None]] = None) -> float:
    latent, hidden = model_size(params)
    return float(_core.vae_negative_elbo(params, images, latent, hidden, batch_size, seed, progress))


def importance_weighted_nll(params, images, k: int, seed: int = EVAL_SEED,
                            progress: Optional[Callable[[int, int], None]] = None) -> float:
    latent, hidden = model_size(params)
    return float(_core.vae_importance_weighted_nll(params, images, k, latent, hidden, seed, progress))


def encode(params, images) -> Tuple[np.ndarray, np.ndarray]:
    latent, hidden = model_size(params)
    return _core.vae_encode(params, images, latent, hidden)


def decode(params, z) -> np.ndarray:
    latent, hidden = model_size(params)
    return _core.vae_decode(params, np.asarray(z, dtype=np.float32), latent, hidden)


def save_pictures(folder: Path, params, test_images, history: Dict[str, list], seed: int) -> List[Path]:
    from .pictures import save_image_grid, save_loss_plot, save_reconstructions

    latent, _ = model_size(params)
    rng = np.random.default_rng(seed)
    written = []
    samples = decode(params, rng.standard_normal((64, latent)).astype(np.float32))
    save_image_grid(folder / "samples.png", samples, ncols=8)
    written.append(folder / "samples.png")
    originals = test_images[:16]
    mu, _ = encode(params, originals)
    save_reconstructions(folder / "reconstructions.png", originals.astype(np.float32) / 255.0, decode(params, mu))
    written.append(folder / "reconstructions.png")
    if history["iteration"]:
        save_loss_plot(folder / "loss.png", history["iteration"], history["train_loss"], history["val_loss"])
        written.append(folder / "loss.png")
    return written


def save_parameter_files(folder: Path, params: Dict[str, np.ndarray]) -> List[Path]:
    """parameters.protobuf, and parameters.h5 when h5py is installed."""
    from .params_io import save_parameters

    save_parameters(folder / PARAMS_NAME, params)
    out = [folder / PARAMS_NAME]
    try:
        import h5py  # noqa: F401
    except ImportError:
        return out
    save_parameters(folder / PARAMS_H5_NAME, params)
    return out + [folder / PARAMS_H5_NAME]


# --------------------------------------------------------------------------
# The run

def _settings(o: TrainOptions, saved: Optional[dict]) -> dict:
    """The run's settings: the options given, else the checkpoint's, else the
    defaults. A resumed run may not change what alters the numbers."""
    s = {}
    for key, default in DEFAULTS.items():
        given = getattr(o, key)
        if saved is not None and key in _RESUME_FIXED:
            if given is not None and given != saved[key]:
                raise UsageError(f"--{key.replace('_', '-')} {given} differs from the checkpoint's "
                                 f"{saved[key]}; a resumed run keeps it")
            s[key] = saved[key]
        else:
            s[key] = given if given is not None else (saved or {}).get(key, default)
    return s


def _load_images(dataset: str, data_dir, download: bool):
    from .datasets import load_dataset

    train, _ = load_dataset(dataset, "train", data_dir, download)
    test, _ = load_dataset(dataset, "test", data_dir, download)
    return train, test


def run_training(o: TrainOptions, out: TextIO = None, err: TextIO = None,
                 train_images: Optional[np.ndarray] = None,
                 test_images: Optional[np.ndarray] = None) -> dict:
    """Train as the options say and write the run folder; returns the metrics.

    `train_images` / `test_images` (uint8 (N, 28, 28)) replace the data set
    (tests). Raises UsageError for impossible options, NnvaeError for runtime
    failures; a Ctrl-C during training saves a checkpoint and raises
    KeyboardInterrupt after saying how to resume.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    check_options(o)

    saved = None
    if o.resume:
        params0, solver0, state0, saved, history, elapsed0 = load_training_checkpoint(Path(o.resume))
    s = _settings(o, saved)
    folder = Path(o.out) if o.out else (Path(o.resume).parent if o.resume else new_run_folder())
    prepare_folder(folder)
    print(f"run folder: {folder}", file=out, flush=True)

    if train_images is None:
        train_images, test_images = _load_images(s["dataset"], o.data_dir, o.download)
    n_train = len(train_images)
    if s["batch_size"] > n_train:
        raise UsageError(f"batch-size {s['batch_size']} is larger than the training set ({n_train} images)")
    per_epoch = n_train // s["batch_size"]
    if o.epochs is not None:
        s["iterations"] = o.epochs * per_epoch

    cfg = _core.VaeConfig()
    for key in ("iterations", "batch_size", "learning_rate", "beta1", "beta2", "eps", "seed", "latent",
                "hidden", "monitor_interval", "validation_batches", "init"):
        setattr(cfg, key, s[key])
    cfg.graph = o.graph
    # A resumed run keeps the checkpoint's thread count unless told otherwise:
    # with the same count it continues bit for bit.
    cfg.threads = o.threads or (saved or {}).get("threads") or 0
    try:
        cfg.validate(n_train, len(test_images))
    except ValueError as e:
        raise UsageError(str(e)) from None
    trainer = _core.VaeTrainer(cfg, train_images, test_images)
    # The trainer holds its own uint8 copy; ours would only add 47 MB to the
    # process (nnvae-train stays under 200 MB resident).
    del train_images
    threads = _core.get_num_threads()

    ckpt_path = folder / CHECKPOINT_NAME
    log_path = folder / "log.txt"
    csv_path = folder / "losses.csv"
    elapsed = 0.0
    if saved is not None:
        from .params_io import check_parameters

        check_parameters(params0, parameter_shapes(s["latent"], s["hidden"]), source=o.resume)
        try:
            trainer.set_parameters(params0)
            trainer.set_solver_state(solver0)
            trainer.set_state(state0)
        except (ValueError, TypeError) as e:
            raise NnvaeError(f"{o.resume}: the checkpoint does not fit this run: {e}") from None
        elapsed = elapsed0
        if trainer.iteration >= s["iterations"]:
            raise UsageError(f"the checkpoint is at iteration {trainer.iteration}, which reaches "
                             f"--iterations {s['iterations']}: ask for more to continue")
    else:
        history = {"iteration": [], "train_loss": [], "val_loss": []}

    # The monitored losses before the resume point are kept; log.txt grows.
    write_losses_csv(csv_path, history)
    log = open(log_path, "a", encoding="utf-8")
    csv_file = open(csv_path, "a", encoding="utf-8")
    settings = dict(s, graph=o.graph, threads=threads)
    start_it = trainer.iteration
    header = (f"# {'resumed from ' + str(o.resume) + ' at iteration ' + str(start_it) if saved else 'new run'}: "
              f"{json.dumps(settings, sort_keys=True)}")
    log.write(header + "\n")
    log.flush()
    bar = ProgressBar(err, s["iterations"], start_it,
                      o.progress if o.progress is not None else err.isatty())

    def on_monitor(iteration: int, tloss: float, vloss: float) -> None:
        line = _core.vae_format_monitor_line(iteration, tloss, vloss)
        bar.clear()
        print(line, file=out, flush=True)
        log.write(line + "\n")
        log.flush()
        csv_file.write(f"{iteration},{tloss:.6f},{vloss:.6f}\n")
        csv_file.flush()
        history["iteration"].append(iteration)
        history["train_loss"].append(tloss)
        history["val_loss"].append(vloss)
        bar.show(iteration + 1, tloss, vloss)

    last_ckpt = (start_it, Path(o.resume)) if saved is not None else None
    # Ctrl-C asks the C++ loop to stop before its next step (checked there
    # through should_stop); a second Ctrl-C interrupts at once.
    stop_requested = []

    def on_sigint(signum, frame):
        if stop_requested:
            raise KeyboardInterrupt
        stop_requested.append(signum)

    old_handler = None
    if threading.current_thread() is threading.main_thread():
        old_handler = signal.signal(signal.SIGINT, on_sigint)
    t0 = time.monotonic()
    try:
        while trainer.iteration < s["iterations"]:
            until = min(s["iterations"], (trainer.iteration // o.checkpoint_every + 1) * o.checkpoint_every)
            bar.show(trainer.iteration)
            r = trainer.train(until, on_monitor, lambda: bool(stop_requested))
            run_time = elapsed + time.monotonic() - t0
            if r["reason"] == "nonfinite":
                bar.done()
                where = (f"the last good checkpoint, at iteration {last_ckpt[0]}, is {last_ckpt[1]}"
                         if last_ckpt else "no checkpoint had been saved yet")
                raise NnvaeError(f"the training loss became {r['bad_loss']} at iteration {r['iteration']}; "
                                 f"stopped ({where}); try a smaller --learning-rate")
            save_training_checkpoint(ckpt_path, trainer, settings, history, run_time)
            last_ckpt = (trainer.iteration, ckpt_path)
            if r["reason"] != "finished":
                bar.done()
                msg = (f"interrupted at iteration {trainer.iteration}; checkpoint saved to {ckpt_path}; "
                       f"continue with: nnvae-train --resume {ckpt_path}")
                print(msg, file=err, flush=True)
                log.write(f"# {msg}\n")
                raise KeyboardInterrupt(msg)
        bar.done()
    finally:
        if old_handler is not None:
            signal.signal(signal.SIGINT, old_handler)
        log.close()
        csv_file.close()
    train_seconds = elapsed + time.monotonic() - t0
    done_now = trainer.iteration - start_it
    session_seconds = time.monotonic() - t0

    params = dict(trainer.get_parameters())
    written = save_parameter_files(folder, params)
    print(f"trained {trainer.iteration} iterations ({trainer.iteration / per_epoch:.2f} epochs) in "
          f"{train_seconds:.1f} s; evaluating the {len(test_images)} test images...", file=out, flush=True)
    ebar = ProgressBar(err, len(test_images), 0, bar.enabled)
    nelbo = negative_elbo(params, test_images, o.eval_batch_size, EVAL_SEED,
                          lambda done, total: ebar.show(done))
    ebar.done()
    metrics = {
        "test_negative_elbo": nelbo,
        "test_images": int(len(test_images)),
        "eval_seed": EVAL_SEED,
        "iterations": int(trainer.iteration),
        "epochs": trainer.iteration / per_epoch,
        "train_seconds": train_seconds,
        "images_per_second": done_now * s["batch_size"] / session_seconds if session_seconds > 0 else None,
        "final_train_loss": history["train_loss"][-1] if history["train_loss"] else None,
        "final_val_loss": history["val_loss"][-1] if history["val_loss"] else None,
        "settings": settings,
        "resumed_from": str(o.resume) if o.resume else None,
    }
    atomic_text(folder / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    if o.pictures:
        written += save_pictures(folder, params, test_images, history, s["seed"])
    print(f"test negative ELBO: {nelbo:.4f} nats per image ({len(test_images)} test images, one sample, "
          f"seed {EVAL_SEED})", file=out, flush=True)
    with open(log_path, "a", encoding="utf-8") as f:
        f.write(f"# test negative ELBO: {nelbo:.6f}\n")
    print(f"wrote {', '.join(p.name for p in written + [folder / 'metrics.json', ckpt_path, csv_path, log_path])}"
          f" in {folder}", file=out, flush=True)
    return metrics


def load_model_parameters(path) -> Dict[str, np.ndarray]:
    """A parameter file (.protobuf / .h5) checked against the VAE it describes:
    latent and hidden sizes are read off fc_mu's W (the defaults when absent),
    then every name and shape must match (NnvaeError listing the differences)."""
    from .params_io import check_parameters, load_parameters

    if not Path(path).is_file():
        raise NnvaeError(f"{path}: no such parameter file")
    params = load_parameters(path)
    try:
        latent, hidden = model_size(params)
    except NnvaeError:
        latent, hidden = DEFAULTS["latent"], DEFAULTS["hidden"]
    check_parameters(params, parameter_shapes(latent, hidden), source=path)
    return params

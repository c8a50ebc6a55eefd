"""Finishing a run: the parameter files, the test-set evaluation with
metrics.json, and the pictures."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, TextIO

import numpy as np

from ...files import atomic_text
from .model import EVAL_SEED
from .progress import ProgressBar

PARAMS_NAME = "parameters.protobuf"
PARAMS_H5_NAME = "parameters.h5"
METRICS_NAME = "metrics.json"
SAMPLES_NAME, RECONSTRUCTIONS_NAME, LOSS_PLOT_NAME = "samples.png", "reconstructions.png", "loss.png"
PICTURE_NAMES = (SAMPLES_NAME, RECONSTRUCTIONS_NAME, LOSS_PLOT_NAME)


def save_parameter_files(folder: Path, params: Dict[str, np.ndarray]) -> List[Path]:
    """parameters.protobuf, and parameters.h5 when h5py is installed."""
    from ...params_io import save_parameters

    save_parameters(folder / PARAMS_NAME, params)
    out = [folder / PARAMS_NAME]
    try:
        import h5py  # noqa: F401
    except ImportError:
        return out
    save_parameters(folder / PARAMS_H5_NAME, params)
    return out + [folder / PARAMS_H5_NAME]


def save_pictures(folder: Path, model, test_images, history: Dict[str, list], seed: int) -> List[Path]:
    """samples.png (64 draws of z ~ N(0, I) from `seed`), reconstructions.png
    (the first 16 test images over their decoded posterior means) and
    loss.png (when there are monitor lines)."""
    from ..pictures import save_image_grid, save_loss_plot, save_reconstructions

    rng = np.random.default_rng(seed)
    written = []
    samples = model.decode(rng.standard_normal((64, model.latent)).astype(np.float32))
    save_image_grid(folder / SAMPLES_NAME, samples, ncols=8,
                    title=f"64 samples: the decoder's images of random z ~ N(0, I) (seed {seed})")
    written.append(folder / SAMPLES_NAME)
    originals = test_images[:16]
    mu, _ = model.encode(originals)
    save_reconstructions(folder / RECONSTRUCTIONS_NAME, originals.astype(np.float32) / 255.0, model.decode(mu),
                         title="the first 16 test images and their reconstructions (each image's posterior "
                               "mean z, decoded)")
    written.append(folder / RECONSTRUCTIONS_NAME)
    if history["iteration"]:
        save_loss_plot(folder / LOSS_PLOT_NAME, history["iteration"], history["train_loss"], history["val_loss"])
        written.append(folder / LOSS_PLOT_NAME)
    return written


def evaluate_run(folder: Path, model, test_images, facts: dict, history: Dict[str, list],
                 eval_batch_size: int, out: TextIO, err: TextIO, progress: bool) -> dict:
    """The one-sample negative ELBO of the whole test set (seed EVAL_SEED),
    printed and written with `facts` and the last losses to metrics.json."""
    bar = ProgressBar(err, len(test_images), 0, progress, unit="images")
    try:
        nelbo = model.negative_elbo(test_images, eval_batch_size, EVAL_SEED, lambda done, total: bar.show(done))
    finally:  # a Ctrl-C too: no progress line is left behind
        bar.done()
    metrics = {
        "test_negative_elbo": nelbo,
        "test_images": int(len(test_images)),
        "eval_seed": EVAL_SEED,
        **facts,
        "final_train_loss": history["train_loss"][-1] if history["train_loss"] else None,
        "final_val_loss": history["val_loss"][-1] if history["val_loss"] else None,
    }
    atomic_text(folder / METRICS_NAME, json.dumps(metrics, indent=2) + "\n")
    print(f"test negative ELBO: {nelbo:.4f} nats per image ({len(test_images)} test images, one sample; "
          f"evaluation seed {EVAL_SEED} for every run, training seed {facts['settings']['seed']})",
          file=out, flush=True)
    return metrics

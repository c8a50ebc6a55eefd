"""Training checkpoints: everything an exact resume needs, in one file.

The file is params_io's checkpoint container (named arrays + JSON meta):

    param/<name>             the parameters
    adam/<name>/<key>        each parameter's solver arrays (Adam: m, v)
    state/order              this epoch's shuffled image indices
    history/iteration, history/train_loss, history/val_loss
    meta: format, version, settings (the VaeConfig fields and the data set),
          state (the TrainerState fields but order), adam_t ({name: step
          count}), elapsed_seconds
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import numpy as np

from .. import _core
from ..errors import NnvaeError

CHECKPOINT_NAME = "checkpoint.nnvckpt"
CHECKPOINT_FORMAT = "nnvae-vae-training"
CHECKPOINT_VERSION = 1


@dataclass
class TrainingCheckpoint:
    parameters: Dict[str, np.ndarray]
    solver_state: Dict[str, "_core.SolverState"]
    state: "_core.TrainerState"
    settings: dict  # VaeConfig fields and "dataset"
    history: Dict[str, List]  # iteration, train_loss, val_loss of the monitor lines so far
    elapsed: float  # training seconds before this checkpoint


def save_training_checkpoint(path: Path, trainer, settings: dict, history: Dict[str, list],
                             elapsed: float) -> None:
    """Writes `trainer`'s parameters, solver and loop state atomically."""
    from ..params_io import save_checkpoint

    arrays: Dict[str, np.ndarray] = {f"param/{name}": value for name, value in trainer.get_parameters().items()}
    step_counts = {}
    for name, st in trainer.solver_state.items():
        for key, value in st.arrays.items():
            arrays[f"adam/{name}/{key}"] = value
        step_counts[name] = int(st.t)
    state = trainer.state.to_dict()
    arrays["state/order"] = state.pop("order")
    arrays["history/iteration"] = np.asarray(history["iteration"], dtype=np.int64)
    arrays["history/train_loss"] = np.asarray(history["train_loss"], dtype=np.float64)
    arrays["history/val_loss"] = np.asarray(history["val_loss"], dtype=np.float64)
    meta = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "settings": settings,
            "state": state, "adam_t": step_counts, "elapsed_seconds": elapsed}
    save_checkpoint(path, arrays, meta)


def load_training_checkpoint(path: Path) -> TrainingCheckpoint:
    """A checkpoint written by save_training_checkpoint; NnvaeError naming the
    file when it is not one, or is incomplete."""
    from ..params_io import load_checkpoint

    if not Path(path).is_file():
        raise NnvaeError(f"{path}: no such checkpoint file")
    arrays, meta = load_checkpoint(path)
    if meta.get("format") != CHECKPOINT_FORMAT or meta.get("version") != CHECKPOINT_VERSION:
        raise NnvaeError(f"{path}: not an nnvae training checkpoint (format {meta.get('format')!r}, "
                         f"version {meta.get('version')!r})")
    try:
        params = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
        solver = {}
        for name, t in meta["adam_t"].items():
            prefix = f"adam/{name}/"
            st = _core.SolverState()
            st.arrays = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
            st.t = int(t)
            solver[name] = st
        state = _core.TrainerState.from_dict(dict(meta["state"], order=arrays["state/order"]))
        history = {"iteration": [int(v) for v in arrays["history/iteration"]],
                   "train_loss": [float(v) for v in arrays["history/train_loss"]],
                   "val_loss": [float(v) for v in arrays["history/val_loss"]]}
        return TrainingCheckpoint(params, solver, state, dict(meta["settings"]), history,
                                  float(meta.get("elapsed_seconds", 0.0)))
    except (KeyError, TypeError, ValueError) as e:
        raise NnvaeError(f"{path}: incomplete training checkpoint: {type(e).__name__}: {e}") from None

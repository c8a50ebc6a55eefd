"""Training checkpoints: everything an exact resume needs, in one file.

The file is nnvae.app.checkpoint_file's container (named arrays + JSON meta):

    param/<name>             the parameters
    adam/<name>/<key>        each parameter's solver arrays (Adam: mean, var;
                             version 1 named them m, v)
    state/order              this epoch's shuffled image indices
    history/iteration, history/train_loss, history/val_loss
    meta: format, version, settings (the VaeConfig fields and the data set),
          state (the TrainerState fields but order), adam_t ({name: step
          count}), elapsed_seconds
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from ... import _core
from ...errors import NnvaeError

CHECKPOINT_NAME = "checkpoint.nnvckpt"
CHECKPOINT_FORMAT = "nnvae-vae-training"
CHECKPOINT_VERSION = 2
# Version 1 stored Adam's moments under the engine's former names.
_V1_STATE_NAMES = {"m": "mean", "v": "var"}
# What a checkpoint holds besides param/<name> and adam/<name>/<key>.
_META_KEYS = ("format", "version", "settings", "state", "adam_t", "elapsed_seconds")
_ARRAY_NAMES = ("state/order", "history/iteration", "history/train_loss", "history/val_loss")


@dataclass
class TrainingCheckpoint:
    parameters: Dict[str, np.ndarray]
    solver_state: Dict[str, "_core.vae.SolverState"]
    state: "_core.vae.TrainerState"
    settings: dict  # VaeConfig fields and "dataset"
    history: Dict[str, List]  # iteration, train_loss, val_loss of the monitor lines so far
    elapsed: float  # training seconds before this checkpoint


def resume_command(checkpoint: Path, data_dir: Optional[str] = None) -> str:
    """The shell command that continues from `checkpoint` (with the data
    folder the run was given, so that it does not fetch the data anew)."""
    words = ["nnvae-train", "--resume", str(checkpoint)] + (["--data-dir", str(data_dir)] if data_dir else [])
    return " ".join(shlex.quote(w) for w in words)


def save_training_checkpoint(path: Path, trainer, settings: dict, history: Dict[str, list],
                             elapsed: float) -> None:
    """Writes `trainer`'s parameters, solver and loop state atomically."""
    from ..checkpoint_file import save_checkpoint

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
    """A checkpoint written by save_training_checkpoint, checked field by
    field (presence, type, range: the settings through VaeConfig's own
    parsing); NnvaeError naming the file and the field otherwise. The
    settings as a whole are validated with the options of the resumed run
    (which may change the thread count, for example)."""
    from ..checkpoint_file import load_checkpoint

    if "\0" not in str(path) and not Path(path).exists():
        raise NnvaeError(f"{path}: no such checkpoint file")
    arrays, meta = load_checkpoint(path)
    if meta.get("format") != CHECKPOINT_FORMAT or meta.get("version") not in (1, CHECKPOINT_VERSION):
        raise NnvaeError(f"{path}: not an nnvae training checkpoint (format {meta.get('format')!r}, "
                         f"version {meta.get('version')!r})")

    def bad(field: str, problem: str) -> NnvaeError:
        return NnvaeError(f"{path}: checkpoint field {field} {problem}")

    def entry(mapping: dict, key: str, where: str, kinds: tuple, kind_name: str):
        if key not in mapping:
            raise bad(f"{where}{key}", "is missing")
        value = mapping[key]
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise bad(f"{where}{key}", f"is {type(value).__name__} {_short(value)}, expected {kind_name}")
        return value

    def array(name: str, kinds: str):
        if name not in arrays:
            raise bad(name, "is missing")
        a = arrays[name]
        if a.ndim != 1 or a.dtype.kind not in kinds:
            raise bad(name, f"is a {a.dtype} array of shape {a.shape}, expected a 1-D "
                            f"{'integer' if kinds == 'iu' else 'float'} array")
        return a

    # Nothing this nnvae does not know is skipped: an unknown entry is
    # refused by name (it may hold what the run needs, from a newer nnvae or
    # a hand-edited file).
    unknown = sorted(set(meta) - set(_META_KEYS))
    if unknown:
        raise bad(unknown[0], "is not a field of an nnvae training checkpoint")
    unknown = sorted(k for k in arrays if not k.startswith(("param/", "adam/")) and k not in _ARRAY_NAMES)
    if unknown:
        raise bad(unknown[0], "is not an array of an nnvae training checkpoint")

    settings = entry(meta, "settings", "", (dict,), "an object")
    for key in ("state", "adam_t"):
        entry(meta, key, "", (dict,), "an object")
    elapsed = entry(meta, "elapsed_seconds", "", (int, float), "a number")
    if not 0 <= elapsed < float("inf"):
        raise bad("elapsed_seconds", f"is {elapsed}, expected a finite number >= 0")

    # Settings: every VaeConfig field, of its kind, set through the field
    # table's text parsing (which owns each field's range); validated as a
    # whole later, with the resumed run's options (prepare.run_settings).
    from ..datasets import DATASETS
    cfg = _core.vae.VaeConfig()
    kinds = {"int": ((int,), "an integer"), "float": ((int, float), "a number"), "choice": ((str,), "a string"),
             "str": ((str,), "a string")}
    known = {"dataset"}
    for f in _core.vae.VaeConfig.fields():
        known.add(f["name"])
        value = entry(settings, f["name"], "settings.", *kinds.get(f["kind"], ((object,), "a value")))
        try:
            cfg.update({f["name"]: str(value)})
        except (ValueError, TypeError) as e:
            raise bad(f"settings.{f['name']}", f"is {_short(value)}: {e}") from None
    unknown = sorted(set(settings) - known)
    if unknown:
        raise bad(f"settings.{unknown[0]}", "is not a setting of this nnvae")
    if "dataset" in settings and settings["dataset"] not in DATASETS:
        raise bad("settings.dataset", f"is {_short(settings['dataset'])}, expected one of {', '.join(DATASETS)}")

    # The loop's state: the fields and kinds of TrainerState's own table.
    stored_state = dict(meta["state"])
    state_fields = _core.vae.TrainerState().to_dict()
    unknown = sorted(set(stored_state) - (set(state_fields) - {"order"}))  # the order is the array state/order
    if unknown:
        raise bad(f"state.{unknown[0]}", "is not a field of the training loop's state")
    for key, default in state_fields.items():
        if key == "order":
            continue
        kind = (int,) if isinstance(default, int) else (int, float) if isinstance(default, float) else (str,)
        value = entry(stored_state, key, "state.", kind, "an integer" if kind == (int,) else "a number"
                      if float in kind else "a string")
        if kind == (int,) and not -2 ** 63 <= value < 2 ** 63:
            raise bad(f"state.{key}", f"is {value}, beyond a 64-bit integer")
        if float in kind and not -float("inf") < value < float("inf"):
            raise bad(f"state.{key}", f"is {value}, expected a finite number")
    order = array("state/order", "iu")
    history = {"iteration": array("history/iteration", "iu"), "train_loss": array("history/train_loss", "f"),
               "val_loss": array("history/val_loss", "f")}
    if len({len(v) for v in history.values()}) != 1:
        raise bad("history", "has arrays of different lengths " + str([len(v) for v in history.values()]))

    params = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
    if not params:
        raise bad("param/*", "is missing: the checkpoint holds no parameters")
    solver = {}
    claimed = set()  # the adam/ arrays of the parameters in adam_t
    for name in meta["adam_t"]:
        t = entry(meta["adam_t"], name, "adam_t.", (int,), "an integer")
        if not 0 <= t < 2 ** 63:
            raise bad(f"adam_t.{name}", f"is {t}, expected a step count >= 0")
        prefix = f"adam/{name}/"
        st = _core.vae.SolverState()
        stored = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
        claimed.update(prefix + k for k in stored)
        if meta["version"] == 1:
            # A crafted file holding both names of a moment would lose one silently.
            for old, new in _V1_STATE_NAMES.items():
                if old in stored and new in stored:
                    raise bad(f"{prefix}{old}", f"and {prefix}{new} are both present: a version-1 checkpoint "
                                                "has only the first")
            stored = {_V1_STATE_NAMES.get(k, k): v for k, v in stored.items()}
        st.arrays = stored
        st.t = t
        solver[name] = st
    orphans = sorted(k for k in arrays if k.startswith("adam/") and k not in claimed)
    if orphans:
        owner = orphans[0][len("adam/"):].rsplit("/", 1)[0]
        raise bad(orphans[0], f"is Adam's state of a parameter without a step count (no adam_t.{owner})")
    try:
        state = _core.vae.TrainerState.from_dict(dict(stored_state, order=order))
    except (KeyError, TypeError, ValueError, OverflowError) as e:
        raise bad("state", f"is invalid: {e}") from None
    return TrainingCheckpoint(params, solver, state, dict(settings),
                              {"iteration": [int(v) for v in history["iteration"]],
                               "train_loss": [float(v) for v in history["train_loss"]],
                               "val_loss": [float(v) for v in history["val_loss"]]},
                              float(elapsed))


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."

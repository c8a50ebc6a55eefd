"""Preparing a run: its settings (the folder is run_folder's).

The model's and the loop's settings are `VaeConfig`'s: their names, defaults,
command-line parsing and every check live there, in C++. What stays here is
Python's own: the data set, the folders, the checkpoint to resume from, how
often to write a checkpoint, and the display.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional, Tuple

from ... import _core
from ...errors import UsageError
from .checkpoint import TrainingCheckpoint

DEFAULT_DATASET = "mnist"
# Settings a resumed run may set anew: the run's length, and the thread
# count, graph mode and init, which leave every later step's numbers as they
# are (the init is spent already). Any other setting must stay the
# checkpoint's.
RESUME_MAY_CHANGE = ("iterations", "threads", "graph", "init")


@dataclass
class TrainOptions:
    """What `nnvae-train` can set. `config` holds the VaeConfig settings given
    ({field name: value}; a str is parsed as command-line text); the others
    are VaeConfig()'s defaults, or the checkpoint's when resuming."""

    config: Dict[str, Any] = field(default_factory=dict)
    epochs: Optional[int] = None  # instead of iterations: whole epochs of floor(N / batch size) steps
    dataset: Optional[str] = None  # DEFAULT_DATASET, or the checkpoint's
    data_dir: Optional[str] = None
    out: Optional[str] = None  # run folder; default runs/<time stamp>
    resume: Optional[str] = None  # a checkpoint file
    checkpoint_every: int = 1000  # iterations between checkpoints
    eval_batch_size: int = _core.vae.VAE_EVAL_BATCH_SIZE
    progress: Optional[bool] = None  # None: a progress bar when stderr is a terminal
    quiet: bool = False  # print only the run folder and the result line (log.txt is unchanged)
    pictures: bool = True
    download: bool = True

    @classmethod
    def of(cls, **settings) -> "TrainOptions":
        """TrainOptions.of(iterations=40, latent=8, out="run"): the names of
        this class's fields go there, every other one into `config` (None
        there means: not given)."""
        own = {f.name for f in fields(cls)} - {"config"}
        return cls(config={k: v for k, v in settings.items() if k not in own and v is not None},
                   **{k: v for k, v in settings.items() if k in own})


def config_fields() -> List[dict]:
    """VaeConfig.fields(), each with 'default_text': its default as
    command-line text (as --help shows it)."""
    defaults = _core.vae.VaeConfig()
    return [dict(f, default_text=defaults.get(f["name"])) for f in _core.vae.VaeConfig.fields()]


def _flag(name: str) -> str:
    return next((f["flag"] for f in _core.vae.VaeConfig.fields() if f["name"] == name), name)


def _positive_int(flag: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{flag} must be an integer >= 1, got {value!r}")


def check_own_options(o: TrainOptions) -> None:
    """The options that are Python's, before anything is loaded (UsageError)."""
    from ..datasets import DATASETS

    if o.epochs is not None and "iterations" in o.config:
        raise UsageError("give --iterations or --epochs, not both")
    for name in ("epochs", "checkpoint_every", "eval_batch_size"):
        value = getattr(o, name)
        if value is not None:
            _positive_int(name.replace("_", "-"), value)
    if o.dataset is not None and o.dataset not in DATASETS:
        raise UsageError(f"unknown data set {o.dataset!r}: choose {' or '.join(DATASETS)}")


def run_settings(o: TrainOptions, saved: Optional[TrainingCheckpoint]) -> Tuple["_core.vae.VaeConfig", str]:
    """(VaeConfig, data set) of the run: the options given over the
    checkpoint's settings when resuming, over VaeConfig()'s otherwise;
    checked by VaeConfig.validate (UsageError with its message)."""
    check_own_options(o)
    dataset = o.dataset or DEFAULT_DATASET
    try:
        if saved is not None:
            stored = dict(saved.settings)
            saved_dataset = stored.pop("dataset", DEFAULT_DATASET)
            if o.dataset is not None and o.dataset != saved_dataset:
                raise UsageError(f"--dataset {o.dataset} differs from the checkpoint's {saved_dataset}; "
                                 f"a resumed run keeps it")
            dataset = saved_dataset
            cfg = _core.vae.VaeConfig(stored)
        else:
            cfg = _core.vae.VaeConfig()
        for name, value in o.config.items():
            before = cfg.get(name)
            if isinstance(value, float):  # through the option's own parsing, which refuses inf and nan
                value = repr(value)
            cfg.update({name: value})
            if saved is not None and name not in RESUME_MAY_CHANGE and cfg.get(name) != before:
                raise UsageError(f"--{_flag(name)} {cfg.get(name)} differs from the checkpoint's {before}; "
                                 f"a resumed run keeps it")
        cfg.validate()
    except (ValueError, TypeError) as e:
        where = f" (the settings of {o.resume} with the options given)" if saved is not None else ""
        raise UsageError(f"{e}{where}") from None
    return cfg, dataset


def fit_to_data(cfg, epochs: Optional[int], n_train: int, n_test: int) -> int:
    """Checks `cfg` against the data set sizes and turns --epochs into
    iterations; returns the steps per epoch."""
    try:
        cfg.validate(n_train, n_test)
    except ValueError as e:
        raise UsageError(str(e)) from None
    per_epoch = n_train // cfg.batch_size
    if epochs is not None:
        try:  # through the field table's parsing, which owns the range of --iterations
            cfg.update({"iterations": str(epochs * per_epoch)})
        except ValueError as e:
            raise UsageError(f"--epochs {epochs}: {epochs * per_epoch} iterations of {per_epoch} per epoch are "
                             f"more than a run can have ({e})") from None
    return per_epoch

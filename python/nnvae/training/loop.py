"""Training: the C++ loop run in stretches between checkpoints, its monitor
lines written as they come, Ctrl-C turned into a checkpoint, and a resumed
run set back exactly where its checkpoint left it.

A checkpoint is written every `checkpoint_every` iterations, on Ctrl-C (the
C++ loop stops before its next step) and at the end.
"""
from __future__ import annotations

import csv
import io
import json
import signal
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, TextIO

from .. import _core
from ..errors import NnvaeError, UsageError
from ..files import atomic_text
from .checkpoint import CHECKPOINT_NAME, TrainingCheckpoint, save_training_checkpoint
from .progress import ProgressBar

LOG_NAME = "log.txt"
LOSSES_NAME = "losses.csv"


def empty_history() -> Dict[str, List]:
    return {"iteration": [], "train_loss": [], "val_loss": []}


def start_trainer(cfg, train_images, test_images, saved: Optional[TrainingCheckpoint], resume_path):
    """A VaeTrainer on the images, set to the checkpoint's point when given."""
    trainer = _core.VaeTrainer(cfg, train_images, test_images)
    if saved is None:
        return trainer
    try:
        trainer.set_parameters(saved.parameters)
        trainer.solver_state = saved.solver_state
        trainer.state = saved.state
    except (ValueError, TypeError) as e:
        raise NnvaeError(f"{resume_path}: the checkpoint does not fit this run: {e}") from None
    if trainer.iteration >= cfg.iterations:
        raise UsageError(f"the checkpoint is at iteration {trainer.iteration}, which reaches "
                         f"--iterations {cfg.iterations}: ask for more to continue")
    return trainer


def write_losses_csv(path: Path, history: Dict[str, list]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["iteration", "train_loss", "val_loss"])
    for it, tl, vl in zip(history["iteration"], history["train_loss"], history["val_loss"]):
        w.writerow([it, f"{tl:.6f}", f"{vl:.6f}"])
    atomic_text(path, buf.getvalue())


def train(trainer, folder: Path, settings: dict, history: Dict[str, list], elapsed: float,
          resume_path: Optional[str], checkpoint_every: int, out: TextIO, err: TextIO, progress: bool) -> float:
    """Trains up to settings["iterations"], printing and logging the monitor
    lines and appending them to `history`; returns the total training
    seconds (`elapsed` before this session included). A Ctrl-C saves a
    checkpoint and raises KeyboardInterrupt saying how to resume; a
    non-finite loss raises NnvaeError naming the last good checkpoint."""
    iterations = settings["iterations"]
    ckpt_path = folder / CHECKPOINT_NAME
    log_path, csv_path = folder / LOG_NAME, folder / LOSSES_NAME
    # The monitored losses before the resume point are kept; log.txt grows.
    write_losses_csv(csv_path, history)
    start_it = trainer.iteration
    what = f"resumed from {resume_path} at iteration {start_it}" if resume_path else "new run"
    bar = ProgressBar(err, iterations, start_it, progress)

    with open(log_path, "a", encoding="utf-8") as log, open(csv_path, "a", encoding="utf-8") as csv_file:
        log.write(f"# {what}: {json.dumps(settings, sort_keys=True)}\n")
        log.flush()

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

        last_ckpt = (start_it, Path(resume_path)) if resume_path else None
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
            while trainer.iteration < iterations:
                until = min(iterations, (trainer.iteration // checkpoint_every + 1) * checkpoint_every)
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
    return elapsed + time.monotonic() - t0

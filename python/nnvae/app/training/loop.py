"""Training: the C++ loop run in stretches between checkpoints, its monitor
lines written as they come, Ctrl-C turned into a checkpoint, and a resumed
run set back exactly where its checkpoint left it.

A checkpoint is written every `checkpoint_every` iterations, on Ctrl-C (the
C++ loop stops before its next step) and at the end. A Ctrl-C raises
TrainingInterrupted once its checkpoint is written; its message names the
checkpoint and the command that continues the run, and is said once, by
whoever catches it (the command prints it and exits with 130).
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

from ... import _core
from ...errors import NnvaeError, UsageError
from ...files import LineLog, atomic_text
from ..checkpoint_file import CheckpointError
from .checkpoint import CHECKPOINT_NAME, TrainingCheckpoint, resume_command, save_training_checkpoint
from .progress import ERASE_LINE, ProgressBar

LOG_NAME = "log.txt"
LOSSES_NAME = "losses.csv"


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the run, its checkpoint saved; the message says where,
    and how to go on."""


def clear_terminal_line(stream: TextIO) -> None:
    """Erase the line the cursor is on when `stream` is a terminal: a
    progress line, or the ^C the terminal echoed where the cursor was (every
    line printed ends with its newline, so nothing else is there)."""
    try:
        if stream.isatty():
            stream.write("\r" + ERASE_LINE)
            stream.flush()
    except (AttributeError, OSError, ValueError):
        pass


def empty_history() -> Dict[str, List]:
    return {"iteration": [], "train_loss": [], "val_loss": []}


def start_trainer(cfg, train_images, test_images, saved: Optional[TrainingCheckpoint], resume_path):
    """A VaeTrainer on the images, set to the checkpoint's point when given."""
    if saved is not None and saved.state.iteration > cfg.iterations:
        raise UsageError(f"the checkpoint is at iteration {saved.state.iteration}, past "
                         f"--iterations {cfg.iterations}: ask for at least as many to continue")
    trainer = _core.vae.VaeTrainer(cfg, train_images, test_images)
    if saved is None:
        return trainer
    try:
        trainer.set_parameters(saved.parameters)  # first: it lists every difference of the parameters
    except (ValueError, TypeError) as e:
        raise NnvaeError(f"{resume_path}: the checkpoint does not fit this run: {e}") from None
    # Solver states of parameters the model lacks, or that its solver does
    # not keep, would be dropped silently: refused by the checkpoint's names.
    own = trainer.solver_state
    for name, given in saved.solver_state.items():
        if name not in own:
            raise NnvaeError(f"{resume_path}: checkpoint field adam_t.{name} is for a parameter the model lacks "
                             f"(the VAE of latent {cfg.latent}, hidden {cfg.hidden} has no {name})")
        unknown = sorted(set(given.arrays) - set(own[name].arrays))
        if unknown:
            raise NnvaeError(f"{resume_path}: checkpoint field adam/{name}/{unknown[0]} is not a state of the "
                             f"trainer's solver (it keeps {', '.join(sorted(own[name].arrays))})")
    try:
        trainer.solver_state = saved.solver_state
        trainer.state = saved.state
    except (ValueError, TypeError) as e:
        raise NnvaeError(f"{resume_path}: the checkpoint does not fit this run: {e}") from None
    return trainer


def write_losses_csv(path: Path, history: Dict[str, list]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["iteration", "train_loss", "val_loss"])
    for it, tl, vl in zip(history["iteration"], history["train_loss"], history["val_loss"]):
        w.writerow([it, f"{tl:.6f}", f"{vl:.6f}"])
    atomic_text(path, buf.getvalue())


def train(trainer, folder: Path, settings: dict, history: Dict[str, list], elapsed: float,
          resume_path: Optional[str], checkpoint_every: int, out: TextIO, err: TextIO, progress: bool,
          data_dir: Optional[str] = None) -> float:
    """Trains up to settings["iterations"], printing and logging the monitor
    lines and appending them to `history`; returns the total training
    seconds (`elapsed` before this session included). A Ctrl-C saves a
    checkpoint and raises TrainingInterrupted saying how to resume (with
    `data_dir`, the run's --data-dir); a
    non-finite loss, or a file that cannot be written (disk full), raises
    NnvaeError naming the last good checkpoint. log.txt and losses.csv grow
    by whole lines only. A trainer already at `iterations` (a run whose
    final phase was interrupted) trains no further."""
    iterations = settings["iterations"]
    ckpt_path = folder / CHECKPOINT_NAME
    log_path, csv_path = folder / LOG_NAME, folder / LOSSES_NAME
    start_it = trainer.iteration
    last_ckpt = (start_it, Path(resume_path)) if resume_path else None
    what = f"resumed from {resume_path} at iteration {start_it}" if resume_path else "new run"
    if start_it >= iterations:
        what = f"finishing {resume_path}: training reached iteration {start_it} already"
    bar = ProgressBar(err, iterations, start_it, progress)
    try:
        # The monitored losses before the resume point are kept; log.txt grows.
        write_losses_csv(csv_path, history)
        log, csv_file = LineLog(log_path), LineLog(csv_path)
        log.line(f"# {what}: {json.dumps(settings, sort_keys=True)}")
    except OSError as e:
        raise NnvaeError(_write_failure(_reason(e), last_ckpt, data_dir)) from None

    with log, csv_file:
        write_failed: List[OSError] = []
        # Ctrl-C (or a failed log write) asks the C++ loop to stop before its
        # next step (checked there through should_stop); a second Ctrl-C
        # interrupts at once.
        stop_requested: list = []

        def on_monitor(iteration: int, tloss: float, vloss: float) -> None:
            line = _core.vae.vae_format_monitor_line(iteration, tloss, vloss)
            history["iteration"].append(iteration)
            history["train_loss"].append(tloss)
            history["val_loss"].append(vloss)
            bar.clear()
            print(line, file=out, flush=True)
            if write_failed:
                return
            try:
                log.line(line)
                csv_file.line(f"{iteration},{tloss:.6f},{vloss:.6f}")
            except OSError as e:  # the loop stops before its next step; the checkpoint keeps the history
                write_failed.append(e)
                stop_requested.append("write failed")
                return
            bar.show(iteration + 1, tloss, vloss)

        def on_sigint(signum, frame):
            if stop_requested:
                raise KeyboardInterrupt
            stop_requested.append(signum)

        # A run whose Ctrl-C is ignored (a shell's background job, `nnvae-train &`)
        # keeps it ignored, as the final phase does.
        old_handler = None
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN):
            old_handler = signal.signal(signal.SIGINT, on_sigint)
        t0 = time.monotonic()
        r = None
        try:
            while trainer.iteration < iterations:
                until = min(iterations, (trainer.iteration // checkpoint_every + 1) * checkpoint_every)
                bar.show(trainer.iteration)
                r = trainer.train(until, on_monitor, lambda: bool(stop_requested))
                run_time = elapsed + time.monotonic() - t0
                if r["reason"] == "nonfinite":
                    where = (f"the last good checkpoint, at iteration {last_ckpt[0]}, is {last_ckpt[1]}"
                             if last_ckpt else "no checkpoint had been saved yet")
                    raise NnvaeError(f"the training loss became {r['bad_loss']} at iteration {r['iteration']}; "
                                     f"stopped ({where}); try a smaller --learning-rate")
                try:
                    save_training_checkpoint(ckpt_path, trainer, settings, history, run_time)
                except CheckpointError as e:
                    cause = e.__cause__ if isinstance(e.__cause__, OSError) else e
                    raise NnvaeError(_write_failure(f"cannot write {ckpt_path} at iteration {trainer.iteration}: "
                                                    f"{cause.strerror if isinstance(cause, OSError) else cause}",
                                                    last_ckpt, data_dir)) from None
                last_ckpt = (trainer.iteration, ckpt_path)
                if write_failed:
                    raise NnvaeError(_write_failure(_reason(write_failed[0]), last_ckpt, data_dir))
                if r["reason"] != "finished":
                    break
            # A Ctrl-C stopped the loop, or came after its last step (while
            # the last checkpoint was written): either way the run stops here.
            if (r is not None and r["reason"] != "finished") or signal.SIGINT in stop_requested:
                msg = (f"interrupted at iteration {trainer.iteration}; checkpoint saved to {last_ckpt[1]}; "
                       f"continue with: {resume_command(last_ckpt[1], data_dir)}")
                try:
                    log.line(f"# {msg}")
                except OSError:
                    pass
                raise TrainingInterrupted(msg)
        except KeyboardInterrupt:  # TrainingInterrupted, or a second Ctrl-C
            clear_terminal_line(err)  # the progress line, and the ^C the terminal echoed
            raise
        finally:
            bar.done()  # before any message about how the loop ended
            if old_handler is not None:
                signal.signal(signal.SIGINT, old_handler)
    return elapsed + time.monotonic() - t0


def _reason(e: OSError) -> str:
    return f"cannot write {e.filename}: {e.strerror or e}" if e.filename else f"cannot write: {e.strerror or e}"


def _write_failure(what: str, last_ckpt, data_dir: Optional[str]) -> str:
    """One line for a file of the run that could not be written (disk full,
    permissions), naming the last good checkpoint and how to go on."""
    if last_ckpt is None:
        return f"{what}; no checkpoint had been saved yet"
    return (f"{what}; the last good checkpoint, at iteration {last_ckpt[0]}, is {last_ckpt[1]}: free some space "
            f"and continue with: {resume_command(last_ckpt[1], data_dir)}")

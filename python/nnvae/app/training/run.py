"""A whole run: prepare (settings, folder), train, finish (files, evaluation,
pictures)."""
from __future__ import annotations

import io
import sys
import time
from pathlib import Path
from typing import Optional, TextIO

import numpy as np

from ... import _core
from ... import matmul_precision
from ...errors import NnvaeError
from ...files import LineLog
from ...params_io import ParameterFileError
from .checkpoint import CHECKPOINT_NAME, load_training_checkpoint, resume_command
from .finish import METRICS_NAME, evaluate_run, save_parameter_files, save_pictures
from .loop import LOG_NAME, LOSSES_NAME, TrainingInterrupted, clear_terminal_line, empty_history, start_trainer, train
from .prepare import TrainOptions, fit_to_data, run_settings
from .run_folder import claim_run_folder, tidy_run_folder


class _Nowhere(io.TextIOBase):
    """A text stream that drops what is written to it (--quiet)."""

    def write(self, s: str) -> int:
        return len(s)


def _load_images(dataset: str, data_dir, download: bool, log):
    from ..datasets import load_dataset

    train_images, _ = load_dataset(dataset, "train", data_dir, download, log)
    test_images, _ = load_dataset(dataset, "test", data_dir, download, log)
    return train_images, test_images


def run_training(o: TrainOptions, out: TextIO = None, err: TextIO = None,
                 train_images: Optional[np.ndarray] = None,
                 test_images: Optional[np.ndarray] = None) -> dict:
    """Train as the options say and write the run folder; returns the metrics.

    `train_images` / `test_images` (uint8 (N, 28, 28)) replace the data set
    (tests). Raises UsageError for impossible options, NnvaeError for runtime
    failures; a Ctrl-C (during the training or the final phase) raises
    TrainingInterrupted, a KeyboardInterrupt whose message names the saved
    checkpoint and the command that continues the run.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    folder = Path(o.out) if o.out else (Path(o.resume).parent if o.resume else None)
    if folder is not None:  # before anything can fail: the checkpoint may be what a kill -9 cut short
        tidy_run_folder(folder)
    saved = load_training_checkpoint(Path(o.resume)) if o.resume else None
    cfg, dataset = run_settings(o, saved)
    if train_images is None:  # a data folder that is a file, say, is refused before any run folder is made
        from ..datasets import dataset_dir
        dataset_dir(dataset, o.data_dir)
    # Locked for this run until it ends: a second run into it is refused.
    with claim_run_folder(folder, o.resume, o.data_dir) as claimed:
        folder = claimed.path
        print(f"run folder: {folder}", file=out, flush=True)
        try:
            if train_images is None:
                # A first run's download line is chatter too: --quiet drops it
                # (a failed download still raises, and is shown as the error).
                fetch_log = (lambda line: None) if o.quiet else (lambda line: print(line, file=err, flush=True))
                train_images, test_images = _load_images(dataset, o.data_dir, o.download, fetch_log)
            per_epoch = fit_to_data(cfg, o.epochs, len(train_images), len(test_images))
            trainer = start_trainer(cfg, train_images, test_images, saved, o.resume)
        except BaseException:
            claimed.give_up()  # nothing was trained: leave no empty run folder behind
            raise
        # The trainer holds its own uint8 copy; ours would only add 47 MB to the
        # process (nnvae-train stays under 200 MB resident).
        del train_images
        settings = dict(cfg.to_dict(), threads=_core.get_num_threads(), dataset=dataset)
        history = saved.history if saved else empty_history()
        progress = o.progress if o.progress is not None else err.isatty()
        # --quiet: the monitor lines and the progress reports go nowhere (log.txt
        # still gets every monitor line); the run folder and the result still show.
        chatter = _Nowhere() if o.quiet else out
        progress = progress and not o.quiet
        if cfg.precision == "bf16":  # as train_vae says it: the path, and why this one
            print(f"bf16 products, {_core.bf16_dispatch()['reason']}", file=chatter, flush=True)

        start_it = trainer.iteration
        if start_it >= cfg.iterations:  # an interrupted final phase: only that is done again
            print(f"the checkpoint reaches iteration {start_it} of {cfg.iterations} already: finishing the run "
                  f"(parameter files, evaluation, pictures)", file=chatter, flush=True)
        t0 = time.monotonic()
        train_seconds = train(trainer, folder, settings, history, saved.elapsed if saved else 0.0, o.resume,
                              o.checkpoint_every, chatter, err, progress, o.data_dir)
        session_seconds = time.monotonic() - t0
        # The final phase needs only the trained parameters: the trainer (its
        # uint8 copy of the images, Adam's state, its graphs) goes first, so that
        # the evaluation's and the files' memory does not come on top of it.
        iteration, model = trainer.iteration, trainer.model()
        del trainer

        ckpt = folder / CHECKPOINT_NAME
        try:
            with matmul_precision(cfg.precision):  # the evaluation's products as the training's
                return _finish(o, folder, model, iteration, cfg, settings, history, saved, start_it, per_epoch,
                               train_seconds, session_seconds, test_images, out, err, chatter, progress)
        except KeyboardInterrupt:
            # Ctrl-C during the final phase: the training is saved; a
            # --resume does only this phase again.
            clear_terminal_line(err)  # the progress line, and the ^C the terminal echoed
            msg = (f"interrupted during the final phase (evaluation, parameter files, pictures); the training is "
                   f"saved in {ckpt} (iteration {iteration}): finish the run with: "
                   f"{resume_command(ckpt, o.data_dir)}")
            try:
                with LineLog(folder / LOG_NAME) as log:
                    log.line(f"# {msg}")
            except OSError:
                pass
            raise TrainingInterrupted(msg) from None
        except (OSError, ParameterFileError) as e:
            # Training is done and its checkpoint written: only the final phase is to be redone.
            reason = e if isinstance(e, ParameterFileError) else f"cannot write {e.filename}: {e.strerror or e}"
            raise NnvaeError(f"{reason}; the training itself is saved in {ckpt} (iteration {iteration}): free "
                             f"some space and finish the run with: {resume_command(ckpt, o.data_dir)}") from None


def _finish(o, folder, model, iteration, cfg, settings, history, saved, start_it, per_epoch, train_seconds,
            session_seconds, test_images, out, err, chatter, progress) -> dict:
    """The final phase for `model` (a VaeModel) trained to `iteration`:
    parameter files, evaluation with metrics.json, pictures, the result line
    in log.txt."""
    written = save_parameter_files(folder, model.parameters())
    if saved is None:
        took = f"in {train_seconds:.1f} s"
    else:  # a resumed run: both sessions' time, and this session's own
        took = (f"in {train_seconds:.1f} s over all sessions (this session: {iteration - start_it} "
                f"iterations in {session_seconds:.1f} s)")
    print(f"trained {iteration} iterations ({iteration / per_epoch:.2f} epochs) {took}; "
          f"evaluating the {len(test_images)} test images...", file=chatter, flush=True)
    facts = {
        "iterations": int(iteration),
        "epochs": iteration / per_epoch,
        "train_seconds": train_seconds,
        "images_per_second": ((iteration - start_it) * cfg.batch_size / session_seconds
                              if session_seconds > 0 else None),
        "settings": settings,
        "resumed_from": str(o.resume) if o.resume else None,
    }
    if cfg.precision == "bf16":  # which bf16 path this machine ran, and why
        facts["bf16_path"] = _core.bf16_dispatch()["reason"]
    metrics = evaluate_run(folder, model, test_images, facts, history, o.eval_batch_size, out, err, progress)
    if o.pictures:
        written += save_pictures(folder, model, test_images, history, cfg.seed)
    with LineLog(folder / LOG_NAME) as log:
        log.line(f"# test negative ELBO: {metrics['test_negative_elbo']:.6f}")
    names = [p.name for p in written] + [METRICS_NAME, CHECKPOINT_NAME, LOSSES_NAME, LOG_NAME]
    print(f"wrote {', '.join(names)} in {folder}", file=chatter, flush=True)
    return metrics

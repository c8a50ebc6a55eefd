"""Ctrl-C on a terminal: nnvae-train runs in a pseudo-terminal that is its
controlling terminal, and Ctrl-C is typed there (the terminal sends SIGINT
and echoes ^C). During the training and during the final phase (evaluation,
parameter files, pictures) it stops the run with exit code 130, keeps the
checkpoint, and says so in one message naming the checkpoint and the command
that continues the run; the progress line and the echoed ^C are gone from
the screen. --resume then finishes the run."""
import json
import os
import signal

import pytest

from nnvae.app import training
from nnvae.app.checkpoint_file import load_checkpoint

from terminal import emulate, run_in_terminal
from vae_fixtures import SMALL, data_root, run_cli, synthetic_digits

pytest.importorskip("pyte", reason="pyte (tests/requirements.txt) emulates the terminal")

COLUMNS = 80
# The tutorial's model size at batch 20 on one thread: slow enough (about 50
# steps a second, an evaluation of a second or two) for a Ctrl-C to land.
TUTORIAL = [a for a in SMALL if a != "--no-progress"] + ["--latent", "50", "--hidden", "500"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return data_root(tmp_path_factory)


def no_bar_left(shown):
    return not any(mark in line for line in shown for mark in ("it/s", "images/s", " left", "[#", "[.", "^C"))


def test_ctrl_c_during_training(root, tmp_path):
    out = tmp_path / "run"
    code, text = run_in_terminal(["train", "--data-dir", root, *TUTORIAL, "--iterations", 2000, "--out", out],
                                    tmp_path, COLUMNS, ctrl_c_after="iter: 19,", typed=True)
    assert code == 130, text[-2000:]
    ckpt = out / "checkpoint.nnvckpt"
    k = load_checkpoint(ckpt)[1]["state"]["iteration"]
    assert 20 <= k < 2000
    shown = emulate(text, COLUMNS)
    assert no_bar_left(shown), shown
    said = "".join("".join(shown).split())  # the message wraps at spaces (and inside a path longer than a row)
    message = (f"nnvae: interrupted at iteration {k}; checkpoint saved to {ckpt}; continue with: nnvae-train "
               f"--resume {ckpt} --data-dir {root}")
    assert said.endswith("".join(message.split())), shown[-6:]
    assert said.count("interrupted") == 1
    last = [l for l in shown if l.startswith("iter: ")][-1]
    assert int(last.split(",")[0].split()[1]) < k  # every monitor line is there, before the message


def test_ctrl_c_during_the_final_phase_then_resume_finishes(root, tmp_path):
    out = tmp_path / "run"
    code, text = run_in_terminal(["train", "--data-dir", root, *TUTORIAL, "--iterations", 20, "--out", out],
                                    tmp_path, COLUMNS, ctrl_c_after="evaluating", typed=True)
    assert code == 130, text[-2000:]
    ckpt = out / "checkpoint.nnvckpt"
    assert load_checkpoint(ckpt)[1]["state"]["iteration"] == 20  # the training is kept
    assert not (out / "metrics.json").exists()
    shown = emulate(text, COLUMNS)
    assert no_bar_left(shown), shown
    said = "".join("".join(shown).split())  # the message wraps at spaces (and inside a path longer than a row)
    message = (f"nnvae: interrupted during the final phase (evaluation, parameter files, pictures); the training "
               f"is saved in {ckpt} (iteration 20): finish the run with: nnvae-train --resume {ckpt} --data-dir "
               f"{root}")
    assert said.endswith("".join(message.split())), shown[-6:]
    assert said.count("interrupted") == 1
    assert f"# interrupted during the final phase" in (out / "log.txt").read_text()

    r = run_cli("train", "--resume", ckpt, "--data-dir", root, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "the checkpoint reaches iteration 20 of 20 already: finishing the run" in r.stdout
    assert json.loads((out / "metrics.json").read_text())["iterations"] == 20
    for name in ("parameters.protobuf", "samples.png", "reconstructions.png", "loss.png"):
        assert (out / name).is_file(), name


def test_ctrl_c_during_the_last_checkpoint_is_not_lost(tmp_path, monkeypatch):
    # A Ctrl-C after the last step, while the last checkpoint is written,
    # stops the run before its final phase too (the checkpoint is whole).
    from nnvae.app.training import loop

    save = loop.save_training_checkpoint

    def save_then_ctrl_c(*args, **kw):
        save(*args, **kw)
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(loop, "save_training_checkpoint", save_then_ctrl_c)
    # Ctrl-C as in a foreground program, whatever the test runner inherited
    # (a background job's is ignored, and the run keeps it so).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    request_restore = lambda: signal.signal(signal.SIGINT, previous)  # noqa: E731
    opts = training.TrainOptions.of(iterations=20, batch_size=20, latent=8, hidden=64, threads=1, progress=False,
                                    out=str(tmp_path))
    try:
        with pytest.raises(training.TrainingInterrupted) as caught:
            training.run_training(opts, out=open(tmp_path / "out.txt", "w"), err=open(tmp_path / "err.txt", "w"),
                                  train_images=synthetic_digits(200, 1), test_images=synthetic_digits(50, 2))
    finally:
        request_restore()
    assert isinstance(caught.value, KeyboardInterrupt)
    ckpt = tmp_path / "checkpoint.nnvckpt"
    assert str(caught.value) == (f"interrupted at iteration 20; checkpoint saved to {ckpt}; continue with: "
                                 f"nnvae-train --resume {ckpt}")
    assert not (tmp_path / "metrics.json").exists()
    assert (tmp_path / "err.txt").read_text() == ""  # said once, by whoever catches it

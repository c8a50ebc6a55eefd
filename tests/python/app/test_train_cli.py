"""`nnvae-train` as a user runs it: the outputs, Ctrl-C then --resume giving
the uninterrupted result bit for bit, and every bad input answered with one
line and exit code 2 (usage) or 1 (runtime), never a traceback."""
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from nnvae.app.checkpoint_file import load_checkpoint, save_checkpoint
from nnvae.params_io import load_parameters

from vae_fixtures import SMALL, data_root, run_cli


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return data_root(tmp_path_factory)


def train(root, *args, **kw):
    return run_cli("train", "--data-dir", root, *SMALL, *args, **kw)


@pytest.fixture(scope="module")
def small_run(root, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli_run")
    r = train(root, "--iterations", 30, "--out", out, "--no-pictures")
    assert r.returncode == 0, r.stderr
    return out, r


def test_outputs_and_monitor_lines(small_run):
    out, r = small_run
    lines = r.stdout.splitlines()
    assert lines[0] == f"run folder: {out}"
    mon = [l for l in lines if l.startswith("iter: ")]
    assert len(mon) == 3 and mon[0].startswith("iter: 9, tloss: ") and ", vloss: " in mon[0]
    assert lines[-2].startswith("test negative ELBO: ") and "(10000 test images" in lines[-2]
    for name in ("log.txt", "losses.csv", "metrics.json", "parameters.protobuf", "checkpoint.nnvckpt"):
        assert (out / name).is_file(), name
    assert r.stderr == ""  # no progress bar off a terminal


def test_help_shows_the_cpp_defaults():
    # Every VaeConfig field is an option whose --help default is VaeConfig()'s.
    from nnvae import _core

    r = run_cli("train", "--help")
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    defaults = _core.vae.VaeConfig()
    for f in _core.vae.VaeConfig.fields():
        assert f"--{f['flag']} {f['metavar']}" in text, f["flag"]
        assert f"(default {defaults.get(f['name'])})" in text, f["flag"]
    for shown in ("(default 60000)", "(default 100)", "(default 0.0003)", "(default 313)", "(default glorot)"):
        assert shown in text


def test_same_seed_same_lines(root, small_run, tmp_path):
    _, first = small_run
    again = train(root, "--iterations", 30, "--out", tmp_path, "--no-pictures")
    strip = lambda r: [l for l in r.stdout.splitlines() if l.startswith(("iter", "test negative"))]
    assert strip(again) == strip(first)


def test_epochs_option(root, tmp_path):
    # 60,000 / 20 = 3000 steps per epoch: too long for a test, so only the
    # exclusivity and the arithmetic on the usage side are checked here.
    r = train(root, "--epochs", 1, "--iterations", 5, "--out", tmp_path)
    assert r.returncode == 2 and "not allowed with argument" in r.stderr


def test_ctrl_c_then_resume_equals_uninterrupted(root, tmp_path):
    # The tutorial's model size (batch 20), so that 200 steps last long
    # enough for the signal to land inside the training loop.
    straight, cut = tmp_path / "straight", tmp_path / "cut"
    size = ["--latent", "50", "--hidden", "500"]
    r = train(root, *size, "--iterations", 200, "--out", straight, "--no-pictures")
    assert r.returncode == 0, r.stderr

    import os

    import nnvae
    env = dict(os.environ, PYTHONPATH=str(__import__("pathlib").Path(nnvae.__file__).parents[1]))
    cmd = [sys.executable, "-m", "nnvae.app.cli", "train", "--data-dir", str(root), *SMALL, *size, "--iterations",
           "200", "--out", str(cut), "--no-pictures"]
    # Ctrl-C as for a program a shell starts in the foreground, whatever the
    # test runner inherited (a background job's SIGINT is ignored).
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # Interrupt once training has started (the first monitor line).
    for line in p.stdout:
        if line.startswith("iter: 19,"):
            p.send_signal(signal.SIGINT)
            break
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "interrupted at iteration" in err and "--resume" in err and "Traceback" not in err
    _, meta = load_checkpoint(cut / "checkpoint.nnvckpt")
    k = meta["state"]["iteration"]
    assert 20 <= k < 200

    r = run_cli("train", "--data-dir", root, "--resume", cut / "checkpoint.nnvckpt", "--threads", "1",
                "--no-progress", "--no-pictures")
    assert r.returncode == 0, r.stderr
    a = load_parameters(straight / "parameters.protobuf")
    b = load_parameters(cut / "parameters.protobuf")
    assert list(a) == list(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert (straight / "losses.csv").read_text() == (cut / "losses.csv").read_text()
    assert f"resumed from {cut / 'checkpoint.nnvckpt'} at iteration {k}" in (cut / "log.txt").read_text()
    # The time line says whose time it counts.
    took = next(l for l in r.stdout.splitlines() if l.startswith("trained 200 iterations"))
    assert " s over all sessions (this session: " + f"{200 - k} iterations in " in took


def test_version_help_and_python_m(tmp_path):
    import nnvae

    env = dict(__import__("os").environ, PYTHONPATH=str(__import__("pathlib").Path(nnvae.__file__).parents[1]))
    from importlib.metadata import version

    train_version = ["-c", "import sys; from nnvae.app.cli import train_main; sys.exit(train_main(['--version']))"]
    for cmd in (["-m", "nnvae", "--version"], train_version):
        r = subprocess.run([sys.executable, *cmd], capture_output=True, text=True, env=env, cwd=tmp_path)
        assert r.returncode == 0 and r.stdout.strip() == f"nnvae {version('nnvae')}", r
    # Bare `nnvae`: a usage error (2) answered with the whole help.
    r = subprocess.run([sys.executable, "-m", "nnvae"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("usage: nnvae") and "generate" in r.stderr
    r = run_cli("train", "--help")
    assert "same as nnvae-train" not in r.stdout and "$XDG_CACHE_HOME/nnvae" in r.stdout
    assert "--quiet" in r.stdout


@pytest.mark.parametrize("args, message", [
    (["--batch-size", "0"], "batch size must be >= 1, got 0"),
    (["--batch-size", "x"], "--batch-size: expected a whole number, got 'x'"),
    (["--iterations", "abc"], "--iterations: expected a whole number, got 'abc'"),
    (["--batch-size", "60001"], "batch size 60001 is larger than the training set (60000 images)"),
    (["--learning-rate", "0"], "learning rate must be a finite number > 0, got 0"),
    (["--learning-rate=-1e-3"], "learning rate must be a finite number > 0"),
    (["--learning-rate", "0x10"], "--learning-rate: expected a finite decimal number (such as 0.0003 or 3e-4), "
                                  "got '0x10'"),
    (["--beta1", "nan"], "--beta1: expected a finite decimal number (such as 0.0003 or 3e-4), got 'nan'"),
    (["--beta2=-0x1p-1"], "--beta2: expected a finite decimal number (such as 0.0003 or 3e-4), got '-0x1p-1'"),
    (["--eps", "inf"], "--eps: expected a finite decimal number (such as 0.0003 or 3e-4), got 'inf'"),
    (["--eps", "1e39"], "--eps: 1e39 is beyond a 32-bit float (at most 3.40282e+38)"),
    (["--graph", "eager"], "unknown graph mode 'eager': choose static or dynamic"),
    (["--init", "he"], "unknown init 'he': choose glorot or fan-in"),
    (["--dataset", "cifar"], "unknown data set 'cifar'"),
    (["--iterations", "0"], "iterations must be >= 1, got 0"),
    (["--seed=-1"], "--seed: -1 is too small (at least 0)"),
    (["--threads=-1"], "thread count must be >= 0 (0: all cores), got -1"),
    (["--checkpoint-every", "0"], "checkpoint-every must be an integer >= 1, got 0"),
])
def test_usage_errors_exit_2(root, tmp_path, args, message):
    r = run_cli("train", "--data-dir", root, "--out", tmp_path / "o", "--no-progress", *args)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_unwritable_output_folder_exits_1(root, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = train(root, "--iterations", 10, "--out", blocker / "run")
    assert r.returncode == 1
    assert f"cannot write to the output folder {blocker / 'run'}" in r.stderr and "Traceback" not in r.stderr


def test_corrupt_resume_file_exits_1(root, small_run, tmp_path):
    out, _ = small_run
    good = (out / "checkpoint.nnvckpt").read_bytes()
    for name, data in (("garbage.nnvckpt", b"not a checkpoint at all"), ("cut.nnvckpt", good[:len(good) // 2])):
        (tmp_path / name).write_bytes(data)
        r = run_cli("train", "--data-dir", root, "--resume", tmp_path / name, "--no-progress")
        assert r.returncode == 1, r.stderr
        assert name in r.stderr and "Traceback" not in r.stderr
    r = run_cli("train", "--data-dir", root, "--resume", tmp_path / "missing.nnvckpt")
    assert r.returncode == 1 and "no such checkpoint file" in r.stderr


def test_resume_that_does_not_fit(root, small_run, tmp_path):
    out, _ = small_run
    arrays, meta = load_checkpoint(out / "checkpoint.nnvckpt")
    # A checkpoint whose parameter shapes were altered: the differences are listed.
    arrays["param/fc1/affine/b"] = np.zeros(63, np.float32)
    del arrays["param/fc5/affine/W"]
    save_checkpoint(tmp_path / "bad.nnvckpt", arrays, meta)
    r = run_cli("train", "--data-dir", root, "--resume", tmp_path / "bad.nnvckpt", "--iterations", 60,
                "--out", tmp_path / "o", "--no-progress")
    assert r.returncode == 1, r.stderr
    assert "fc1/affine/b is (63,), expected (64,)" in r.stderr
    assert "fc5/affine/W missing (expected (64, 784))" in r.stderr and "Traceback" not in r.stderr
    # Settings that would change the numbers cannot change on resume.
    r = run_cli("train", "--data-dir", root, "--resume", out / "checkpoint.nnvckpt", "--latent", 9)
    assert r.returncode == 2 and "--latent 9 differs from the checkpoint's 8" in r.stderr
    # A checkpoint past --iterations cannot go back (one at it finishes the run: test_hostile_cli).
    r = run_cli("train", "--data-dir", root, "--resume", out / "checkpoint.nnvckpt", "--iterations", 20)
    assert r.returncode == 2 and "the checkpoint is at iteration 30, past --iterations 20" in r.stderr


def test_nonfinite_loss_exits_1(root, tmp_path):
    r = train(root, "--iterations", 30, "--learning-rate", "1e30", "--out", tmp_path)
    assert r.returncode == 1
    assert "the training loss became" in r.stderr and "at iteration 1; stopped" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_data_dir_that_is_a_file_is_refused_before_any_run_folder(tmp_path):
    file = tmp_path / "passwd"
    file.write_text("x")
    r = run_cli("train", "--data-dir", file, "--iterations", 5, "--no-progress", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == "", r
    assert r.stderr.splitlines() == [f"nnvae: error: --data-dir {file} is a file, not a folder (it should hold "
                                     f"mnist/ and fashion-mnist/, or be a data set's folder)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["passwd"]

"""A full disk under nnvae-train: one error line naming the file and the
last good checkpoint, that checkpoint intact, log.txt and losses.csv ending
with a whole line, no temporary file left; after space is freed the run
continues (--resume), or, when only the final phase failed, is finished by
--resume with the same result as an uninterrupted run.

The disk is a small tmpfs mounted for the test (needs the right to mount);
without it, the process's file size limit (RLIMIT_FSIZE, with SIGXFSZ
ignored, so write(2) fails with EFBIG) stands in for it."""
import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nnvae.files import LineLog
from nnvae.app.checkpoint_file import load_checkpoint

from vae_fixtures import SMALL, data_root

PAGE = 4096


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return data_root(tmp_path_factory)


def _mount(folder: Path, size: int) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                           capture_output=True, text=True)
    except OSError:  # no mount command
        return False
    return r.returncode == 0


def _resize(folder: Path, size: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(folder)], check=True, capture_output=True)


@pytest.fixture
def small_disk(tmp_path):
    """small_disk(size) -> a folder on a tmpfs of `size` bytes (None when
    this machine does not let the test mount one); unmounted afterwards."""
    mounted = []

    def make(size: int):
        folder = tmp_path / f"disk{len(mounted)}"
        if not _mount(folder, size):
            return None
        mounted.append(folder)
        return folder

    yield make
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def nnvae_train(root, *args, fsize=None):
    """nnvae-train ARGS; with `fsize`, under a file size limit of that many bytes."""
    import nnvae

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    env = dict(os.environ, PYTHONPATH=str(Path(nnvae.__file__).parents[1]))
    return subprocess.run([sys.executable, "-m", "nnvae.app.cli", "train", "--data-dir", str(root), *SMALL,
                           *map(str, args)], capture_output=True, text=True, timeout=300, env=env,
                          preexec_fn=limit if fsize else None)


@pytest.fixture(scope="module")
def reference(root, tmp_path_factory):
    """An uninterrupted run of 20 iterations: its folder (file sizes, metrics)."""
    out = tmp_path_factory.mktemp("reference")
    r = nnvae_train(root, "--iterations", 20, "--monitor-interval", 1, "--out", out)
    assert r.returncode == 0, r.stderr
    return out


def _pages(n: int) -> int:
    return -(-n // PAGE) * PAGE


def assert_clean(folder: Path):
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    for name in ("log.txt", "losses.csv"):
        text = (folder / name).read_bytes()
        assert text.endswith(b"\n"), (name, text[-80:])


def assert_one_line(r):
    lines = r.stderr.splitlines()
    assert r.returncode == 1 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr


def test_checkpoint_on_a_full_disk(root, reference, small_disk, tmp_path):
    ckpt = (reference / "checkpoint.nnvckpt").stat().st_size
    # Room for the first checkpoint and the logs, not for the second's temporary copy.
    disk = small_disk(_pages(ckpt) + _pages(ckpt // 2))
    if disk is None:  # no tmpfs: a file size limit below one checkpoint
        disk = tmp_path / "run"
        r = nnvae_train(root, "--iterations", 40, "--checkpoint-every", 10, "--out", disk, fsize=ckpt // 2)
        assert_one_line(r)
        assert "checkpoint.nnvckpt" in r.stderr and "no checkpoint had been saved yet" in r.stderr
        assert not (disk / "checkpoint.nnvckpt").exists()
        assert_clean(disk)
        return
    r = nnvae_train(root, "--iterations", 40, "--checkpoint-every", 10, "--monitor-interval", 1, "--out", disk)
    assert_one_line(r)
    assert f"cannot write {disk / 'checkpoint.nnvckpt'} at iteration 20: No space left on device" in r.stderr
    assert (f"the last good checkpoint, at iteration 10, is {disk / 'checkpoint.nnvckpt'}: free some space and "
            f"continue with: nnvae-train --resume {disk / 'checkpoint.nnvckpt'}") in r.stderr
    assert_clean(disk)
    _, meta = load_checkpoint(disk / "checkpoint.nnvckpt")
    assert meta["state"]["iteration"] == 10
    # Space freed: the run goes on from iteration 10 to the end.
    _resize(disk, 64 << 20)
    r = nnvae_train(root, "--resume", disk / "checkpoint.nnvckpt", "--iterations", 40)
    assert r.returncode == 0, r.stderr
    assert json.loads((disk / "metrics.json").read_text())["iterations"] == 40
    assert_clean(disk)


def test_final_phase_on_a_full_disk_then_resume_finishes(root, reference, small_disk):
    ckpt = (reference / "checkpoint.nnvckpt").stat().st_size
    params = (reference / "parameters.protobuf").stat().st_size
    # Room for the training (one checkpoint, at the end) and parameters.protobuf, not for the rest.
    disk = small_disk(_pages(ckpt) + _pages(params) + 8 * PAGE)
    if disk is None:
        pytest.skip("cannot mount a tmpfs here (the checkpoint test covers the file size limit)")
    r = nnvae_train(root, "--iterations", 20, "--monitor-interval", 1, "--out", disk)
    assert_one_line(r)
    assert "No space left on device" in r.stderr
    assert (f"the training itself is saved in {disk / 'checkpoint.nnvckpt'} (iteration 20): free some space "
            f"and finish the run with: nnvae-train --resume {disk / 'checkpoint.nnvckpt'}") in r.stderr
    assert_clean(disk)
    assert not (disk / "metrics.json").exists()
    _resize(disk, 64 << 20)
    r = nnvae_train(root, "--resume", disk / "checkpoint.nnvckpt")
    assert r.returncode == 0, r.stderr
    assert "the checkpoint reaches iteration 20 of 20 already: finishing the run" in r.stdout
    mine = json.loads((disk / "metrics.json").read_text())
    theirs = json.loads((reference / "metrics.json").read_text())
    assert mine["iterations"] == theirs["iterations"] == 20
    assert mine["test_negative_elbo"] == theirs["test_negative_elbo"]
    assert (disk / "parameters.protobuf").read_bytes() == (reference / "parameters.protobuf").read_bytes()
    assert (disk / "losses.csv").read_text() == (reference / "losses.csv").read_text()
    assert_clean(disk)


def test_line_log_never_ends_mid_line(small_disk, tmp_path):
    disk = small_disk(16 * PAGE)
    if disk is None:
        pytest.skip("cannot mount a tmpfs here")
    # Fill the disk but for part of a page, then log lines of 100 bytes until it is full.
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"x" * PAGE) == PAGE:
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    os.truncate(disk / "filler", os.path.getsize(disk / "filler") - 2 * PAGE)
    written = 0
    with LineLog(disk / "log.txt") as log, pytest.raises(OSError) as info:
        while True:
            log.line(f"iter: {written:5d}, " + "x" * 86)
            written += 1
    assert info.value.filename == str(disk / "log.txt")
    data = (disk / "log.txt").read_bytes()
    assert data.endswith(b"\n") and len(data) == written * 100 and written >= 40


def test_a_log_line_that_cannot_be_written_stops_at_a_checkpoint(tmp_path, monkeypatch):
    # log.txt's third monitor line meets a full disk: the loop stops before its
    # next step, saves a checkpoint there and names it; that checkpoint resumes.
    import errno

    from nnvae import files
    from nnvae.errors import NnvaeError
    from nnvae.app.training import TrainOptions, load_training_checkpoint, run_training

    from vae_fixtures import synthetic_digits

    real = files.LineLog.line
    calls = []

    def full_after_three(self, text):
        if self.path.name == "log.txt" and text.startswith("iter: "):
            calls.append(text)
            if len(calls) == 3:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
        return real(self, text)

    monkeypatch.setattr(files.LineLog, "line", full_after_three)
    train_images, test_images = synthetic_digits(200, 1), synthetic_digits(100, 2)
    options = dict(iterations=40, latent=8, hidden=64, batch_size=20, threads=1, monitor_interval=5,
                   checkpoint_every=100, pictures=False, progress=False, quiet=True)
    with pytest.raises(NnvaeError) as info:
        run_training(TrainOptions.of(out=str(tmp_path), **options), train_images=train_images,
                     test_images=test_images)
    ckpt = tmp_path / "checkpoint.nnvckpt"
    assert str(info.value) == (f"cannot write {tmp_path / 'log.txt'}: No space left on device; the last good "
                               f"checkpoint, at iteration 15, is {ckpt}: free some space and continue with: "
                               f"nnvae-train --resume {ckpt}")
    saved = load_training_checkpoint(ckpt)
    assert saved.state.iteration == 15 and saved.history["iteration"] == [4, 9, 14]
    assert_clean(tmp_path)
    monkeypatch.setattr(files.LineLog, "line", real)
    metrics = run_training(TrainOptions.of(resume=str(ckpt), **options), train_images=train_images,
                           test_images=test_images)
    assert metrics["iterations"] == 40

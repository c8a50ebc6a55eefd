"""kill -9 in the middle of a write: nnvae-train is killed while a
checkpoint or a parameter file is being written (its temporary file is
there), at several random points. The file under its final name is then
either the previous complete one or absent, never partial; the next run that
names the folder (a new run, a --resume, even one refused) removes the dead
process's temporary files, whatever pid they name, unless a live run holds
the folder; and --resume carries on (or, killed during the final phase,
finishes the run)."""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnvae.app.checkpoint_file import load_checkpoint
from nnvae.params_io import load_parameters

from vae_fixtures import SMALL, cli_command, cli_env, data_root


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return data_root(tmp_path_factory)


def _argv(root, *args):
    return cli_command("train", "--data-dir", root, *SMALL, *args)


def kill_while_writing(root, folder: Path, target: str, delay: float, *args):
    """Start nnvae-train into `folder`, wait for the temporary file of
    `target` (`.<target>.<pid>.<hex>.tmp`), sleep `delay` seconds, kill -9.
    Returns the temporary files of `target` present right after the kill
    (None when the run ended before the write was caught)."""
    p = subprocess.Popen(_argv(root, "--out", folder, *args), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=cli_env())
    prefix = f".{target}."
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and p.poll() is None:
            try:
                names = os.listdir(folder)
            except FileNotFoundError:
                continue
            if any(n.startswith(prefix) and n.endswith(".tmp") for n in names):
                if delay:
                    time.sleep(delay)
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
                return [n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(".tmp")]
        return None
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def run_to_end(root, *args):
    r = subprocess.run(_argv(root, *args), capture_output=True, text=True, timeout=300, env=cli_env())
    assert r.returncode == 0, r.stderr
    return r


@pytest.mark.parametrize("point", range(3))
def test_kill9_during_a_checkpoint_write(root, tmp_path, point):
    rng = random.Random(point)
    # Checkpoints every 5 iterations: many writes to catch one of.
    for attempt in range(20):
        folder = tmp_path / f"run{attempt}"  # a run that ended before the kill leaves a whole folder
        left = kill_while_writing(root, folder, "checkpoint.nnvckpt", rng.uniform(0, 0.004),
                                  "--iterations", 60, "--checkpoint-every", 5)
        if left:
            break
    assert left, "no checkpoint write was caught in twenty tries"
    for name in ("log.txt", "losses.csv"):  # appended one whole line per write(2)
        assert (folder / name).read_bytes().endswith(b"\n")
    ckpt = folder / "checkpoint.nnvckpt"
    if ckpt.exists():  # the previous checkpoint, whole
        _, meta = load_checkpoint(ckpt)
        assert meta["state"]["iteration"] % 5 == 0
        r = run_to_end(root, "--resume", ckpt, "--iterations", 60)
    else:  # killed during the first one: start again into the same folder
        r = run_to_end(root, "--out", folder, "--iterations", 60, "--checkpoint-every", 5)
    assert not [n for n in os.listdir(folder) if n.endswith(".tmp")], os.listdir(folder)
    assert json.loads((folder / "metrics.json").read_text())["iterations"] == 60
    assert "wrote parameters.protobuf" in r.stdout


@pytest.mark.parametrize("target", ["parameters.protobuf", "metrics.json"])
def test_kill9_during_the_final_phase_then_resume_finishes(root, tmp_path, target):
    left = None
    for attempt in range(20):
        folder = tmp_path / f"run{attempt}"
        left = kill_while_writing(root, folder, target, random.Random(attempt).uniform(0, 0.002),
                                  "--iterations", 20)
        if left:
            break
    assert left, f"no write of {target} was caught in twenty tries"
    # Killed before the rename, so the final name does not exist yet.
    assert not (folder / target).exists()
    r = run_to_end(root, "--resume", folder / "checkpoint.nnvckpt")
    assert "the checkpoint reaches iteration 20 of 20 already: finishing the run" in r.stdout
    assert not [n for n in os.listdir(folder) if n.endswith(".tmp")], os.listdir(folder)
    assert json.loads((folder / "metrics.json").read_text())["iterations"] == 20
    assert load_parameters(folder / "parameters.protobuf")


def test_only_dead_processes_temporaries_are_removed(tmp_path):
    from nnvae.files import remove_stale_temps

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    mine = tmp_path / f".checkpoint.nnvckpt.{os.getpid()}.0123abcd.tmp"
    stale = tmp_path / f".checkpoint.nnvckpt.{dead.pid}.89abcdef.tmp"
    other = tmp_path / f".notes.{dead.pid}.tmp"  # not an atomic write's name
    for p in (mine, stale, other):
        p.write_bytes(b"x")
    assert remove_stale_temps(tmp_path) == [stale]
    assert mine.exists() and other.exists() and not stale.exists()


def kill_during_the_first_checkpoint(root, folder: Path):
    """A tutorial-size run (its checkpoint is 16 MB) killed -9 while writing
    its first checkpoint: `folder` holds that write's temporary file and no
    checkpoint. Returns the temporary file's path."""
    for attempt in range(20):
        shutil.rmtree(folder, ignore_errors=True)
        left = kill_while_writing(root, folder, "checkpoint.nnvckpt", 0, "--latent", 50, "--hidden", 500,
                                  "--iterations", 60, "--checkpoint-every", 30)
        if left and not (folder / "checkpoint.nnvckpt").exists():
            return folder / left[0]
    pytest.fail("no first checkpoint write was caught in twenty tries")


def as_written_by(tmp: Path, pid: int) -> Path:
    """`tmp` renamed to name `pid` as its writer's."""
    name, _, rest = tmp.name[1:].partition(".nnvckpt.")
    renamed = tmp.with_name(f".{name}.nnvckpt.{pid}.{rest.split('.', 1)[1]}")
    tmp.rename(renamed)
    return renamed


def test_a_new_run_removes_a_killed_runs_checkpoint_copy_even_when_its_pid_lives_again(root, tmp_path):
    folder = tmp_path / "run"
    tmp = kill_during_the_first_checkpoint(root, folder)
    # The killed run's pid may belong to another process by now (containers
    # hand out the same pids again): the folder's lock, free, is what tells
    # that no run writes there.
    tmp = as_written_by(tmp, os.getpid())
    r = run_to_end(root, "--out", folder, "--iterations", 20, "--no-pictures")
    assert not tmp.exists() and not [n for n in os.listdir(folder) if n.endswith(".tmp")], os.listdir(folder)
    assert "run folder:" in r.stdout


def test_a_refused_resume_still_removes_the_leftovers(root, tmp_path):
    # Killed during its first write, the run has no checkpoint to resume; the
    # --resume that says so removes the dead write's 16 MB all the same.
    folder = tmp_path / "run"
    tmp = kill_during_the_first_checkpoint(root, folder)
    r = subprocess.run(_argv(root, "--resume", folder / "checkpoint.nnvckpt"), capture_output=True, text=True,
                       timeout=300, env=cli_env())
    assert r.returncode == 1 and "no such checkpoint file" in r.stderr, r.stderr
    assert not tmp.exists(), os.listdir(folder)


def test_a_live_runs_temporary_files_are_left_alone(root, tmp_path):
    from nnvae.app.training.run_folder import FolderLock

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    tmp = tmp_path / f".checkpoint.nnvckpt.{dead.pid}.0123abcd.tmp"
    tmp.write_bytes(b"x")
    lock = FolderLock.acquire(tmp_path)  # a live run holds the folder: nothing of it is touched
    try:
        r = subprocess.run(_argv(root, "--out", tmp_path, "--iterations", 20), capture_output=True, text=True,
                           timeout=300, env=cli_env())
    finally:
        lock.release()
    assert r.returncode == 1 and f"(pid {os.getpid()})" in r.stderr, r.stderr
    assert tmp.exists()

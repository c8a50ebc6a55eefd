"""A run folder belongs to one run: two nnvae-train runs into one folder at
once (one is refused, naming the other's pid), a run into a finished run's
folder (refused, with the command that continues that run), the folder lock
under many threads and after kill -9, and two runs started in the same
second without --out (a folder each)."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from hypothesis import given, settings, strategies as st

from nnvae.app.training.run_folder import LOCK_NAME, FolderBusy, FolderLock, claim_run_folder
from nnvae.errors import UsageError

from vae_fixtures import SMALL, cli_command, cli_env, data_root, run_cli


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return data_root(tmp_path_factory)


def _argv(root, *args):
    return cli_command("train", "--data-dir", root, *SMALL, "--no-pictures", *args)


def test_two_runs_into_one_folder_at_once_one_is_refused(root, tmp_path):
    folder = tmp_path / "run"
    runs = [subprocess.Popen(_argv(root, "--iterations", 1000, "--out", folder), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=cli_env()) for _ in range(2)]
    results = [(p, *p.communicate(timeout=300)) for p in runs]
    codes = sorted(p.returncode for p, _, _ in results)
    assert codes == [0, 1], [(p.returncode, err) for p, _, err in results]
    (winner, _, _), = [r for r in results if r[0].returncode == 0]
    (_, out, err), = [r for r in results if r[0].returncode == 1]
    assert err.splitlines() == [f"nnvae: error: run folder {folder} is in use by another nnvae-train run "
                                f"(pid {winner.pid}): give another --out, or wait for that run to end"], err
    assert out == ""  # refused before it printed anything
    log = (folder / "log.txt").read_text()
    assert log.count("# new run") == 1 and log.count("iter: 999,") == 1
    assert not (folder / LOCK_NAME).exists()  # released with the run


def test_a_finished_runs_folder_is_refused_with_the_command_that_continues_it(root, tmp_path):
    folder = tmp_path / "run"
    r = run_cli("train", "--data-dir", root, *SMALL, "--iterations", 20, "--out", folder)
    assert r.returncode == 0, r.stderr
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    r = run_cli("train", "--data-dir", root, *SMALL, "--iterations", 20, "--out", folder)
    assert r.returncode == 2
    ckpt = folder / "checkpoint.nnvckpt"
    assert r.stderr.splitlines() == [
        f"nnvae: error: run folder {folder} holds another run's files (checkpoint.nnvckpt, log.txt, losses.csv, "
        f"metrics.json, parameters.protobuf, parameters.h5, samples.png, reconstructions.png, loss.png); continue "
        f"that run with: nnvae-train --resume {ckpt} --data-dir {root} (with --iterations N to train it longer), "
        f"or give another --out"], r.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # untouched
    # That command continues it (here: 10 more iterations).
    r = run_cli("train", "--resume", ckpt, "--data-dir", root, "--iterations", 30, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "resumed from" in (folder / "log.txt").read_text()


def test_a_run_that_saved_nothing_leaves_its_folder_free(root, tmp_path):
    # Killed before its first checkpoint, a run left only its log: nothing to
    # continue, so a new run may use the folder (the log keeps both).
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "log.txt").write_text("# new run: {}\niter: 9, tloss: 1.0, vloss: 2.0\n")
    (folder / "losses.csv").write_text("iteration,train_loss,val_loss\n9,1.0,2.0\n")
    r = run_cli("train", "--data-dir", root, *SMALL, "--iterations", 20, "--out", folder, "--no-pictures")
    assert r.returncode == 0, r.stderr
    assert (folder / "log.txt").read_text().count("# new run") == 2
    # Results without a checkpoint: refused, with no command to continue.
    (folder / "checkpoint.nnvckpt").unlink()
    r = run_cli("train", "--data-dir", root, *SMALL, "--iterations", 20, "--out", folder)
    assert r.returncode == 2 and "and no checkpoint to continue it from; give another --out, or remove them" \
        in r.stderr, r.stderr


def test_resuming_into_another_runs_folder_is_refused(root, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        r = run_cli("train", "--data-dir", root, *SMALL, "--iterations", 20, "--out", folder, "--no-pictures")
        assert r.returncode == 0, r.stderr
    r = run_cli("train", "--data-dir", root, "--resume", a / "checkpoint.nnvckpt", "--iterations", 30, "--out", b,
                "--no-progress")
    assert r.returncode == 2 and f"run folder {b} holds another run's files" in r.stderr, r.stderr
    assert f"nnvae-train --resume {b / 'checkpoint.nnvckpt'}" in r.stderr


def test_a_killed_holder_leaves_no_lock(tmp_path):
    # flock's lock dies with its process: kill -9 leaves at most an unlocked file.
    code = ("import sys, time; from pathlib import Path; from nnvae.app.training.run_folder import FolderLock; "
            "FolderLock.acquire(Path(sys.argv[1])); print('locked', flush=True); time.sleep(60)")
    p = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=cli_env())
    try:
        assert p.stdout.readline() == "locked\n"
        with pytest.raises(FolderBusy, match=f"in use by another nnvae-train run \\(pid {p.pid}\\)"):
            FolderLock.acquire(tmp_path)
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert (tmp_path / LOCK_NAME).exists()
    FolderLock.acquire(tmp_path).release()
    assert not (tmp_path / LOCK_NAME).exists()


def test_the_lock_has_one_holder_at_a_time_under_threads(tmp_path):
    # Eight threads take and give back the lock as fast as they can; the
    # holders remove the lock file as they go (a run's release), so others
    # open files that are removed under them. Never two holders at once.
    holders, most, refused, taken = [0], [0], [0], [0]
    count = threading.Lock()
    start = threading.Barrier(8)

    def hammer():
        start.wait()
        for _ in range(300):
            try:
                lock = FolderLock.acquire(tmp_path)
            except FolderBusy as e:
                assert str(e).startswith(f"run folder {tmp_path} is in use by another nnvae-train run")
                with count:
                    refused[0] += 1
                continue
            with count:
                holders[0] += 1
                taken[0] += 1
                most[0] = max(most[0], holders[0])
            time.sleep(0)
            with count:
                holders[0] -= 1
            lock.release()

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1 and taken[0] + refused[0] == 8 * 300 and taken[0] > 0 and refused[0] > 0
    assert not (tmp_path / LOCK_NAME).exists()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.booleans()), max_size=30))
def test_the_lock_follows_a_model_of_one_holder(tmp_path_factory, steps):
    # Four claimers, each step: claimer i takes the lock (or releases it when
    # it holds it). It is free exactly when nobody holds it; a stray lock file
    # a killed run left (True) changes nothing.
    folder = tmp_path_factory.mktemp("lock")
    held = {}
    for who, stray in steps:
        if stray and not held:
            (folder / LOCK_NAME).write_text("99999999\n")
        if who in held:
            held.pop(who).release()
            continue
        try:
            held[who] = FolderLock.acquire(folder)
        except FolderBusy as e:
            assert held, "refused although nobody holds the lock"
            assert f"(pid {os.getpid()})" in str(e)
        else:
            assert len(held) == 1, "two holders at once"
    for lock in held.values():
        lock.release()


def test_two_runs_in_the_same_second_get_a_folder_each(tmp_path):
    a = claim_run_folder(None, None, None, root=tmp_path / "runs")
    b = claim_run_folder(None, None, None, root=tmp_path / "runs")
    try:
        assert a.path != b.path and a.path.parent == b.path.parent == tmp_path / "runs"
    finally:
        a.release()
        b.release()


def test_claiming_a_finished_runs_folder_through_the_api(tmp_path):
    (tmp_path / "checkpoint.nnvckpt").write_bytes(b"x")
    with pytest.raises(UsageError, match=r"holds another run's files \(checkpoint.nnvckpt\); continue that run "
                                         r"with: nnvae-train --resume \S+checkpoint.nnvckpt \(with"):
        claim_run_folder(tmp_path, None, None)
    assert not (tmp_path / LOCK_NAME).exists()
    # Its own checkpoint's folder is the run's to continue.
    claim_run_folder(tmp_path, str(tmp_path / "checkpoint.nnvckpt"), None).release()

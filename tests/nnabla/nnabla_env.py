"""The NNabla 1.39.0 the comparison tests talk to: a venv of its own, made
once and reused (NNabla's wheels exist for Python 3.8 to 3.10 only, so it
cannot live in nnvae's environment).

    python tests/nnabla/nnabla_env.py      # makes the venv if needed; prints its python
                                           # or "skip: <reason>" (exit status 0 either way)

The venv is $NNVAE_NNABLA_VENV, default ~/.cache/nnvae/nnabla-1.39.0. Its
base interpreter is $NNVAE_NNABLA_PYTHON if set, else the first Python 3.8 to
3.10 found among pyenv's versions and python3.10 / python3.9 / python3.8 on
PATH. NNabla and h5py come from the package index through pip.
"""
import glob
import os
import shutil
import subprocess
import sys
import time

NNABLA_VERSION = "1.39.0"
PACKAGES = [f"nnabla=={NNABLA_VERSION}", "h5py"]
SUPPORTED = ((3, 8), (3, 9), (3, 10))


def venv_dir():
    return os.environ.get("NNVAE_NNABLA_VENV") or os.path.join(
        os.path.expanduser("~"), ".cache", "nnvae", f"nnabla-{NNABLA_VERSION}")


def venv_python():
    return os.path.join(venv_dir(), "bin", "python")


def _version(python):
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = out.stdout.split()
    return tuple(int(p) for p in parts) if out.returncode == 0 and len(parts) == 2 else None


def _candidates():
    if os.environ.get("NNVAE_NNABLA_PYTHON"):
        yield os.environ["NNVAE_NNABLA_PYTHON"]
    roots = []
    if shutil.which("pyenv"):
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            roots.append(out.stdout.strip())
    roots.append(os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv"))
    for root in roots:
        for minor in (10, 9, 8):
            yield from sorted(glob.glob(os.path.join(root, "versions", f"3.{minor}.*", "bin", "python")), reverse=True)
    for name in ("python3.10", "python3.9", "python3.8"):
        found = shutil.which(name)
        if found:
            yield found


def find_base_python():
    """A Python 3.8-3.10 interpreter, or None."""
    for python in _candidates():
        if os.path.exists(python) and _version(python) in SUPPORTED:
            return python
    return None


def _ready(python):
    if not os.path.exists(python):
        return False
    check = f"import nnabla, h5py; assert nnabla.__version__ == {NNABLA_VERSION!r}"
    out = subprocess.run([python, "-c", check], capture_output=True, text=True)
    return out.returncode == 0


def ensure(log=sys.stderr):
    """(python, None) for a working NNabla venv, made if needed; or
    (None, reason) when none can be made here."""
    python = venv_python()
    if _ready(python):
        return python, None
    base = find_base_python()
    if base is None:
        return None, ("no Python 3.8-3.10 found (NNabla 1.39.0 has wheels for those only); set "
                      "NNVAE_NNABLA_PYTHON to one")
    t0 = time.time()
    print(f"making the NNabla venv {venv_dir()} with {base} ...", file=log, flush=True)
    shutil.rmtree(venv_dir(), ignore_errors=True)
    steps = [[base, "-m", "venv", venv_dir()],
             [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *PACKAGES]]
    for cmd in steps:
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
            return None, f"could not make the NNabla venv ({' '.join(cmd[:4])} ...): {' | '.join(tail)}"
    if not _ready(python):
        return None, f"the NNabla venv {venv_dir()} was made but cannot import nnabla {NNABLA_VERSION}"
    print(f"NNabla venv ready in {time.time() - t0:.0f} s", file=log, flush=True)
    return python, None


def run(python, *args, cwd=None):
    """Runs `python args...`; an AssertionError with its stderr's end when it
    fails."""
    out = subprocess.run([python, *args], capture_output=True, text=True, cwd=cwd, timeout=600)
    if out.returncode != 0:
        raise AssertionError(f"{' '.join(os.path.basename(a) for a in [python, *args])} failed:\n{out.stderr[-3000:]}")
    return out


if __name__ == "__main__":
    python, reason = ensure()
    print(python if python else f"skip: {reason}")

"""The layers' rule (docs/layout.md): the NNabla-style API never imports the
application (nnvae.app). Checked in a fresh interpreter, where nothing else
has imported the application yet."""
import os
import subprocess
import sys
from pathlib import Path

import nnvae

# Every module of the API a user may import.
API_MODULES = ["nnvae", "nnvae.functions", "nnvae.parametric_functions", "nnvae.solvers", "nnvae.parameter",
               "nnvae.initializer", "nnvae.random", "nnvae.ndarray", "nnvae.params_io", "nnvae.files",
               "nnvae.errors", "nnvae.inputs"]


def loaded_modules(imports):
    code = f"import sys, {', '.join(imports)}; print(' '.join(sorted(m for m in sys.modules if m.startswith('nnvae'))))"
    env = dict(os.environ, PYTHONPATH=str(Path(nnvae.__file__).parents[1]))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_importing_the_api_loads_no_application_module():
    loaded = loaded_modules(API_MODULES)
    assert "nnvae.functions" in loaded
    assert [m for m in loaded if m == "nnvae.app" or m.startswith("nnvae.app.")] == []


def test_the_application_loads_on_demand():
    assert "nnvae.app.training" in loaded_modules(["nnvae.app.training"])

"""examples/python/vae.py, the tutorial's VAE in NNabla's Python style, runs
a few iterations: monitor lines, a log file, a parameter file NNabla's
format can hold. Needs MNIST on disk (skipped, with the reason, without)."""
import re
import subprocess
import sys

import numpy as np
import pytest
from vae_fixtures import NO_REAL_MNIST, REAL_MNIST, REPO

from nnvae import params_io

EXAMPLE = REPO / "examples" / "python" / "vae.py"


@pytest.mark.skipif(REAL_MNIST is None, reason=NO_REAL_MNIST)
def test_example_trains_and_saves(tmp_path):
    out = subprocess.run([sys.executable, str(EXAMPLE), "--iterations", "20", "--monitor-interval", "10",
                          "--save-interval", "10", "--data-dir", str(REAL_MNIST), "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stdout.splitlines() if line.startswith("iter:")]
    pattern = re.compile(r"iter: (\d+), tloss: ([0-9.]+), vloss: ([0-9.]+)$")
    parsed = [pattern.match(line) for line in lines]
    assert [int(m.group(1)) for m in parsed] == [9, 19]
    losses = [float(m.group(g)) for m in parsed for g in (2, 3)]
    assert all(50 < v < 700 for v in losses), losses  # nats per image: 543 at the start, falling
    assert float(parsed[1].group(2)) < float(parsed[0].group(2))
    assert (tmp_path / "log.txt").read_text().splitlines() == lines
    params = params_io.load_parameters(tmp_path / "parameters.protobuf")
    assert list(params)[:2] == ["fc1/affine/W", "fc1/affine/b"] and len(params) == 14
    assert sum(v.size for v in params.values()) == 1361884
    assert all(np.isfinite(v).all() for v in params.values())

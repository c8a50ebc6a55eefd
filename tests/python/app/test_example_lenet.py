"""examples/python/lenet.py, NNabla's LeNet classifier in NNabla's Python
style, runs a few iterations: NNabla's monitor lines, a training loss that
falls, a test error on the whole test set that is a fraction, a log file and
a parameter file with NNabla's names. Needs MNIST on disk (skipped, with the
reason, without)."""
import re
import subprocess
import sys

import numpy as np
import pytest
from vae_fixtures import NO_REAL_MNIST, REAL_MNIST, REPO

from nnvae import params_io

EXAMPLE = REPO / "examples" / "python" / "lenet.py"
LINE = re.compile(r"iter=(\d+) \{([^}]+)\}=(\S+)")


@pytest.mark.skipif(REAL_MNIST is None, reason=NO_REAL_MNIST)
def test_example_trains_and_reports_test_error(tmp_path):
    out = subprocess.run([sys.executable, str(EXAMPLE), "--iterations", "60", "--batch-size", "32",
                          "--val-interval", "50", "--val-iter", "2", "--data-dir", str(REAL_MNIST),
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stdout.splitlines() if line.startswith("iter=")]
    series = {}
    for line in lines:
        m = LINE.match(line)
        assert m, line
        series.setdefault(m.group(2), []).append((int(m.group(1)), m.group(3)))
    assert sorted(series) == ["Test error", "Test error (all 10000 test images)", "Training error",
                              "Training loss"]
    assert [i for i, _ in series["Training loss"]] == [9, 19, 29, 39, 49, 59]
    assert [i for i, _ in series["Test error"]] == [0, 50]
    losses = [float(v) for _, v in series["Training loss"]]
    assert 1.5 < losses[0] < 2.6, losses  # about ln 10 = 2.30 before learning
    assert losses[-1] < losses[0] - 0.5, losses
    [(index, value)] = series["Test error (all 10000 test images)"]
    assert index == 59
    error = float(value)
    assert 0.0 <= error <= 1.0
    assert error < 0.5  # ten classes: 0.9 by chance; 60 steps already do much better
    assert (tmp_path / "log.txt").read_text().splitlines() == lines
    params = params_io.load_parameters(tmp_path / "parameters.protobuf")
    shapes = {k: v.shape for k, v in params.items()}
    assert shapes == {"conv1/conv/W": (16, 1, 5, 5), "conv1/conv/b": (16,),
                      "conv2/conv/W": (16, 16, 5, 5), "conv2/conv/b": (16,),
                      "fc3/affine/W": (256, 50), "fc3/affine/b": (50,),
                      "fc4/affine/W": (50, 10), "fc4/affine/b": (10,)}
    assert all(np.isfinite(v).all() for v in params.values())

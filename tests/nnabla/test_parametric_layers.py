"""PF.convolution, PF.deconvolution and PF.batch_normalization against
NNabla 1.39.0 (in its own venv, see nnabla_env.py), both running
layers_script.py: convolutions with and without bias, with pad, stride,
dilation and group; deconvolutions with and without bias and with group;
batch normalization with batch statistics (4-d and 2-d) and with the
running ones. Checked:

- the same parameter names, in the same order, with the same shapes;
- the same initial values from the same numpy RandomState;
- the same outputs, and the same running statistics after the forward pass,
  from the same parameter values;
- a parameter file each library saves (.protobuf) read by the other gives
  the same outputs as in the writer.

Skipped, with the reason, where no Python 3.8-3.10 exists for NNabla.
"""
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from nnabla_env import run as _run  # noqa: E402
from test_against_nnabla import RTOL, _rel_diff  # noqa: E402

SCRIPT = os.path.join(HERE, "layers_script.py")


def _results(nnabla_python, tmp_path):
    """{(lib, mode): {key: array}} for both libraries, each creating its
    parameters and then loading the other's file."""
    pythons = {"nnabla": nnabla_python, "nnvae": sys.executable}
    runs = [(lib, "create", lib) for lib in pythons] + [("nnabla", "load", "nnvae"), ("nnvae", "load", "nnabla")]
    results = {}
    for lib, mode, writer in runs:
        out = tmp_path / f"{lib}_{mode}.npz"
        _run(pythons[lib], SCRIPT, lib, mode, str(tmp_path / f"{writer}.protobuf"), str(out))
        with np.load(out) as data:
            results[lib, mode] = {k: data[k] for k in data.files}
    return results


@pytest.fixture(scope="module")
def results(nnabla_python, tmp_path_factory):
    return _results(nnabla_python, tmp_path_factory.mktemp("layers"))


def _differences(got, ref, prefix, rtol):
    keys = [k for k in ref if k.startswith(prefix)]
    assert sorted(k for k in got if k.startswith(prefix)) == sorted(keys)
    bad = []
    for k in keys:
        if got[k].shape != ref[k].shape:
            bad.append(f"{k}: shape {got[k].shape} != NNabla's {ref[k].shape}")
        elif _rel_diff(got[k], ref[k]) > rtol:
            bad.append(f"{k}: relative difference {_rel_diff(got[k], ref[k]):.3g} > {rtol:g}")
    return bad


def test_same_parameter_names_order_and_shapes(results):
    ref, got = results["nnabla", "create"], results["nnvae", "create"]
    assert list(got["names"]) == list(ref["names"])
    assert {k: got[k].shape for k in got if k.startswith("init:")} == \
        {k: ref[k].shape for k in ref if k.startswith("init:")}


def test_same_initial_values_from_the_same_rng(results):
    ref, got = results["nnabla", "create"], results["nnvae", "create"]
    # Uniform draws of the same RandomState scaled by the same limit: equal
    # up to the float32 rounding of the limit.
    assert not _differences(got, ref, "init:", 1e-6)


def test_same_outputs_and_running_statistics(results):
    ref, got = results["nnabla", "create"], results["nnvae", "create"]
    bad = _differences(got, ref, "out:", RTOL) + _differences(got, ref, "after:", RTOL)
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("reader, writer", [("nnabla", "nnvae"), ("nnvae", "nnabla")])
def test_parameter_file_read_by_the_other_library(results, reader, writer):
    written, read = results[writer, "create"], results[reader, "load"]
    assert list(read["names"]) == list(written["names"])
    bad = _differences(read, written, "out:", RTOL) + _differences(read, written, "after:", RTOL)
    assert not bad, "\n".join(bad)

"""`nnvae evaluate` and `nnvae generate` on parameters saved by a short run,
and their answers to bad parameter files and options."""
import json

import numpy as np
import pytest
from PIL import Image

from nnvae.app import training
from nnvae.params_io import load_parameters, save_parameters

from vae_fixtures import SMALL, data_root, run_cli


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return data_root(tmp_path_factory)


@pytest.fixture(scope="module")
def params_file(root, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval_run")
    r = run_cli("train", "--data-dir", root, *SMALL, "--iterations", 60, "--out", out, "--no-pictures")
    assert r.returncode == 0, r.stderr
    return out / "parameters.protobuf"


def test_evaluate_reports_elbo_and_iw_nll(root, params_file, tmp_path):
    r = run_cli("evaluate", "--params", params_file, "--data-dir", root, "--k", 10, "--limit", 200,
                "--threads", 1, "--json", tmp_path / "e.json")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("negative ELBO: ")
    assert f"(200 mnist test images, one sample, seed {training.EVAL_SEED})" in lines[0]  # the default seed
    assert lines[1].startswith("importance-weighted NLL (k=10): ")
    res = json.loads((tmp_path / "e.json").read_text())
    assert res["images"] == 200 and res["k"] == 10
    # More samples give a tighter bound, but not a wildly different one.
    assert 0.8 * res["negative_elbo"] < res["iw_nll"] < res["negative_elbo"]
    assert f"{res['negative_elbo']:.4f}" in lines[0]
    # The same figure as the Python API, and as the run's own evaluation
    # restricted to the same images (fixed seed, same batches).
    from nnvae.app.datasets import load_dataset

    test, _ = load_dataset("mnist", "test", root, download=False)
    model = training.load_model(params_file)
    assert model.negative_elbo(test[:200]) == pytest.approx(res["negative_elbo"], rel=1e-6)


def test_generate_samples_and_interpolation(root, params_file, tmp_path):
    r = run_cli("generate", "--params", params_file, "--n", 64, "--seed", 3, "--out", tmp_path / "s.png")
    assert r.returncode == 0, r.stderr
    assert "64 samples of z ~ N(0, I), seed 3" in r.stdout
    with Image.open(tmp_path / "s.png") as im:
        assert im.size[0] == 457 and 457 + 15 < im.size[1] < 457 + 60  # the grid under its title
        first = np.asarray(im).copy()
    # Same seed, same picture.
    run_cli("generate", "--params", params_file, "--n", 64, "--seed", 3, "--out", tmp_path / "t.png")
    with Image.open(tmp_path / "t.png") as im:
        np.testing.assert_array_equal(np.asarray(im), first)

    r = run_cli("generate", "--params", params_file, "--data-dir", root, "--interpolate", 0, 1, "--steps", 7,
                "--by-index", "--out", tmp_path / "i.png")
    assert r.returncode == 0, r.stderr
    assert "7 images from test image 0 to test image 1" in r.stdout
    with Image.open(tmp_path / "i.png") as im:
        assert im.size[0] == 7 * 85 + 1 and 85 + 1 + 15 < im.size[1] < 85 + 1 + 60  # scale 3, a title

    # By default A and B are digits: the first test 3 and the first test 7,
    # and the picture goes next to the parameter file.
    from nnvae.app.datasets import load_dataset

    _, labels = load_dataset("mnist", "test", root, download=False)
    a, b = int(np.flatnonzero(labels == 3)[0]), int(np.flatnonzero(labels == 7)[0])
    r = run_cli("generate", "--params", params_file, "--data-dir", root, "--interpolate", 3, 7)
    assert r.returncode == 0, r.stderr
    out = params_file.parent / "interpolation.png"
    assert r.stdout.startswith(f"wrote {out}: 10 images from a test 3 (image {a}) to a test 7 (image {b})")
    with Image.open(out) as im:
        assert im.size[0] == 10 * 85 + 1 and 85 + 1 + 15 < im.size[1] < 85 + 1 + 60
    r = run_cli("generate", "--params", params_file, "--data-dir", root, "--interpolate", 3, 12)
    assert r.returncode == 2 and "no image labelled 12 (digits are 0..9" in r.stderr


def test_bad_parameter_files_exit_1(root, params_file, tmp_path):
    (tmp_path / "junk.protobuf").write_bytes(b"\xff\xff\xff\xff\xff")
    for cmd in ("evaluate", "generate"):
        r = run_cli(cmd, "--params", tmp_path / "junk.protobuf", "--data-dir", root)
        assert r.returncode == 1 and "junk.protobuf" in r.stderr and "Traceback" not in r.stderr
    params = load_parameters(params_file)
    params["fc1/affine/W"] = np.zeros((784, 65), np.float32)
    params.pop("fc4/affine/b")
    save_parameters(tmp_path / "odd.protobuf", params)
    r = run_cli("evaluate", "--params", tmp_path / "odd.protobuf", "--data-dir", root)
    assert r.returncode == 1
    assert f"{tmp_path / 'odd.protobuf'}: the parameters do not fit the VAE (latent 8, hidden 64)" in r.stderr
    assert "fc1/affine/W is (784, 65), expected (784, 64)" in r.stderr
    assert "fc4/affine/b missing (expected (64,))" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("evaluate", "--params", tmp_path / "none.protobuf")
    assert r.returncode == 1 and "no such parameter file" in r.stderr


@pytest.mark.parametrize("args, message", [
    (["evaluate", "--k", "0"], "argument --k: must be from 1 to"),
    (["evaluate", "--limit", "0"], "argument --limit: must be from 1 to"),
    (["evaluate", "--dataset", "cifar"], "unknown data set 'cifar'"),
    (["generate", "--n", "0"], "n must be from 1 to 10000, got 0"),
    (["generate", "--steps", "1"], "steps must be from 2 to 100, got 1"),
    (["generate", "--out", "x.jpg"], "--out must name a .png file"),
])
def test_usage_errors_exit_2(params_file, args, message):
    r = run_cli(*args[:1], "--params", params_file, *args[1:])
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_no_file_is_replaced_unasked(root, params_file, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    params = run / "parameters.protobuf"
    params.write_bytes(params_file.read_bytes())
    (run / "samples.png").write_bytes(b"the training run's own samples")
    # Without --out: the next free name, and the line says the old one is kept.
    for n in (2, 3):
        r = run_cli("generate", "--params", params)
        assert r.returncode == 0, r.stderr
        assert r.stdout == (f"wrote {run / f'samples-{n}.png'}: 64 samples of z ~ N(0, I), seed 0 "
                            f"(samples.png there is kept)\n")
        with Image.open(run / f"samples-{n}.png") as im:
            assert im.format == "PNG"
    assert (run / "samples.png").read_bytes() == b"the training run's own samples"
    # An --out that exists: refused without --force, replaced with it.
    r = run_cli("generate", "--params", params, "--out", run / "samples.png")
    assert r.returncode == 2 and f"--out {run / 'samples.png'} exists: --force replaces it" in r.stderr
    assert (run / "samples.png").read_bytes() == b"the training run's own samples"
    r = run_cli("generate", "--params", params, "--out", run / "samples.png", "--force")
    assert r.returncode == 0 and r.stdout.startswith(f"wrote {run / 'samples.png'}: ")
    with Image.open(run / "samples.png") as im:
        assert im.format == "PNG"
    # evaluate --json likewise.
    (run / "e.json").write_text("{}")
    args = ["evaluate", "--params", params, "--data-dir", root, "--k", 1, "--limit", 20, "--json", run / "e.json"]
    r = run_cli(*args)
    assert r.returncode == 2 and f"--json {run / 'e.json'} exists: --force replaces it" in r.stderr
    assert (run / "e.json").read_text() == "{}"
    r = run_cli(*args, "--force")
    assert r.returncode == 0 and json.loads((run / "e.json").read_text())["images"] == 20

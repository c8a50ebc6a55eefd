"""The trainers' --precision (a VaeConfig field, so nnvae-train and train_vae
read the same option): its choices and default, a bf16 run recording its
precision and bf16 path and leaving the engine's setting as it was, the
refusal of a bad value, and `nnvae info`."""
import io
import json

import nnvae
from nnvae import _core
from nnvae.app import training

from vae_fixtures import run_cli, synthetic_digits


def test_the_field_offers_the_engines_names_with_fp32_the_default():
    field = next(f for f in _core.vae.VaeConfig.fields() if f["name"] == "precision")
    assert field["flag"] == "precision" and field["kind"] == "choice"
    assert tuple(field["choices"]) == _core.MATMUL_PRECISIONS == ("fp32", "bf16")
    assert field["default"] == "fp32" and _core.vae.VaeConfig().precision == "fp32"
    assert _core.vae.VaeConfig({"precision": "bf16"}).precision == "bf16"


def _run(tmp_path, name, **settings):
    out = tmp_path / name
    opts = training.TrainOptions.of(iterations=30, batch_size=20, latent=4, hidden=16, threads=1, progress=False,
                                    pictures=False, out=str(out), **settings)
    shown = io.StringIO()
    training.run_training(opts, out=shown, err=io.StringIO(), train_images=synthetic_digits(200, 1),
                          test_images=synthetic_digits(40, 2))
    return json.loads((out / "metrics.json").read_text()), shown.getvalue().splitlines()


def test_a_bf16_run_records_its_precision_and_path(tmp_path):
    bf16, lines = _run(tmp_path, "bf16", precision="bf16")
    assert nnvae.get_matmul_precision() == "fp32"  # the run's setting ended with it
    assert bf16["settings"]["precision"] == "bf16"
    assert bf16["bf16_path"] == nnvae.bf16_path()["reason"]
    assert lines[1] == f"bf16 products, {nnvae.bf16_path()['reason']}"
    fp32, lines = _run(tmp_path, "fp32")
    assert fp32["settings"]["precision"] == "fp32" and "bf16_path" not in fp32
    assert not any(line.startswith("bf16 products") for line in lines)
    # Different sums, the same learning.
    a, b = fp32["test_negative_elbo"], bf16["test_negative_elbo"]
    assert a != b and abs(a - b) < 0.05 * a, (a, b)


def test_a_bad_precision_is_a_usage_error():
    r = run_cli("train", "--precision", "fp16", "--iterations", "1")
    assert r.returncode == 2
    assert "unknown matmul precision 'fp16': choose fp32 or bf16" in r.stderr


def test_info_names_the_bf16_path():
    r = run_cli("info")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("nnvae ")
    assert "matmul precision: fp32 (nnvae.set_matmul_precision, nnvae-train --precision: fp32 or bf16)" in lines
    assert f"bf16 products: {nnvae.bf16_path()['reason']}" in lines

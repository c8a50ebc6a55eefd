"""The settings a run saves (metrics.json, log.txt, the checkpoint) hold the
numbers the user gave: 0.0003 and 0.9, not their float32 values printed as
doubles (0.0003000000142492354, 0.8999999761581421)."""
import io
import json

from nnvae import _core
from nnvae.app import training
from nnvae.app.checkpoint_file import load_checkpoint

from vae_fixtures import synthetic_digits


def test_float_settings_are_written_as_given(tmp_path):
    out = tmp_path / "run"
    opts = training.TrainOptions.of(iterations=10, batch_size=20, latent=4, hidden=16, threads=1, progress=False,
                                    pictures=False, out=str(out), beta2="0.995", eps="1e-7")
    training.run_training(opts, out=io.StringIO(), err=io.StringIO(), train_images=synthetic_digits(100, 1),
                          test_images=synthetic_digits(40, 2))
    given = {"learning_rate": 0.0003, "beta1": 0.9, "beta2": 0.995, "eps": 1e-07}
    settings = json.loads((out / "metrics.json").read_text())["settings"]
    assert {k: settings[k] for k in given} == given
    text = (out / "metrics.json").read_text() + (out / "log.txt").read_text()
    for shown in ('"learning_rate": 0.0003,', '"beta1": 0.9,', '"beta2": 0.995,', '"eps": 1e-07,'):
        assert text.count(shown) == 2, shown  # metrics.json and log.txt's first line
    _, meta = load_checkpoint(out / "checkpoint.nnvckpt")
    assert {k: meta["settings"][k] for k in given} == given


def test_the_decimal_reads_back_as_the_same_float32():
    cfg = _core.vae.VaeConfig({"learning_rate": "0.0003", "beta1": "0.9", "eps": "1e-8"})
    values = cfg.to_dict()
    assert (values["learning_rate"], values["beta1"], values["eps"]) == (0.0003, 0.9, 1e-08)
    again = _core.vae.VaeConfig(values)
    assert again == cfg and again.learning_rate == cfg.learning_rate  # the attribute keeps the float32 value
    assert cfg.learning_rate == 0.0003000000142492354

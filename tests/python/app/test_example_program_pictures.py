"""examples/python/dcgan_samples.py and siamese_embedding.py read the
parameter files of NNabla's C++ DCGAN and Siamese programs into the same
networks written with nnvae's PF layers and draw them: an 8x8 grid of
generator samples, the test set's 2-D embedding. Here the files are written
as the programs write them (the C++ names: "bn/variance", "gen/..."),
with values of the examples' own networks; the ctests nnabla_dcgan_* and
nnabla_siamese_* check the programs' own files."""
import importlib.util
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from vae_fixtures import NO_REAL_MNIST, REAL_MNIST, REPO

import nnvae as nn
from nnvae import params_io

EXAMPLES = REPO / "examples" / "python"


def example(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def program_file(path, build):
    """Writes the parameters `build()` creates to `path` under the C++
    programs' names (NNabla's C++ pf::batch_normalization saves the running
    variance as "bn/variance", its Python as "bn/var")."""
    nn.clear_parameters()
    try:
        build()
        params = {name.replace("/bn/var", "/bn/variance") if name.endswith("/bn/var") else name: v.d.copy()
                  for name, v in nn.get_parameters(grad_only=False).items()}
    finally:
        nn.clear_parameters()
    params_io.save_parameters(path, params)
    return params


def run(script, *args):
    return subprocess.run([sys.executable, str(EXAMPLES / script), *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_dcgan_samples_draws_the_generator_of_a_program_file(tmp_path):
    dcgan = example("dcgan_samples")
    params = program_file(tmp_path / "saved_dcgan_param.protobuf",
                          lambda: dcgan.generator(nn.Variable((2, dcgan.Z_DIM, 1, 1))))
    assert params["gen/deconv1/deconv/W"].shape == (100, 256, 4, 4)
    assert params["gen/deconv4/bn/variance"].shape == (1, 64, 1, 1)
    assert params["gen/conv5/conv/W"].shape == (1, 64, 3, 3)
    out = run("dcgan_samples.py", tmp_path / "saved_dcgan_param.protobuf", "--out", tmp_path / "samples.png")
    assert out.returncode == 0, out.stderr
    assert "64 samples of the generator" in out.stdout
    with Image.open(tmp_path / "samples.png") as image:
        assert image.width >= 8 * 28 and image.height >= 8 * 28  # eight rows and columns of 28-pixel images
        assert np.asarray(image.convert("L")).std() > 0


def test_dcgan_samples_refuses_a_file_without_the_generator(tmp_path):
    params_io.save_parameters(tmp_path / "other.protobuf", {"dis/fc1/affine/b": np.zeros(1, np.float32)})
    out = run("dcgan_samples.py", tmp_path / "other.protobuf", "--out", tmp_path / "samples.png")
    assert out.returncode != 0
    assert "lacks the generator's parameters gen/conv5/conv/W" in out.stderr
    assert not (tmp_path / "samples.png").exists()


@pytest.mark.skipif(REAL_MNIST is None, reason=NO_REAL_MNIST)
def test_siamese_embedding_draws_the_test_set_of_a_program_file(tmp_path):
    siamese = example("siamese_embedding")
    params = program_file(tmp_path / "saved_siamese_param.protobuf",
                          lambda: siamese.mnist_lenet_feature(nn.Variable((2, 1, 28, 28))))
    assert list(params) == ["conv1/conv/W", "conv1/conv/b", "conv2/conv/W", "conv2/conv/b", "fc3/affine/W",
                            "fc3/affine/b", "fc4/affine/W", "fc4/affine/b", "fc_embed/affine/W", "fc_embed/affine/b"]
    out = run("siamese_embedding.py", tmp_path / "saved_siamese_param.protobuf", "--data-dir", REAL_MNIST,
              "--count", 600, "--out", tmp_path / "embedding.png")
    assert out.returncode == 0, out.stderr
    assert "600 test images embedded" in out.stdout
    with Image.open(tmp_path / "embedding.png") as image:
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    # Dots of at least five digits' colours.
    colors = {tuple(c) for c in siamese.COLORS}
    assert len(colors & {tuple(p) for p in pixels}) >= 5

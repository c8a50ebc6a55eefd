"""The test error of a classifier NNabla's C++ programs saved
(train_lenet_classifier's saved_lenet_param.protobuf,
train_resnet_classifier's saved_resnet_param.protobuf) on all 10,000 MNIST
test images, counted through an NNabla-style Python API, nnvae's or NNabla
1.39's (the same code builds both).

    python benchmarks/program_test_error.py --model lenet --params saved_lenet_param.protobuf --data-dir D
    python benchmarks/program_test_error.py --model resnet --params P --api nnabla --data-dir D

The test graph is the program's (mnist_models.py's table, batch
normalization with its running statistics), fed pixels / 255 as the
programs feed them. The file's names are the C++ ones; batch
normalization's running variance, `bn/variance` in C++, is the Python
APIs' `bn/var`. Every parameter of the graph must be in the file, and every
one in the file must be used.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

import mnist_models
from mnist_program_quality import error_rate, load_api, rerun_under_nnabla

CHUNK = 1000  # test images per forward pass


def python_name(cpp_name):
    """The Python API's name of a parameter the C++ program saved."""
    return cpp_name[: -len("variance")] + "var" if cpp_name.endswith("/bn/variance") else cpp_name


def test_error(api, model, params, x, t):
    """The fraction of the test images (x uint8 (N, 1, 28, 28), t (N,))
    model `model`, with the file `params`'s values, gets wrong."""
    nn, _, _, _ = api
    from mnist_graph_worker import build

    nn.clear_parameters()
    nn.load_parameters(params)
    saved = {k: v.d.copy() for k, v in nn.get_parameters(grad_only=False).items()}
    nn.clear_parameters()
    layers = mnist_models.model(model)["layers"]
    needed = {name: tuple(shape) for name, shape, _ in mnist_models.walk(layers, mnist_models.input_shape(model))[0]}
    missing, unused = sorted(set(needed) - set(saved)), sorted(set(saved) - set(needed))
    if missing or unused:
        raise SystemExit(f"{params}: does not hold {model}'s parameters (missing {missing}, not used {unused})")
    for name, shape in needed.items():
        if saved[name].shape != shape:
            raise SystemExit(f"{params}: {name} has shape {saved[name].shape} but {model} needs {shape}")
    saved = {python_name(k): v for k, v in saved.items()}
    xv = nn.Variable((CHUNK, *mnist_models.IMAGE_SHAPE))
    y = build(layers, xv, api, saved, batch_stat=False)
    for name, v in nn.get_parameters(grad_only=False).items():
        v.d = saved[name]  # batch normalization's statistics too (build starts them at 0 and 1)

    def logits(chunk):
        xv.d = (chunk / 255.0).astype(np.float32)
        y.forward(clear_buffer=True)
        return y.d.copy()

    return error_rate(logits, x, t, CHUNK)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=("lenet", "resnet"), required=True)
    p.add_argument("--params", required=True, help="the program's saved .protobuf")
    p.add_argument("--api", choices=("nnvae", "nnabla"), default="nnvae")
    p.add_argument("--threads", type=int, default=1, help="nnvae's threads (default 1)")
    p.add_argument("--data-dir", default=None, help="folder holding mnist/ or the MNIST files (as nnvae-train's)")
    p.add_argument("--nnabla-python", default=None, help="the python that imports NNabla 1.39")
    p.add_argument("--arrays", default=None, help=argparse.SUPPRESS)  # the test arrays, handed to NNabla's python
    a = p.parse_args(argv)
    if not Path(a.params).is_file():
        sys.exit(f"{a.params}: no such file")
    if a.arrays:
        with np.load(a.arrays) as f:
            x, t = f["x"], f["t"]
    else:
        from nnvae.app.datasets import load_mnist

        x, t = load_mnist("test", a.data_dir, download=False)
        x = x.reshape(-1, *mnist_models.IMAGE_SHAPE)
        if a.api == "nnabla":
            return rerun_under_nnabla(__file__, argv, a.nnabla_python, x=x, t=t)
    api = load_api(a.api, a.threads)
    err = test_error(api, a.model, a.params, x, t)
    print(f"{a.model}: test error {100 * err:.2f} % on all {len(x)} test images "
          f"({a.api} {api[0].__version__}, {a.params})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

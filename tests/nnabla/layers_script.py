"""The parametric layers of test_parametric_layers.py, run by either library
(the first argument names it: nnabla or nnvae) and reached through files
only.

    python layers_script.py LIB create PARAMS_FILE OUT.npz
        builds the layers from numpy RandomStates; writes their parameters'
        initial values, then sets every parameter to values drawn from one
        more RandomState, saves them to PARAMS_FILE, runs the layers and
        writes their outputs and the parameters after the forward pass
    python layers_script.py LIB load PARAMS_FILE OUT.npz
        loads PARAMS_FILE first, builds the same layers (which reuse the
        loaded parameters), runs them and writes the same outputs

OUT.npz: "init:NAME", "out:LAYER", "after:NAME" arrays and "names", the
parameter names in the library's order.
"""
import importlib
import sys

import numpy as np

LIB, MODE, PARAMS_FILE, OUT = sys.argv[1:5]
nn = importlib.import_module(LIB)
F = importlib.import_module(LIB + ".functions")
PF = importlib.import_module(LIB + ".parametric_functions")
RandomState = np.random.RandomState


def layers(x4, x2):
    """name -> output Variable of each layer, built in a fixed order."""
    return {
        "conv": PF.convolution(x4, 6, (3, 3), rng=RandomState(1), name="conv"),
        "conv_nobias": PF.convolution(x4, 6, (3, 2), pad=(1, 2), stride=(2, 1), group=2, with_bias=False,
                                      rng=RandomState(2), name="conv_nobias"),
        "conv_dilated": PF.convolution(x4, 3, (2, 2), pad=(1, 1), dilation=(2, 2), rng=RandomState(3),
                                       name="conv_dilated"),
        "deconv": PF.deconvolution(x4, 5, (3, 3), pad=(1, 1), stride=(2, 2), rng=RandomState(4), name="deconv"),
        "deconv_group": PF.deconvolution(x4, 6, (2, 3), stride=(1, 2), group=2, with_bias=False,
                                         rng=RandomState(5), name="deconv_group"),
        "bn_batch_stat": PF.batch_normalization(x4, batch_stat=True, name="bn_batch_stat"),
        "bn_running_stat": PF.batch_normalization(x4, batch_stat=False, name="bn_running_stat"),
        "bn_2d": PF.batch_normalization(x2, axes=[1], decay_rate=0.5, eps=1e-3, name="bn_2d"),
    }


def main():
    if MODE == "load":
        nn.load_parameters(PARAMS_FILE)
    rng = RandomState(0)
    x4 = nn.Variable.from_numpy_array(rng.standard_normal((2, 4, 9, 8)).astype(np.float32))
    x2 = nn.Variable.from_numpy_array(rng.standard_normal((5, 3)).astype(np.float32) * 2 + 1)
    outputs = layers(x4, x2)
    params = nn.get_parameters(grad_only=False)
    arrays = {"names": np.array(list(params))}
    if MODE == "create":
        values = RandomState(99)
        for name, v in params.items():
            arrays[f"init:{name}"] = v.d.copy()
            new = values.standard_normal(v.shape).astype(np.float32)
            v.d = np.abs(new) + 0.5 if name.endswith("/var") else new
        nn.save_parameters(PARAMS_FILE)
    for name, y in outputs.items():
        y.forward()
        arrays[f"out:{name}"] = y.d.copy()
    for name, v in nn.get_parameters(grad_only=False).items():
        arrays[f"after:{name}"] = v.d.copy()
    np.savez(OUT, **arrays)


if __name__ == "__main__":
    main()

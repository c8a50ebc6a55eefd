"""The tutorial's VAE, written against NNabla's Python API, for the
comparison of the two libraries on one program.

    python vae_script.py step MNIST_DIR INIT_PARAMS OUT_DIR
        loads INIT_PARAMS, computes the deterministic loss (z = mu) on the
        first 1,000 test images, one backward and one Adam update; writes
        OUT_DIR/result.npz (loss, gradients, updated parameters, solver
        states), OUT_DIR/params.protobuf, OUT_DIR/params.h5,
        OUT_DIR/states.protobuf, OUT_DIR/states.h5
    python vae_script.py read PARAMS STATES OUT_NPZ
        loads a parameter file and a solver state file written by either
        library and writes what it read to OUT_NPZ
"""
import gzip
import os
import sys

import numpy as np

# The library: these four lines are all the nnvae run changes ("nnabla" ->
# "nnvae"); everything below is NNabla-style code used as it is.
import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla.solvers as S

N_IMAGES = 1000


def mnist_test_images(mnist_dir, n):
    path = os.path.join(mnist_dir, "t10k-images-idx3-ubyte")
    with (gzip.open(path + ".gz", "rb") if os.path.exists(path + ".gz") else open(path, "rb")) as f:
        raw = f.read()
    assert int.from_bytes(raw[:4], "big") == 2051
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16)[: n * 784]
    return pixels.reshape(n, 1, 28, 28).astype(np.float32) / 255.0


def vae_loss(x):
    """Negative ELBO with z = mu (no sampling): deterministic."""
    h = F.elu(PF.affine(x, 500, name="fc1"))
    h = F.elu(PF.affine(h, 500, name="fc2"))
    mu = PF.affine(h, 50, name="fc_mu")
    logvar = PF.affine(h, 50, name="fc_logvar")
    sigma = F.exp(logvar * 0.5)
    h = F.elu(PF.affine(mu, 500, name="fc3"))
    h = F.elu(PF.affine(h, 500, name="fc4"))
    logits = F.reshape(PF.affine(h, 784, name="fc5"), x.shape)
    xb = F.greater_equal_scalar(x, 0.5)
    logqz = 0.5 * F.sum(1.0 + logvar, axis=1)
    logpz = 0.5 * F.sum(mu * mu + sigma * sigma, axis=1)
    logpx = F.sum(F.sigmoid_cross_entropy(logits, xb), axis=(1, 2, 3))
    return F.mean(logpx + logpz - logqz)


def step(mnist_dir, init_params, out_dir):
    nn.load_parameters(init_params)
    x = nn.Variable((N_IMAGES, 1, 28, 28))
    x.d = mnist_test_images(mnist_dir, N_IMAGES)
    loss = vae_loss(x)
    params = nn.get_parameters()
    solver = S.Adam(3e-4)
    solver.set_parameters(params)
    solver.zero_grad()
    loss.forward()
    loss.backward()
    result = {"loss": np.array(loss.d)}
    for name, p in params.items():
        result["grad:" + name] = p.g.copy()
    solver.update()
    for name, p in params.items():
        result["param:" + name] = p.d.copy()
    for name, state in solver.get_states().items():
        result["t:" + name] = np.array(state.t)
        for key, v in state.pstate.items():
            result["state:" + name + ":" + key] = v.d.copy()
    nn.save_parameters(os.path.join(out_dir, "params.protobuf"))
    nn.save_parameters(os.path.join(out_dir, "params.h5"))
    solver.save_states(os.path.join(out_dir, "states.protobuf"))
    solver.save_states(os.path.join(out_dir, "states.h5"))
    np.savez(os.path.join(out_dir, "result.npz"), **result)


def read(params_file, states_file, out_npz):
    nn.load_parameters(params_file)
    params = nn.get_parameters()
    solver = S.Adam(3e-4)
    solver.set_parameters(params)
    solver.load_states(states_file)
    result = {}
    for name, p in params.items():
        result["param:" + name] = p.d.copy()
    for name, state in solver.get_states().items():
        result["t:" + name] = np.array(state.t)
        for key, v in state.pstate.items():
            result["state:" + name + ":" + key] = v.d.copy()
    np.savez(out_npz, **result)


if __name__ == "__main__":
    {"step": step, "read": read}[sys.argv[1]](*sys.argv[2:])

"""A trained VAE: parameters read from a file into the C++ `VaeModel`.

    model = load_model("runs/X/parameters.protobuf")   # checked once, here
    model.latent, model.hidden                          # read off fc_mu's W
    model.negative_elbo(images)                         # nats per image, seed 706
    model.importance_weighted_nll(images, k=100)
    mu, logvar = model.encode(images)                   # (N, latent) each
    pixels = model.decode(z)                            # (N, 28, 28) probabilities

`VaeModel(parameters, source)` checks every name and shape against the model
the parameters describe (ValueError naming `source` and each difference);
load_model turns that into an NnvaeError naming the file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Tuple

import numpy as np

from ... import _core
from ...errors import NnvaeError

VaeModel = _core.vae.VaeModel
EVAL_SEED = _core.vae.VAE_EVAL_SEED  # the fixed seed of the evaluations


def parameter_shapes(latent: int, hidden: int) -> Dict[str, Tuple[int, ...]]:
    """Full name -> shape of the model's parameters, in creation order."""
    return {name: tuple(shape) for name, shape in _core.vae.vae_parameter_shapes(latent, hidden)}


def load_model(path) -> VaeModel:
    """The VAE held in a parameter file (.protobuf / .h5)."""
    from ...params_io import load_parameters

    if "\0" not in str(path) and not Path(path).exists():  # the reader names folders, FIFOs, devices
        raise NnvaeError(f"{path}: no such parameter file")
    params = load_parameters(path)
    for name, values in params.items():  # NaN or Inf would only turn every figure into nan
        bad = values.size - int(np.isfinite(values).sum())
        if bad:
            raise NnvaeError(f"{path}: parameter {name} holds {bad} values that are NaN or infinite")
    try:
        return VaeModel(params, str(path))
    except ValueError as e:
        raise NnvaeError(str(e)) from None

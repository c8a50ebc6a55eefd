"""Random numbers, as nnabla.random: nnvae has one global generator, used by
the parameter initializers and by F.randn / F.rand / F.dropout with seed=-1.

    nnvae.random.seed(313)    # the same seed and the same calls give the same numbers
"""
from . import _core

__all__ = ["seed"]


def seed(seed_value, set_function_seed=True, set_parameter_seed=True):
    """Seeds the global generator. NNabla keeps two (one for functions, one
    for parameter initializers); nnvae's one serves both, so both flags must
    stay True (a False flag is refused rather than ignored)."""
    if isinstance(seed_value, bool) or not isinstance(seed_value, int):
        raise TypeError(f"nnvae.seed: seed_value must be an int, got {type(seed_value).__name__}")
    if not 0 <= seed_value < 2**32:
        raise ValueError(f"nnvae.seed: seed_value must be in [0, 2**32), got {seed_value}")
    for name, flag in (("set_function_seed", set_function_seed), ("set_parameter_seed", set_parameter_seed)):
        if not flag:
            raise ValueError(f"nnvae.seed: {name}=False is not supported; nnvae has one generator "
                             f"for functions and parameter initializers, seeded together")
    _core.set_seed(seed_value)

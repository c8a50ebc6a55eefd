"""Shared pytest fixtures. Keep this file small: fixtures used by one test
file belong in that file."""
import pytest


@pytest.fixture
def fresh_engine():
    """The engine's global state reset around a test: no parameters,
    static-graph mode, a fixed seed. Opt in with
    ``pytestmark = pytest.mark.usefixtures("fresh_engine")``."""
    import nnvae

    nnvae.clear_parameters()
    nnvae.set_auto_forward(False)
    nnvae.seed(313)
    yield
    nnvae.clear_parameters()
    nnvae.set_auto_forward(False)

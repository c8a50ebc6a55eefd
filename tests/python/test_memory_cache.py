"""nnvae.clear_memory_cache(): the engine's cached array memory (blocks freed
by arrays no longer alive, kept for the next array of the same size) goes
back to the system, as NNabla's nnabla_ext.cpu.clear_memory_cache() does;
arrays still in use, those of live graphs among them, keep their values.
"""
import numpy as np
import pytest

import nnvae
import nnvae.functions as F
import nnvae.parametric_functions as PF

pytestmark = pytest.mark.usefixtures("fresh_engine")


def stats():
    return nnvae.memory_cache_stats()


def test_clear_memory_cache_gives_every_freed_block_back():
    a = nnvae.Variable((997, 13))
    a.d = 1.0
    del a
    assert stats()["cached_bytes"] >= 997 * 13 * 4
    in_use = stats()["in_use_bytes"]
    nnvae.clear_memory_cache()
    after = stats()
    assert after["cached_bytes"] == 0
    assert after["in_use_bytes"] == in_use
    assert after["peak_in_use_bytes"] == in_use  # the high-water mark restarts from what is in use
    assert set(after) == {"in_use_bytes", "cached_bytes", "peak_in_use_bytes", "hits", "misses"}
    nnvae.clear_memory_cache()  # twice: nothing left to give back
    assert stats()["cached_bytes"] == 0


def _loss():
    """A small live graph: x (8, 20) -> affine 20->30 -> tanh -> affine 30->1 -> mean."""
    x = nnvae.Variable((8, 20))
    x.d = np.random.RandomState(3).randn(8, 20).astype(np.float32)
    with nnvae.parameter_scope("net"):
        h = F.tanh(PF.affine(x, 30, name="fc1"))
        y = PF.affine(h, 1, name="fc2")
    return x, h, F.mean(y)


def test_clear_memory_cache_is_safe_while_graphs_are_alive():
    x, h, loss = _loss()
    params = nnvae.get_parameters()
    for p in params.values():
        p.grad.zero()
    loss.forward()
    loss.backward()
    want_loss = float(loss.d)
    want_h = h.d.copy()
    want_grads = {n: p.g.copy() for n, p in params.items()}

    # Freed intermediates (clear_buffer), then the cache emptied under the live graph.
    loss.forward(clear_buffer=True)
    assert stats()["cached_bytes"] > 0
    nnvae.clear_memory_cache()
    assert stats()["cached_bytes"] == 0
    assert float(loss.d) == want_loss

    # The same graph runs again, allocating afresh, to the same numbers.
    for p in params.values():
        p.grad.zero()
    loss.forward()
    loss.backward()
    nnvae.clear_memory_cache()
    assert stats()["cached_bytes"] == 0
    assert float(loss.d) == want_loss
    assert np.array_equal(h.d, want_h)
    for n, p in params.items():
        assert np.array_equal(p.g, want_grads[n]), n
    assert np.array_equal(x.d, np.random.RandomState(3).randn(8, 20).astype(np.float32))

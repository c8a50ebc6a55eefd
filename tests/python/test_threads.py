"""nnvae from several Python threads (see docs/threads.md): the thread-count
bound, one solver shared by threads, a trainer whose noise never touches the
process-wide generator (nor its auto-forward setting), and parameter_scope
per thread. Tests that could crash the interpreter run in a subprocess."""
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import nnvae
import nnvae.functions as F
import nnvae.parametric_functions as PF
from nnvae import _core

pytestmark = pytest.mark.usefixtures("fresh_engine")


def run_python(code, timeout=60):
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-3000:]}"
    return proc.stdout


# --- thread counts -------------------------------------------------------------------

def test_thread_count_bound_is_one_fact():
    cores = os.cpu_count() or 1
    assert _core.MAX_THREADS == min(max(4 * cores, 8), 1024)
    before = nnvae.get_num_threads()
    for n in (_core.MAX_THREADS + 1, 100000, 2 ** 31 - 1):
        with pytest.raises(ValueError, match=f"n must be in \\[1, {_core.MAX_THREADS}\\]"):
            nnvae.set_num_threads(n)
        with pytest.raises(ValueError, match="more than this machine can sensibly run"):
            _core.set_num_threads(n)  # the engine's own check, under the Python one
    assert nnvae.get_num_threads() == before
    # The training settings check the same bound.
    cfg = _core.vae.VaeConfig()
    cfg.update({"threads": _core.MAX_THREADS + 1})
    with pytest.raises(ValueError, match=f"at most {_core.MAX_THREADS}"):
        cfg.validate()


def test_max_threads_runs():
    before = nnvae.get_num_threads()
    try:
        nnvae.set_num_threads(_core.MAX_THREADS)
        x = nnvae.Variable.from_numpy_array(np.ones((300, 400), np.float32))
        y = F.sum(F.affine(x, nnvae.Variable.from_numpy_array(np.ones((400, 50), np.float32))))
        y.forward()
        assert float(y.d) == 300 * 400 * 50
    finally:
        nnvae.set_num_threads(before)


# --- one solver, several threads ------------------------------------------------------

def test_solver_shared_by_threads():
    """update() runs without the GIL; set_parameters, zero_grad and
    get_states from another thread wait for it instead of racing it."""
    out = run_python("""
        import threading, time
        import numpy as np
        import nnvae, nnvae.functions as F, nnvae.parametric_functions as PF, nnvae.solvers as S
        x = nnvae.Variable.from_numpy_array(np.ones((64, 256), np.float32))
        with nnvae.parameter_scope("net"):
            h = PF.affine(F.tanh(PF.affine(x, 256, name="a")), 256, name="b")
        params = nnvae.get_parameters()
        solver = S.Adam(1e-3)
        solver.set_parameters(params)
        stop = time.monotonic() + 1.5
        counts = {"update": 0, "set": 0}
        errors = []

        def updater():
            try:
                while time.monotonic() < stop:
                    for p in params.values():
                        p.g = 0.01
                    solver.update()
                    counts["update"] += 1
            except Exception as e:
                errors.append(e)

        def resetter():
            try:
                k = 0
                while time.monotonic() < stop:
                    k += 1
                    solver.set_parameters(params, reset=(k % 2 == 0), retain_state=(k % 3 == 0))
                    solver.zero_grad()
                    solver.get_states()
                    counts["set"] += 1
            except Exception as e:
                errors.append(e)

        threads = [threading.Thread(target=updater), threading.Thread(target=resetter)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert not errors, errors
        assert all(np.isfinite(p.d).all() for p in params.values())
        print(counts["update"], counts["set"])
    """)
    updates, sets = map(int, out.split())
    assert updates > 0 and sets > 0


# --- the trainer's generator and auto-forward ------------------------------------------

def _trainer(graph):
    cfg = _core.vae.VaeConfig()
    cfg.update({"iterations": 40, "batch_size": 20, "latent": 4, "hidden": 32, "threads": 1, "graph": graph,
                "monitor_interval": 10, "validation_batches": 1})
    return _core.vae.VaeTrainer(cfg, _core.vae.synthetic_digits(200, 1), _core.vae.synthetic_digits(40, 2))


def _draws(n):
    """n draws from the process-wide generator, and whether auto-forward
    stayed off on this thread throughout."""
    nnvae.seed(5)
    out, auto_off = [], True
    for _ in range(n):
        y = F.randn(shape=(50,))
        probe = F.add_scalar(nnvae.Variable.from_numpy_array(np.ones(3, np.float32)), 1.0)
        auto_off = auto_off and not nnvae.get_auto_forward() and float(probe.d.sum()) == 0.0
        y.forward()
        out.append(y.d.copy())
    return np.concatenate(out), auto_off


@pytest.mark.parametrize("graph", ["static", "dynamic"])
def test_trainer_keeps_its_noise_to_itself(graph):
    alone = _trainer(graph)
    alone.train(40)
    expected_params = alone.get_parameters()
    expected_draws, _ = _draws(400)

    trainer = _trainer(graph)
    started = threading.Event()
    result = {}

    def train():
        started.set()
        result["r"] = trainer.train(40)

    t = threading.Thread(target=train)
    t.start()
    started.wait()
    draws, auto_off = _draws(400)  # while the trainer runs (its train() releases the GIL)
    t.join()
    assert result["r"]["reason"] == "finished"
    np.testing.assert_array_equal(draws, expected_draws)  # the process-wide generator untouched
    assert auto_off  # the dynamic trainer's auto-forward stayed on its own thread
    got = trainer.get_parameters()
    assert list(got) == list(expected_params)
    for name in got:  # the trainer's result does not depend on what other threads draw
        np.testing.assert_array_equal(got[name], expected_params[name], err_msg=name)


# --- parameter_scope --------------------------------------------------------------------

def test_parameter_scope_is_per_thread():
    barrier = threading.Barrier(2, timeout=10)
    seen = {}

    def worker(name):
        with nnvae.parameter_scope(name):
            barrier.wait()  # both scopes entered at once
            with nnvae.parameter_scope("l1"):
                PF.affine(nnvae.Variable((2, 3)), 4)
                seen[name] = sorted(nnvae.get_parameters())  # relative to this thread's scope
            barrier.wait()

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("tA", "tB")]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert seen == {"tA": ["affine/W", "affine/b"], "tB": ["affine/W", "affine/b"]}
    assert sorted(nnvae.get_parameters()) == ["tA/l1/affine/W", "tA/l1/affine/b", "tB/l1/affine/W",
                                              "tB/l1/affine/b"]


def test_two_trainers_in_two_threads():
    """Each trainer owns its generator, solver, parameters and graph mode, so
    two train at once (one static, one dynamic) and each ends exactly as it
    does alone."""
    expected = {}
    for graph in ("static", "dynamic"):
        t = _trainer(graph)
        t.train(40)
        expected[graph] = t.get_parameters()
    trainers = {graph: _trainer(graph) for graph in expected}
    threads = [threading.Thread(target=trainers[g].train, args=(40,)) for g in trainers]
    [t.start() for t in threads]
    [t.join() for t in threads]
    for graph, t in trainers.items():
        got = t.get_parameters()
        for name in got:
            np.testing.assert_array_equal(got[name], expected[graph][name], err_msg=f"{graph} {name}")


def test_one_trainer_is_driven_by_one_thread():
    """While a trainer trains in one thread, another thread's calls on it
    raise RuntimeError (they would race the running loop); the training
    thread's own callbacks may use it."""
    trainer = _trainer("static")
    n_params = len(trainer.get_parameters())
    in_monitor, go = threading.Event(), threading.Event()
    inside = []

    def on_monitor(iteration, tloss, vloss):
        inside.append(len(trainer.get_parameters()))  # the training thread itself: allowed
        if iteration == 9:
            in_monitor.set()
            go.wait(30)

    t = threading.Thread(target=trainer.train, args=(40, on_monitor))
    t.start()
    try:
        assert in_monitor.wait(30)
        for call in (trainer.get_parameters, lambda: trainer.train(40), lambda: trainer.state,
                     lambda: trainer.solver_state):
            with pytest.raises(RuntimeError, match="training in another thread"):
                call()
    finally:
        go.set()
        t.join()
    assert trainer.iteration == 40 and inside == [n_params] * 4
    assert len(trainer.get_parameters()) == n_params  # free again once train() returned

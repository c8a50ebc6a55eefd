"""The benchmark harness's parts that need neither PyTorch nor timing: the
report's verdicts, the worker protocol, and the workload read from the
engine. The benchmark itself lives in benchmarks/ (not in the package) and
is imported here from the checkout."""
import io
import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(autouse=True)
def benchmarks_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))


def test_missing_figures_are_not_measured_never_met():
    import report

    # 1 thread measured against PyTorch but without the product limit (no
    # C++ worker); 2 threads not run; no memory figure.
    lines, overall = report.target_lines({(100, 1): {"engine_img_s": 3000.0, "torch_img_s": 2000.0,
                                                      "ratio": 1.5}}, None)
    text = "\n".join(lines)
    assert "batch 100, 1 thread: nnvae/PyTorch median ratio 1.50 (target >= 1.5): met" in text
    assert "batch 100, 2 threads: nnvae/PyTorch median ratio n/a (target >= 1.5): not measured" in text
    assert "batch 1000, 2 threads: nnvae/PyTorch median ratio n/a (target >= 1.5): not measured" in text
    assert "batch 100, 1 thread: median fraction of the matrix-product limit n/a (target >= 85%): not measured" \
        in text
    assert "nnvae-train peak RSS n/a (target < 200 MB): not measured" in text
    assert "nnvae-train default run, 2 threads: n/a (target < 4 min 30 s): not measured" in text
    assert not any(line.endswith(": met") and "n/a" in line for line in lines)
    assert overall == report.NOT_MEASURED
    assert report.overall_line(overall) == "no target missed, but some were not measured"


def test_a_missed_target_outweighs_missing_ones():
    import report

    lines, overall = report.target_lines({(100, 2): {"engine_img_s": 30000.0, "limit_fraction": 0.5}}, 150.0, 300.0)
    assert "  batch 100, 2 threads: median fraction of the matrix-product limit 50% (target >= 85%): NOT met" in lines
    assert "  nnvae-train peak RSS 150 MB (target < 200 MB): met" in lines
    assert "  nnvae-train default run, 2 threads: 5 min 0 s (target < 4 min 30 s): NOT met" in lines
    assert overall == report.NOT_MET


def test_every_target_met():
    import report

    good = {"engine_img_s": 20000.0, "torch_img_s": 9000.0, "ratio": 2.2, "limit_fraction": 0.9}
    lines, overall = report.target_lines({key: good for key in report.VS_TORCH}, 170.0, 250.0)
    assert set(report.VS_TORCH) == {(b, t) for b in (10, 100, 1000) for t in (1, 2)}
    assert len(lines) == len(report.VS_TORCH) + len(report.LIMIT_FRACTION) + 2
    assert all(line.endswith(": met") for line in lines)
    assert overall == report.MET


def test_the_limit_comes_from_the_engines_worker_only():
    import report

    # numpy's BLAS is printed beside the engine's products but is no limit.
    assert report.product_limit(None, None) is None
    assert report.product_limit(150.0, 180.0) == 180.0
    assert report.products_row(100, 1, None, None, None, 129.0, None) == \
        "    100       1      n/a      n/a       n/a    129.0          n/a"
    assert report.products_row(100, 2, 255.0, 367.25, 331.0, 129.0, 49800.4) == \
        "    100       2    255.0    367.2     331.0    129.0        49800"
    summary = report.training_summary({"engine_img_s": 4586.2})
    assert summary == "    median: nnvae 4586 img/s, PyTorch not measured, matrix-product limit not measured"
    summary = report.training_summary({"engine_img_s": 20000.0, "torch_img_s": 15000.0, "ratio": 1.333,
                                       "limit_fraction": 0.7, "l3_fraction": 0.8, "products_only_ratio": 1.456})
    assert summary == ("    median: nnvae 20000 img/s, PyTorch 15000 img/s, ratio 1.33, 70% of the matrix-product "
                       "limit (80% of the products' speed from L3; a step of products only from L3 would be "
                       "1.46x PyTorch)")


def test_worker_protocol_serve():
    import harness

    calls = []

    def step(batch, steps):
        calls.append((batch, steps))
        return 0.25, 1.5

    out = io.StringIO()
    harness.serve({"threads": 2}, step, stdin=io.StringIO("step 10 3\nstep 0 1\nmatmul 100 5\nquit\nstep 1 1\n"),
                  stdout=out)
    replies = [json.loads(line) for line in out.getvalue().splitlines()]
    assert replies[0] == {"ready": True, "threads": 2}
    assert replies[1] == {"seconds": 0.25, "loss": 1.5}
    assert replies[2] == {"error": "ValueError: step B N: B and N must be >= 1, got 0 and 1"}
    assert replies[3] == {"error": "ValueError: expected 'step B N' or 'quit', got 'matmul 100 5'"}
    assert len(replies) == 4 and calls == [(10, 3)]  # nothing read after quit


def test_worker_drives_a_python_worker(tmp_path):
    import harness

    script = tmp_path / "worker.py"
    script.write_text(f"import sys; sys.path.insert(0, {str(BENCHMARKS)!r}); import harness\n"
                      "harness.serve({'who': 'test'}, lambda b, n: (b * n / 1000.0, 0.0))\n")
    with harness.Worker("test", [sys.executable, str(script)]) as w:
        assert w.hello == {"ready": True, "who": "test"}
        assert w.step(100, 3) == pytest.approx(0.3)
        with pytest.raises(harness.BenchError, match="test worker: ValueError: expected 'step B N'"):
            w.ask("profile 100 3")


def test_layers_and_products_are_the_engines_model():
    from nnvae import _core
    import workload

    assert workload.layers() == [("fc1", 784, 500), ("fc2", 500, 500), ("fc_mu", 500, 50), ("fc_logvar", 500, 50),
                                 ("fc3", 50, 500), ("fc4", 500, 500), ("fc5", 500, 784)]
    # The table follows the engine's parameter shapes for any size.
    assert workload.layers(latent=3, hidden=8) == [("fc1", 784, 8), ("fc2", 8, 8), ("fc_mu", 8, 3),
                                                   ("fc_logvar", 8, 3), ("fc3", 3, 8), ("fc4", 8, 8), ("fc5", 8, 784)]
    shapes = dict(_core.vae.vae_parameter_shapes(50, 500))
    assert all(tuple(shapes[f"{n}/affine/W"]) == (i, o) for n, i, o in workload.layers())
    # 7 forward products, 6 dX (not the images') and 7 dW: 3.685 M multiply-adds per image.
    assert len(workload.step_products(100)) == 20
    assert workload.flops_per_image() == 7_370_000
    assert workload.flops(100) == 100 * 7_370_000
    digits = workload.images(5)
    assert digits.shape == (5, 784) and digits.dtype.name == "uint8"
    assert (digits == _core.vae.synthetic_digits(5, 1).reshape(5, 784)).all()


def test_medians_over_rounds():
    import measure

    res = {"engine_img_s": [100.0, 300.0, 200.0], "torch_img_s": [50.0, 100.0, 200.0],
           "limit_img_s": [400.0, 400.0, 400.0]}
    m = measure.medians(res)
    assert m == {"engine_img_s": 200.0, "torch_img_s": 100.0, "ratio": 2.0, "limit_fraction": 0.5}
    assert measure.medians({"engine_img_s": [5.0]}) == {"engine_img_s": 5.0}
    # With the products also timed from L3: the fraction of that speed, and
    # the ratio to PyTorch a step of products only would reach.
    res["l3_img_s"] = [250.0, 500.0, 400.0]
    m = measure.medians(res)
    assert m["l3_fraction"] == 0.5 and m["products_only_ratio"] == 5.0
    assert (m["engine_img_s"], m["ratio"], m["limit_fraction"]) == (200.0, 2.0, 0.5)


def test_the_ceiling_products_from_l3_and_the_update_set():
    import report

    # Batch 100: limit 20,000 img/s (5 ms per step), products from L3 at
    # 19,000 img/s (5.263 ms), Adam's update 1 ms: at most 5 / 6.263 of the limit.
    value, products_ms = report.ceiling(100, 20000.0, 19000.0, 1.0)
    assert abs(products_ms - 100 / 19000 * 1e3) < 1e-12
    assert abs(value - 5.0 / (100 / 19000 * 1e3 + 1.0)) < 1e-12
    assert report.ceiling_line(100, 20000.0, 19000.0, 1.0) == (
        "  ceiling: the products from L3 (5.263 ms) and the solver's update (1.000 ms) take 6.263 ms, so a step "
        "reaches at most 80% of the matrix-product limit (5.000 ms), however little the rest costs")
    # No update, products as fast from L3 as in cache: the limit itself.
    assert report.ceiling(1000, 25000.0, 25000.0, 0.0)[0] == 1.0


def test_ab_step_keeps_quiet_pairs_only_and_alternates():
    import ab_step

    # Idle readings around each attempt: the first attempt is refused before
    # it runs (busy), the next is run and then refused (busy after), the
    # next two are kept.
    idle = iter([0.5, 0.95, 0.3, 0.95, 0.95, 0.95, 0.95])
    calls = []

    def runner(side, seconds):
        def run():
            calls.append(side)
            return seconds
        return run

    lines = []
    ratios = ab_step.quiet_pairs(runner("A", 2.0), runner("B", 1.5), 2, idle=lambda: next(idle), log=lines.append)
    assert ratios == [0.75, 0.75]
    # The refused pair ran A then B; the kept ones A, B then B, A.
    assert calls == ["A", "B", "A", "B", "B", "A"]
    assert lines == ["A 2.0000 s  B 1.5000 s  B/A 0.750"] * 2


def test_ab_step_idle_fraction_from_proc_stat_deltas():
    import ab_step

    samples = iter([(1000, 400), (1200, 580)])
    assert ab_step.idle_fraction(0, sample=lambda: next(samples), sleep=lambda s: None) == 0.9

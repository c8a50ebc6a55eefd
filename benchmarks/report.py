"""The benchmark's words: tables and the targets, from the figures that
measure.py produced. Pure functions of those figures (no timing), so that
the tests can check what the report says about a missing figure.

A target is judged only against figures that were measured: a missing
figure (no PyTorch, no C++ worker for the matrix-product limit, a failed
memory run, a setting not run) makes its target "not measured", never met.
"""
from __future__ import annotations

import json
from pathlib import Path

# Targets, by (batch, threads): the engine/PyTorch speed ratio and the
# fraction of the matrix-product limit reached (both medians over the
# alternating rounds); the peak RSS of a whole nnvae-train process; and the
# wall time of nnvae-train's default run (its 60,000 iterations with the
# validation every 10, and the evaluation) on DEFAULT_RUN_THREADS threads.
BATCH_SIZES = (10, 100, 1000)
THREADS = (1, 2)
VS_TORCH = {(b, t): 1.5 for b in BATCH_SIZES for t in THREADS}
LIMIT_FRACTION = {(100, 1): 0.90, (100, 2): 0.90}
# bf16 products (nnvae-train --precision bf16) against PyTorch's bf16
# autocast, and against nnvae's own fp32 at the same batch: targets on a
# CPU whose bf16 path is a matrix unit's (bf16_dispatch: "amx" or
# "avx512_bf16"; an emulated path has none, its figures are shown only).
BF16_VS_AUTOCAST = {"amx": 1.2, "avx512_bf16": 1.0}
BF16_SETTINGS = [(b, t) for b in (100, 1000) for t in THREADS]
BF16_VS_FP32 = {"amx": 1.5}
BF16_VS_FP32_BATCH = 1000
RSS_MB = 200.0
DEFAULT_RUN_SECONDS = 270.0
DEFAULT_RUN_THREADS = 2

MET, NOT_MET, NOT_MEASURED = "met", "NOT met", "not measured"
NO_TARGET = "no target on this CPU"  # shown, never counted for or against


def _threads(t):
    return f"{t} thread{'s' if t > 1 else ''}"


def _num(value, width, decimals):
    return format("n/a" if value is None else f"{value:.{decimals}f}", f">{width}")


def products_header():
    return (f"  {'batch':>5} {'threads':>7} {'Eigen':>8} {'nnvae':>8} {'nnvae L3':>9} {'numpy':>8} "
            f"{'limit img/s':>12}")


def products_row(batch, threads, eigen, nnvae, nnvae_l3, numpy, limit):
    """One row of the product-speed table; None prints as n/a."""
    return (f"  {batch:>5} {threads:>7} {_num(eigen, 8, 1)} {_num(nnvae, 8, 1)} {_num(nnvae_l3, 9, 1)} "
            f"{_num(numpy, 8, 1)} {_num(limit, 12, 0)}")


def product_limit(eigen, nnvae):
    """Images/s if a step were its products only, from the C++ worker's
    product speeds (GFLOP/s): the faster of Eigen's and the engine's. numpy's
    BLAS is shown beside them but is not the engine's limit: without the C++
    worker there is no limit (None)."""
    speeds = [v for v in (eigen, nnvae) if v is not None]
    return max(speeds) if speeds else None


def training_summary(m, names=("nnvae", "PyTorch")):
    """The medians line of one (batch, threads) setting, naming the two
    sides `names`."""
    line = f"    median: {names[0]} {m['engine_img_s']:.0f} img/s"
    line += (f", {names[1]} {m['torch_img_s']:.0f} img/s, ratio {m['ratio']:.2f}" if "ratio" in m
             else f", {names[1]} not measured")
    line += (f", {m['limit_fraction']:.0%} of the matrix-product limit" if "limit_fraction" in m
             else ", matrix-product limit not measured")
    if "l3_fraction" in m:
        line += f" ({m['l3_fraction']:.0%} of the products' speed from L3"
        if "products_only_ratio" in m:
            line += f"; a step of products only from L3 would be {m['products_only_ratio']:.2f}x PyTorch"
        line += ")"
    return line


def verdict(value, target, at_least=True):
    if value is None:
        return NOT_MEASURED
    return MET if (value >= target if at_least else value < target) else NOT_MET


def target_lines(training, rss_mb, default_run_s=None, bf16=None, bf16_path="emulated"):
    """The targets, each met, NOT met or not measured.

    training: {(batch, threads): medians} as measure.medians gives them
    (a setting not run is absent); rss_mb: peak RSS or None;
    default_run_s: the default run's wall seconds or None; bf16: the same
    medians for the bf16 rounds (nnvae in bf16 against PyTorch's autocast;
    None: not run), judged by what `bf16_path` (bf16_dispatch's path) makes
    a target.
    Returns (lines, overall) with overall one of MET, NOT_MET, NOT_MEASURED
    (NOT_MET when any target is not met, else NOT_MEASURED when any is
    missing)."""
    lines, verdicts = [], []

    def add(text, v):
        verdicts.append(v)
        lines.append(f"  {text}: {v}")

    for (b, t), target in VS_TORCH.items():
        ratio = training.get((b, t), {}).get("ratio")
        shown = "n/a" if ratio is None else f"{ratio:.2f}"
        add(f"batch {b}, {_threads(t)}: nnvae/PyTorch median ratio {shown} (target >= {target})",
            verdict(ratio, target))
    for (b, t), target in LIMIT_FRACTION.items():
        frac = training.get((b, t), {}).get("limit_fraction")
        shown = "n/a" if frac is None else f"{frac:.0%}"
        add(f"batch {b}, {_threads(t)}: median fraction of the matrix-product limit {shown} (target >= {target:.0%})",
            verdict(frac, target))
    shown = "n/a" if rss_mb is None else f"{rss_mb:.0f} MB"
    add(f"nnvae-train peak RSS {shown} (target < {RSS_MB:.0f} MB)", verdict(rss_mb, RSS_MB, at_least=False))
    shown = "n/a" if default_run_s is None else minutes(default_run_s)
    add(f"nnvae-train default run, {_threads(DEFAULT_RUN_THREADS)}: {shown} (target < {minutes(DEFAULT_RUN_SECONDS)})",
        verdict(default_run_s, DEFAULT_RUN_SECONDS, at_least=False))
    bf16_targets(training, bf16, bf16_path, add)
    overall = NOT_MET if NOT_MET in verdicts else NOT_MEASURED if NOT_MEASURED in verdicts else MET
    return lines, overall


def bf16_targets(training, bf16, path, add):
    """The bf16 targets through `add(text, verdict)`; on a CPU whose path
    has no target, the figures with NO_TARGET (never counted)."""
    if bf16 is None:
        return
    tag = "" if path in BF16_VS_AUTOCAST else f" [bf16 {path} here]"

    def judge(value, target):
        return verdict(value, target) if target is not None else NO_TARGET

    autocast_target = BF16_VS_AUTOCAST.get(path)
    for b, t in BF16_SETTINGS:
        ratio = bf16.get((b, t), {}).get("ratio")
        shown = "n/a" if ratio is None else f"{ratio:.2f}"
        goal = "" if autocast_target is None else f" (target >= {autocast_target})"
        add(f"batch {b}, {_threads(t)}: nnvae bf16 / PyTorch bf16 autocast median ratio {shown}{goal}{tag}",
            judge(ratio, autocast_target))
    fp32_target = BF16_VS_FP32.get(path)
    for t in THREADS:
        key = (BF16_VS_FP32_BATCH, t)
        b16, f32 = bf16.get(key, {}).get("engine_img_s"), training.get(key, {}).get("engine_img_s")
        ratio = b16 / f32 if b16 and f32 else None
        shown = "n/a" if ratio is None else f"{ratio:.2f}"
        goal = "" if fp32_target is None else f" (target >= {fp32_target})"
        add(f"batch {BF16_VS_FP32_BATCH}, {_threads(t)}: nnvae bf16 / nnvae fp32 {shown}{goal}{tag}",
            judge(ratio, fp32_target))


def minutes(seconds):
    """270 -> '4 min 30 s'."""
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} min {s} s" if m else f"{s} s"


def overall_line(overall):
    return {MET: "all targets met",
            NOT_MET: "some targets NOT met",
            NOT_MEASURED: "no target missed, but some were not measured"}[overall]


def finish(say, lines, overall, note, results, json_path):
    """The end of a benchmark's run: the target lines, the verdict, the note
    on a busy machine (if any), and every figure in `results` written to
    json_path (when given) with the verdict."""
    say("\n== targets")
    for line in lines:
        say(line)
    say(overall_line(overall))
    if note:
        say(f"note: {note}")
    results["targets"] = overall
    if json_path:
        Path(json_path).write_text(json.dumps(results, indent=1, default=str))


def profile_lines(rep, steps, threads, batch=100):
    """Per-function times of the C++ worker's `profile` answer, ms per step."""
    total = rep["seconds"] / steps * 1e3
    lines = [f"== where the time goes: batch {batch}, {_threads(threads)}, ms per step (whole step {total:.3f} ms)",
             f"  {'function':<24} {'forward':>8} {'backward':>9} {'share':>6}"]
    listed = 0.0
    for e in rep["functions"]:
        f_ms, b_ms = e["forward"] / steps * 1e3, e["backward"] / steps * 1e3
        listed += f_ms + b_ms
        lines.append(f"  {e['name']:<24} {f_ms:>8.3f} {b_ms:>9.3f} {(f_ms + b_ms) / total:>6.1%}")
    lines.append(f"  {'(graph executor, batch loading)':<24} {total - listed:>18.3f} {(total - listed) / total:>6.1%}")
    return lines


def ceiling(batch, limit_img_s, l3_img_s, update_ms):
    """The highest fraction of the matrix-product limit a step can reach when
    its products run at their speed from L3 (as in a step) and the solver's
    update takes `update_ms` (Adam streams its 38 MB at the memory's rate),
    whatever the rest of the step costs: limit time / (products + update)."""
    products_ms = batch / l3_img_s * 1e3
    return (batch / limit_img_s * 1e3) / (products_ms + update_ms), products_ms


def ceiling_line(batch, limit_img_s, l3_img_s, update_ms):
    value, products_ms = ceiling(batch, limit_img_s, l3_img_s, update_ms)
    return (f"  ceiling: the products from L3 ({products_ms:.3f} ms) and the solver's update ({update_ms:.3f} ms) "
            f"take {products_ms + update_ms:.3f} ms, so a step reaches at most {value:.0%} of the "
            f"matrix-product limit ({batch / limit_img_s * 1e3:.3f} ms), however little the rest costs")


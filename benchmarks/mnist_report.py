"""bench_mnist.py's words: the speed table of NNabla's MNIST programs and
its targets, from the figures measure.rotating_rounds produced. Pure
functions of those figures (no timing), so that the tests can check what
the report says about a missing figure.

A target is judged only against figures that were measured: a side that was
not run (no PyTorch, no NNabla) makes its targets "not measured", never met.
"""
from __future__ import annotations

from report import MET, NOT_MEASURED, NOT_MET, verdict

# Targets for every model and thread count: nnvae's training images/s
# against the PyTorch twin's at the same threads, and against NNabla 1.39's
# CPU build (which has no threads: its one figure).
VS_TORCH = 1.5
VS_NNABLA = 5.0
SIDES = ("nnvae", "torch", "nnabla")


def _num(value, width, fmt, unit=""):
    return format("n/a" if value is None else format(value, fmt) + unit, f">{width}")


def ratios(row):
    """(nnvae / PyTorch, nnvae / NNabla) of one row {side: medians}: the
    median of the rounds' ratios (nnvae's "vs"), else the ratio of the
    medians; None where a side is missing."""
    eng = row.get("nnvae", {})

    def over(side):
        if side in eng.get("vs", {}):
            return eng["vs"][side]
        other = row.get(side, {}).get("img_s")
        return None if eng.get("img_s") is None or not other else eng["img_s"] / other

    return over("torch"), over("nnabla")


def table_header():
    return (f"  {'threads':>7} {'nnvae':>9} {'PyTorch':>9} {'NNabla':>9} {'vs PyTorch':>11} {'vs NNabla':>10} "
            f"{'outside engine':>15}")


def table_row(threads, row):
    """One thread count's medians: images/s of each side, nnvae's ratios,
    and the share of nnvae's step spent outside the engine's calls."""
    vs_torch, vs_nnabla = ratios(row)
    img = {side: row.get(side, {}).get("img_s") for side in SIDES}
    outside = row.get("nnvae", {}).get("outside")
    return (f"  {threads:>7} {_num(img['nnvae'], 9, '.1f')} {_num(img['torch'], 9, '.1f')} "
            f"{_num(img['nnabla'], 9, '.1f')} {_num(vs_torch, 11, '.2f', 'x')} {_num(vs_nnabla, 10, '.2f', 'x')} "
            f"{_num(None if outside is None else 100 * outside, 15, '.1f', '%')}")


def target_lines(table):
    """The targets, each met, NOT met or not measured.

    table: {(model, batch, threads): {side: medians}} (measure.side_medians).
    Returns (lines, overall), overall NOT_MET when any target is missed,
    else NOT_MEASURED when any is missing, else MET."""
    lines, verdicts = [], []
    for (model, batch, threads), row in table.items():
        vs_torch, vs_nnabla = ratios(row)
        for name, value, target in (("PyTorch", vs_torch, VS_TORCH), ("NNabla 1.39", vs_nnabla, VS_NNABLA)):
            v = verdict(value, target)
            verdicts.append(v)
            shown = "n/a" if value is None else f"{value:.2f}x"
            lines.append(f"  {model}, batch {batch}, {threads} thread{'s' if threads > 1 else ''}: nnvae {shown} "
                         f"{name} (target >= {target}x): {v}")
    overall = NOT_MET if NOT_MET in verdicts else NOT_MEASURED if NOT_MEASURED in verdicts or not verdicts else MET
    return lines, overall


def memory_line(side, figures):
    """Peak resident memory of a worker after its training steps."""
    if figures is None:
        return f"  {side:<12} not measured"
    return (f"  {side:<12} peak RSS {figures['peak_rss_mb']:7.1f} MB, of which {figures['base_rss_mb']:6.1f} MB "
            f"once the library was imported (+{figures['peak_rss_mb'] - figures['base_rss_mb']:.1f} MB for the "
            f"model, its data and its steps)")

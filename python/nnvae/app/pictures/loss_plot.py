"""The loss curves of a run (save_loss_plot): each curve's moving average
over its faint raw points, with ticks, a legend and a title."""
from __future__ import annotations

import math
import os
from typing import Any, List, Optional, Tuple

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from .drawing import PathLike, PictureError, _font, _save_png, _wrap_words

TRAIN_COLOR = (31, 119, 180)   # blue
VAL_COLOR = (230, 110, 0)      # orange

def _nice_step(span: float, target: int) -> float:
    """A 1, 2 or 5 times a power of ten step giving about `target` ticks."""
    raw = span / max(target, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _ticks(lo: float, hi: float, target: int, min_step: float = 0.0) -> Tuple[List[float], str]:
    """Tick values inside [lo, hi] and a format string that shows them exactly enough."""
    step = max(_nice_step(hi - lo, target), min_step)
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    k = first
    while k * step <= hi + 1e-9 * step:
        ticks.append(k * step)
        k += 1
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return ticks, f"{{:.{decimals}f}}"


def _series(path: PathLike, name: str, values: Any, n: Optional[int]) -> np.ndarray:
    p = os.fspath(path)
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise PictureError(f"{p}: {name} is not a sequence of numbers: {e}", path=path) from None
    if arr.ndim != 1:
        raise PictureError(f"{p}: {name} must be one-dimensional, got shape {arr.shape}", path=path)
    if n is not None and len(arr) != n:
        raise PictureError(f"{p}: {name} has {len(arr)} values but iterations has {n}", path=path)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise PictureError(f"{p}: {name} has a NaN or infinite value at position {bad[0]}",
                           path=path)
    return arr


def _y_range(values: np.ndarray) -> Tuple[float, float, bool]:
    """(low, high, clipped). The low end is the minimum; the high end ignores
    the top outliers (the first, huge losses) so that the interesting part of
    the curve is not flattened: it is the 95th percentile plus a quarter of
    the spread, capped at the maximum. Returns clipped=True when some values
    lie above it."""
    lo, top = float(values.min()), float(values.max())
    if len(values) >= 10:
        q = float(np.percentile(values, 95))
        hi = min(top, q + 0.25 * (q - lo))
    else:
        hi = top
    clipped = hi < top
    span = hi - lo
    if span <= 0:
        span = max(abs(lo) * 0.1, 1e-6)
        lo, hi = lo - span / 2, hi + span / 2
    else:
        lo, hi = lo - 0.05 * span, hi + 0.05 * span
    return lo, hi, clipped


def smooth(values: np.ndarray, half: int) -> np.ndarray:
    """Moving average over the points i - h .. i + h, h = min(half, i): near
    the start the window shrinks to stay centred (the steep first losses are
    followed, not averaged away); near the end it is cut at the last point."""
    n = len(values)
    if half < 1 or n < 3:
        return values
    i = np.arange(n)
    h = np.minimum(i, half)
    lo, hi = i - h, np.minimum(i + h + 1, n)
    sums = np.concatenate([[0.0], np.cumsum(values)])
    return (sums[hi] - sums[lo]) / (hi - lo)


def _faint(color: Tuple[int, int, int], keep: float = 0.3) -> Tuple[int, int, int]:
    """`color` mixed with white, `keep` of it left."""
    return tuple(int(round(255 - keep * (255 - c))) for c in color)


def save_loss_plot(path: PathLike, iterations: Any, train_loss: Any, val_loss: Any = None,
                   width: int = 640, height: int = 400) -> None:
    """Write an RGB PNG (width x height) with the training loss (blue) and
    validation loss (orange; may be None) against the iteration, with ticks on
    both axes, a legend and a white background. With more than 30 points,
    every point is drawn faint and a line shows each curve's moving average
    over about a twentieth of the points (`smooth`); the legend says so, and
    how many. A title says what the loss is.

    The y axis runs from the lowest loss to a robust top (see _y_range): the
    curves leave the plot through its top edge where the first, huge losses
    of a run lie above it (they are not flattened against it), and the
    legend says how high they go. Works with a single point (drawn as a dot) and with any
    number of points. Raises PictureError for mismatched lengths, NaN or
    infinite values, no points, or a size below 200 x 150.
    """
    p = os.fspath(path)
    for name, v, minimum in (("width", width, 200), ("height", height, 150)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not minimum <= v <= 10000:
            raise PictureError(f"{p}: {name} must be an integer from {minimum} to 10000, got {v!r}",
                               path=path)
    x = _series(path, "iterations", iterations, None)
    if len(x) == 0:
        raise PictureError(f"{p}: no points to plot", path=path)
    curves = [("train", _series(path, "train_loss", train_loss, len(x)), TRAIN_COLOR)]
    if val_loss is not None:
        curves.append(("validation", _series(path, "val_loss", val_loss, len(x)), VAL_COLOR))

    font = _font(max(11, min(width, height) // 28))
    image = Image.new("RGB", (int(width), int(height)), "white")
    draw = ImageDraw.Draw(image)
    text_h = draw.textbbox((0, 0), "0123456789", font=font)[3]
    axis = (60, 60, 60)

    values = np.concatenate([c[1] for c in curves])
    ylo, yhi, clipped = _y_range(values)
    yt, yfmt = _ticks(ylo, yhi, 6)
    ylabels = [yfmt.format(v) for v in yt]

    # The title, wrapped to the width, then the plot area [left, right] x
    # [top, bottom] in pixels, leaving room for the labels.
    title = _wrap_words(draw, "loss at each monitor line: the negative ELBO, nats per image", font, width - 16)
    for i, line in enumerate(title):
        draw.text((8, 6 + i * (text_h + 4)), line, fill=axis, font=font)
    left = 14 + max(draw.textlength(s, font=font) for s in ylabels)
    right = width - 16
    top, bottom = 6 + len(title) * (text_h + 4) + 8, height - (2 * text_h + 22)
    xlo, xhi = float(x.min()), float(x.max())
    if xhi == xlo:
        xlo, xhi = xlo - 1, xhi + 1

    def px(v):
        return left + (np.asarray(v) - xlo) / (xhi - xlo) * (right - left)

    def py(v):
        # Not clipped: a curve above the range leaves the plot through its top
        # edge (the curves are drawn inside the plot area only); bounded a few
        # heights away so that the coordinates stay small.
        span = yhi - ylo
        return bottom - (np.clip(np.asarray(v), ylo - 4 * span, yhi + 4 * span) - ylo) / span * (bottom - top)

    # Grid lines and tick labels.
    grid = (225, 225, 225)
    for v, label in zip(yt, ylabels):
        y = float(py(v))
        draw.line([(left, y), (right, y)], fill=grid)
        draw.text((left - 6 - draw.textlength(label, font=font), y - text_h / 2), label,
                  fill=axis, font=font)
    integral = bool(np.all(x == np.round(x)))  # iteration numbers: no fractional ticks
    xt, xfmt = _ticks(xlo, xhi, max(2, int((right - left) // 90)), 1.0 if integral else 0.0)
    for v in xt:
        xx = float(px(v))
        draw.line([(xx, top), (xx, bottom)], fill=grid)
        label = xfmt.format(v)
        draw.text((xx - draw.textlength(label, font=font) / 2, bottom + 6), label,
                  fill=axis, font=font)
    xlabel = "iteration"
    draw.text(((left + right) / 2 - draw.textlength(xlabel, font=font) / 2,
               bottom + text_h + 14), xlabel, fill=axis, font=font)

    # The curves, on a layer shown inside the plot area only: few points are
    # joined and dotted; many are drawn faint, under a line through their
    # moving average.
    layer = Image.new("RGBA", image.size, (255, 255, 255, 0))
    ink = ImageDraw.Draw(layer)
    half = len(x) // 40 if len(x) > 30 else 0
    if half:
        for _, values_, color in curves:
            ink.point(list(zip(px(x).tolist(), py(values_).tolist())), fill=_faint(color, 0.45))
    for _, values_, color in curves:
        pts = list(zip(px(x).tolist(), py(smooth(values_, half)).tolist()))
        if len(pts) > 1:
            ink.line(pts, fill=color, width=2, joint="curve")
        if len(pts) <= 30:
            for (a, b) in pts:
                ink.ellipse([a - 3, b - 3, a + 3, b + 3], fill=color)
    inside = Image.new("L", image.size, 0)
    ImageDraw.Draw(inside).rectangle([left, top, right, bottom], fill=255)
    image.paste(layer, (0, 0), ImageChops.multiply(layer.getchannel("A"), inside))
    draw.rectangle([left, top, right, bottom], outline=axis)

    # Legend, top right inside the plot area: the curves, what their lines
    # and dots are, and the losses above the top.
    sample = 22
    entries = [(name, color) for name, _, color in curves]
    notes = [f"line: mean of {2 * half + 1} neighbouring points", "dots: each monitor line"] if half else []
    if clipped:
        notes.append(f"first losses run off the top (up to {float(values.max()):.0f})")
    rows = [(sample + 8 + draw.textlength(n, font=font), n, c) for n, c in entries] + \
           [(draw.textlength(n, font=font), n, None) for n in notes]
    box_w = max(w for w, _, _ in rows) + 20
    box_h = len(rows) * (text_h + 6) + 8
    bx, by = right - box_w - 8, top + 8
    draw.rectangle([bx, by, bx + box_w, by + box_h], fill="white", outline=axis)
    for i, (_, name, color) in enumerate(rows):
        yy = by + 6 + i * (text_h + 6) + text_h / 2
        if color is not None:
            draw.line([(bx + 6, yy), (bx + 6 + sample, yy)], fill=color, width=3)
            draw.text((bx + sample + 14, yy - text_h / 2), name, fill=axis, font=font)
        else:
            draw.text((bx + 8, yy - text_h / 2), name, fill=(110, 110, 110), font=font)

    _save_png(path, image)

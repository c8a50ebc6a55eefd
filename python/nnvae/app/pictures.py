"""PNG pictures of a training run, drawn with Pillow: image grids (samples,
reconstructions) and the loss curves.

    save_image_grid("samples.png", images, title="64 samples ...")   # (N, 28, 28) in [0, 1]
    save_reconstructions("reconstructions.png", x, x_hat)            # originals above, rows labelled
    save_loss_plot("loss.png", iterations, train_loss, val_loss)

Each picture says what it shows (a title, row labels, a legend) in Pillow's
default font, so that it is understood without the README.

Images may be float in [0, 1] (1 = white; mapped to round(255 x)) or uint8
(0..255, kept as is), shaped (N, H, W), (N, 1, H, W) or (N, H*W) with a square
H*W (784 -> 28 x 28). Every file is written atomically (temporary file in the
same folder, then renamed); bad input raises PictureError naming the file, a
failed write (a full disk) an OSError whose filename is the picture's.
"""
from __future__ import annotations

import math
import os
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFont

from ..errors import NnvaeError
from ..files import atomic_write

__all__ = ["PictureError", "save_image_grid", "save_reconstructions", "save_loss_plot",
           "SEPARATOR", "SEPARATOR_GRAY"]

PathLike = Union[str, "os.PathLike[str]"]

SEPARATOR = 1          # width in pixels of the lines between and around cells (never scaled)
SEPARATOR_GRAY = 128   # their gray level; empty cells of the last row are this gray too

TRAIN_COLOR = (31, 119, 180)   # blue
VAL_COLOR = (230, 110, 0)      # orange


class PictureError(NnvaeError, ValueError):
    """A picture could not be made from the given data, or not written."""

    def __init__(self, message: str, *, path: Optional[PathLike] = None):
        super().__init__(message)
        self.path = None if path is None else os.fspath(path)


# --------------------------------------------------------------------------
# Image grids

def _as_images(path: PathLike, images: Any, what: str = "images") -> np.ndarray:
    """Validate and convert to uint8 (N, H, W)."""
    p = os.fspath(path)
    try:
        arr = np.asarray(images)
    except Exception as e:
        raise PictureError(f"{p}: {what} cannot be read as an array: {e}", path=path) from None
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    elif arr.ndim == 2:
        side = math.isqrt(arr.shape[1])
        if side * side != arr.shape[1] or side == 0:
            raise PictureError(f"{p}: {what} of shape {arr.shape}: {arr.shape[1]} pixels per "
                               f"image is not a square", path=path)
        arr = arr.reshape(arr.shape[0], side, side)
    if arr.ndim != 3 or 0 in arr.shape:
        raise PictureError(f"{p}: {what} must be shaped (N, H, W), (N, 1, H, W) or (N, H*W) "
                           f"with N, H, W > 0; got {arr.shape}", path=path)
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype.kind != "f":
        raise PictureError(f"{p}: {what} must be float in [0, 1] or uint8, got dtype {arr.dtype}",
                           path=path)
    if not np.all(np.isfinite(arr)):
        raise PictureError(f"{p}: {what} contain NaN or infinite values", path=path)
    lo, hi = float(arr.min()), float(arr.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise PictureError(f"{p}: {what} must lie in [0, 1]; found values from {lo:g} to {hi:g}",
                           path=path)
    return np.rint(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)


def _check_scale(path: PathLike, scale: Any, name: str = "scale") -> int:
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or not 1 <= scale <= 64:
        raise PictureError(f"{os.fspath(path)}: {name} must be an integer from 1 to 64, got {scale!r}",
                           path=path)
    return int(scale)


def _check_ncols(path: PathLike, ncols: Any) -> int:
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise PictureError(f"{os.fspath(path)}: ncols must be a positive integer, got {ncols!r}",
                           path=path)
    return int(ncols)


def _grid(cells: List[Optional[np.ndarray]], ncols: int, scale: int) -> Image.Image:
    """Lay out uint8 (H, W) cells (None = empty) row by row, ncols per row,
    each enlarged `scale` times, with SEPARATOR-pixel gray lines around all."""
    h, w = next(c for c in cells if c is not None).shape
    ch, cw = h * scale, w * scale
    nrows = -(-len(cells) // ncols)
    canvas = np.full((nrows * (ch + SEPARATOR) + SEPARATOR, ncols * (cw + SEPARATOR) + SEPARATOR),
                     SEPARATOR_GRAY, dtype=np.uint8)
    for i, cell in enumerate(cells):
        if cell is None:
            continue
        r, c = divmod(i, ncols)
        y = SEPARATOR + r * (ch + SEPARATOR)
        x = SEPARATOR + c * (cw + SEPARATOR)
        canvas[y:y + ch, x:x + cw] = np.repeat(np.repeat(cell, scale, axis=0), scale, axis=1)
    return Image.fromarray(canvas)  # a 2-D uint8 array becomes a mode "L" image


def _save_png(path: PathLike, image: Image.Image) -> None:
    """Write `image` atomically; a failed write raises OSError naming `path`
    (a run's final phase then says which file and how to finish the run)."""
    try:
        atomic_write(path, lambda f: image.save(f, format="PNG"))
    except OSError as e:
        if e.filename is not None and e.errno is not None:
            raise
        raise OSError(e.errno, e.strerror or str(e), os.fspath(path)) from e


TITLE_SIZE = 13  # pixels: the titles' font size
TITLE_PAD = 6    # pixels around a title's lines


def _wrap_words(draw: ImageDraw.ImageDraw, text: str, font, width: float) -> List[str]:
    """`text` in lines no wider than `width` pixels, broken at spaces."""
    lines: List[str] = []
    for word in text.split():
        if lines and draw.textlength(lines[-1] + " " + word, font=font) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _with_title(image: Image.Image, title: Optional[str]) -> Image.Image:
    """`image` under a white band holding `title`, wrapped to its width (the
    image itself when title is None)."""
    if not title:
        return image
    font = _font(TITLE_SIZE)
    measure = ImageDraw.Draw(image)
    lines = _wrap_words(measure, title, font, image.width - 2 * TITLE_PAD)
    line_h = measure.textbbox((0, 0), "Ag", font=font)[3] + 3
    band = len(lines) * line_h + 2 * TITLE_PAD
    white = 255 if image.mode == "L" else (255,) * len(image.getbands())
    out = Image.new(image.mode, (image.width, image.height + band), white)
    out.paste(image, (0, band))
    draw = ImageDraw.Draw(out)
    for i, line in enumerate(lines):
        draw.text((TITLE_PAD, TITLE_PAD + i * line_h), line, fill=0 if image.mode == "L" else (30, 30, 30),
                  font=font)
    return out


def save_image_grid(path: PathLike, images: Any, ncols: int = 8, scale: int = 2,
                    title: Optional[str] = None) -> None:
    """Write N images as a grayscale PNG grid, row by row, `ncols` per row,
    under a white band holding `title` (wrapped to the width) when given.

    With images of H x W pixels, c = min(ncols, N) columns and r = ceil(N / c)
    rows, the picture is

        width  = c * (W * scale + 1) + 1
        height = r * (H * scale + 1) + 1

    (a 1-pixel gray line, level 128, around every cell; unused cells of the
    last row are gray too). Cell i's top-left pixel is at
    x = 1 + (i % c) * (W * scale + 1), y = 1 + (i // c) * (H * scale + 1).
    For 64 MNIST images, ncols=8, scale=2: 457 x 457 (the title's band
    adds its height on top; the cells then start that much lower).
    """
    arr = _as_images(path, images)
    ncols = _check_ncols(path, ncols)
    scale = _check_scale(path, scale)
    _save_png(path, _with_title(_grid(list(arr), min(ncols, len(arr)), scale), title))


ROW_LABELS = ("original", "reconstruction")


def save_reconstructions(path: PathLike, originals: Any, reconstructions: Any, scale: int = 2,
                         ncols: Optional[int] = None,
                         row_labels: Optional[Tuple[str, str]] = ROW_LABELS,
                         title: Optional[str] = None) -> None:
    """Write originals with their reconstructions directly below them.

    The N pairs are laid out in bands of c = ncols (default min(N, 16))
    columns: each band is a row of originals followed by a row of their
    reconstructions. With b = ceil(N / c) bands the grid is

        width  = c * (W * scale + 1) + 1
        height = 2 * b * (H * scale + 1) + 1

    (the same 1-pixel gray separators as save_image_grid). For 16 MNIST
    pairs at scale 2: 913 x 115. With `row_labels` (the default: "original",
    "reconstruction") the rows are named in a white margin on the left, as
    wide as the longer name plus 12 pixels; row_labels=None leaves the grid
    alone. `title` goes above, as in save_image_grid.
    """
    orig = _as_images(path, originals, "originals")
    recon = _as_images(path, reconstructions, "reconstructions")
    if orig.shape != recon.shape:
        raise PictureError(f"{os.fspath(path)}: originals {orig.shape} and reconstructions "
                           f"{recon.shape} differ in shape", path=path)
    scale = _check_scale(path, scale)
    n = len(orig)
    c = min(16 if ncols is None else _check_ncols(path, ncols), n)
    cells: List[Optional[np.ndarray]] = []
    for start in range(0, n, c):
        band = range(start, start + c)
        cells += [orig[i] if i < n else None for i in band]
        cells += [recon[i] if i < n else None for i in band]
    grid = _grid(cells, c, scale)
    if row_labels is not None:
        grid = _label_rows(grid, list(row_labels) * (len(cells) // c // 2), orig.shape[1] * scale + SEPARATOR)
    _save_png(path, _with_title(grid, title))


def _label_rows(grid: Image.Image, labels: Sequence[str], row_height: int) -> Image.Image:
    """`grid` with a white margin on its left naming each of its rows
    (rows `row_height` pixels apart, the first SEPARATOR pixels down)."""
    font = _font(max(10, min(14, row_height // 4)))
    measure = ImageDraw.Draw(grid)
    text_w = max(measure.textlength(s, font=font) for s in labels)
    margin = int(math.ceil(text_w)) + 12
    out = Image.new("L", (grid.width + margin, grid.height), 255)
    out.paste(grid, (margin, 0))
    draw = ImageDraw.Draw(out)
    for i, label in enumerate(labels):
        mid = SEPARATOR + i * row_height + row_height / 2
        box = draw.textbbox((0, 0), label, font=font)
        draw.text((margin - 6 - (box[2] - box[0]), mid - (box[1] + box[3]) / 2), label, fill=40, font=font)
    return out


# --------------------------------------------------------------------------
# Loss plot

def _font(size: int):
    try:
        return ImageFont.load_default(size=size)  # scalable (Pillow >= 10.1 with FreeType)
    except TypeError:
        return ImageFont.load_default()


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

"""Image grids: samples (save_image_grid) and originals above their
reconstructions with labelled rows (save_reconstructions)."""
from __future__ import annotations

import math
import os
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from .drawing import PathLike, PictureError, _font, _save_png, _with_title

SEPARATOR = 1          # width in pixels of the lines between and around cells (never scaled)
SEPARATOR_GRAY = 128   # their gray level; empty cells of the last row are this gray too

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

"""What every picture shares: the error, the atomic PNG write naming its
file, the default font, and titles wrapped to the picture's width."""
from __future__ import annotations

import os
from typing import List, Optional, Union

from PIL import Image, ImageDraw, ImageFont

from ...errors import NnvaeError
from ...files import atomic_write

PathLike = Union[str, "os.PathLike[str]"]

class PictureError(NnvaeError, ValueError):
    """A picture could not be made from the given data, or not written."""

    def __init__(self, message: str, *, path: Optional[PathLike] = None):
        super().__init__(message)
        self.path = None if path is None else os.fspath(path)


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


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)  # scalable (Pillow >= 10.1 with FreeType)
    except TypeError:
        return ImageFont.load_default()

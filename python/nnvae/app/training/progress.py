"""One self-rewriting progress line on a terminal (training and evaluation).

The line is measured against the terminal's width at every redraw and stays
clear of its last three columns (so that neither it nor the ^C a terminal
echoes after it wraps): fields are dropped, least useful first, and the bar
shrinks until the rest fits. Each redraw returns to the
line's start and erases to its end ("\\r", text, ESC [K), so a shorter line
leaves nothing of a longer one behind; `clear()` erases it before other
lines are printed, and those lines scroll up above the next redraw.
"""
from __future__ import annotations

import math
import os
import time
from typing import List, Optional, TextIO

ERASE_LINE = "\x1b[K"  # erase from the cursor to the end of the line
REDRAW_SECONDS = 0.1  # at most ten redraws a second, except the last
BAR_MIN, BAR_MAX = 10, 30  # columns of the bar itself, brackets excluded


def terminal_columns(stream: TextIO) -> int:
    """The width of the terminal `stream` writes to; else $COLUMNS; else 80."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        pass
    try:
        return max(int(os.environ.get("COLUMNS", "")), 1)
    except ValueError:
        return 80


def fit_line(fields: List[str], fraction: float, columns: int) -> str:
    """`fields` (most important first) after a bar filled to `fraction`, in
    at most `columns` - 3 characters: the last fields are dropped and the bar
    narrowed, then dropped, until the line fits; the first field is cut as a
    last resort."""
    # Three columns stay free: the last, so that the line never wraps, and
    # two for the "^C" a terminal echoes after it on Ctrl-C, so that the echo
    # does not wrap either, onto a line the erasing would not reach.
    room = columns - 3
    fraction = min(max(fraction, 0.0), 1.0)
    for n in range(len(fields), 0, -1):
        text = "  ".join(fields[:n])
        bar_width = min(BAR_MAX, room - len(text) - 3)  # "[" bar "] " text
        if bar_width >= BAR_MIN:
            filled = int(bar_width * fraction)
            return "[" + "#" * filled + "." * (bar_width - filled) + "] " + text
    for n in range(len(fields), 0, -1):
        text = "  ".join(fields[:n])
        if len(text) <= room:
            return text
    return fields[0][:max(room, 0)]


class ProgressBar:
    """Count, speed, time left and the latest losses on one line of
    `stream`, rewritten in place; `clear()` before printing other lines."""

    def __init__(self, stream: TextIO, total: int, start: int, enabled: bool, unit: str = "it"):
        self.stream, self.total, self.start, self.unit = stream, total, start, unit
        self.enabled = enabled
        self.t0 = time.monotonic()
        self.shown = False
        self.drawn_at = -math.inf
        self.losses = None  # the latest (tloss, vloss), kept for redraws without them

    def clear(self) -> None:
        if self.enabled and self.shown:
            self.stream.write("\r" + ERASE_LINE)
            self.stream.flush()
            self.shown = False

    def show(self, done: int, tloss: Optional[float] = None, vloss: Optional[float] = None) -> None:
        if not self.enabled:
            return
        if tloss is not None:
            self.losses = (tloss, vloss)
        now = time.monotonic()
        if self.shown and done < self.total and now - self.drawn_at < REDRAW_SECONDS:
            return
        self.drawn_at = now
        elapsed = now - self.t0
        rate = (done - self.start) / elapsed if elapsed > 0 else 0.0
        left = (self.total - done) / rate if rate > 0 else float("nan")
        fields = [f"{done}/{self.total}",
                  "--:-- left" if not math.isfinite(left) else f"{clock_text(left)} left",
                  f"{rate:.0f} {self.unit}/s"]
        if self.losses is not None:
            fields.append("tloss {:.2f}  vloss {:.2f}".format(*self.losses))
        line = fit_line(fields, done / max(self.total, 1), terminal_columns(self.stream))
        self.stream.write("\r" + line + ERASE_LINE)
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        """Erase the line: what it said is in the lines printed after it."""
        self.clear()


def clock_text(seconds: float) -> str:
    """m:ss, or h:mm:ss from an hour on."""
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"

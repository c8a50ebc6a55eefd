"""One self-rewriting progress line on a terminal (training and evaluation)."""
from __future__ import annotations

import math
import time
from typing import Optional, TextIO


class ProgressBar:
    """Iteration, speed, time left and the latest losses on one line of
    `stream`, rewritten in place; `clear()` before printing other lines."""

    def __init__(self, stream: TextIO, total: int, start: int, enabled: bool):
        self.stream, self.total, self.start = stream, total, start
        self.enabled = enabled
        self.t0 = time.monotonic()
        self.last = ""

    def clear(self) -> None:
        if self.enabled and self.last:
            self.stream.write("\r" + " " * len(self.last) + "\r")
            self.stream.flush()

    def show(self, done: int, tloss: Optional[float] = None, vloss: Optional[float] = None) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.t0
        rate = (done - self.start) / elapsed if elapsed > 0 else 0.0
        left = (self.total - done) / rate if rate > 0 else float("nan")
        width = 24
        filled = int(width * done / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        eta = "--:--" if not math.isfinite(left) else clock_text(left)
        losses = "" if tloss is None else f"  tloss {tloss:.2f}  vloss {vloss:.2f}"
        self.last = f"[{bar}] {done}/{self.total}  {rate:.0f} it/s  {eta} left{losses}"
        self.stream.write("\r" + self.last)
        self.stream.flush()

    def done(self) -> None:
        if self.enabled and self.last:
            self.stream.write("\n")
            self.stream.flush()
            self.last = ""


def clock_text(seconds: float) -> str:
    """m:ss, or h:mm:ss from an hour on."""
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"

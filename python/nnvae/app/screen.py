"""Lines that fit the terminal.

On a terminal, every whole line a command prints (results, reports, errors)
is wrapped at spaces to fit the window: a terminal would otherwise break it
at its last column, mid-word. A line that must be wrapped puts each path (a
word holding a slash) on a line of its own, so that it can be selected and
copied whole; continuation lines are indented by two spaces. The progress
line, which redraws itself with a carriage return and fits already, passes
unchanged. Off a terminal (a pipe, a file, a test's capture) nothing is
touched: one message stays one line, for grep and scripts.

    with fitted_lines():      # around a command: sys.stdout and sys.stderr
        ...                   # wrap while they are terminals
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import List, TextIO

from .training.progress import terminal_columns

INDENT = "  "  # the start of a wrapped line's continuation rows


def is_path(word: str) -> bool:
    return "/" in word


def wrap_line(line: str, columns: int) -> List[str]:
    """`line` as rows of fewer than `columns` characters (the last column is
    left free, as the progress line leaves it), broken at spaces only. A word
    longer than a row (a long path) gets a row of its own and runs over."""
    width = max(columns - 1, 1)
    if len(line) <= width:
        return [line]
    lead = line[:len(line) - len(line.lstrip(" "))]
    rows: List[str] = []
    current = ""

    def flush() -> None:
        nonlocal current
        if current:
            rows.append(current)
        current = ""

    for word in line.split():
        prefix = lead if not rows and not current else INDENT if not current else current + " "
        if is_path(word):  # a path stands on its own row, indented if it still fits
            flush()
            indent = lead if not rows else INDENT
            rows.append(indent + word if len(indent) + len(word) <= width else word)
        elif current and len(prefix) + len(word) > width:
            flush()
            current = INDENT + word
        else:
            current = prefix + word
    flush()
    return rows


class FittedStream:
    """Writes to `stream`, wrapping each whole line to the terminal's width at
    the time it is written; text with a carriage return or an escape sequence
    (the progress line) goes through at once, unchanged."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.pending = ""

    def write(self, text: str) -> int:
        self.pending += text
        out = []
        while "\n" in self.pending:
            line, self.pending = self.pending.split("\n", 1)
            out += [row + "\n" for row in wrap_line(line, terminal_columns(self.stream))]
        if "\r" in self.pending or "\x1b" in self.pending:
            out.append(self.pending)
            self.pending = ""
        if out:
            self.stream.write("".join(out))
        return len(text)

    def flush(self) -> None:
        if self.pending:  # a line left open: shown as it is
            self.stream.write(self.pending)
            self.pending = ""
        self.stream.flush()

    def __getattr__(self, name):  # fileno, isatty, encoding, ...: the terminal's own
        return getattr(self.stream, name)


@contextmanager
def fitted_lines():
    """sys.stdout and sys.stderr wrapped (FittedStream) while inside, each
    when it is a terminal."""
    saved = sys.stdout, sys.stderr
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        try:
            tty = stream is not None and stream.isatty()
        except (AttributeError, ValueError, OSError):
            tty = False
        if tty:
            setattr(sys, name, FittedStream(stream))
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, FittedStream):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
        sys.stdout, sys.stderr = saved

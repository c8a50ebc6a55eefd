"""The commands' command-line input layer: numbers checked before they
reach C++, and the one-line description of the errors any command may meet.

    p.add_argument("--k", type=integer(1, 100_000), default=100)
"""
from __future__ import annotations

import argparse
from typing import Callable, Optional

# int32's range: the C++ side holds counts, sizes and indices the commands
# take in `int`; a number the command line accepts always fits there.
INT32_MAX = 2 ** 31 - 1


def integer(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse `type`: a whole decimal number in [lo, hi] (one-line
    usage error, exit 2, otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be from {lo} to {hi}, got {text}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its message
    return parse


def describe(e: BaseException) -> Optional[str]:
    """One line for the errors every command may meet outside its own checks
    (out of memory, a failed read or write); None for the others."""
    if isinstance(e, MemoryError):
        detail = " ".join(str(e).split())
        return detail if detail.startswith("out of memory") else f"out of memory{': ' + detail if detail else ''}"
    if isinstance(e, OSError):
        name = e.filename if e.filename is not None else None
        reason = e.strerror or str(e) or type(e).__name__
        return f"{name}: {reason}" if name is not None else reason
    return None

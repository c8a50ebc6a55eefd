"""Errors the command line reports as one line, without a traceback."""


class NnvaeError(Exception):
    """A runtime failure with a message meant for the user (exit code 1)."""


class UsageError(NnvaeError):
    """An impossible option value (exit code 2)."""

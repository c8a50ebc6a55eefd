"""The argument parsers of `nnvae` and `nnvae-train`, as their entry points
build them, for the tests that check every command's options."""
import argparse

import pytest

from nnvae.app import cli


def command_parsers():
    """{"nnvae", "nnvae train", ..., "nnvae-train": parser}: each entry point
    is called with its parse_args replaced by one that records the parser."""
    captured = []
    original = cli._Parser.parse_args

    def capture(self, args=None, namespace=None):
        captured.append(self)
        raise SystemExit(0)

    cli._Parser.parse_args = capture
    try:
        for main in (cli.main, cli.train_main):
            with pytest.raises(SystemExit):
                main([])
    finally:
        cli._Parser.parse_args = original

    found = {}

    def walk(parser, name):
        found[name] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    walk(sub, f"{name} {sub_name}")

    walk(captured[0], "nnvae")
    walk(captured[1], "nnvae-train")
    return found

"""The `nnvae` command and its `nnvae-train` shortcut.

Each subcommand lives in `nnvae.app.commands.<name>` and provides
`configure(parser)` (adds its options) and `run(args) -> int`.
Usage errors exit with 2, runtime failures with 1, each as one line (on a
terminal, wrapped at spaces to its width: nnvae.app.screen).
"""
import argparse
import importlib
import os
import sys

from ..errors import NnvaeError, UsageError
from .options import describe
from .screen import fitted_lines

COMMANDS = {
    "data": "fetch, verify and describe the MNIST / Fashion-MNIST files",
    "train": "train the tutorial's VAE on MNIST (also installed as the nnvae-train command)",
    "evaluate": "test negative ELBO and importance-weighted NLL of saved parameters",
    "generate": "decode samples or an interpolation from saved parameters",
    "info": "the version, threads and the path bf16 products take on this machine",
}


class _Parser(argparse.ArgumentParser):
    """argparse without abbreviated options: a mistyped `--iteration 300` is
    an error, not silently `--iterations`. Subcommands' parsers are of this
    class too (argparse makes them of their parent's class)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


def version_line() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"nnvae {version('nnvae')}"
    except PackageNotFoundError:  # run from a source tree that was not installed
        return "nnvae (version unknown: not installed)"


class _CmakePrefixPath(argparse.Action):
    """--cmake-prefix-path: print nnvae.cmake_prefix_path and exit, or say
    why this nnvae has no CMake package (exit 1)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        import nnvae

        if nnvae.cmake_prefix_path is None:
            parser.exit(1, f"{parser.prog}: error: this nnvae has no C++ package: it runs from "
                           f"{os.path.dirname(nnvae.__file__)} without an install (pip install . puts one "
                           f"beside it; or build and install it with cmake as the README's 'Use nnvae from your "
                           f"C++ program' says)\n")
        print(nnvae.cmake_prefix_path)
        parser.exit(0)


def _command(name):
    return importlib.import_module(f"nnvae.app.commands.{name}")


def _run(parser, args):
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a broken pipe shows here, not in the interpreter's last flush
        return code
    except UsageError as e:
        parser.exit(2, f"{parser.prog}: error: {_one_line(e)}\n")
    except NnvaeError as e:
        parser.exit(1, f"{parser.prog}: error: {_one_line(e)}\n")
    except KeyboardInterrupt:
        parser.exit(130, f"{parser.prog}: interrupted\n")
    except BrokenPipeError:  # the reader of our output went away (`| head`): end quietly, as a pipe's writer does
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 128 + 13  # as if killed by SIGPIPE
    except (MemoryError, OSError) as e:  # out of memory, or a read/write the command did not expect to fail
        parser.exit(1, f"{parser.prog}: error: {describe(e)}\n")
    except Exception as e:  # the last resort: a bug, said in one line rather than a traceback
        if os.environ.get("NNVAE_TRACEBACK"):
            raise
        parser.exit(1, f"{parser.prog}: internal error: {type(e).__name__}: {_one_line(e)} (please report this "
                       f"with the command that caused it; NNVAE_TRACEBACK=1 shows the traceback)\n")


def _one_line(e: BaseException) -> str:
    """The message on one line (a library's text may span several)."""
    return " ".join(part.strip() for part in str(e).splitlines() if part.strip())


def _parse(parser, argv):
    """parser.parse_args, refusing an argument with a NUL byte first (no
    path can hold one; a C library would read it cut short)."""
    for a in (sys.argv[1:] if argv is None else argv):
        if "\0" in str(a):
            parser.exit(2, f"{parser.prog}: error: argument {str(a)!r} holds a NUL byte\n")
    return parser.parse_args(argv)


def main(argv=None):
    with fitted_lines():
        return _main(argv)


def train_main(argv=None):
    with fitted_lines():
        return _train_main(argv)


def _main(argv):
    parser = _Parser(prog="nnvae", description="nnvae: the NNabla tutorial's VAE on a small C++ engine")
    parser.add_argument("--version", action="version", version=version_line())
    parser.add_argument("--cmake-prefix-path", action=_CmakePrefixPath,
                        help="print the folder to put into CMAKE_PREFIX_PATH for find_package(nnvae) and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        module = _command(name)
        module.configure(p)
        p.set_defaults(func=module.run)
    args = _parse(parser, argv)
    if args.command is None:  # bare `nnvae`: a usage error, answered with the whole help
        parser.print_help(sys.stderr)
        return 2
    return _run(parser, args)


def _train_main(argv):
    module = _command("train")
    parser = _Parser(
        prog="nnvae-train", description="nnvae-train: train the NNabla tutorial's VAE on MNIST (`nnvae train` "
                                        "is the same command); prints the run folder, the monitor lines and the "
                                        "test negative ELBO")
    parser.add_argument("--version", action="version", version=version_line())
    module.configure(parser)
    args = _parse(parser, argv)
    args.func = module.run
    return _run(parser, args)


if __name__ == "__main__":
    sys.exit(main())

"""The ``licodec`` command. Each subcommand is a small handler; main(argv) returns the exit code."""

import argparse
import sys

from licodec import __version__
from licodec.cli import codec, eval, figures, train
from licodec.cli.common import EXIT_INTERRUPTED, EXIT_USAGE, CliError, Formatter

__all__ = ["CliError", "main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, usage exit code
        raise CliError(f"{message} (see {self.prog} --help)", EXIT_USAGE)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="licodec", description="Learned image compression.", formatter_class=Formatter)
    p.add_argument("--version", action="version", version=f"licodec {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    codec.add_commands(sub)
    eval.add_commands(sub)
    figures.add_commands(sub)
    train.add_train(sub)
    train.add_export(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        return args.handler(args)
    except CliError as e:
        print(f"licodec: error: {e}", file=sys.stderr)
        return e.code
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("licodec: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED

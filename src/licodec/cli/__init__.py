"""The ``licodec`` command: one module per group of subcommands, main(argv) -> exit code in main.py."""

from licodec.cli.common import CliError
from licodec.cli.main import main

__all__ = ["CliError", "main"]

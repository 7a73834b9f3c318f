"""What every CLI handler shares: exit codes, the one-line error, the help formatter."""

import argparse

EXIT_USAGE = 2  # bad flags or arguments
EXIT_IO = 3  # missing or unreadable input or model file, unwritable output, refusing to overwrite (a file or an input)
EXIT_CORRUPT = 4  # corrupt, truncated, foreign or incompatible .lic file
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """Printed as one line ``licodec: error: MESSAGE``; the process exits with ``code``."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


class Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except where there is none to show or the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False) or "default" in text:
            return text
        return super()._get_help_string(action)

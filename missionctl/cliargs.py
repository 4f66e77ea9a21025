"""Argument parsing for sub-commands: a bad option is one line and exit 2."""

from __future__ import annotations

import argparse
from typing import NoReturn

from missionctl.errors import UserError


class ArgumentParser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose errors become `UserError` (one line, exit 2)."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def parser(command: str, description: str) -> ArgumentParser:
    """A parser for `missionctl <command>`."""
    return ArgumentParser(
        prog=f"missionctl {command}",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

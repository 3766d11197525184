"""The parser's shared pieces: the store options, command groups, argument types.

Each type refuses a bad value with a message that names what was expected,
which argparse prints as the command's one-line error.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from typing import Any, Final

from ._common import CONFIG_HELP

__all__ = [
    "Option",
    "add_options",
    "add_user_action",
    "command_group",
    "count",
    "count_or_zero",
    "seconds",
    "store_options",
    "username",
]

# One argument as a table row: its flags (or name) and add_argument's keywords.
Option = tuple[tuple[str, ...], dict[str, Any]]

# User names end up in a whitespace-separated users file and in URIs.
_USER_RE: Final = re.compile(r"[A-Za-z0-9._@+-][A-Za-z0-9._@+\-]{0,127}", re.ASCII)


def add_options(parser: argparse.ArgumentParser, options: tuple[Option, ...]) -> None:
    """Add each row of a table of arguments, in order (the order --help lists them)."""
    for flags, settings in options:
        parser.add_argument(*flags, **settings)


def store_options() -> argparse.ArgumentParser:
    """The parent parser for ``--store``, ``--config`` and ``--key-file``."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--store",
        metavar="URL",
        help="the store (default: $OTPGATE_STORE, the config file's, or sqlite:///otpgate.db "
        "in $OTPGATE_HOME or here)",
    )
    p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    p.add_argument(
        "--key-file",
        metavar="FILE",
        help="key file encrypting OTP keys in SQL stores (default <database>.key)",
    )
    return p


def command_group(sub: Any, name: str, help_text: str) -> Any:
    """A command with actions (``user add``, ``key rotate``); alone it prints its help, exit 1."""
    group = sub.add_parser(name, help=help_text)
    actions = group.add_subparsers(dest=f"{name}_command", metavar="ACTION")

    def usage(_args: argparse.Namespace) -> int:
        group.print_help(sys.stderr)
        return 1

    group.set_defaults(handler=usage)
    return actions


def add_user_action(sub: Any, name: str, help_text: str, description: str) -> Any:
    """Add the action ``user NAME`` (with the store options) from a module of its own;
    its parser, or ``None`` if the ``user`` group was not registered."""
    group = sub.choices.get("user")
    if group is None:
        return None
    found = [a for a in group._actions if isinstance(a, argparse._SubParsersAction)]
    if not found:
        return None
    return found[0].add_parser(
        name, parents=[store_options()], help=help_text, description=description
    )


# --- argument types -------------------------------------------------------------------------


def username(text: str) -> str:
    if not _USER_RE.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"user names are 1-128 characters of A-Z a-z 0-9 . _ @ + - , not {text!r}"
        )
    return text


def count(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"expected a number from 1 to 100, not {text!r}")
    return int(text)


def count_or_zero(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) > 1_000_000:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, not {text!r}")
    return int(text)


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, not {text!r}")
    return value

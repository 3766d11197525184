"""The ``otpgate`` command.

Each group of subcommands lives in its own module with a ``register(subparsers)``
function; every handler returns an exit code.  Errors are one line on stderr,
never a traceback: exit 1 for bad input or a failed operation, 2 where a
command documents it (``otp`` with a code that does not match).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Callable, Sequence

from ..errors import OTPGateError

__all__ = ["CommandError", "main"]

# Modules that add subcommands, in the order --help lists them; each has register(subparsers).
_COMMAND_MODULES = (
    "tokens",
    "init",
    "users",
    "invite",
    "roles",
    "transfer",
    "keys",
    "check",
    "config_check",
    "directory",
    "serve",
    "demo",
)

Handler = Callable[[argparse.Namespace], int]


class CommandError(Exception):
    """A user-facing error: printed as one line, exit code ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# argparse's word for a value given to a flag that takes none (``--totp=MD5``).
_EXPLICIT_RE = re.compile(r"argument (\S+?)(?:/\S+)?: ignored explicit argument '(.*)'", re.S)


def _clearer(message: str) -> str:
    """argparse's message, or a plainer one where argparse's misleads."""
    m = _EXPLICIT_RE.fullmatch(message)
    if m is None:
        return message
    option, value = m.groups()
    if option == "--totp":
        # --totp=SHA256 is spelled out as its own flag; anything else lands here.
        return (
            f"--totp={value}: not a hash otpgate knows; use --totp (SHA1), --totp=SHA256 "
            "or --totp=SHA512"
        )
    return f"{option} takes no value, not {value!r}"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse exits 2 on usage errors; otpgate keeps 2 for "code did not match".
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {_clearer(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="otpgate",
        description="PIN + one-time password (HOTP/TOTP) gate for web applications.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"otpgate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 1
    try:
        return handler(args)
    except CommandError as exc:
        print(f"otpgate: {exc}", file=sys.stderr)
        return exc.code
    except (OTPGateError, ValueError, OSError) as exc:
        print(f"otpgate: {exc}", file=sys.stderr)
        return 1
    except EOFError:
        # input() or getpass() met the end of stdin where a command asked for more.
        print("otpgate: unexpected end of input", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

"""Reading PINs and other secrets from stdin or a prompt.

PINs are read from a prompt or stdin, never from the command line (process
lists are public).  A new PIN that is among the most common PINs and
passwords (:func:`otpgate.accounts.pin_policy.is_common`) is refused, as on the
enrolment and account pages, unless the administrator insists with
``--allow-common-pin`` (a migration from a system that had it, say).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Final

from ..accounts.pin_policy import is_common
from ..login.pins import PinHasher
from ..otp.tokens import TokenType
from ..store.records import Pin
from . import CommandError
from ._common import SQL_KINDS, store_kind

__all__ = ["MAX_STDIN", "PIN_HASHER", "make_pin", "pin_options", "stdin_line"]

_MAX_PIN: Final = 128
MAX_STDIN: Final = 4096

# Tests swap this for a cheap parameter set; production hashes use argon2-cffi's defaults.
PIN_HASHER: PinHasher = PinHasher()


def stdin_line(what: str) -> str:
    """One line of stdin, without its line end.

    Raises:
        CommandError: stdin is empty or the line is too long.
    """
    line = sys.stdin.readline(MAX_STDIN + 1)
    if len(line) > MAX_STDIN:
        raise CommandError(f"the {what} on stdin is too long")
    if not line:
        raise CommandError(f"expected the {what} on stdin, got end of input")
    return line.rstrip("\r\n")


COMMON: Final = (
    "the PIN is among the most commonly used PINs and passwords, which attackers try first: "
    "choose another (or give --allow-common-pin to set it all the same)"
)


def _check_pin_text(pin: str, args: argparse.Namespace) -> str:
    problems = []
    if not pin:
        problems.append("is empty (use --no-pin for none)")
    if len(pin) > _MAX_PIN:
        problems.append(f"is longer than {_MAX_PIN} characters")
    if any(c.isspace() or not c.isprintable() for c in pin):
        problems.append("contains spaces or control characters")
    if pin in ("-", "+"):
        problems.append("is '-' or '+', which mean 'none' and 'delegated' in a users file")
    if problems:
        raise CommandError("the PIN " + ", ".join(problems))
    if is_common(pin) and not args.allow_common_pin:
        raise CommandError(COMMON)
    return pin


def _at_a_terminal() -> bool:
    """Whether getpass asked at a terminal (Ctrl-D typed there), not on a pipe at its end.

    getpass reads from ``/dev/tty`` when this process has one, else from stdin.
    """
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return sys.stdin.isatty()
    os.close(fd)
    return True


def _read_pin(args: argparse.Namespace) -> str | None:
    """The PIN text, or ``None`` for --no-pin / --pin-delegated."""
    if args.no_pin or args.pin_delegated:
        return None
    if args.pin_stdin:
        return _check_pin_text(stdin_line("PIN"), args)
    if args.pin_prompt or sys.stdin.isatty():
        try:
            first = getpass.getpass("PIN: ")
            _check_pin_text(first, args)
            again = getpass.getpass("PIN again: ")
        except EOFError:
            # The message goes on a line of its own, not after the prompt.
            print(file=sys.stderr)
            if _at_a_terminal():
                raise CommandError(
                    "no PIN typed (Ctrl-D at the prompt); nothing was changed"
                ) from None
            raise CommandError(
                "no PIN typed (end of input at the prompt); give --pin-stdin to read it from a pipe"
            ) from None
        if again != first:
            raise CommandError("the two PINs differ")
        return first
    raise CommandError("no PIN source: give --pin-prompt, --pin-stdin, --no-pin or --pin-delegated")


def make_pin(args: argparse.Namespace, url: str, ttype: TokenType) -> Pin:
    """The PIN the options ask for, in the form the store at ``url`` keeps.

    Raises:
        CommandError: no PIN source, a bad PIN, or one this store cannot keep.
    """
    if args.pin_delegated:
        if ttype.kind == "MOTP":
            raise CommandError("a Mobile-OTP PIN is part of the code; it cannot be delegated")
        return Pin("delegated")
    text = _read_pin(args)
    if text is None:
        return Pin("none")
    if store_kind(url) in SQL_KINDS:
        if ttype.kind == "MOTP":
            raise CommandError(
                "a Mobile-OTP PIN must stay readable (it is part of the code) and SQL stores "
                "keep only hashed PINs: use --no-pin, or keep this user in a users file"
            )
        return Pin("hash", PIN_HASHER.hash(text))
    return Pin("plain", text)


def pin_options(p: argparse.ArgumentParser) -> None:
    """Add the mutually exclusive PIN sources to ``p``."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--pin-prompt", action="store_true", help="ask for the PIN (twice)")
    g.add_argument("--pin-stdin", action="store_true", help="read the PIN as one line of stdin")
    g.add_argument("--no-pin", action="store_true", help="no PIN: the password is the OTP alone")
    g.add_argument(
        "--pin-delegated",
        action="store_true",
        help="the PIN is checked by another provider (htpasswd; '+' in a users file)",
    )
    p.add_argument(
        "--allow-common-pin",
        action="store_true",
        help="accept a PIN that is among the most common PINs and passwords (refused by default)",
    )

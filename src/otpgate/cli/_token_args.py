"""Reading the token commands' arguments (``otpgate otp`` and ``uri``): numbers in
their bounds, oathtool's time steps and times, ``--totp[=HASH]``, and keys from
the command line, stdin (``-``) or a file (``@FILE``).

An error message shows a value only when it is short: a long one may be a
key typed in the wrong place.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from ..errors import InvalidKey
from ..otp.algorithms import ALGORITHMS, MAX_DIGITS
from ..otp.keys import check_key_length, decode_key
from ..otp.tokens import MIN_DIGITS
from . import CommandError
from ._args import Option
from ._output import print_warnings

__all__ = [
    "MAX_COUNTER",
    "MAX_WINDOW",
    "digits",
    "duration",
    "load_key",
    "read_secret",
    "timestamp",
    "totp_options",
    "uint",
]

# A window this wide is a typo, and generating it would print millions of lines.
MAX_WINDOW: Final = 1_000_000
MAX_COUNTER: Final = (1 << 64) - 1
_DURATION_RE: Final = re.compile(r"([0-9]{1,9})\s*(s|sec|m|min|h)?", re.ASCII | re.IGNORECASE)
_DURATION_UNITS: Final = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
_UNIX_RE: Final = re.compile(r"@([0-9]{1,12})", re.ASCII)
_INT_RE: Final = re.compile(r"[0-9]{1,20}", re.ASCII)


def _shown(text: str) -> str:
    """The value for an error message, unless it is long enough to be a misplaced key."""
    return repr(text) if len(text) <= 24 else f"a {len(text)}-character value"


def uint(name: str, maximum: int) -> Any:
    def parse(text: str) -> int:
        # int() would accept "+5", " 5", Arabic-Indic digits and "1_000"; a counter is ASCII.
        if not _INT_RE.fullmatch(text) or int(text) > maximum:
            raise argparse.ArgumentTypeError(
                f"{name} must be a whole number from 0 to {maximum}, not {_shown(text)}"
            )
        return int(text)

    parse.__name__ = name  # argparse names the type in some messages
    return parse


def digits(text: str) -> int:
    if not _INT_RE.fullmatch(text) or not MIN_DIGITS <= int(text) <= MAX_DIGITS:
        raise argparse.ArgumentTypeError(
            f"digits must be a whole number from {MIN_DIGITS} to {MAX_DIGITS}, not {_shown(text)}"
        )
    return int(text)


def duration(text: str) -> int:
    """Seconds, optionally with a unit as oathtool takes them: ``30``, ``30s``, ``1m``."""
    m = _DURATION_RE.fullmatch(text.strip())
    if m is None or int(m[1]) == 0:
        raise argparse.ArgumentTypeError(
            f"time step must be a positive number of seconds such as 30 or 30s, not {_shown(text)}"
        )
    return int(m[1]) * _DURATION_UNITS[(m[2] or "").lower()]


def timestamp(text: str) -> int:
    """``@UNIXTIME`` or an ISO 8601 time with a zone (``2009-02-13T23:31:30Z``)."""
    if m := _UNIX_RE.fullmatch(text):
        return int(m[1])
    iso = text.strip()
    # oathtool users write "2009-02-13 23:31:30 UTC".
    if iso.upper().endswith(" UTC"):
        iso = iso[:-4] + "+00:00"
    try:
        when = dt.datetime.fromisoformat(iso)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"time must be @UNIXTIME or ISO 8601 such as 2009-02-13T23:31:30Z, not {_shown(text)}"
        ) from None
    if when.tzinfo is None:
        # A naive time would silently mean the local zone (pyotp's trap); insist on one.
        raise argparse.ArgumentTypeError(
            f"time {text!r} has no time zone; add Z for UTC (2009-02-13T23:31:30Z)"
        )
    seconds = when.timestamp()
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"time {text!r} is before 1970")
    return int(seconds)


class _TotpAction(argparse.Action):
    """``--totp`` or ``--totp=HASH``.

    Registered under every spelling (``--totp=SHA256`` ...) with no argument,
    so ``--totp KEY`` never swallows the key the way an optional argument
    would.
    """

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        algorithm = (option_string or "").partition("=")[2].upper() or "SHA1"
        setattr(namespace, self.dest, algorithm)


def totp_options(help_text: str) -> tuple[Option, Option]:
    """``--totp``, and (hidden from --help) each ``--totp=HASH`` spelling."""
    spellings = [f"--totp={a}" for a in ALGORITHMS] + [f"--totp={a.lower()}" for a in ALGORITHMS]
    totp = {"dest": "totp", "action": _TotpAction, "nargs": 0, "default": None}
    return (("--totp",), {**totp, "help": help_text}), (
        tuple(spellings),
        {**totp, "help": argparse.SUPPRESS},
    )


def read_secret(arg: str, what: str) -> str:
    """The literal ``arg``, or stdin for ``-``, or the contents of ``@FILE``."""
    if arg == "-":
        return sys.stdin.readline().strip()
    if arg.startswith("@"):
        path = arg[1:]
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise CommandError(f"cannot read the {what} from {path}: {reason}") from None
    return arg


def load_key(arg: str, base32: bool, *, motp: bool = False) -> bytes:
    text = read_secret(arg, "key")
    try:
        key = decode_key(text, "base32" if base32 else "hex")
    except InvalidKey as exc:
        hint = "" if base32 else " (give --base32 for a base32 key)"
        # The message names the problem, never the key.
        raise CommandError(f"bad key: {exc}{hint}") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            check_key_length(key, motp=motp)
        except InvalidKey as exc:
            raise CommandError(f"bad key: {exc}") from None
    print_warnings(caught)
    return key

"""Token tools: ``otpgate otp`` (generate or check codes) and ``otpgate uri``.

``otp`` follows Debian's ``oathtool`` where the two overlap (hex keys unless
``--base32``, ``--totp[=HASH]``, ``-c``, ``-s``, ``-N``, ``-d``, ``-w``; without a
code it prints WINDOW+1 codes from the start point), so scripts and habits
carry over.  Checking a code goes through :func:`otpgate.otp.verify.verify`, the
same rules a login uses.

Secrets are printed only where the user asked for them: the codes ``otp``
generates and the URI (or QR code) ``uri`` produces.  Keys may come from
stdin (``-``) or a file (``@FILE``) so they need not appear in process lists.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from ..errors import InvalidKey, MalformedCode, VerificationError
from ..otp.algorithms import ALGORITHMS, MAX_DIGITS, Algorithm
from ..otp.keys import check_key_length, decode_key
from ..otp.tokens import MIN_DIGITS, TokenType, build_uri, uri_warnings
from ..otp.verify import Policy, Token, TokenState, verify
from . import CommandError
from ._common import QR_KINDS, write_qr

__all__ = ["register"]

# A window this wide is a typo, and generating it would print millions of lines.
_MAX_WINDOW: Final = 1_000_000
_MAX_COUNTER: Final = (1 << 64) - 1
_MOTP_STEP: Final = 10
_DURATION_RE: Final = re.compile(r"([0-9]{1,9})\s*(s|sec|m|min|h)?", re.ASCII | re.IGNORECASE)
_DURATION_UNITS: Final = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
_UNIX_RE: Final = re.compile(r"@([0-9]{1,12})", re.ASCII)
_INT_RE: Final = re.compile(r"[0-9]{1,20}", re.ASCII)


# --- argument types -------------------------------------------------------------------------


def _shown(text: str) -> str:
    """The value for an error message, unless it is long enough to be a misplaced key."""
    return repr(text) if len(text) <= 24 else f"a {len(text)}-character value"


def _uint(name: str, maximum: int) -> Any:
    def parse(text: str) -> int:
        # int() would accept "+5", " 5", Arabic-Indic digits and "1_000"; a counter is ASCII.
        if not _INT_RE.fullmatch(text) or int(text) > maximum:
            raise argparse.ArgumentTypeError(
                f"{name} must be a whole number from 0 to {maximum}, not {_shown(text)}"
            )
        return int(text)

    parse.__name__ = name  # argparse names the type in some messages
    return parse


def _digits(text: str) -> int:
    if not _INT_RE.fullmatch(text) or not MIN_DIGITS <= int(text) <= MAX_DIGITS:
        raise argparse.ArgumentTypeError(
            f"digits must be a whole number from {MIN_DIGITS} to {MAX_DIGITS}, not {_shown(text)}"
        )
    return int(text)


def _duration(text: str) -> int:
    """Seconds, optionally with a unit as oathtool takes them: ``30``, ``30s``, ``1m``."""
    m = _DURATION_RE.fullmatch(text.strip())
    if m is None or int(m[1]) == 0:
        raise argparse.ArgumentTypeError(
            f"time step must be a positive number of seconds such as 30 or 30s, not {_shown(text)}"
        )
    return int(m[1]) * _DURATION_UNITS[(m[2] or "").lower()]


def _timestamp(text: str) -> int:
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


def _add_totp(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "--totp", dest="totp", action=_TotpAction, nargs=0, default=None, help=help_text
    )
    spellings = [f"--totp={a}" for a in ALGORITHMS] + [f"--totp={a.lower()}" for a in ALGORITHMS]
    parser.add_argument(
        *spellings, dest="totp", action=_TotpAction, nargs=0, default=None, help=argparse.SUPPRESS
    )


# --- shared helpers -------------------------------------------------------------------------


def _read_secret(arg: str, what: str) -> str:
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


def _load_key(arg: str, base32: bool, *, motp: bool = False) -> bytes:
    text = _read_secret(arg, "key")
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
    for w in caught:
        print(f"otpgate: warning: {w.message}", file=sys.stderr)
    return key


# --- otp ------------------------------------------------------------------------------------


_OTP_DESCRIPTION = """\
Generate one-time passwords, or check one.

Without CODE, print WINDOW+1 codes, one per line, starting at counter -c
(HOTP) or at the time step containing -N (TOTP, mOTP).  With CODE, search the
window and print the counter or absolute time step that matches: HOTP
searches counters C..C+WINDOW, time tokens the steps WINDOW either side of
now.  KEY is hex (base32 with --base32); '-' reads it from stdin and @FILE
from a file, so it need not show in the process list.
"""

_OTP_EPILOG = """\
exit status: 0 codes printed or CODE matched; 1 bad arguments; 2 CODE did not match.

examples:
  otpgate otp -c 5 -w 2 3132333435363738393031323334353637383930
  otpgate otp --totp=SHA256 -d 8 -N 2009-02-13T23:31:30Z @key.hex
  echo GEZDGNBVGY3TQOJQ | otpgate otp --totp --base32 - 287082
"""


def _register_otp(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "otp",
        usage="otpgate otp [--totp[=SHA1|SHA256|SHA512]] [--motp PIN] [-b] [-c COUNTER]\n"
        "                   [-s STEP] [-N TIME] [-S TIME] [-d DIGITS] [-w WINDOW] [--hex]\n"
        "                   KEY [CODE]",
        help="generate or check HOTP/TOTP/mOTP codes (oathtool-style)",
        description=_OTP_DESCRIPTION,
        epilog=_OTP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_totp(
        p,
        "time-based codes (RFC 6238) instead of counter-based (RFC 4226); HASH is SHA1 "
        "(default), SHA256 or SHA512: --totp=SHA256",
    )
    p.add_argument(
        "--motp",
        metavar="PIN",
        help="Mobile-OTP with this PIN ('-' reads it from stdin); time-based with 10 s "
        "steps, or counter-based when -c is given",
    )
    p.add_argument("-b", "--base32", action="store_true", help="KEY is base32, not hex")
    p.add_argument(
        "-c",
        "--counter",
        type=_uint("counter", _MAX_COUNTER),
        help="HOTP counter to start at (default 0)",
    )
    p.add_argument(
        "-s",
        "--time-step-size",
        "--step",
        dest="step",
        type=_duration,
        metavar="STEP",
        help="time step in seconds, e.g. 30 or 30s (default 30; mOTP 10)",
    )
    p.add_argument(
        "-N",
        "--now",
        type=_timestamp,
        metavar="TIME",
        help="use this time instead of the clock: @UNIXTIME or ISO 8601, e.g. 2009-02-13T23:31:30Z",
    )
    p.add_argument(
        "-S",
        "--start-time",
        type=_timestamp,
        metavar="TIME",
        help="T0, when time step 0 begins (default @0)",
    )
    p.add_argument(
        "-d",
        "--digits",
        type=_digits,
        default=6,
        help=f"code length, {MIN_DIGITS}..{MAX_DIGITS} (default 6)",
    )
    p.add_argument(
        "-w",
        "--window",
        type=_uint("window", _MAX_WINDOW),
        default=0,
        help="print WINDOW+1 codes, or search this far for CODE (default 0)",
    )
    p.add_argument(
        "--hex",
        action="store_true",
        help="mod_authn_otp's hexadecimal code form: print it, and accept it for CODE",
    )
    p.add_argument("key", metavar="KEY", help="the secret: hex, base32 with --base32, '-' or @FILE")
    # CODE is optional, but nargs="?" would let argparse bind it (empty) together with KEY,
    # so `KEY -N TIME CODE` would fail; a required-style positional marked optional
    # afterwards is matched only when a second operand appears.
    code = p.add_argument("code", metavar="CODE", help="a code to check instead of generating")
    code.required = False
    p.set_defaults(handler=_cmd_otp)


def _otp_token_type(args: argparse.Namespace) -> TokenType:
    """The token type the options describe; refuses combinations that mean nothing."""
    problems: list[str] = []
    if args.motp is not None:
        if args.totp is not None:
            problems.append("--motp and --totp exclude each other (mOTP is time-based already)")
        if args.hex:
            problems.append("--hex is for HOTP/TOTP; mOTP codes are hex already")
        event = args.counter is not None
        if event and (args.step is not None or args.now is not None or args.start_time is not None):
            problems.append("-c selects a counter-based mOTP token; -s, -N and -S are for time")
        step = 0 if event else (args.step or _MOTP_STEP)
        kind = "MOTP"
        algorithm: Algorithm = "SHA1"
    elif args.totp is not None:
        if args.counter is not None:
            problems.append("-c is for counter-based HOTP; TOTP takes the time from -N")
        step = args.step or 30
        kind = "HOTP"
        algorithm = args.totp
    else:
        if args.step is not None or args.now is not None or args.start_time is not None:
            problems.append("-s, -N and -S need --totp (or --motp)")
        step = 0
        kind = "HOTP"
        algorithm = "SHA1"
    if problems:
        raise CommandError("; ".join(problems))
    return TokenType(kind, step, args.digits, algorithm, args.start_time or 0)  # type: ignore[arg-type]


def _cmd_otp(args: argparse.Namespace) -> int:
    token_type = _otp_token_type(args)
    if args.key == "-" and args.motp == "-":
        raise CommandError("KEY and the mOTP PIN cannot both come from stdin")
    pin = _read_secret(args.motp, "PIN") if args.motp is not None else ""
    key = _load_key(args.key, args.base32, motp=token_type.kind == "MOTP")
    token = Token(token_type, key)

    if token_type.is_event:
        now = 0
        start = args.counter or 0
        if start + args.window > _MAX_COUNTER:
            raise CommandError("counter + window runs past 2**64 - 1")
    else:
        now = args.now if args.now is not None else int(time.time())
        try:
            start = token.step_at(now)
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    if args.code is None:
        code_at = token.hex_code if args.hex else (lambda c: token.code(c, pin))
        out = sys.stdout
        for counter in range(start, start + args.window + 1):
            out.write(code_at(counter) + "\n")
        return 0

    if token_type.is_event:
        state = TokenState(start)
        policy = Policy(look_ahead=args.window, accept_hex=args.hex)
    else:
        state = TokenState(0)
        # A one-off check: no drift is remembered, so any step in the window may match.
        policy = Policy(window=args.window, max_drift=args.window, accept_hex=args.hex)
    try:
        match = verify(token, state, args.code, now=now, policy=policy, pin=pin)
    except MalformedCode as exc:
        raise CommandError(f"bad code: {exc}") from None
    except VerificationError:
        # Not echoed: the code may be a real, still valid one.
        print("otpgate: the code does not match in the window", file=sys.stderr)
        return 2
    print(match.matched)
    return 0


# --- uri ------------------------------------------------------------------------------------


_URI_DESCRIPTION = """\
Print the otpauth:// URI an authenticator app scans, or draw it as a QR code.

The URI holds the secret: it is printed only when neither --qr nor --qr-out
is given.  A --qr-out file is written atomically and readable by its owner
only.  Many apps ignore algorithm, digits and period; a warning says so when
a value differs from the default (SHA1, 6 digits, 30 s).
"""


def _register_uri(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "uri",
        usage="otpgate uri --user NAME [--issuer I] [--totp[=SHA1|SHA256|SHA512]] [-s STEP]\n"
        "                   [-d DIGITS] [-b] [--counter N] [--qr] [--qr-out FILE] KEY",
        help="print an otpauth:// URI or QR code for enrolling a token in an app",
        description=_URI_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--user", required=True, metavar="NAME", help="account name shown in the app")
    p.add_argument("--issuer", metavar="I", help="service name shown in the app, e.g. 'Help desk'")
    _add_totp(p, "a time-based (TOTP) token; HASH is SHA1 (default), SHA256 or SHA512")
    p.add_argument(
        "-s",
        "--time-step-size",
        "--step",
        dest="step",
        type=_duration,
        metavar="STEP",
        help="TOTP period in seconds (default 30)",
    )
    p.add_argument(
        "-d",
        "--digits",
        type=_digits,
        default=6,
        help=f"code length, {MIN_DIGITS}..{MAX_DIGITS} (default 6)",
    )
    p.add_argument("-b", "--base32", action="store_true", help="KEY is base32, not hex")
    p.add_argument(
        "--counter",
        type=_uint("counter", _MAX_COUNTER),
        help="HOTP: the next counter (default 0)",
    )
    p.add_argument("--qr", action="store_true", help="draw the QR code in the terminal")
    p.add_argument("--qr-out", metavar="FILE", help="write the QR code to FILE.png or FILE.svg")
    p.add_argument("key", metavar="KEY", help="the secret: hex, base32 with --base32, '-' or @FILE")
    p.set_defaults(handler=_cmd_uri)


def _cmd_uri(args: argparse.Namespace) -> int:
    if args.totp is None and args.step is not None:
        raise CommandError("-s is the TOTP period; give --totp too")
    if args.totp is not None and args.counter is not None:
        raise CommandError("--counter is for HOTP tokens; TOTP has a period (-s) instead")
    if args.qr_out is not None and Path(args.qr_out).suffix.lower() not in QR_KINDS:
        raise CommandError(f"--qr-out must end in .png or .svg, not {args.qr_out!r}")
    step = (args.step or 30) if args.totp is not None else 0
    token_type = TokenType("HOTP", step, args.digits, args.totp or "SHA1")
    key = _load_key(args.key, args.base32)
    uri = build_uri(token_type, key, args.user, args.issuer, args.counter or 0)
    for note in uri_warnings(token_type):
        print(f"otpgate: warning: {note}", file=sys.stderr)
    if not (args.qr or args.qr_out):
        print(uri)
        return 0
    import segno  # only the QR options need it

    qr = segno.make_qr(uri, error="m")
    if args.qr_out:
        write_qr(qr, args.qr_out)
        print(f"otpgate: wrote {args.qr_out}", file=sys.stderr)
    if args.qr:
        qr.terminal(out=sys.stdout, compact=True)
    return 0


def register(sub: Any) -> None:
    """Add ``otp`` and ``uri`` to the ``otpgate`` command."""
    _register_otp(sub)
    _register_uri(sub)

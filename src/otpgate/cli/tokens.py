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
import sys
import time
from pathlib import Path
from typing import Any, Final

from ..errors import MalformedCode, VerificationError
from ..otp.algorithms import MAX_DIGITS, Algorithm
from ..otp.tokens import MIN_DIGITS, TokenType, build_uri, uri_warnings
from ..otp.verify import Policy, Token, TokenState, verify
from . import CommandError
from ._args import Option, add_options
from ._output import QR_KINDS, write_qr
from ._token_args import (
    MAX_COUNTER,
    MAX_WINDOW,
    digits,
    duration,
    load_key,
    read_secret,
    timestamp,
    totp_options,
    uint,
)

__all__ = ["register"]

_MOTP_STEP: Final = 10


# --- what both commands take ------------------------------------------------------------------

_BASE32: Final[Option] = (
    ("-b", "--base32"),
    {"action": "store_true", "help": "KEY is base32, not hex"},
)
_DIGITS: Final[Option] = (
    ("-d", "--digits"),
    {"type": digits, "default": 6, "help": f"code length, {MIN_DIGITS}..{MAX_DIGITS} (default 6)"},
)
_KEY: Final[Option] = (
    ("key",),
    {"metavar": "KEY", "help": "the secret: hex, base32 with --base32, '-' or @FILE"},
)


def _step(help_text: str) -> Option:
    """``-s``: the time step (oathtool's ``--time-step-size``)."""
    flags = ("-s", "--time-step-size", "--step")
    return flags, {"dest": "step", "type": duration, "metavar": "STEP", "help": help_text}


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


_OTP_OPTIONS: Final[tuple[Option, ...]] = (
    *totp_options(
        "time-based codes (RFC 6238) instead of counter-based (RFC 4226); HASH is SHA1 "
        "(default), SHA256 or SHA512: --totp=SHA256"
    ),
    (
        ("--motp",),
        {
            "metavar": "PIN",
            "help": "Mobile-OTP with this PIN ('-' reads it from stdin); time-based with 10 s "
            "steps, or counter-based when -c is given",
        },
    ),
    _BASE32,
    (
        ("-c", "--counter"),
        {"type": uint("counter", MAX_COUNTER), "help": "HOTP counter to start at (default 0)"},
    ),
    _step("time step in seconds, e.g. 30 or 30s (default 30; mOTP 10)"),
    (
        ("-N", "--now"),
        {
            "type": timestamp,
            "metavar": "TIME",
            "help": "use this time instead of the clock: @UNIXTIME or ISO 8601, "
            "e.g. 2009-02-13T23:31:30Z",
        },
    ),
    (
        ("-S", "--start-time"),
        {"type": timestamp, "metavar": "TIME", "help": "T0, when time step 0 begins (default @0)"},
    ),
    _DIGITS,
    (
        ("-w", "--window"),
        {
            "type": uint("window", MAX_WINDOW),
            "default": 0,
            "help": "print WINDOW+1 codes, or search this far for CODE (default 0)",
        },
    ),
    (
        ("--hex",),
        {
            "action": "store_true",
            "help": "mod_authn_otp's hexadecimal code form: print it, and accept it for CODE",
        },
    ),
    _KEY,
)


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
    add_options(p, _OTP_OPTIONS)
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
    pin = read_secret(args.motp, "PIN") if args.motp is not None else ""
    key = load_key(args.key, args.base32, motp=token_type.kind == "MOTP")
    token = Token(token_type, key)

    if token_type.is_event:
        now = 0
        start = args.counter or 0
        if start + args.window > MAX_COUNTER:
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


_URI_OPTIONS: Final[tuple[Option, ...]] = (
    (("--user",), {"required": True, "metavar": "NAME", "help": "account name shown in the app"}),
    (
        ("--issuer",),
        {"metavar": "I", "help": "service name shown in the app, e.g. 'Help desk'"},
    ),
    *totp_options("a time-based (TOTP) token; HASH is SHA1 (default), SHA256 or SHA512"),
    _step("TOTP period in seconds (default 30)"),
    _DIGITS,
    _BASE32,
    (
        ("--counter",),
        {"type": uint("counter", MAX_COUNTER), "help": "HOTP: the next counter (default 0)"},
    ),
    (("--qr",), {"action": "store_true", "help": "draw the QR code in the terminal"}),
    (("--qr-out",), {"metavar": "FILE", "help": "write the QR code to FILE.png or FILE.svg"}),
    _KEY,
)


def _register_uri(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "uri",
        usage="otpgate uri --user NAME [--issuer I] [--totp[=SHA1|SHA256|SHA512]] [-s STEP]\n"
        "                   [-d DIGITS] [-b] [--counter N] [--qr] [--qr-out FILE] KEY",
        help="print an otpauth:// URI or QR code for enrolling a token in an app",
        description=_URI_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_options(p, _URI_OPTIONS)
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
    key = load_key(args.key, args.base32)
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

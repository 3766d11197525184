"""``otpgate user ...``: add, list, show, remove, set-pin, resync, lock, unlock,
recovery-codes.

Secrets are shown once, where the administrator asked for them: the otpauth
URI and QR code of a new token, and new recovery codes.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from dataclasses import replace
from typing import Any

from .. import recovery
from .._limits import escape_control, has_control
from ..errors import VerificationError
from ..keys import MOTP_KEY_BYTES, check_key_length, decode_key, new_key
from ..models import UserRecord, UserState
from ..otp import ALGORITHMS
from ..tokens import TokenType, build_uri, parse_token_type, uri_warnings
from ..verify import Policy, TokenState, resync
from . import CommandError
from ._common import (
    check_qr_target,
    count,
    get_user,
    make_pin,
    pin_options,
    print_warnings,
    stdin_line,
    store_kind,
    store_of,
    store_options,
    store_url,
    update_user,
    username,
    when,
    write_qr,
)

__all__ = ["register"]


# --- add ------------------------------------------------------------------------------------


def _token_type(args: argparse.Namespace) -> TokenType:
    ttype = parse_token_type(args.type)
    if args.algorithm:
        alg = args.algorithm.upper()
        if alg not in ALGORITHMS:
            raise CommandError(f"--algorithm must be one of {', '.join(ALGORITHMS)}")
        if ttype.kind == "MOTP":
            raise CommandError("Mobile-OTP has no hash choice; drop --algorithm")
        ttype = TokenType(ttype.kind, ttype.step, ttype.digits, alg)
    return ttype


def _key(args: argparse.Namespace, ttype: TokenType) -> tuple[bytes, bool]:
    """The key and whether it was generated here."""
    motp = ttype.kind == "MOTP"
    if args.key is None:
        return new_key(MOTP_KEY_BYTES if motp else 20), True
    text = stdin_line("key") if args.key == "-" else args.key
    key = decode_key(text, "base32" if args.base32 else "hex")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_key_length(key, motp=motp)
    print_warnings(caught)
    return key, False


def _show_secret(args: argparse.Namespace, ttype: TokenType, key: bytes) -> None:
    """Print the new token's URI (and QR code) once, or the hex secret for Mobile-OTP."""
    if ttype.kind == "MOTP":
        # No otpauth:// form exists; the app is set up with the hex secret.
        print(f"secret (hex, enter it in the Mobile-OTP app): {key.hex()}")
        return
    uri = build_uri(ttype, key, args.name, args.issuer)
    for note in uri_warnings(ttype):
        print(f"otpgate: warning: {note}", file=sys.stderr)
    print(uri)
    show_terminal = args.qr or (sys.stdout.isatty() and not args.qr_out)
    if show_terminal or args.qr_out:
        import segno  # only the QR output needs it

        qr = segno.make_qr(uri, error="m")
        if args.qr_out:
            write_qr(qr, args.qr_out)
            print(f"otpgate: wrote {args.qr_out} (it holds the secret)", file=sys.stderr)
        if show_terminal:
            qr.terminal(out=sys.stdout, compact=True)
    print("otpgate: this is the only time the secret is shown", file=sys.stderr)


def _serial(text: str) -> str:
    """``--serial``: printable text; it is shown by ``user show`` and written to the audit log."""
    if has_control(text):
        raise argparse.ArgumentTypeError(
            f"a serial must not hold control characters: {escape_control(text)}"
        )
    return text


def _cmd_add(args: argparse.Namespace) -> int:
    url = store_url(args)
    ttype = _token_type(args)
    # Checked before the user exists: a secret nobody saw would be useless.
    if args.qr_out:
        check_qr_target(args.qr_out)
    # With --key - and --pin-stdin, stdin carries the key line first, then the PIN line.
    key, generated = _key(args, ttype)
    with store_of(args) as store:
        if store.get(args.name) is not None:
            raise CommandError(f"user {args.name!r} already exists in {store.url}")
        pin = make_pin(args, url, ttype)
        record = UserRecord(args.name, ttype, key, pin, UserState(), serial=args.serial)
        store.add(record)
    print(f"otpgate: added {args.name} ({ttype})", file=sys.stderr)
    if store_kind(url) == "users-file" and ttype.algorithm != "SHA1":
        print(
            f"otpgate: warning: mod_authn_otp cannot read {ttype} lines; it will skip this user",
            file=sys.stderr,
        )
    if generated or args.qr or args.qr_out or args.show_uri:
        _show_secret(args, ttype, key)
    return 0


# --- list / show ----------------------------------------------------------------------------


def _locked(r: UserRecord, now: float) -> str:
    until = r.state.locked_until
    return when(until) if until is not None and until > now else "-"


def _cmd_list(args: argparse.Namespace) -> int:
    now = time.time()
    with store_of(args) as store:
        rows: list[tuple[str, ...]] = [
            (
                r.username,
                str(r.token_type),
                r.serial or "-",
                r.pin.kind,
                when(r.state.last_auth, "never"),
                str(r.state.failures),
                _locked(r, now),
            )
            for r in store.list_users()
        ]
    # Stored text may hold control characters (written by other tools): shown escaped.
    rows = [tuple(escape_control(c) for c in row) for row in rows]
    header = ("USER", "TYPE", "SERIAL", "PIN", "LAST LOGIN", "FAILURES", "LOCKED UNTIL")
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(header)]
    for row in (header, *rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    with store_of(args) as store:
        r = get_user(store, args.name)
    s = r.state
    counter = (
        f"next counter {s.token.counter}"
        if r.token_type.is_event
        else f"drift {s.token.counter:+d} steps"
    )
    lines = [
        ("user", r.username),
        ("type", str(r.token_type)),
        ("serial", r.serial or "-"),
        ("pin", r.pin.kind),
        ("token state", counter),
        ("last step", "-" if s.token.last_step is None else str(s.token.last_step)),
        ("failures", str(s.failures)),
        ("last login", when(s.last_auth, "never")),
        ("last address", s.last_ip or "-"),
        ("locked until", _locked(r, time.time())),
        ("sessions revoked before", when(s.revoked_before)),
    ]
    width = max(len(k) for k, _ in lines)
    for k, v in lines:
        print(f"{k.ljust(width)}  {escape_control(v)}")
    return 0


# --- changes --------------------------------------------------------------------------------


def _cmd_remove(args: argparse.Namespace) -> int:
    with store_of(args) as store:
        if not store.remove(args.name):
            raise CommandError(f"no user {args.name!r} in {store.url}")
    print(f"otpgate: removed {args.name}", file=sys.stderr)
    return 0


def _cmd_set_pin(args: argparse.Namespace) -> int:
    url = store_url(args)
    with store_of(args) as store:
        record = get_user(store, args.name)
        pin = make_pin(args, url, record.token_type)
        # A new PIN ends every session and lingering login made with the old one.
        state = replace(record.state, revoked_before=time.time(), last_otp=None)
        store.replace(replace(record, pin=pin, state=state))
    print(f"otpgate: PIN of {args.name} changed ({pin.kind})", file=sys.stderr)
    return 0


def _cmd_resync(args: argparse.Namespace) -> int:
    with store_of(args) as store:
        record = get_user(store, args.name)
        pin = record.pin.value if record.token_type.kind == "MOTP" else ""
        try:
            match = resync(
                record.token(),
                record.state.token,
                args.otp1,
                args.otp2,
                now=time.time(),
                policy=Policy(),
                pin=pin,
            )
        except VerificationError as exc:
            raise CommandError(f"resync failed: {exc}") from None
        new_token: TokenState = match.state
        update_user(store, args.name, lambda s: replace(s, token=new_token, failures=0))
    if record.token_type.is_event:
        print(f"otpgate: {args.name} resynchronised; next counter {new_token.counter}")
    else:
        print(f"otpgate: {args.name} resynchronised; drift {new_token.counter:+d} steps")
    return 0


def _cmd_lock(args: argparse.Namespace) -> int:
    now = time.time()
    with store_of(args) as store:
        update_user(
            store, args.name, lambda s: replace(s, locked_until=math.inf, revoked_before=now)
        )
    print(f"otpgate: locked {args.name}; their sessions are revoked", file=sys.stderr)
    return 0


def _cmd_unlock(args: argparse.Namespace) -> int:
    with store_of(args) as store:
        update_user(store, args.name, lambda s: replace(s, locked_until=None, failures=0))
    print(f"otpgate: unlocked {args.name}", file=sys.stderr)
    return 0


def _cmd_recovery(args: argparse.Namespace) -> int:
    codes = recovery.generate(args.n)
    with store_of(args) as store:
        get_user(store, args.name)
        store.set_recovery_codes(args.name, [recovery.digest(args.name, c) for c in codes])
    print(
        f"otpgate: {len(codes)} recovery codes for {args.name}; earlier codes no longer work.\n"
        "otpgate: each works once, typed after the PIN in place of the one-time password.\n"
        "otpgate: they are shown only now; keep them somewhere safe.",
        file=sys.stderr,
    )
    for code in codes:
        print(code)
    return 0


# --- registration ---------------------------------------------------------------------------


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 1


def register(sub: Any) -> None:
    """Add ``user`` and its actions."""
    common = store_options()
    user = sub.add_parser("user", help="manage users and tokens")
    usub = user.add_subparsers(dest="user_command", metavar="ACTION")
    user.set_defaults(handler=lambda a: _usage(user))

    p = usub.add_parser("add", parents=[common], help="add a user with a new token")
    p.add_argument("name", type=username)
    p.add_argument(
        "--type", default="HOTP/T30", help="token type, e.g. HOTP/T30/6 (default), HOTP/E, MOTP"
    )
    p.add_argument("--algorithm", help="SHA1 (default), SHA256 or SHA512")
    p.add_argument(
        "--key",
        help="the token's key in hex ('-' reads it from stdin); default: a new random 160-bit key",
    )
    p.add_argument("--base32", action="store_true", help="--key is base32, not hex")
    pin_options(p)
    p.add_argument("--issuer", help="issuer shown by authenticator apps")
    p.add_argument(
        "--serial", type=_serial, help="token serial number (for the audit log; printable text)"
    )
    p.add_argument("--qr", action="store_true", help="print a QR code to the terminal")
    p.add_argument("--qr-out", metavar="FILE", help="write the QR code to FILE (.png or .svg)")
    p.add_argument(
        "--show-uri", action="store_true", help="print the URI also for a key given with --key"
    )
    p.set_defaults(handler=_cmd_add)

    p = usub.add_parser("list", parents=[common], help="list users")
    p.set_defaults(handler=_cmd_list)

    for name, handler, text in (
        ("show", _cmd_show, "show one user (no secrets)"),
        ("remove", _cmd_remove, "delete a user"),
        ("lock", _cmd_lock, "refuse all logins until unlocked; revoke sessions"),
        ("unlock", _cmd_unlock, "lift a lock and clear the failure count"),
    ):
        p = usub.add_parser(name, parents=[common], help=text)
        p.add_argument("name", type=username)
        p.set_defaults(handler=handler)

    p = usub.add_parser("set-pin", parents=[common], help="change a user's PIN")
    p.add_argument("name", type=username)
    pin_options(p)
    p.set_defaults(handler=_cmd_set_pin)

    p = usub.add_parser(
        "resync", parents=[common], help="re-anchor a token from two consecutive codes"
    )
    p.add_argument("name", type=username)
    p.add_argument("otp1")
    p.add_argument("otp2")
    p.set_defaults(handler=_cmd_resync)

    p = usub.add_parser(
        "recovery-codes",
        parents=[common],
        help="issue new single-use recovery codes (replacing old ones)",
    )
    p.add_argument("name", type=username)
    p.add_argument("-n", type=count, default=10, help="how many (default 10)")
    p.set_defaults(handler=_cmd_recovery)

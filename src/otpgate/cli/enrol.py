"""``otpgate user add`` and ``otpgate user replace-token``: enrol a token.

Both show the new token's secret once -- the otpauth URI and QR code, or the
hex secret of a Mobile-OTP token -- where the administrator asked for it.
``replace-token`` keeps the user's PIN, recovery codes and lock, and ends the
sessions made with the old token.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import replace
from typing import Any

from .._limits import escape_control, has_control
from ..otp.algorithms import ALGORITHMS
from ..otp.keys import MOTP_KEY_BYTES, check_key_length, decode_key, new_key
from ..otp.tokens import TokenType, build_uri, parse_token_type, uri_warnings
from ..otp.verify import TokenState
from ..store.authenticators import MAX_NAME, TokenMeta
from ..store.records import UserRecord, UserState
from . import CommandError
from ._args import username
from ._common import get_user, store_kind, store_of, store_url
from ._output import check_qr_target, print_warnings, write_qr
from ._secrets import make_pin, pin_options, stdin_line
from .roles import record as audit_admin

__all__ = [
    "new_token",
    "register",
    "secret_options",
    "serial_text",
    "show_secret",
    "token_options",
    "warn_users_file",
]


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


def show_secret(args: argparse.Namespace, ttype: TokenType, key: bytes) -> None:
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


def new_token(args: argparse.Namespace) -> tuple[TokenType, bytes, bool]:
    """The token the options describe: type, key, and whether the key was made here."""
    ttype = _token_type(args)
    # Checked before anything is stored: a secret nobody saw would be useless.
    if args.qr_out:
        check_qr_target(args.qr_out)
    # With --key - and --pin-stdin, stdin carries the key line first, then the PIN line.
    key, generated = _key(args, ttype)
    return ttype, key, generated


def _cmd_add(args: argparse.Namespace) -> int:
    url = store_url(args)
    ttype, key, generated = new_token(args)
    with store_of(args) as store:
        if store.get(args.name) is not None:
            raise CommandError(f"user {args.name!r} already exists in {store.url}")
        pin = make_pin(args, url, ttype)
        record = UserRecord(args.name, ttype, key, pin, UserState(), serial=args.serial)
        store.add(record)
        if args.admin:
            store.set_role(args.name, "admin")
    audit_admin(args, "add", args.name, f"{ttype}{', administrator' if args.admin else ''}")
    role = " as an administrator" if args.admin else ""
    print(f"otpgate: added {args.name} ({ttype}){role}", file=sys.stderr)
    warn_users_file(url, ttype)
    if generated or args.qr or args.qr_out or args.show_uri:
        show_secret(args, ttype, key)
    return 0


def _check_pin_fits(record: UserRecord, ttype: TokenType) -> None:
    """The kept PIN must work with the new token type.

    Raises:
        CommandError: a Mobile-OTP token with a PIN that is hashed or delegated.
    """
    if ttype.kind == "MOTP" and record.pin.kind in ("hash", "delegated"):
        raise CommandError(
            f"{record.username}'s PIN is {record.pin.kind}; a Mobile-OTP token needs a "
            "readable PIN (it is part of the code): remove the user and add them again"
        )


def _cmd_replace_token(args: argparse.Namespace) -> int:
    url = store_url(args)
    ttype, key, generated = new_token(args)
    with store_of(args) as store:
        record = get_user(store, args.name)
        _check_pin_fits(record, ttype)
        # The old token's codes, sessions and lingering logins end here; the PIN,
        # recovery codes and an administrator's lock stay.
        state = replace(
            record.state,
            token=TokenState(0),
            failures=0,
            last_otp=None,
            revoked_before=time.time(),
        )
        # A new token: a new id and name; the user's other tokens stay (otpgate token ...).
        meta = TokenMeta(name=(args.serial or "token")[:MAX_NAME])
        new = replace(record, token_type=ttype, key=key, state=state, serial=args.serial, meta=meta)
        store.replace(new)
    audit_admin(args, "replace_token", args.name, f"{ttype}; sessions revoked")
    print(
        f"otpgate: new {ttype} token for {args.name}; the PIN is kept, the old token's "
        "sessions are ended",
        file=sys.stderr,
    )
    warn_users_file(url, ttype)
    if generated or args.qr or args.qr_out or args.show_uri:
        show_secret(args, ttype, key)
    return 0


def warn_users_file(url: str, ttype: TokenType) -> None:
    if store_kind(url) == "users-file" and ttype.algorithm != "SHA1":
        print(
            f"otpgate: warning: mod_authn_otp cannot read {ttype} lines; it will skip this user",
            file=sys.stderr,
        )


def token_options(p: argparse.ArgumentParser) -> None:
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


def secret_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--issuer", help="issuer shown by authenticator apps")
    p.add_argument("--qr", action="store_true", help="print a QR code to the terminal")
    p.add_argument("--qr-out", metavar="FILE", help="write the QR code to FILE (.png or .svg)")
    p.add_argument(
        "--show-uri", action="store_true", help="print the URI also for a key given with --key"
    )


def serial_text(text: str) -> str:
    """``--serial``: printable text; it is shown by ``user show`` and written to the audit log."""
    if has_control(text):
        raise argparse.ArgumentTypeError(
            f"a serial must not hold control characters: {escape_control(text)}"
        )
    return text


def register(usub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``user add`` and ``user replace-token``."""
    p = usub.add_parser("add", parents=[common], help="add a user with a new token")
    token_options(p)
    pin_options(p)
    p.add_argument(
        "--serial", type=serial_text, help="token serial number (for the audit log; printable text)"
    )
    secret_options(p)
    p.add_argument(
        "--admin", action="store_true", help="make the user an administrator (the /admin pages)"
    )
    p.set_defaults(handler=_cmd_add)

    p = usub.add_parser(
        "replace-token",
        parents=[common],
        help="give a user a new token, keeping the PIN (a lost or new phone)",
        description="Replace a user's token (type and key), keeping the PIN, recovery codes "
        "and any lock.  Sessions and lingering logins made with the old token end; the "
        "new token starts at counter 0 / no drift.  The new secret is shown once.",
    )
    token_options(p)
    p.add_argument(
        "--serial",
        type=serial_text,
        help="the new token's serial number (printable text; the old one's is dropped)",
    )
    secret_options(p)
    p.set_defaults(handler=_cmd_replace_token)

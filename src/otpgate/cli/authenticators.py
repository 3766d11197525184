"""``otpgate token list|add|rename|remove``: a user's authenticators (OTP tokens, passkeys).

A user may hold more than one token (a phone app and a spare hardware
token) and passkeys; a code of any of their tokens signs in (docs/accounts.md).
``token list`` shows them all, passkeys with kind ``WEBAUTHN``; ``token
rename`` and ``token remove`` take a token's id or a passkey's.  ``token add``
takes the key options of ``user add`` and shows the new secret the same way,
once (passkeys are registered in a browser: docs/passkeys.md).  ``token
remove`` never removes a user's last authenticator, of any kind.  With Redis
in the settings each change is announced to every running gate at once.  A
users file holds one token per user and refuses a second.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, Final

from .._limits import escape_control
from ..accounts.authenticators import listing, remove_authenticator, rename_authenticator
from ..audit.writer import iso_utc
from ..errors import LastAuthenticator
from ..store.authenticators import (
    MAX_NAME,
    AuthenticatorInfo,
    OtpToken,
    TokenMeta,
    check_token_name,
    otp_kind,
)
from . import CommandError
from ._args import command_group, store_options, username
from ._common import get_user, store_of, store_url
from ._output import when
from .enrol import new_token, secret_options, serial_text, show_secret, warn_users_file
from .roles import record as audit_admin

if TYPE_CHECKING:
    pass

__all__ = ["register"]

# What apps call the kinds, as the store's token types spell them.
_KINDS: Final = {"TOTP": "HOTP/T30", "HOTP": "HOTP/E", "MOTP": "MOTP"}


def _as_json(info: AuthenticatorInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "kind": info.kind,
        "name": info.name,
        "created": iso_utc(info.created) if info.created else None,
        "last_used": iso_utc(info.last_used) if info.last_used is not None else None,
    }


def _cmd_list(args: argparse.Namespace) -> int:
    with store_of(args) as store:
        get_user(store, args.name)
        infos = listing(store, args.name) or []
    if args.json:
        print(json.dumps([_as_json(i) for i in infos], indent=1))
        return 0
    rows: list[tuple[str, ...]] = [
        (i.id, i.kind, i.name, when(i.created or None), when(i.last_used, "never")) for i in infos
    ]
    # Names are printable when stored here; another tool may have written others.
    rows = [tuple(escape_control(c) for c in row) for row in rows]
    header = ("ID", "KIND", "NAME", "CREATED", "LAST USED")
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(header)]
    for row in (header, *rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _name(text: str) -> str:
    """``--name``: what the token is called on pages and in listings."""
    try:
        return check_token_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cmd_add(args: argparse.Namespace) -> int:
    url = store_url(args)
    args.type = _KINDS.get(args.type.upper(), args.type)
    ttype, key, generated = new_token(args)
    meta = TokenMeta(name=args.token_name or (args.serial or otp_kind(ttype))[:MAX_NAME])
    with store_of(args) as store:
        record = get_user(store, args.name)
        if ttype.kind == "MOTP" and record.pin.kind in ("hash", "delegated"):
            raise CommandError(
                f"{args.name}'s PIN is {record.pin.kind}; a Mobile-OTP token needs a readable "
                "PIN (it is part of the code)"
            )
        kept = store.add_token(args.name, OtpToken(ttype, key, meta, serial=args.serial))
    audit_admin(args, "add_token", args.name, f"{ttype} {kept.meta.id} {kept.meta.name}")
    print(f"otpgate: added token {kept.meta.id} ({ttype}) for {args.name}", file=sys.stderr)
    warn_users_file(url, ttype)
    if generated or args.qr or args.qr_out or args.show_uri:
        show_secret(args, ttype, key)
    return 0


def _not_theirs(args: argparse.Namespace) -> CommandError:
    return CommandError(f"{args.name} has no token or passkey {args.id!r} (otpgate token list)")


def _cmd_rename(args: argparse.Namespace) -> int:
    with store_of(args) as store:
        get_user(store, args.name)
        try:
            kind = rename_authenticator(store, args.name, args.id, args.new_name)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if kind is None:
            raise _not_theirs(args)
    audit_admin(args, "rename_token", args.name, f"{kind} {args.id} {args.new_name}")
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    with store_of(args) as store:
        get_user(store, args.name)
        try:
            kind = remove_authenticator(store, args.name, args.id)
        except LastAuthenticator:
            raise CommandError(
                f"{args.id} is {args.name}'s last authenticator: add another first (otpgate token "
                "add, or a passkey on /account), or remove the user (otpgate user remove)"
            ) from None
        if kind is None:
            raise _not_theirs(args)
    audit_admin(args, "remove_token", args.name, f"{kind} {args.id}")
    what = "passkey" if kind == "WEBAUTHN" else "token"
    print(
        f"otpgate: removed {what} {args.id} of {args.name}; it no longer signs in",
        file=sys.stderr,
    )
    return 0


def _register_add(tsub: Any, common: Any) -> None:
    """``token add``: the key options of ``user add``."""
    p = tsub.add_parser(
        "add",
        parents=[common],
        help="give a user one more token (a spare, a second phone)",
        description="Add a token to a user; a code of any of their tokens signs in with "
        "their PIN.  The key options are those of 'user add'; a new key's secret is shown "
        "once.  A users file holds one token per user.",
    )
    p.add_argument("name", type=username)
    p.add_argument(
        "--type",
        required=True,
        help="TOTP (= HOTP/T30), HOTP (= HOTP/E), MOTP, or a full type such as HOTP/T60/8",
    )
    p.add_argument("--algorithm", help="SHA1 (default), SHA256 or SHA512")
    p.add_argument(
        "--key",
        help="the token's key in hex ('-' reads it from stdin); default: a new random 160-bit key",
    )
    p.add_argument("--base32", action="store_true", help="--key is base32, not hex")
    p.add_argument(
        "--name",
        dest="token_name",
        type=_name,
        help="what to call it (default: its serial or kind)",
    )
    p.add_argument("--serial", type=serial_text, help="the token's serial number (printable)")
    secret_options(p)
    p.set_defaults(handler=_cmd_add)


def register(sub: Any) -> None:
    """Add ``token`` and its actions."""
    common = store_options()
    tsub = command_group(
        sub, "token", "a user's authenticators (OTP tokens, passkeys): list, add, rename, remove"
    )

    p = tsub.add_parser(
        "list", parents=[common], help="a user's tokens and passkeys, oldest first (no secrets)"
    )
    p.add_argument("name", type=username)
    p.add_argument(
        "--json", action="store_true", help="a JSON array of {id, kind, name, created, last_used}"
    )
    p.set_defaults(handler=_cmd_list)

    _register_add(tsub, common)

    p = tsub.add_parser("rename", parents=[common], help="give a token or a passkey another name")
    p.add_argument("name", type=username)
    p.add_argument("id", help="the token's or passkey's id (otpgate token list)")
    p.add_argument("new_name", metavar="NAME", type=_name)
    p.set_defaults(handler=_cmd_rename)

    p = tsub.add_parser(
        "remove",
        parents=[common],
        help="remove one of a user's tokens or passkeys (never their last authenticator)",
    )
    p.add_argument("name", type=username)
    p.add_argument("id", help="the token's or passkey's id (otpgate token list)")
    p.set_defaults(handler=_cmd_remove)

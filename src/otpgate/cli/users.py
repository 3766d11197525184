"""``otpgate user ...``: list, show, remove, set-pin, resync, lock, unlock,
recovery-codes (``add`` and ``replace-token`` are in :mod:`.enrol`).

Secrets are shown once, where the administrator asked for them: new
recovery codes here, a new token's URI and QR code in :mod:`.enrol`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from .._limits import escape_control
from ..audit.writer import iso_utc
from ..errors import VerificationError
from ..login import recovery
from ..login.user_state import admin_locked
from ..otp.verify import Policy, TokenState, resync
from ..store.passkeys import keeps_passkeys
from ..store.records import UserRecord
from . import CommandError, enrol
from ._args import command_group, count, count_or_zero, store_options, username
from ._common import get_user, store_of, store_url, update_user
from ._output import when
from ._secrets import make_pin, pin_options

if TYPE_CHECKING:
    from ..store.authenticators import AuthenticatorInfo
    from ..store.passkeys import PasskeyStore
from .roles import record as audit_admin

__all__ = ["register"]


# --- list / show ----------------------------------------------------------------------------


def _locked(r: UserRecord, now: float) -> str:
    until = r.state.locked_until
    return when(until) if until is not None and until > now else "-"


def _type(r: UserRecord) -> str:
    """The first token's type; ``none`` for a user with passkeys only."""
    return str(r.token_type) if r.has_token else "none"


def _as_json(r: UserRecord, now: float) -> dict[str, Any]:
    """What ``list --json`` and ``show --json`` say about a user (no secrets)."""
    s = r.state
    locked = s.locked_until is not None and s.locked_until > now
    return {
        "user": r.username,
        "type": str(r.token_type) if r.has_token else None,
        "serial": r.serial,
        "pin": r.pin.kind,
        "last_login": _iso(s.last_auth),
        "last_address": s.last_ip,
        "failures": s.failures,
        "locked": locked,
        # null with "locked": an indefinite lock (user lock), lifted only by unlock.
        "locked_until": _iso(s.locked_until) if locked else None,
        "sessions_revoked_before": _iso(s.revoked_before),
    }


def _iso(ts: float | None) -> str | None:
    return None if ts is None or math.isinf(ts) else iso_utc(ts)


def _cmd_list(args: argparse.Namespace) -> int:
    now = time.time()
    with store_of(args) as store:
        records = list(store.list_users())
    if args.json:
        print(json.dumps([_as_json(r, now) for r in records], indent=1))
        return 0
    rows: list[tuple[str, ...]] = [
        (
            r.username,
            _type(r),
            r.serial or "-",
            r.pin.kind,
            when(r.state.last_auth, "never"),
            str(r.state.failures),
            _locked(r, now),
        )
        for r in records
    ]
    # Stored text may hold control characters (written by other tools): shown escaped.
    rows = [tuple(escape_control(c) for c in row) for row in rows]
    header = ("USER", "TYPE", "SERIAL", "PIN", "LAST LOGIN", "FAILURES", "LOCKED UNTIL")
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(header)]
    for row in (header, *rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _passkeys(store: object, name: str) -> list[AuthenticatorInfo]:
    """The user's passkeys, as listed (none where the store keeps none)."""
    if not keeps_passkeys(store):
        return []
    return [p.info() for p in cast("PasskeyStore", store).passkeys(name)]


def _shown_json(
    r: UserRecord, now: float, codes: int, role: str, passkeys: list[AuthenticatorInfo]
) -> dict[str, Any]:
    """``user show --json``: the list's fields, the token state, codes, role, passkeys."""
    shown = _as_json(r, now)
    key = "next_counter" if r.token_type.is_event else "drift_steps"
    shown.update({key: r.state.token.counter, "last_step": r.state.token.last_step})
    shown["recovery_codes"] = codes
    shown["role"] = role
    shown["tokens"] = len(r.tokens())
    shown["passkeys"] = [
        {"id": p.id, "name": p.name, "created": _iso(p.created), "last_used": _iso(p.last_used)}
        for p in passkeys
    ]
    return shown


def _cmd_show(args: argparse.Namespace) -> int:
    with store_of(args) as store:
        r = get_user(store, args.name)
        codes = store.count_recovery_codes(args.name)
        role = store.get_role(args.name)
        passkeys = _passkeys(store, args.name)
    s = r.state
    now = time.time()
    if args.json:
        print(json.dumps(_shown_json(r, now, codes, role, passkeys), indent=1))
        return 0
    counter = (
        f"next counter {s.token.counter}"
        if r.token_type.is_event
        else f"drift {s.token.counter:+d} steps"
    )
    lines = [
        ("user", r.username),
        ("role", role),
        ("type", _type(r) if r.has_token else "none (passkeys only)"),
        ("serial", r.serial or "-"),
        ("pin", r.pin.kind),
        ("token state", counter),
        ("last step", "-" if s.token.last_step is None else str(s.token.last_step)),
        ("failures", str(s.failures)),
        ("last login", when(s.last_auth, "never")),
        ("last address", s.last_ip or "-"),
        ("locked until", _locked(r, now)),
        ("sessions revoked before", when(s.revoked_before)),
        ("recovery codes", f"{codes} unused"),
        # The first token's fields are above; every token: otpgate token list.
        ("tokens", f"{len(r.tokens())} (otpgate token list {r.username})"),
        *(
            (f"passkey {p.id}", f"{p.name}, last used {when(p.last_used, 'never')}")
            for p in passkeys
        ),
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
    audit_admin(args, "remove", args.name)
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
    audit_admin(args, "set_pin", args.name, f"PIN {pin.kind}; sessions revoked")
    print(f"otpgate: PIN of {args.name} changed ({pin.kind})", file=sys.stderr)
    return 0


def _cmd_resync(args: argparse.Namespace) -> int:
    with store_of(args) as store:
        record = get_user(store, args.name)
        if not record.has_token:
            raise CommandError(f"{args.name} holds no OTP token (passkeys only): nothing to resync")
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
            audit_admin(args, "resync", args.name, "codes not consecutive", result="refused")
            raise CommandError(f"resync failed: {exc}") from None
        new_token: TokenState = match.state
        update_user(store, args.name, lambda s: replace(s, token=new_token, failures=0))
    what = "counter" if record.token_type.is_event else "drift"
    audit_admin(
        args, "resync", args.name, f"{what} {record.state.token.counter} -> {new_token.counter}"
    )
    if record.token_type.is_event:
        print(f"otpgate: {args.name} resynchronised; next counter {new_token.counter}")
    else:
        print(f"otpgate: {args.name} resynchronised; drift {new_token.counter:+d} steps")
    return 0


def _cmd_lock(args: argparse.Namespace) -> int:
    if (args.name is None) == (args.failures is None):
        raise CommandError("name the user to lock, or give --failures N (not both)")
    if args.failures is not None:
        if args.failures < 1:
            raise CommandError("--failures must be at least 1 (0 would lock every user)")
        return _lock_failed(args, args.failures)
    now = time.time()
    with store_of(args) as store:
        update_user(store, args.name, lambda s: admin_locked(s, now))
    audit_admin(args, "lock", args.name, "locked; sessions revoked")
    print(f"otpgate: locked {args.name}; their sessions are revoked", file=sys.stderr)
    return 0


def _lock_failed(args: argparse.Namespace, at_least: int) -> int:
    """Lock every user with ``at_least`` failures or more: those mod_authn_otp had locked
    (``OTPAuthMaxOTPFailure``), whose count otpgate reads but does not take for a lock."""
    now = time.time()
    done = []
    with store_of(args) as store:
        for record in store.list_users():
            if record.state.failures < at_least or record.state.locked_until == math.inf:
                continue
            update_user(store, record.username, lambda s: admin_locked(s, now))
            audit_admin(args, "lock", record.username, f"locked: {record.state.failures} failures")
            print(
                f"otpgate: locked {record.username} ({record.state.failures} failures)",
                file=sys.stderr,
            )
            done.append(record.username)
        url = store.url
    print(
        f"otpgate: {len(done)} user(s) with {at_least} or more failures newly locked in {url}",
        file=sys.stderr,
    )
    return 0


def _cmd_unlock(args: argparse.Namespace) -> int:
    with store_of(args) as store:
        update_user(store, args.name, lambda s: replace(s, locked_until=None, failures=0))
    audit_admin(args, "unlock", args.name)
    print(f"otpgate: unlocked {args.name}", file=sys.stderr)
    return 0


def _cmd_recovery(args: argparse.Namespace) -> int:
    codes = recovery.generate(args.n)
    with store_of(args) as store:
        get_user(store, args.name)
        store.set_recovery_codes(args.name, [recovery.digest(args.name, c) for c in codes])
    audit_admin(args, "recovery_codes", args.name, f"{len(codes)} new codes; earlier ones void")
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


def register(sub: Any) -> None:
    """Add ``user`` and its actions."""
    common = store_options()
    usub = command_group(sub, "user", "manage users and tokens")

    enrol.register(usub, common)

    p = usub.add_parser("list", parents=[common], help="list users")
    p.add_argument("--json", action="store_true", help="a JSON array, for scripts")
    p.set_defaults(handler=_cmd_list)

    p = usub.add_parser("show", parents=[common], help="show one user (no secrets)")
    p.add_argument("name", type=username)
    p.add_argument("--json", action="store_true", help="a JSON object, for scripts")
    p.set_defaults(handler=_cmd_show)

    for name, handler, text in (
        ("remove", _cmd_remove, "delete a user and revoke their open invitation links"),
        ("unlock", _cmd_unlock, "lift a lock and clear the failure count"),
    ):
        p = usub.add_parser(name, parents=[common], help=text)
        p.add_argument("name", type=username)
        p.set_defaults(handler=handler)

    _register_lock(usub, common)
    _register_credentials(usub, common)


def _register_lock(usub: Any, common: argparse.ArgumentParser) -> None:
    """``user lock``: one user, or every user with N failures."""
    p = usub.add_parser(
        "lock", parents=[common], help="refuse all logins until unlocked; revoke sessions"
    )
    p.add_argument("name", type=username, nargs="?", help="the user to lock")
    p.add_argument(
        "--failures",
        metavar="N",
        type=count_or_zero,
        help="instead, lock every user with N or more failures (after mod_authn_otp: "
        "those its OTPAuthMaxOTPFailure N had locked)",
    )
    p.set_defaults(handler=_cmd_lock)


def _register_credentials(usub: Any, common: argparse.ArgumentParser) -> None:
    """``user set-pin``, ``resync`` and ``recovery-codes``: what a user signs in with."""
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

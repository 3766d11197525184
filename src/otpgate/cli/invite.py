"""``otpgate user invite``: a single-use link with which a user enrols a token.

The link's last path part is a 256-bit random token; the store keeps only
its digest, so the link is printed once (the last line of the output, on
stdout, for scripts) and cannot be shown again.  ``--revoke NAME`` withdraws
every open invitation of that user.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import Final

from ..config import DEFAULT_CONFIG_PATH, Config, load_config
from ..invitations import parse_duration
from ..pin_policy import PinPolicy
from ..pins import PinHasher
from ..selfservice import USER_NAME, SelfService
from ..store import open_store
from ..store.base import Store
from ..tokens import parse_token_type
from . import CommandError

__all__ = ["register"]

_HELP: Final = """\
Print a single-use, expiring link with which NAME sets a PIN and enrols a new
token in the portal (shown as a QR code there; the secret never leaves the
server otherwise).  Without --reset NAME must not exist yet; with --reset NAME
must exist, and their old token and PIN keep working until the new token is
confirmed.  The link is the last line of the output.  The portal's address
comes from web.portal_url in the configuration (or --url).
"""


def _username(text: str) -> str:
    if not USER_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"user names are 1-128 characters of A-Z a-z 0-9 . _ @ + - , not {text!r}"
        )
    return text


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _config(args: argparse.Namespace) -> Config:
    path = args.config or os.environ.get("OTPGATE_CONFIG")
    if not path and os.path.exists(DEFAULT_CONFIG_PATH):
        path = DEFAULT_CONFIG_PATH
    # OTPGATE_STORE is this command's own variable (as for every command), not an override.
    env = {k: v for k, v in os.environ.items() if k != "OTPGATE_STORE"}
    return load_config(path or None, env=env)


@contextlib.contextmanager
def _store(args: argparse.Namespace, config: Config) -> Iterator[Store]:
    url = args.store or os.environ.get("OTPGATE_STORE") or config.store.url
    key_file = args.key_file or (config.store.key_file if url == config.store.url else None)
    store = open_store(url, key_file=key_file)
    try:
        yield store
    finally:
        store.close()


def _service(store: Store, config: Config) -> SelfService:
    return SelfService(
        store,
        policy=PinPolicy(min_length=config.web.pin_min_length),
        hasher=PinHasher(),
        issuer=config.web.title,
    )


def _cmd_invite(args: argparse.Namespace) -> int:
    config = _config(args)
    now = time.time()
    if args.revoke:
        with _store(args, config) as store:
            count = _service(store, config).revoke(args.name, now)
        print(f"otpgate: revoked {count} open invitation(s) of {args.name}", file=sys.stderr)
        return 0
    base = (args.url or config.web.portal_url).rstrip("/")
    if not base:
        raise CommandError("the portal's address is unknown: set web.portal_url or pass --url")
    try:
        token_type = parse_token_type(args.type)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    with _store(args, config) as store:
        try:
            token = _service(store, config).invite(
                args.name, token_type, expires_in=args.expires, reset=args.reset, now=now
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(now + args.expires))
    kind = "to replace the token of" if args.reset else "to enrol"
    print(f"otpgate: a single-use link {kind} {args.name}, valid until {until}:", file=sys.stderr)
    if base.startswith("/"):
        print(
            "otpgate: (a path on the protected site; prefix it with the site's address)",
            file=sys.stderr,
        )
    print(f"{base}/enrol/{token}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``invite`` to the ``user`` command group (made by the admin commands)."""
    user = sub.choices.get("user")
    if user is None:
        return
    groups = [a for a in user._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        return
    p = groups[0].add_parser(
        "invite",
        help="print a single-use link for a user to enrol a token in the portal",
        description=_HELP,
    )
    p.add_argument("name", type=_username, help="the user name")
    p.add_argument("--type", default="HOTP/T30", help="token type: HOTP/T30 (default), HOTP/E")
    p.add_argument(
        "--expires",
        type=_duration,
        default=7 * 86400.0,
        metavar="DURATION",
        help="how long the link works: 30m, 12h, 7d (default), up to 90d",
    )
    p.add_argument(
        "--reset", action="store_true", help="replace an existing user's token (lost phone)"
    )
    p.add_argument("--revoke", action="store_true", help="revoke NAME's open invitations instead")
    p.add_argument("--url", help="the portal's public address (default: web.portal_url)")
    p.add_argument("--store", help="store URL (default: $OTPGATE_STORE, then the config)")
    p.add_argument("--key-file", help="the key file of an SQL store")
    p.add_argument("--config", help="configuration file (default: $OTPGATE_CONFIG)")
    p.set_defaults(handler=_cmd_invite)

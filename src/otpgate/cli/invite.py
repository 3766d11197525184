"""``otpgate user invite``: a single-use link with which a user enrols a token.

The link's last path part is a 256-bit random token; the store keeps only
its digest, so the link is printed once (the last line of the output, on
stdout, for scripts) and cannot be shown again.  ``--revoke NAME`` withdraws
every open invitation of that user.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import time
from typing import Final

from ..accounts.pin_policy import PinPolicy
from ..accounts.selfservice import SelfService
from ..config.loader import Config
from ..otp.tokens import parse_token_type
from ..store.base import SelfServiceStore
from ..store.invitations import DEFAULT_EXPIRY, parse_duration
from . import CommandError, _secrets
from ._args import add_user_action, username
from ._common import config_of, store_of

__all__ = ["register"]

_HELP: Final = """\
Print a single-use, expiring link with which NAME sets a PIN and enrols a new
token in the portal (shown as a QR code there; the secret never leaves the
server otherwise).  Without --reset NAME must not exist yet; with --reset NAME
must exist, and their old token and PIN keep working until the new token is
confirmed.  The link is the last line of the output.  The portal's address
comes from web.portal_url in the configuration (or --url).
"""


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _service(store: SelfServiceStore, config: Config) -> SelfService:
    return SelfService(
        store,
        policy=PinPolicy(min_length=config.web.pin_min_length),
        # Looked up at call time: tests swap in a cheap hasher.
        hasher=_secrets.PIN_HASHER,
        issuer=config.web.title,
    )


def _link_base(portal_url: str, listen: str) -> str:
    """Where the enrolment pages are: ``portal_url``, else the address ``serve`` listens on.

    Raises:
        CommandError: neither names a host a link can use (listening on every address).
    """
    if portal_url:
        return portal_url.rstrip("/")
    host = listen.rpartition(":")[0].strip("[]")
    try:
        anywhere = ipaddress.ip_address(host).is_unspecified
    except ValueError:
        anywhere = not host
    if anywhere:
        raise CommandError("the portal's address is unknown: set web.portal_url or pass --url")
    return f"http://{listen}"


def _cmd_invite(args: argparse.Namespace) -> int:
    config = config_of(args)
    now = time.time()
    if args.revoke:
        with store_of(args) as store:
            count = _service(store, config).revoke(args.name, now)
        print(f"otpgate: revoked {count} open invitation(s) of {args.name}", file=sys.stderr)
        return 0
    base = _link_base(args.url or config.web.portal_url, config.web.listen)
    try:
        token_type = parse_token_type(args.type)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    with store_of(args) as store:
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
    elif not (args.url or config.web.portal_url):
        print(
            "otpgate: (the address the gate listens on; set web.portal_url or pass --url "
            "for the one people reach)",
            file=sys.stderr,
        )
    print(f"{base}/enrol/{token}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``invite`` to the ``user`` command group (made by the admin commands)."""
    p = add_user_action(
        sub,
        "invite",
        "print a single-use link for a user to enrol a token in the portal",
        _HELP,
    )
    if p is None:
        return
    p.add_argument("name", type=username, help="the user name")
    p.add_argument("--type", default="HOTP/T30", help="token type: HOTP/T30 (default), HOTP/E")
    p.add_argument(
        "--expires",
        type=_duration,
        default=DEFAULT_EXPIRY,
        metavar="DURATION",
        help="how long the link works: 30m, 24h (default), 7d, up to 90d",
    )
    p.add_argument(
        "--reset", action="store_true", help="replace an existing user's token (lost phone)"
    )
    p.add_argument("--revoke", action="store_true", help="revoke NAME's open invitations instead")
    p.add_argument(
        "--url",
        help="the portal's public address (default: web.portal_url, else the address "
        "'serve' listens on, web.listen)",
    )
    p.set_defaults(handler=_cmd_invite)

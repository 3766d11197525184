"""``otpgate directory``: the users of an LDAP or Active Directory (the ``[directory]`` table).

``find PREFIX`` lists users whose login name starts with PREFIX and whether
they have a token; ``enrol-group GROUP`` invites every member of a group
(nested groups followed) who has no token yet and prints the links as CSV
for a mail merge.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from typing import TYPE_CHECKING, Final

from ..directory.entries import DirectoryUser, escape_filter
from ..otp.tokens import parse_token_type
from ..store.invitations import DEFAULT_EXPIRY
from . import CommandError
from ._args import command_group, store_options
from ._common import config_of, store_of
from .invite import _duration, _link_base, _service

if TYPE_CHECKING:  # python-ldap is an extra: imported when a command runs
    from ..directory.client import Directory
    from ..directory.users import DirectoryUserStore

__all__ = ["register"]

_ENROL_HELP: Final = """\
Invite every member of GROUP (a DN, or the cn of a group under base_dn; nested
groups are followed) who may log in and has no token yet.  Prints one CSV line
per invitation (login,display_name,mail,link) for a mail merge; members who
already have a token, or are disabled, are counted on stderr.  Each link works
once and expires (--expires).
"""


def _group_dn(directory: Directory, group: str) -> str:
    """``group`` itself if it is a DN, else the DN of the one group with that cn.

    Raises:
        CommandError: no group, or several, have that cn.
    """
    if "=" in group:
        return group
    found = directory.pool.search(
        directory.settings.base_dn, f"(&(member=*)(cn={escape_filter(group)}))", ["1.1"]
    )
    if len(found) != 1:
        raise CommandError(f"{len(found)} groups named {group!r} under the base_dn: give its DN")
    return found[0][0]


def _cmd_enrol_group(args: argparse.Namespace) -> int:
    config = config_of(args)
    if not config.directory.enabled:
        raise CommandError("no [directory] url in the configuration")
    base = _link_base(args.url or config.web.portal_url, config.web.listen)
    try:
        token_type = parse_token_type(args.type)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    now = time.time()
    out = csv.writer(sys.stdout, lineterminator="\n")
    invited = skipped = 0
    with store_of(args) as store:
        directory = _users_of(store).directory
        members = directory.members(_group_dn(directory, args.group))
        service = _service(store, config)
        out.writerow(["login", "display_name", "mail", "link"])
        for user in members:
            if not user.may_log_in or _has_token(store, user):
                skipped += 1
                continue
            token = service.invite(
                user.login, token_type, expires_in=args.expires, reset=False, now=now
            )
            cells = [user.login, user.display, user.mail, f"{base}/enrol/{token}"]
            out.writerow([_cell(c) for c in cells])
            invited += 1
    print(
        f"otpgate: invited {invited} of {len(members)} members; {skipped} have a token "
        "already or may not log in",
        file=sys.stderr,
    )
    return 0


def _cmd_find(args: argparse.Namespace) -> int:
    config = config_of(args)
    if not config.directory.enabled:
        raise CommandError("no [directory] url in the configuration")
    with store_of(args) as store:
        directory = _users_of(store).directory
        users = directory.search(args.prefix, limit=args.limit)
        for user in users:
            token = "token" if _has_token(store, user) else "no token"
            print(f"{user.login}\t{user.display}\t{user.mail}\t{token}")
    print(f"otpgate: {len(users)} user(s) found", file=sys.stderr)
    return 0


def _cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: a leading ``= + - @`` (a formula) is quoted.

    Display names come from the directory, where users may set their own.
    """
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _users_of(store: object) -> DirectoryUserStore:
    """The directory's view among the wrappers ``store_of`` put around the store."""
    from ..directory.users import DirectoryUserStore

    while not isinstance(store, DirectoryUserStore):
        store = getattr(store, "inner", None)
        if store is None:
            raise CommandError("no [directory] url in the configuration")
    return store


def _has_token(store: object, user: DirectoryUser) -> bool:
    """Whether the store keeps a token under the user's stable id (enabled or not)."""
    return _users_of(store).inner.get(user.id) is not None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = command_group(sub, "directory", "users from LDAP or Active Directory ([directory])")
    p = group.add_parser(
        "enrol-group",
        parents=[store_options()],
        help="invite every member of a group who has no token yet (CSV of links)",
        description=_ENROL_HELP,
    )
    p.add_argument("group", help="the group's DN, or its cn under base_dn")
    p.add_argument("--type", default="HOTP/T30", help="token type: HOTP/T30 (default), HOTP/E")
    p.add_argument(
        "--expires",
        type=_duration,
        default=DEFAULT_EXPIRY,
        metavar="DURATION",
        help="how long the links work: 30m, 24h (default), 7d, up to 90d",
    )
    p.add_argument("--url", help="the portal's public address (default: web.portal_url)")
    p.set_defaults(handler=_cmd_enrol_group)
    f = group.add_parser(
        "find",
        parents=[store_options()],
        help="list directory users whose login name starts with PREFIX",
        description="Lists login name, display name, mail and whether each has a token.",
    )
    f.add_argument("prefix", nargs="?", default="", help="the start of the login name")
    f.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    f.set_defaults(handler=_cmd_find)

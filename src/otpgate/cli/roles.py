"""``otpgate user set-role NAME admin|user``, and the audit line of every admin command.

The first administrator of the ``/admin`` pages is made here, at the
terminal.  Every command that changes a user (add, remove, set-pin, resync,
lock, unlock, recovery-codes, set-role) records who ran it in the audit log
the configuration names (``auth.audit_log``), as the admin pages do:
``"kind": "admin"``, ``"via": "cli"``, the operating-system user as the
actor, and what changed, never a secret.  Without a configured audit log
file there is nowhere to write, and the command says nothing about it.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time

from ..audit.writer import AuditLog
from ..errors import UnknownUser
from ..store.query import ROLES, check_role
from . import CommandError
from ._args import add_user_action, username
from ._common import config_of, store_of

__all__ = ["record", "register"]


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def record(
    args: argparse.Namespace,
    action: str,
    user: str | None,
    detail: str | None = None,
    result: str = "ok",
) -> None:
    """Write the admin audit line for a command, if the configuration names a log file."""
    config = config_of(args)
    path = config.auth.audit_log if config is not None else None
    if not path or path == "-":
        return  # stdout is the command's own output
    try:
        audit = AuditLog(path, config.auth.audit_mode)
    except OSError as exc:
        print(
            f"otpgate: warning: cannot write the audit log {path}: {exc.strerror}", file=sys.stderr
        )
        return
    try:
        audit.admin(
            time.time(),
            actor=_actor(),
            via="cli",
            action=action,
            user=user,
            result=result,
            detail=detail,
        )
    finally:
        audit.close()


def _cmd_set_role(args: argparse.Namespace) -> int:
    role = check_role(args.role)
    with store_of(args) as store:
        old = store.get_role(args.name)
        try:
            store.set_role(args.name, role)
        except UnknownUser:
            raise CommandError(f"no user {args.name!r} in {store.url}") from None
    record(args, "set_role", args.name, f"{old} -> {role}")
    print(
        f"otpgate: {args.name} is now {'an administrator' if role == 'admin' else 'a user'}",
        file=sys.stderr,
    )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``set-role`` to the ``user`` command group."""
    p = add_user_action(
        sub,
        "set-role",
        "make a user an administrator of the /admin pages, or a user again",
        "Administrators manage users in the browser under /admin (sign in with "
        "PIN and code as usual). The first administrator is made here.",
    )
    if p is None:
        return
    p.add_argument("name", type=username)
    p.add_argument("role", choices=ROLES)
    p.set_defaults(handler=_cmd_set_role)

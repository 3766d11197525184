"""``otpgate check``: one login decision, password on stdin, for pam_exec and scripts.

Exit 0 accepts, 1 refuses (or bad input); a store that cannot be read or
written is an error (1, with a message) rather than a silent refusal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .._limits import MAX_USER
from ..login.pins import HtpasswdChecker, PinChecker
from ..store import open_store
from . import CommandError
from ._args import count_or_zero, seconds, store_options
from ._common import check_exists, config_of, key_file_of, store_url
from ._secrets import MAX_STDIN

if TYPE_CHECKING:
    from ..config.loader import Config
    from ..login.authenticator import AuthSettings

__all__ = ["register"]


def _read_password() -> str:
    data = sys.stdin.buffer.read(MAX_STDIN + 2)
    if len(data) > MAX_STDIN + 1:
        raise CommandError("the password on stdin is too long")
    # pam_exec's expose_authtok writes the password with its terminating NUL.
    if data.endswith(b"\0"):
        data = data[:-1]
    if data.endswith(b"\n"):
        data = data[:-1]
    if data.endswith(b"\r"):
        data = data[:-1]
    return data.decode("utf-8", "surrogateescape")


def _settings(args: argparse.Namespace, config: Config) -> AuthSettings:
    """The config file's login settings with this command's flags over them."""
    settings = config.auth_settings()
    # Lingering stays off unless asked for here: each check is a new process,
    # and the next one would accept the just-used code again from the store.
    linger = 0.0 if args.linger is None else args.linger
    return replace(
        settings,
        max_linger=linger,
        max_idle=None,
        max_otp_failures=settings.max_otp_failures
        if args.max_failures is None
        else args.max_failures,
        failure_unlock_after=settings.failure_unlock_after
        if args.unlock_after is None
        else args.unlock_after,
    )


def _cmd_check(args: argparse.Namespace) -> int:
    from ..audit.writer import AuditLog
    from ..login.authenticator import Authenticator

    user = args.user or os.environ.get("PAM_USER")
    if not user:
        raise CommandError("name the user (or run from pam_exec, which sets PAM_USER)")
    ip = args.ip or os.environ.get("PAM_RHOST") or "local"
    config = config_of(args)
    settings = _settings(args, config)
    htpasswd = args.htpasswd
    audit_target = args.audit
    if htpasswd is None and config.auth.pin_provider:
        htpasswd = config.auth.pin_provider.removeprefix("htpasswd:")
    if audit_target is None:
        audit_target = config.auth.audit_log
    checker: PinChecker | None = HtpasswdChecker(htpasswd) if htpasswd else None
    password = _read_password()
    url = store_url(args)
    check_exists(url)
    store = open_store(url, key_file=key_file_of(args))
    try:
        audit = AuditLog(audit_target, config.auth.audit_mode) if audit_target else None
    except BaseException:
        store.close()
        raise
    auth = Authenticator(store, settings, pin_checker=checker, audit=audit)
    try:
        decision = auth.login(auth.attempt(user, password, ip))
    finally:
        auth.close()
    if args.verbose:
        print(
            f"otpgate: {'accepted' if decision.ok else 'rejected'} ({decision.reason})",
            file=sys.stderr,
        )
    if args.json:
        shown: dict[str, object] = {
            "user": user,
            "result": "accept" if decision.ok else "reject",
            "reason": str(decision.reason),
        }
        if decision.retry_after is not None and not decision.ok:
            shown["retry_after"] = decision.retry_after
        print(json.dumps(shown))
    if decision.reason == "store_error":
        raise CommandError("the store could not be read or written; see the log")
    return 0 if decision.ok else 1


def _check_user(text: str) -> str:
    # Any name a client might send is decided (and refused) by the Authenticator.
    if not text or len(text) > MAX_USER:
        raise argparse.ArgumentTypeError("the user name is empty or too long")
    return text


def register(sub: Any) -> None:
    """Add ``check``."""
    p = sub.add_parser(
        "check",
        parents=[store_options()],
        help="run one login decision; password on stdin; exit 0 accept, 1 reject",
    )
    p.add_argument("user", nargs="?", type=_check_user)
    p.add_argument("--ip", help="client address (default $PAM_RHOST or 'local')")
    p.add_argument(
        "--linger",
        type=seconds,
        default=None,
        help="accept a just-used password again for this long (default 0: each "
        "check process would otherwise let a used code through again)",
    )
    p.add_argument(
        "--max-failures",
        type=count_or_zero,
        default=None,
        help="lock after N consecutive failures (default: the config file's, else 0 = off)",
    )
    p.add_argument(
        "--unlock-after",
        type=seconds,
        default=None,
        help="seconds until such a lock lifts itself (default: the config file's, else 900)",
    )
    p.add_argument("--htpasswd", metavar="FILE", help="htpasswd file for delegated PINs")
    p.add_argument("--audit", metavar="FILE", help="append a JSON audit line ('-' = stdout)")
    p.add_argument("-v", "--verbose", action="store_true", help="print the decision on stderr")
    p.add_argument(
        "--json",
        action="store_true",
        help='print the decision as JSON on stdout: {"user", "result", "reason", "retry_after"}',
    )
    p.set_defaults(handler=_cmd_check)

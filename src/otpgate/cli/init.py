"""``otpgate init``: create a store (and, for SQL stores, the key file that encrypts it);
with ``--config`` naming a new file, a starter configuration and session secret first."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import OTPGateError
from ..store import parse_store_url, redact
from . import CommandError
from ._common import (
    SQL_KINDS,
    config_of,
    create_users_file,
    key_file_of,
    opened,
    relative_hint,
    store_kind,
    store_options,
    store_url,
)

__all__ = ["register"]


def _starter(args: argparse.Namespace) -> None:
    """Write the starter config named by ``--config`` (and its session secret)."""
    from ..store import default_key_file
    from .starter import write_starter

    path = Path(args.config).absolute()
    if not path.parent.is_dir():
        raise CommandError(f"--config: no directory {str(path.parent)!r}")
    url = args.store or f"sqlite:///{path.parent / 'otpgate.db'}"
    parse_store_url(url)
    key_file = args.key_file or os.environ.get("OTPGATE_STORE_KEY_FILE") or default_key_file(url)
    if key_file is None and store_kind(url) == "postgresql":
        key_file = str(path.parent / "otpgate.key")
    if key_file is not None:
        key_file = os.path.abspath(key_file)
    written, secret_written, secret = write_starter(path, url, key_file)
    if written:
        print(
            f"otpgate: wrote {path} (mode 0600); set portal_url and trusted_proxies for "
            f"your proxy, then run 'otpgate config check --config {path}'",
            file=sys.stderr,
        )
    if secret_written:
        print(f"otpgate: created session secret {secret} (mode 0600)", file=sys.stderr)
    else:
        print(f"otpgate: session secret {secret} exists; keeping it", file=sys.stderr)


def _missing_secret(args: argparse.Namespace) -> None:
    """The session secret an existing configuration names, made if it is missing: a
    configuration written by hand then needs no second tool before ``config check``."""
    from ..config import new_secret
    from .starter import write_new_private

    secret = config_of(args).web.session_secret_file
    if secret and write_new_private(Path(secret).absolute(), new_secret() + "\n"):
        print(f"otpgate: created session secret {secret} (mode 0600)", file=sys.stderr)


def _cmd_init(args: argparse.Namespace) -> int:
    if args.config and not os.path.exists(args.config):
        _starter(args)
    elif args.config:
        _missing_secret(args)
    url = store_url(args)
    try:
        _init_store(args, url)
    except (OTPGateError, OSError) as exc:
        hint = relative_hint(url)
        if hint:
            # "cannot create key file var/lib/x.db.key" alone hides that the path is relative.
            raise CommandError(f"{exc}{hint}") from None
        raise
    print(f"otpgate: store {redact(url)} is ready", file=sys.stderr)
    return 0


def _init_store(args: argparse.Namespace, url: str) -> None:
    from ..crypto import create_key_file
    from ..store import default_key_file

    kind, target, _ = parse_store_url(url)
    if kind in SQL_KINDS:
        key_file = key_file_of(args) or default_key_file(url)
        if key_file is None:
            raise CommandError(
                "a PostgreSQL store needs a key file for its OTP keys: give --key-file PATH"
            )
        if os.path.exists(key_file):
            print(f"otpgate: key file {key_file} exists; keeping it", file=sys.stderr)
        else:
            create_key_file(key_file)
            print(f"otpgate: created key file {key_file} (mode 0600); back it up", file=sys.stderr)
        with opened(url, key_file, must_exist=False) as store:
            store.ping()
    elif kind == "users-file":
        if not create_users_file(target):
            print(f"otpgate: users file {target} exists; keeping it", file=sys.stderr)
        with opened(url, None, must_exist=False) as store:
            store.ping()


def register(sub: Any) -> None:
    """Add ``init``."""
    p = sub.add_parser(
        "init",
        parents=[store_options()],
        help="create a store and its key file (and with --config FILE, a starter config)",
        description="Create the store and, for SQL stores, the key file that encrypts it "
        "(mode 0600).  With --config FILE naming a file that does not exist yet, first "
        "write a commented starter configuration there (mode 0600) with a new session "
        "secret next to it (session.secret, mode 0600), ready for 'otpgate serve'; the "
        "store defaults to otpgate.db in the same directory (--store names another).  "
        "With --config naming an existing file, its store, key file and session secret "
        "file are made if missing.  Existing files are never overwritten.",
    )
    p.set_defaults(handler=_cmd_init)

"""``otpgate init``: create a store (and, for SQL stores, the key file that encrypts it)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..store import parse_store_url
from . import CommandError
from ._common import (
    SQL_KINDS,
    create_users_file,
    key_file_of,
    opened,
    store_options,
    store_url,
)

__all__ = ["register"]


def _cmd_init(args: argparse.Namespace) -> int:
    from ..crypto import create_key_file
    from ..store import default_key_file

    url = store_url(args)
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
        with opened(url, key_file) as store:
            store.ping()
    elif kind == "users-file":
        if not create_users_file(target):
            print(f"otpgate: users file {target} exists; keeping it", file=sys.stderr)
        with opened(url, None) as store:
            store.ping()
    print(f"otpgate: store {url} is ready", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    """Add ``init``."""
    p = sub.add_parser("init", parents=[store_options()], help="create a store and its key file")
    p.set_defaults(handler=_cmd_init)

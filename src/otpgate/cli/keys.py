"""``otpgate key rotate``: a new key for the key file, every token re-encrypted with it.

The key file encrypts the OTP keys in SQL stores.  Rotation appends a key
with the next id and re-encrypts every row with it; the old keys stay in the
file (running gates decrypt by the id in each row and re-read the file when
they meet a new id) until ``--drop-old`` removes them.  Logins write only the
login state, never a token key, so a running gate cannot write a row with an
old key meanwhile; only another administrator's ``user add`` at the same
moment could.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..store import default_key_file, redact, rotate_keys
from . import CommandError
from ._args import command_group, store_options
from ._common import check_exists, key_file_of, store_kind, store_url

__all__ = ["register"]


def _cmd_rotate(args: argparse.Namespace) -> int:
    from ..store.crypto import drop_old_keys

    url = store_url(args)
    if store_kind(url) not in ("sqlite", "postgresql"):
        raise CommandError(
            f"store {redact(url)} keeps no encrypted keys; there is no key to rotate"
        )
    check_exists(url)
    key_file = key_file_of(args) or default_key_file(url)
    if key_file is None:
        raise CommandError("name the key file to rotate with --key-file (or key_file in --config)")
    new_id, rewritten = rotate_keys(url, key_file=key_file)
    print(
        f"otpgate: key {new_id} added to {key_file}; {rewritten} users re-encrypted with it",
        file=sys.stderr,
    )
    if args.drop_old:
        dropped = drop_old_keys(key_file)
        shown = ", ".join(str(i) for i in dropped) or "none"
        print(f"otpgate: old keys removed from {key_file}: {shown}", file=sys.stderr)
    else:
        print(
            "otpgate: the old keys stay in the file; back it up, then run again with "
            "--drop-old (or keep them: they do no harm)",
            file=sys.stderr,
        )
    return 0


def register(sub: Any) -> None:
    """Add ``key rotate``."""
    ksub = command_group(sub, "key", "manage the key file that encrypts OTP keys")
    p = ksub.add_parser(
        "rotate",
        parents=[store_options()],
        help="add a new key and re-encrypt every token with it",
        description="Append a new key to the store's key file and re-encrypt every OTP key "
        "with it (SQLite and PostgreSQL stores).  Running gates follow without a restart.  "
        "Back up the key file before and after.",
    )
    p.add_argument(
        "--drop-old",
        action="store_true",
        help="then remove every key but the new one from the file",
    )
    p.set_defaults(handler=_cmd_rotate)

"""``otpgate import`` and ``otpgate export``: copy every user from one store to another.

PINs are converted where the destination needs it (plain -> hashed for SQL
stores); what cannot be kept there is skipped with a message, and the exit
code says so.  Recovery codes are not copied (they are hashed per store).
Passkeys are copied between stores that keep them; the users file cannot, so
a user's passkeys are then reported as skipped (the user is copied).

A new destination is made as ``otpgate init`` would (an SQLite store with its
key file, a users file), so that the one command is enough.  mod_authn_otp
kept a user with ``OTPAuthMaxOTPFailure`` failures out until the file was
edited; otpgate's own lock is a time, so such users of a users file are
imported locked (``--lock-failures``, by default the configuration's
``max_otp_failures``): nobody the module had locked gets in by the move.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import IO, TYPE_CHECKING, Any, cast

from ..errors import StoreError
from ..login.user_state import admin_locked
from ..store import Store, UserStore, default_key_file, open_store, parse_store_url, redact
from ..store.passkeys import keeps_passkeys
from ..store.records import Pin, UserRecord
from . import CommandError, _secrets
from ._args import count_or_zero, store_options
from ._common import (
    CONFIG_HELP,
    SQL_KINDS,
    config_of,
    create_users_file,
    key_file_of,
    opened,
    store_url,
)

if TYPE_CHECKING:
    from ..store.passkeys import PasskeyStore

__all__ = ["register"]


class _Progress:
    """A one-line progress bar on stderr, when stderr is a terminal."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self.total = total
        self.stream = stream
        self.shown = -1
        # A log or a pipe would keep every redrawn bar: draw only on a terminal.
        self.live = stream.isatty()

    def update(self, done: int) -> None:
        pct = 100 if self.total == 0 else done * 100 // self.total
        if not self.live or pct == self.shown:
            return
        self.shown = pct
        filled = pct * 30 // 100
        bar = "#" * filled + "-" * (30 - filled)
        self.stream.write(f"\r[{bar}] {done}/{self.total} users")
        self.stream.flush()

    def done(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()


def _convert(record: UserRecord, dst_kind: str) -> UserRecord:
    """The record as the destination can keep it.

    Raises:
        CommandError: this user cannot be kept there.
    """
    pin = record.pin
    if dst_kind in SQL_KINDS and pin.kind == "plain":
        if record.token_type.kind == "MOTP":
            raise CommandError(
                f"{record.username}: a Mobile-OTP PIN must stay readable; SQL stores keep "
                "only hashed PINs (keep this user in a users file)"
            )
        # Looked up at call time: tests swap in a cheap hasher.
        pin = Pin("hash", _secrets.PIN_HASHER.hash(pin.value))
    if dst_kind == "users-file" and not record.has_token:
        raise CommandError(
            f"{record.username}: holds no OTP token (passkeys only); a users file keeps "
            "exactly one token per user and no passkeys (keep this user in an SQL store)"
        )
    if dst_kind == "users-file" and pin.kind == "hash":
        raise CommandError(
            f"{record.username}: a hashed PIN cannot be written to a users file (it holds "
            "plain PINs); set a new PIN there with 'otpgate user set-pin'"
        )
    return replace(record, pin=pin, version=None)


@dataclass(frozen=True, slots=True)
class _Copy:
    """What one import or export does."""

    src_url: str
    src_key: str | None
    dst_url: str
    dst_key: str | None
    replace_existing: bool
    lock_at: int = 0  # users with this many failures or more arrive locked (0: none)


def _destination_key(dst_url: str, dst_key: str | None) -> tuple[str | None, bool]:
    """The destination's key file, and whether it must be made (a new SQLite store).

    Raises:
        CommandError: an existing SQL store whose key file is missing: a new key
            could not read its users' keys, and would mix two keys in one store.
    """
    kind, target, _ = parse_store_url(dst_url)
    if kind not in SQL_KINDS:
        return dst_key, False
    key_file = dst_key or default_key_file(dst_url)
    if key_file is None:
        raise CommandError(
            "a PostgreSQL store needs a key file for its OTP keys: give --dst-key-file FILE"
        )
    if os.path.exists(key_file):
        return key_file, False
    if kind == "sqlite" and not os.path.exists(target):
        return key_file, True
    raise CommandError(
        f"key file {key_file} does not exist: make the store with 'otpgate init --store "
        f"{redact(dst_url)} --key-file {key_file}' first, or name its key file with --dst-key-file"
    )


@contextlib.contextmanager
def _destination(dst_url: str, dst_key: str | None) -> Iterator[Store]:
    """The destination store, made first if it is new (a key file made for it is
    removed again if the store then cannot be opened: nothing half made is left)."""
    from ..store.crypto import create_key_file

    kind, target, _ = parse_store_url(dst_url)
    key_file, new_key = _destination_key(dst_url, dst_key)
    if kind == "users-file" and create_users_file(target):
        print(f"otpgate: created users file {target} (mode 0600)", file=sys.stderr)
    if key_file is not None and new_key:
        create_key_file(key_file)
    try:
        store = open_store(dst_url, key_file=key_file)
    except BaseException:
        if key_file is not None and new_key:
            with contextlib.suppress(OSError):
                os.unlink(key_file)
        raise
    if new_key:
        print(f"otpgate: created key file {key_file} (mode 0600); back it up", file=sys.stderr)
    try:
        yield store
    finally:
        store.close()


def _arrival(record: UserRecord, job: _Copy, dst_kind: str, now: float) -> UserRecord:
    """The record as the destination keeps it: PIN converted, and locked if the source
    had as many failures as locked it there."""
    converted = _convert(record, dst_kind)
    if job.lock_at and record.state.failures >= job.lock_at:
        converted = replace(converted, state=admin_locked(converted.state, now))
    return converted


def _say_locked(record: UserRecord, job: _Copy) -> None:
    sys.stderr.write(
        f"otpgate: {record.username} has {record.state.failures} failures "
        f"(--lock-failures {job.lock_at}): imported locked; 'otpgate user unlock "
        f"{record.username}' lets them in\n"
    )


def _copy(job: _Copy) -> int:
    if job.src_url == job.dst_url:
        raise CommandError("the source and the destination are the same store")
    dst_kind = parse_store_url(job.dst_url)[0]
    problems = copied = 0
    now = time.time()
    with contextlib.ExitStack() as stack:
        src = stack.enter_context(opened(job.src_url, job.src_key))
        records = list(src.list_users())
        # Only now that the source is readable: nothing is made otherwise.
        dst = stack.enter_context(_destination(job.dst_url, job.dst_key))
        bar = _Progress(len(records), sys.stderr)
        bar.update(0)
        for i, record in enumerate(records, 1):
            try:
                arrived = _arrival(record, job, dst_kind, now)
                _put(dst, arrived, job.replace_existing)
                copied += 1
                problems += _copy_passkeys(src, dst, record.username, bar.live)
                if arrived.state.locked_until != record.state.locked_until:
                    _say_locked(record, job)
            except (CommandError, StoreError) as exc:
                problems += 1
                sys.stderr.write(f"{chr(13) if bar.live else ''}otpgate: skipped {exc}\n")
            bar.update(i)
        bar.done()
    print(
        f"otpgate: copied {copied} of {len(records)} users from {redact(job.src_url)} "
        f"to {redact(job.dst_url)}"
        + (f"; {problems} skipped" if problems else "")
        + " (recovery codes are not copied)",
        file=sys.stderr,
    )
    return 1 if problems else 0


def _copy_passkeys(src: object, dst: object, user: str, live: bool) -> int:
    """Copy the user's passkeys the destination has not (1: some could not be kept)."""
    if not keeps_passkeys(src):
        return 0
    passkeys = cast("PasskeyStore", src).passkeys(user)
    if not passkeys:
        return 0
    if not keeps_passkeys(dst):
        why = f"{len(passkeys)} passkey(s) of {user}: the users file cannot keep passkeys"
        sys.stderr.write(f"{chr(13) if live else ''}otpgate: skipped {why}\n")
        return 1
    into = cast("PasskeyStore", dst)
    for passkey in passkeys:
        if into.find_passkey(passkey.credential_id) is None:
            into.add_passkey(passkey)
    return 0


def _put(dst: UserStore, record: UserRecord, replace_existing: bool) -> None:
    if dst.get(record.username) is None:
        dst.add(record)
    elif replace_existing:
        dst.replace(record)
    else:
        raise CommandError(f"{record.username}: already in {dst.url} (--replace overwrites)")


def _cmd_import(args: argparse.Namespace) -> int:
    config = config_of(args)
    if not args.into and config.path is None and not os.environ.get("OTPGATE_STORE"):
        # Not a store made up in the current directory: say where.
        raise CommandError("name the destination: --into DST_URL, or --config FILE with its store")
    into = args.into or config.store.url
    dst_key = args.dst_key_file
    if dst_key is None and into == config.store.url:
        dst_key = config.store.key_file
    if args.lock_failures is not None:
        lock_at = args.lock_failures
    elif parse_store_url(args.src)[0] == "users-file":
        # The module's file: a count that high was its lock.  In otpgate's own stores
        # such a user already carries otpgate's lock (a time), which stays as it is.
        lock_at = config.auth.max_otp_failures
    else:
        lock_at = 0
    return _copy(_Copy(args.src, args.src_key_file, into, dst_key, args.replace, lock_at))


def _cmd_export(args: argparse.Namespace) -> int:
    job = _Copy(store_url(args), key_file_of(args), args.to, args.dst_key_file, args.replace)
    return _copy(job)


def register(sub: Any) -> None:
    """Add ``import`` and ``export``."""
    p = sub.add_parser(
        "import",
        help="copy all users from SRC_URL into another store",
        description="Copy every user of SRC_URL into the store --into names, else the "
        "configuration's store.  PINs are hashed for SQL stores; a new SQLite store is "
        "made with its key file, a new users file mode 0600.  Users of a users file with "
        "as many failures as the configuration's max_otp_failures (which "
        "OTPAuthMaxOTPFailure sets), or --lock-failures N, arrive locked, as "
        "mod_authn_otp had them.  "
        "Recovery codes are not copied.",
    )
    p.add_argument(
        "src",
        metavar="SRC_URL",
        help="the store to copy from: a store URL, or the path of a mod_authn_otp users file",
    )
    p.add_argument(
        "--into",
        metavar="DST_URL",
        help="the store to copy into (default: the configuration's store)",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help=CONFIG_HELP,
    )
    p.add_argument(
        "--src-key-file",
        metavar="FILE",
        help="the key file of an SQL source (default: <database>.key)",
    )
    p.add_argument(
        "--lock-failures",
        metavar="N",
        type=count_or_zero,
        help="users with N or more failures in the source arrive locked, as "
        "OTPAuthMaxOTPFailure N had them (default: from a users file, the "
        "configuration's max_otp_failures; 0: none)",
    )
    _destination_options(p, "the configuration's for its store, else <database>.key")
    p.set_defaults(handler=_cmd_import)

    p = sub.add_parser(
        "export", parents=[store_options()], help="copy all users of the store to DST_URL"
    )
    p.add_argument("--to", required=True, metavar="DST_URL", help="the store to copy into")
    _destination_options(p, "<database>.key")
    p.set_defaults(handler=_cmd_export)


def _destination_options(p: argparse.ArgumentParser, default_key: str) -> None:
    p.add_argument(
        "--dst-key-file",
        metavar="FILE",
        help=f"the destination's key file (default: {default_key}; made for a new SQLite store)",
    )
    p.add_argument("--replace", action="store_true", help="overwrite users that exist")

"""``otpgate import`` and ``otpgate export``: copy every user from one store to another.

PINs are converted where the destination needs it (plain -> hashed for SQL
stores); what cannot be kept there is skipped with a message, and the exit
code says so.  Recovery codes are not copied (they are hashed per store).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from dataclasses import replace
from typing import IO, Any

from ..errors import StoreError
from ..models import Pin, UserRecord
from ..store import parse_store_url, redact
from . import CommandError, _secrets
from ._common import (
    SQL_KINDS,
    create_users_file,
    key_file_of,
    opened,
    store_options,
    store_url,
)

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
    elif dst_kind == "users-file" and pin.kind == "hash":
        raise CommandError(
            f"{record.username}: a hashed PIN cannot be written to a users file (it holds "
            "plain PINs); set a new PIN there with 'otpgate user set-pin'"
        )
    return replace(record, pin=pin, version=None)


def _copy(
    src_url: str, src_key: str | None, dst_url: str, dst_key: str | None, replace_existing: bool
) -> int:
    if src_url == dst_url:
        raise CommandError("the source and the destination are the same store")
    dst_kind, dst_target, _ = parse_store_url(dst_url)
    problems = 0
    copied = 0
    with contextlib.ExitStack() as stack:
        src = stack.enter_context(opened(src_url, src_key))
        records = list(src.list_users())
        # Only now that the source is readable: no empty file is left behind otherwise.
        if dst_kind == "users-file" and create_users_file(dst_target):
            print(f"otpgate: created users file {dst_target} (mode 0600)", file=sys.stderr)
        dst = stack.enter_context(opened(dst_url, dst_key, must_exist=False))
        bar = _Progress(len(records), sys.stderr)
        bar.update(0)
        for i, record in enumerate(records, 1):
            try:
                converted = _convert(record, dst_kind)
                if dst.get(record.username) is not None:
                    if not replace_existing:
                        raise CommandError(
                            f"{record.username}: already in {dst.url} (--replace overwrites)"
                        )
                    dst.replace(converted)
                else:
                    dst.add(converted)
                copied += 1
            except (CommandError, StoreError) as exc:
                problems += 1
                sys.stderr.write(f"{chr(13) if bar.live else ''}otpgate: skipped {exc}\n")
            bar.update(i)
        bar.done()
    print(
        f"otpgate: copied {copied} of {len(records)} users from {redact(src_url)} "
        f"to {redact(dst_url)}"
        + (f"; {problems} skipped" if problems else "")
        + " (recovery codes are not copied)",
        file=sys.stderr,
    )
    return 1 if problems else 0


def _cmd_import(args: argparse.Namespace) -> int:
    return _copy(args.src, args.src_key_file, args.into, args.dst_key_file, args.replace)


def _cmd_export(args: argparse.Namespace) -> int:
    return _copy(store_url(args), key_file_of(args), args.to, args.dst_key_file, args.replace)


def register(sub: Any) -> None:
    """Add ``import`` and ``export``."""
    p = sub.add_parser("import", help="copy all users from SRC_URL into another store")
    p.add_argument("src", metavar="SRC_URL")
    p.add_argument("--into", required=True, metavar="DST_URL")
    p.add_argument("--src-key-file", metavar="FILE")
    _destination_options(p)
    p.set_defaults(handler=_cmd_import)

    p = sub.add_parser(
        "export", parents=[store_options()], help="copy all users of the store to DST_URL"
    )
    p.add_argument("--to", required=True, metavar="DST_URL")
    _destination_options(p)
    p.set_defaults(handler=_cmd_export)


def _destination_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dst-key-file", metavar="FILE")
    p.add_argument("--replace", action="store_true", help="overwrite users that exist")

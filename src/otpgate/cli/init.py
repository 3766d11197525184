"""``otpgate init``: create a store (and, for SQL stores, the key file that encrypts it);
with ``--config`` (or ``$OTPGATE_CONFIG``) naming a new file, a starter configuration
and session secret first.  All or nothing: when a step fails (a PostgreSQL
database that does not exist), the files this run created are removed again."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import OTPGateError
from ..store import parse_store_url, redact
from . import CommandError
from ._args import store_options
from ._common import (
    SQL_KINDS,
    config_of,
    config_path,
    create_users_file,
    key_file_of,
    opened,
    relative_hint,
    store_kind,
    store_url,
)

__all__ = ["register"]


def _starter(args: argparse.Namespace, path: Path, made: list[Path]) -> list[str]:
    """Write the starter config at ``path`` (and its session secret); what to tell."""
    from ..store import default_key_file
    from .starter import LISTEN, write_starter

    path = path.absolute()
    if not path.parent.is_dir():
        raise CommandError(f"--config: no directory {str(path.parent)!r}")
    url = args.store or f"sqlite:///{path.parent / 'otpgate.db'}"
    parse_store_url(url)
    key_file = args.key_file or os.environ.get("OTPGATE_STORE_KEY_FILE") or default_key_file(url)
    if key_file is None and store_kind(url) == "postgresql":
        key_file = str(path.parent / "otpgate.key")
    if key_file is not None:
        key_file = os.path.abspath(key_file)
        # The store below gets the key file the configuration names.
        args.key_file = key_file
    secret = write_starter(path, url, key_file, made)
    notes = []
    if path in made:
        notes += [
            f"wrote {path} (mode 0600); check it with 'otpgate config check --config {path}'",
            f"as written, 'otpgate serve --config {path}' serves the pages at http://{LISTEN}/ "
            "(behind a proxy: set portal_url and trusted_proxies, docs/gate.md)",
        ]
    if secret in made:
        notes.append(f"created session secret {secret} (mode 0600)")
    else:
        notes.append(f"session secret {secret} exists; keeping it")
    return notes


def _missing_secret(args: argparse.Namespace, made: list[Path]) -> list[str]:
    """The session secret an existing configuration names, made if it is missing: a
    configuration written by hand then needs no second tool before ``config check``."""
    from ..config.loader import new_secret
    from .starter import write_new_private

    secret = config_of(args).web.session_secret_file
    if not secret:
        return []
    where = Path(secret).absolute()
    if not write_new_private(where, new_secret() + "\n"):
        return []
    made.append(where)
    return [f"created session secret {secret} (mode 0600)"]


def _cmd_init(args: argparse.Namespace) -> int:
    made: list[Path] = []  # what this run created: removed again if a later step fails
    try:
        notes = _init(args, made)
    except BaseException:
        for path in reversed(made):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        raise
    for note in notes:
        print(f"otpgate: {note}", file=sys.stderr)
    return 0


def _init(args: argparse.Namespace, made: list[Path]) -> list[str]:
    """Create what is missing; the notes to print once everything is there."""
    notes: list[str] = []
    path = config_path(args.config)
    if path and not os.path.exists(path):
        notes += _starter(args, Path(path), made)
    elif path:
        notes += _missing_secret(args, made)
    url = store_url(args)
    try:
        notes += _init_store(args, url, made)
    except (OTPGateError, OSError) as exc:
        hint = relative_hint(url)
        if hint:
            # "cannot create key file var/lib/x.db.key" alone hides that the path is relative.
            raise CommandError(f"{exc}{hint}") from None
        raise
    notes.append(f"store {redact(url)} is ready")
    return notes


def _init_store(args: argparse.Namespace, url: str, made: list[Path]) -> list[str]:
    """Create the store (and its key file) at ``url``; what to tell."""
    from ..store import default_key_file
    from ..store.crypto import create_key_file

    kind, target, _ = parse_store_url(url)
    notes = []
    if kind in SQL_KINDS:
        key_file = key_file_of(args) or default_key_file(url)
        if key_file is None:
            raise CommandError(
                "a PostgreSQL store needs a key file for its OTP keys: give --key-file PATH"
            )
        if os.path.exists(key_file):
            notes.append(f"key file {key_file} exists; keeping it")
        else:
            create_key_file(key_file)
            made.append(Path(key_file))
            notes.append(f"created key file {key_file} (mode 0600); back it up")
        if kind == "sqlite" and not os.path.exists(target):
            made += [Path(target + suffix) for suffix in ("", "-wal", "-shm")]
        with opened(url, key_file, must_exist=False) as store:
            store.ping()
    elif kind == "users-file":
        if create_users_file(target):
            made.append(Path(target))
        else:
            notes.append(f"users file {target} exists; keeping it")
        with opened(url, None, must_exist=False) as store:
            store.ping()
    return notes


def register(sub: Any) -> None:
    """Add ``init``."""
    p = sub.add_parser(
        "init",
        parents=[store_options()],
        help="create a store and its key file (and with --config FILE, a starter config)",
        description="Create the store and, for SQL stores, the key file that encrypts it "
        "(mode 0600).  With --config FILE (or $OTPGATE_CONFIG) naming a file that does "
        "not exist yet, first write a commented starter configuration there (mode 0600) "
        "with a new session secret next to it (session.secret, mode 0600), ready for "
        "'otpgate serve' on 127.0.0.1:9090; the store defaults to otpgate.db in the same "
        "directory (--store names another).  With --config naming an existing file, its "
        "store, key file and session secret file are made if missing.  Existing files are "
        "never overwritten, and when a step fails the files this run created are removed "
        "again.",
    )
    p.set_defaults(handler=_cmd_init)

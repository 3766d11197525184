"""What several commands share: reading the settings, choosing and opening the
store, argument types, and writing QR codes (PINs: :mod:`._secrets`).

The store is chosen by ``--store URL`` on every command, else the
``OTPGATE_STORE`` environment variable, else the configuration file's store,
else ``sqlite:///otpgate.db`` in ``$OTPGATE_HOME`` (or the current directory).
The configuration file is ``--config``, else ``$OTPGATE_CONFIG``, else
``/etc/otpgate/otpgate.toml`` if it exists: one rule (:func:`config_path`)
for every command that reads one.  ``--key-file`` names the file
that encrypts OTP keys in SQL stores (default: ``<database>.key``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from ..audit.writer import iso_utc
from ..config.loader import DEFAULT_CONFIG_PATH, Config, StoreConfig, load_config
from ..store import Store, UserStore, open_store, parse_store_url
from ..store.records import UserRecord, UserState
from . import CommandError

__all__ = [
    "CONFIG_HELP",
    "QR_KINDS",
    "SQL_KINDS",
    "add_user_action",
    "check_exists",
    "check_qr_target",
    "command_group",
    "config_of",
    "config_path",
    "count",
    "count_or_zero",
    "create_users_file",
    "default_store_url",
    "get_user",
    "key_file_of",
    "load_settings",
    "opened",
    "print_warnings",
    "relative_hint",
    "seconds",
    "store_kind",
    "store_of",
    "store_options",
    "store_url",
    "update_user",
    "username",
    "when",
    "write_qr",
]

QR_KINDS: Final = {".png": "png", ".svg": "svg"}
SQL_KINDS: Final = ("sqlite", "postgresql")
# User names end up in a whitespace-separated users file and in URIs.
_USER_RE: Final = re.compile(r"[A-Za-z0-9._@+-][A-Za-z0-9._@+\-]{0,127}", re.ASCII)
_BUILTIN_STORE_URL: Final = StoreConfig().url


# --- store selection ------------------------------------------------------------------------


def default_store_url() -> str:
    """``$OTPGATE_STORE``, else ``sqlite:///$OTPGATE_HOME/otpgate.db`` (current directory)."""
    env = os.environ.get("OTPGATE_STORE")
    if env:
        return env
    return _home_store_url()


def _home_store_url() -> str:
    home = os.environ.get("OTPGATE_HOME")
    path = os.path.join(home, "otpgate.db") if home else "otpgate.db"
    return f"sqlite:///{path}"


# The one rule every command with --config follows (config_path), in its --help.
CONFIG_HELP: Final = (
    f"otpgate.toml with the settings (default: $OTPGATE_CONFIG, then {DEFAULT_CONFIG_PATH} "
    "if it exists)"
)


def config_path(arg: str | None) -> str | None:
    """``--config``, else ``$OTPGATE_CONFIG``, else the default path if that file exists."""
    if arg:
        return arg
    env = os.environ.get("OTPGATE_CONFIG")
    if env:
        return env
    return DEFAULT_CONFIG_PATH if os.path.exists(DEFAULT_CONFIG_PATH) else None


def load_settings(path: str | None, overrides: dict[str, dict[str, Any]] | None = None) -> Config:
    """The settings every command reads the same way.

    Lowest first: defaults, the TOML file, ``OTPGATE_*`` variables,
    ``overrides`` (the command's flags).  A store named nowhere is
    ``otpgate.db`` in ``$OTPGATE_HOME`` (or the current directory).

    Raises:
        ConfigError: the file is unreadable or a setting is invalid.
    """
    config = load_config(path, overrides=overrides)
    if config.store.url == _BUILTIN_STORE_URL and os.environ.get("OTPGATE_HOME"):
        config = dataclasses.replace(
            config, store=dataclasses.replace(config.store, url=_home_store_url())
        )
    return config


def config_of(args: argparse.Namespace) -> Config:
    """The settings: ``--config`` (or ``$OTPGATE_CONFIG``, or the default file) and
    ``OTPGATE_*``, as ``serve`` reads them; the store flags are applied by :func:`store_url`.

    Raises:
        ConfigError: the file is unreadable or invalid.
    """
    cached: Config | None = getattr(args, "_loaded_config", None)
    if cached is None:
        cached = load_settings(config_path(getattr(args, "config", None)))
        args._loaded_config = cached
    return cached


def store_url(args: argparse.Namespace) -> str:
    """``--store``, else ``$OTPGATE_STORE``, else the config file's store, else the default."""
    if args.store is not None:
        # An explicit but empty --store is a mistake, not a request for the default.
        parse_store_url(args.store)
        url: str = args.store
        return url
    return config_of(args).store.url


def key_file_of(args: argparse.Namespace) -> str | None:
    """``--key-file``, else ``$OTPGATE_STORE_KEY_FILE``, else the config file's key file.

    A key file belongs to a store: one named below the layer that chose the
    store (the file's, when ``--store`` or ``$OTPGATE_STORE`` chose another)
    is not used; the store's own default (``<database>.key``) applies.
    """
    if args.key_file:
        key_file: str = args.key_file
        return key_file
    if args.store is not None:
        return None
    config = config_of(args)
    if os.environ.get("OTPGATE_STORE") and not os.environ.get("OTPGATE_STORE_KEY_FILE"):
        path = config_path(getattr(args, "config", None))
        file_url = load_config(path, env={}).store.url if path else None
        if file_url != config.store.url:
            return None
    return config.store.key_file


def store_kind(url: str) -> str:
    return parse_store_url(url)[0]


def relative_hint(url: str) -> str:
    """A note for messages about a file store whose path is relative, else ``""``.

    ``sqlite:///var/lib/x.db`` (three slashes) is ``var/lib/x.db`` under the
    current directory, which is rarely what was meant.
    """
    kind, target, _ = parse_store_url(url)
    if kind not in ("sqlite", "users-file") or not target or os.path.isabs(target):
        return ""
    absolute = f"sqlite:////{target}" if kind == "sqlite" else f"users-file:/{target}"
    return (
        f" ({target} is a relative path, under {os.getcwd()}; an absolute path is "
        f"written {absolute})"
    )


def check_exists(url: str) -> None:
    """Refuse a file store that does not exist, rather than complain about its key file.

    Raises:
        CommandError: the SQLite database or users file is missing.
    """
    kind, target, _ = parse_store_url(url)
    if kind in ("sqlite", "users-file") and not os.path.exists(target):
        raise CommandError(
            f"no store at {target}{relative_hint(url)}: create it with 'otpgate init', "
            "or name another with --store or --config"
        )


@contextlib.contextmanager
def opened(url: str, key_file: str | None, *, must_exist: bool = True) -> Iterator[Store]:
    """The store at ``url``, closed when the block ends.

    Raises:
        CommandError: ``must_exist`` and it is a file store that does not exist.
    """
    if must_exist:
        check_exists(url)
    store = open_store(url, key_file=key_file)
    try:
        yield store
    finally:
        store.close()


@contextlib.contextmanager
def store_of(args: argparse.Namespace) -> Iterator[Store]:
    """The existing store the command's options, environment and config file name.

    With Redis in the settings (``[state] url``), each change of a user is
    announced to every running gate (:class:`~otpgate.state.announce.AnnouncingStore`),
    so that a lock, a PIN change or a removal takes effect there at once, not
    after ``state_ttl``.
    """
    with opened(store_url(args), key_file_of(args)) as store:
        config = config_of(args)
        if not config.state.url:
            yield store
            return
        from ..state import open_state
        from ..state.announce import AnnouncingStore

        state = open_state(config.state.url, config.state.key_prefix, config.state.timeout)
        try:
            yield AnnouncingStore(store, state) if state.shares_credentials else store
        finally:
            state.close()


def get_user(store: UserStore, name: str) -> UserRecord:
    record = store.get(name)
    if record is None:
        raise CommandError(f"no user {name!r} in {store.url}")
    return record


def update_user(
    store: UserStore, name: str, change: Callable[[UserState], UserState]
) -> UserRecord:
    """Compare-and-set a state change, retrying if a login wrote meanwhile."""
    for _ in range(10):
        record = get_user(store, name)
        new = store.compare_and_set(name, record.version, change(record.state))
        if new is not None:
            return new
    raise CommandError(f"user {name!r} keeps changing; try again")


def create_users_file(path: str) -> bool:
    """Create an empty users file, mode 0600; ``False`` if it exists.

    Raises:
        OSError: it cannot be created.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def store_options() -> argparse.ArgumentParser:
    """The parent parser for ``--store``, ``--config`` and ``--key-file``."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--store",
        metavar="URL",
        help="the store (default: $OTPGATE_STORE, the config file's, or sqlite:///otpgate.db "
        "in $OTPGATE_HOME or here)",
    )
    p.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    p.add_argument(
        "--key-file",
        metavar="FILE",
        help="key file encrypting OTP keys in SQL stores (default <database>.key)",
    )
    return p


def command_group(sub: Any, name: str, help_text: str) -> Any:
    """A command with actions (``user add``, ``key rotate``); alone it prints its help, exit 1."""
    group = sub.add_parser(name, help=help_text)
    actions = group.add_subparsers(dest=f"{name}_command", metavar="ACTION")

    def usage(_args: argparse.Namespace) -> int:
        group.print_help(sys.stderr)
        return 1

    group.set_defaults(handler=usage)
    return actions


def add_user_action(sub: Any, name: str, help_text: str, description: str) -> Any:
    """Add the action ``user NAME`` (with the store options) from a module of its own;
    its parser, or ``None`` if the ``user`` group was not registered."""
    group = sub.choices.get("user")
    if group is None:
        return None
    found = [a for a in group._actions if isinstance(a, argparse._SubParsersAction)]
    if not found:
        return None
    return found[0].add_parser(
        name, parents=[store_options()], help=help_text, description=description
    )


# --- argument types -------------------------------------------------------------------------


def username(text: str) -> str:
    if not _USER_RE.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"user names are 1-128 characters of A-Z a-z 0-9 . _ @ + - , not {text!r}"
        )
    return text


def count(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"expected a number from 1 to 100, not {text!r}")
    return int(text)


def count_or_zero(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) > 1_000_000:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, not {text!r}")
    return int(text)


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, not {text!r}")
    return value


# --- output ---------------------------------------------------------------------------------


def when(ts: float | None, never: str = "-") -> str:
    """A timestamp for people: ``2026-01-02 03:04:05Z``, ``never`` for none."""
    if ts is None:
        return never
    if math.isinf(ts):
        return "until unlocked"
    return iso_utc(ts)[:19].replace("T", " ") + "Z"


def print_warnings(caught: list[warnings.WarningMessage]) -> None:
    for w in caught:
        print(f"otpgate: warning: {w.message}", file=sys.stderr)


def check_qr_target(target: str) -> None:
    """Refuse a QR file name before any secret exists that would need it.

    Raises:
        CommandError: not .png/.svg, or its directory does not exist.
    """
    path = Path(target)
    if path.suffix.lower() not in QR_KINDS:
        raise CommandError(f"--qr-out must end in .png or .svg, not {path.name!r}")
    if not path.resolve().parent.is_dir():
        raise CommandError(f"--qr-out: no directory {str(path.parent)!r}")


def write_qr(qr: Any, target: str) -> None:
    """Save the QR code via a temporary file, fsync and rename, so no half file is left.

    Raises:
        CommandError: the name does not end in .png or .svg.
        OSError: the file cannot be written.
    """
    path = Path(target)
    kind = QR_KINDS.get(path.suffix.lower())
    if kind is None:
        raise CommandError(f"--qr-out must end in .png or .svg, not {path.name!r}")
    # mkstemp creates the file 0600: the picture holds the secret.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            qr.save(fh, kind=kind, scale=6 if kind == "png" else 4)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise

"""What several commands share: reading the settings, choosing and opening the
store (the parser's shared pieces: :mod:`._args`; output: :mod:`._output`;
PINs: :mod:`._secrets`).

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
import os
from collections.abc import Callable, Iterator
from typing import Any, Final

from ..config.loader import DEFAULT_CONFIG_PATH, Config, StoreConfig, load_config
from ..store import Store, UserStore, open_store, parse_store_url
from ..store.records import UserRecord, UserState
from . import CommandError

__all__ = [
    "CONFIG_HELP",
    "SQL_KINDS",
    "check_exists",
    "config_of",
    "config_path",
    "create_users_file",
    "default_store_url",
    "get_user",
    "key_file_of",
    "load_settings",
    "opened",
    "relative_hint",
    "store_kind",
    "store_of",
    "store_url",
    "update_user",
]

SQL_KINDS: Final = ("sqlite", "postgresql")
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

    With a ``[directory]``, its users are the store's
    (:class:`~otpgate.directory.users.DirectoryUserStore`: a name the directory
    does not know gets no token).  With Redis in the settings (``[state] url``),
    each change of a user is announced to every running gate
    (:class:`~otpgate.state.announce.AnnouncingStore`), so that a lock, a PIN
    change or a removal takes effect there at once, not after ``state_ttl``.
    """
    with opened(store_url(args), key_file_of(args)) as store, contextlib.ExitStack() as stack:
        config = config_of(args)
        if config.directory.enabled:
            store = stack.enter_context(_directory_users(store, config))
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


@contextlib.contextmanager
def _directory_users(store: Store, config: Config) -> Iterator[Store]:
    """``store`` seen through the directory; the directory's connections closed at the end."""
    from ..directory.users import DirectoryUserStore
    from ..login.directory import open_directory

    directory = open_directory(config.directory)
    try:
        yield DirectoryUserStore(store, directory)
    finally:
        directory.close()


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

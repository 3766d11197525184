"""What several commands share: choosing and opening the store, argument types,
reading PINs and secrets from stdin or a prompt, and writing QR codes.

The store is chosen by ``--store URL`` on every command, else the
``OTPGATE_STORE`` environment variable, else the configuration file's store
(``--config`` or ``$OTPGATE_CONFIG``), else ``sqlite:///otpgate.db`` in
``$OTPGATE_HOME`` (or the current directory).  ``--key-file`` names the file
that encrypts OTP keys in SQL stores (default: ``<database>.key``).

PINs are read from a prompt or stdin, never from the command line (process
lists are public).
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import math
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from ..audit import iso_utc
from ..config import Config, load_config
from ..models import Pin, UserRecord, UserState
from ..pins import PinHasher
from ..store import Store, open_store, parse_store_url
from ..tokens import TokenType
from . import CommandError

__all__ = [
    "MAX_STDIN",
    "PIN_HASHER",
    "QR_KINDS",
    "SQL_KINDS",
    "check_qr_target",
    "config_of",
    "count",
    "count_or_zero",
    "create_users_file",
    "default_store_url",
    "get_user",
    "key_file_of",
    "make_pin",
    "opened",
    "pin_options",
    "print_warnings",
    "seconds",
    "stdin_line",
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
_MAX_PIN: Final = 128
MAX_STDIN: Final = 4096

# Tests swap this for a cheap parameter set; production hashes use argon2-cffi's defaults.
PIN_HASHER: PinHasher = PinHasher()


# --- store selection ------------------------------------------------------------------------


def default_store_url() -> str:
    """``$OTPGATE_STORE``, else ``sqlite:///$OTPGATE_HOME/otpgate.db`` (current directory)."""
    env = os.environ.get("OTPGATE_STORE")
    if env:
        return env
    home = os.environ.get("OTPGATE_HOME")
    path = os.path.join(home, "otpgate.db") if home else "otpgate.db"
    return f"sqlite:///{path}"


def config_of(args: argparse.Namespace) -> Config | None:
    """The configuration file named by ``--config`` or ``$OTPGATE_CONFIG``, if any.

    Raises:
        ConfigError: the file is unreadable or invalid.
    """
    path = getattr(args, "config", None) or os.environ.get("OTPGATE_CONFIG")
    if not path:
        return None
    cached: Config | None = getattr(args, "_loaded_config", None)
    if cached is None:
        # OTPGATE_STORE is this command's own variable, not a config override.
        env = {k: v for k, v in os.environ.items() if k != "OTPGATE_STORE"}
        cached = load_config(path, env=env)
        args._loaded_config = cached
    return cached


def store_url(args: argparse.Namespace) -> str:
    """``--store``, else ``$OTPGATE_STORE``, else the config file's store, else the default."""
    if args.store is not None:
        # An explicit but empty --store is a mistake, not a request for the default.
        parse_store_url(args.store)
        url: str = args.store
        return url
    if not os.environ.get("OTPGATE_STORE"):
        config = config_of(args)
        if config is not None:
            return config.store.url
    return default_store_url()


def key_file_of(args: argparse.Namespace) -> str | None:
    """``--key-file``, else the config file's key file when its store is the one used."""
    if args.key_file:
        key_file: str = args.key_file
        return key_file
    config = config_of(args)
    if config is not None and store_url(args) == config.store.url:
        return config.store.key_file
    return None


def store_kind(url: str) -> str:
    return parse_store_url(url)[0]


@contextlib.contextmanager
def opened(url: str, key_file: str | None) -> Iterator[Store]:
    """The store at ``url``, closed when the block ends."""
    store = open_store(url, key_file=key_file)
    try:
        yield store
    finally:
        store.close()


def store_of(args: argparse.Namespace) -> contextlib.AbstractContextManager[Store]:
    """The store the command's options, environment and config file name."""
    return opened(store_url(args), key_file_of(args))


def get_user(store: Store, name: str) -> UserRecord:
    record = store.get(name)
    if record is None:
        raise CommandError(f"no user {name!r} in {store.url}")
    return record


def update_user(store: Store, name: str, change: Callable[[UserState], UserState]) -> UserRecord:
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
    p.add_argument(
        "--config",
        metavar="FILE",
        help="otpgate.toml for the store and login settings (default: $OTPGATE_CONFIG)",
    )
    p.add_argument(
        "--key-file",
        metavar="FILE",
        help="key file encrypting OTP keys in SQL stores (default <database>.key)",
    )
    return p


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


# --- reading secrets ------------------------------------------------------------------------


def stdin_line(what: str) -> str:
    """One line of stdin, without its line end.

    Raises:
        CommandError: stdin is empty or the line is too long.
    """
    line = sys.stdin.readline(MAX_STDIN + 1)
    if len(line) > MAX_STDIN:
        raise CommandError(f"the {what} on stdin is too long")
    if not line:
        raise CommandError(f"expected the {what} on stdin, got end of input")
    return line.rstrip("\r\n")


def _check_pin_text(pin: str) -> str:
    problems = []
    if not pin:
        problems.append("is empty (use --no-pin for none)")
    if len(pin) > _MAX_PIN:
        problems.append(f"is longer than {_MAX_PIN} characters")
    if any(c.isspace() or not c.isprintable() for c in pin):
        problems.append("contains spaces or control characters")
    if pin in ("-", "+"):
        problems.append("is '-' or '+', which mean 'none' and 'delegated' in a users file")
    if problems:
        raise CommandError("the PIN " + ", ".join(problems))
    return pin


def _read_pin(args: argparse.Namespace) -> str | None:
    """The PIN text, or ``None`` for --no-pin / --pin-delegated."""
    if args.no_pin or args.pin_delegated:
        return None
    if args.pin_stdin:
        return _check_pin_text(stdin_line("PIN"))
    if args.pin_prompt or sys.stdin.isatty():
        first = getpass.getpass("PIN: ")
        _check_pin_text(first)
        if getpass.getpass("PIN again: ") != first:
            raise CommandError("the two PINs differ")
        return first
    raise CommandError("no PIN source: give --pin-prompt, --pin-stdin, --no-pin or --pin-delegated")


def make_pin(args: argparse.Namespace, url: str, ttype: TokenType) -> Pin:
    """The PIN the options ask for, in the form the store at ``url`` keeps.

    Raises:
        CommandError: no PIN source, a bad PIN, or one this store cannot keep.
    """
    if args.pin_delegated:
        if ttype.kind == "MOTP":
            raise CommandError("a Mobile-OTP PIN is part of the code; it cannot be delegated")
        return Pin("delegated")
    text = _read_pin(args)
    if text is None:
        return Pin("none")
    if store_kind(url) in SQL_KINDS:
        if ttype.kind == "MOTP":
            raise CommandError(
                "a Mobile-OTP PIN must stay readable (it is part of the code) and SQL stores "
                "keep only hashed PINs: use --no-pin, or keep this user in a users file"
            )
        return Pin("hash", PIN_HASHER.hash(text))
    return Pin("plain", text)


def pin_options(p: argparse.ArgumentParser) -> None:
    """Add the mutually exclusive PIN sources to ``p``."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--pin-prompt", action="store_true", help="ask for the PIN (twice)")
    g.add_argument("--pin-stdin", action="store_true", help="read the PIN as one line of stdin")
    g.add_argument("--no-pin", action="store_true", help="no PIN: the password is the OTP alone")
    g.add_argument(
        "--pin-delegated",
        action="store_true",
        help="the PIN is checked by another provider (htpasswd; '+' in a users file)",
    )


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

"""Token stores, selected by URL.

``sqlite:///PATH`` (the default), ``users-file:/PATH`` or a bare path (the
mod_authn_otp users file), ``postgresql://...``, ``memory:`` (tests).
See docs/stores.md.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Final

from ..errors import ConfigError
from ._urls import redact
from .base import Store
from .memory import MemoryStore

__all__ = [
    "MemoryStore",
    "Store",
    "default_key_file",
    "open_store",
    "parse_store_url",
    "redact",
    "rotate_keys",
]

_SCHEME_RE: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_FORMS: Final = (
    "sqlite:///PATH (sqlite:////absolute/path), users-file:/PATH or a bare path, "
    "postgresql://USER@HOST/DB, memory:"
)


def _key_file_param(query: str, url: str) -> tuple[str | None, str]:
    """Split ``key_file=`` off a query string; return it and the rest."""
    shown = redact(url)
    try:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ConfigError(f"store URL {shown!r}: malformed query string") from None
    key_files = [v for k, v in pairs if k == "key_file"]
    if len(key_files) > 1:
        raise ConfigError(f"store URL {shown!r}: key_file is given more than once")
    if key_files and not key_files[0]:
        raise ConfigError(f"store URL {shown!r}: key_file is empty")
    rest = urllib.parse.urlencode([(k, v) for k, v in pairs if k != "key_file"])
    return (key_files[0] if key_files else None), rest


def _sqlite_target(rest: str, url: str, shown: str) -> tuple[str, str, str | None]:
    if not rest.startswith("//"):
        raise ConfigError(
            f"store URL {shown!r}: write sqlite:///relative/path or sqlite:////abs/path"
        )
    netloc, slash, path_query = rest[2:].partition("/")
    if netloc or not slash:
        raise ConfigError(
            f"store URL {shown!r}: an SQLite URL has no host; write sqlite:///relative.db "
            "or sqlite:////absolute/path.db"
        )
    path, _, query = path_query.partition("?")
    key_file, leftover = _key_file_param(query, url)
    if leftover:
        raise ConfigError(
            f"store URL {shown!r}: unknown parameters {redact(leftover)!r} (only key_file)"
        )
    if not path:
        raise ConfigError(f"store URL {shown!r} names no database file")
    return "sqlite", urllib.parse.unquote(path), key_file


def _users_file_target(rest: str, url: str, shown: str) -> tuple[str, str, str | None]:
    path = rest[2:] if rest.startswith("///") else rest
    if not path:
        raise ConfigError(f"store URL {shown!r} names no users file")
    if "?" in path:
        raise ConfigError(f"store URL {shown!r}: a users file takes no parameters")
    return "users-file", path, None


def _postgres_target(rest: str, url: str, shown: str) -> tuple[str, str, str | None]:
    if not rest.startswith("//"):
        raise ConfigError(f"store URL {shown!r}: write postgresql://USER@HOST[:PORT]/DBNAME")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:  # an unclosed IPv6 bracket, for one
        raise ConfigError(f"store URL {shown!r}: {exc}") from None
    try:
        parts.port  # noqa: B018 -- urlsplit checks the port only when asked
    except ValueError:
        raise ConfigError(
            f"store URL {shown!r}: the port is not a number from 0 to 65535"
        ) from None
    if parts.fragment:
        raise ConfigError(f"store URL {shown!r}: unexpected '#' fragment")
    key_file, query = _key_file_param(parts.query, url)
    target = urllib.parse.urlunsplit(parts._replace(query=query))
    return "postgresql", target, key_file


def _memory_target(rest: str, url: str, shown: str) -> tuple[str, str, str | None]:
    if rest:
        raise ConfigError(f"store URL {shown!r}: memory: takes nothing after the colon")
    return "memory", "", None


# scheme -> (text after "scheme:", the whole URL, the URL as messages show it) -> parts
_KINDS: Final = {
    "sqlite": _sqlite_target,
    "users-file": _users_file_target,
    "postgresql": _postgres_target,
    "postgres": _postgres_target,
    "memory": _memory_target,
}


def parse_store_url(url: str) -> tuple[str, str, str | None]:
    """Split a store URL into (kind, target, key_file from the URL).

    ``kind`` is ``sqlite``, ``users-file``, ``postgresql`` or ``memory``;
    ``target`` is a file path, or for PostgreSQL the connection URL without
    otpgate's own parameters.

    Raises:
        ConfigError: the URL is empty, malformed or of an unknown kind.
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"the store URL is empty; expected one of: {_FORMS}")
    shown = redact(url)  # messages name the URL, never its password
    if url != url.strip() or "\x00" in url:
        raise ConfigError(f"store URL {shown!r} has surrounding spaces or a NUL byte")
    m = _SCHEME_RE.match(url)
    if m is None:
        # No scheme: a bare path names a users file, as OTPAuthUsersFile does.
        return "users-file", url, None
    scheme = m.group(1).lower()
    kind = _KINDS.get(scheme)
    if kind is None:
        raise ConfigError(
            f"store URL {shown!r}: unknown kind {scheme + ':'!r}; expected one of: {_FORMS}"
        )
    return kind(url[m.end() :], url, shown)


def default_key_file(url: str) -> str | None:
    """Where ``otpgate init`` puts the key file when none is named.

    ``<database>.key`` next to an SQLite file; ``None`` for stores that need
    no key file (users file, memory) or have no natural place for one
    (PostgreSQL: name it with ``key_file=`` or ``?key_file=``).

    Raises:
        ConfigError: the URL is malformed.
    """
    kind, target, from_url = parse_store_url(url)
    if from_url is not None:
        return from_url
    if kind == "sqlite":
        return target + ".key"
    return None


def open_store(url: str, *, key_file: str | None = None) -> Store:
    """Open the store a URL names.

    Args:
        url: ``sqlite:///PATH``, ``users-file:/PATH`` or a bare path,
            ``postgresql://...`` (or ``postgres://``), ``memory:``.
        key_file: the key file that encrypts OTP keys (SQLite, PostgreSQL).
            Defaults to ``?key_file=`` in the URL, then for SQLite to
            ``<database>.key``.  Ignored by the users file and memory stores.

    Raises:
        ConfigError: malformed URL, or a missing or unsafe key file.
        StoreError: the store cannot be opened.
    """
    kind, target, from_url = parse_store_url(url)
    shown = redact(url)
    if kind == "memory":
        return MemoryStore(url)
    if kind == "users-file":
        from .usersfile import UsersFileStore

        return UsersFileStore(target, url=url)

    from .crypto import load_key_file

    chosen = key_file or from_url or (target + ".key" if kind == "sqlite" else None)
    if chosen is None:
        raise ConfigError(
            f"store {shown!r} needs a key file for its OTP keys: pass key_file "
            "(--key-file) or add ?key_file=/path to the URL"
        )
    keys = load_key_file(chosen)
    if kind == "sqlite":
        from .sqlite import SQLiteStore

        return SQLiteStore(target, keys, url=url)
    try:
        from .postgres import PostgresStore
    except ImportError as exc:  # psycopg is an optional extra
        raise ConfigError(
            f"PostgreSQL stores need psycopg 3 and psycopg-pool ({exc}); "
            "pip install 'otpgate[postgres]'"
        ) from None
    return PostgresStore(target, keys, url=url)


def rotate_keys(url: str, *, key_file: str | None = None) -> tuple[int, int]:
    """Add a new key to the key file and re-encrypt every OTP key with it.

    Running gate instances pick the new key up from the file by themselves
    (on the first ciphertext that names it). The old keys stay in the file;
    remove them with :func:`otpgate.store.crypto.drop_old_keys` once this returned.

    Returns:
        (the new key id, how many users were re-encrypted).

    Raises:
        ConfigError: malformed URL, a store without encryption, or a bad key file.
        StoreError: the store failed.
    """
    from .crypto import add_key

    kind, target, from_url = parse_store_url(url)
    shown = redact(url)
    if kind not in ("sqlite", "postgresql"):
        raise ConfigError(f"store {shown!r} keeps no encrypted keys; there is nothing to rotate")
    chosen = key_file or from_url or (target + ".key" if kind == "sqlite" else None)
    if chosen is None:
        raise ConfigError(f"store {shown!r}: name the key file to rotate (key_file)")
    new_id = add_key(chosen)
    store = open_store(url, key_file=chosen)
    try:
        # Both SQL stores have reencrypt_keys; importing them to check would
        # import psycopg, an optional extra.
        reencrypt = store.reencrypt_keys  # type: ignore[attr-defined]
        return new_id, int(reencrypt())
    finally:
        store.close()

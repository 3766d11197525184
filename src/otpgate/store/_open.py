"""Opening the store a URL names, and rotating the key that encrypts its OTP keys."""

from __future__ import annotations

from ..errors import ConfigError
from ._urls import key_file_for, parse_store_url, redact
from .base import KeyRotation, Store
from .memory import MemoryStore

__all__ = ["open_store", "rotate_keys"]


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

    chosen = key_file_for(kind, target, from_url, key_file)
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
    chosen = key_file_for(kind, target, from_url, key_file)
    if chosen is None:
        raise ConfigError(f"store {shown!r}: name the key file to rotate (key_file)")
    new_id = add_key(chosen)
    store = open_store(url, key_file=chosen)
    try:
        # Both SQL stores rotate (parse_store_url said it is one of them).
        assert isinstance(store, KeyRotation)
        return new_id, store.reencrypt_keys()
    finally:
        store.close()

"""Which stores keep passkeys: the memory and SQL stores (timed or not), not the users file."""

from __future__ import annotations

from pathlib import Path

from otpgate.store import TimedStore, open_store
from otpgate.store.memory import MemoryStore
from otpgate.store.passkeys import keeps_passkeys

from .conftest import make_users_file


def test_which_stores_keep_passkeys(tmp_path: Path, key_file: str) -> None:
    sqlite = open_store(f"sqlite:///{tmp_path / 'x.db'}", key_file=key_file)
    users = open_store(f"users-file:{make_users_file(tmp_path / 'users')}")
    try:
        assert keeps_passkeys(MemoryStore()) and keeps_passkeys(sqlite)
        assert keeps_passkeys(TimedStore(sqlite, lambda op, s: None))
        assert not keeps_passkeys(users)
        assert not keeps_passkeys(TimedStore(users, lambda op, s: None))
        assert not keeps_passkeys(object())
    finally:
        sqlite.close()
        users.close()

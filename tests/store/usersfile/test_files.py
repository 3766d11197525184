"""The file itself: its mode and owner, atomic writes, the reference lock, a wrong file."""

from __future__ import annotations

import fcntl
import os
import stat
import threading
from pathlib import Path

import pytest

from otpgate.errors import StoreError
from otpgate.otp.verify import TokenState
from otpgate.store import open_store
from otpgate.store.records import UserState
from otpgate.store.usersfile import UsersFileStore

from ..conftest import make_users_file
from .conftest import KEY_HEX


def test_world_readable_file_is_refused(tmp_path: Path) -> None:
    path = make_users_file(tmp_path / "users", f"HOTP alice - {KEY_HEX}\n".encode())
    path.chmod(0o644)
    with pytest.raises(StoreError, match="chmod o-rwx"):
        UsersFileStore(str(path))
    path.chmod(0o640)
    s = UsersFileStore(str(path))
    assert s.get("alice") is not None
    path.chmod(0o604)
    with pytest.raises(StoreError, match="plain text"):
        s.get("alice")


def test_owner_and_mode_are_kept(tmp_path: Path) -> None:
    path = make_users_file(tmp_path / "users", f"HOTP alice - {KEY_HEX}\n".encode())
    path.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(path, 4242, 4343)
    s = UsersFileStore(str(path))
    alice = s.get("alice")
    assert alice is not None
    assert s.compare_and_set("alice", alice.version, UserState(TokenState(1))) is not None
    st = path.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (4242, 4343)


@pytest.mark.parametrize("fail_at", ["replace", "fsync", "write"])
def test_write_failure_raises_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: str
) -> None:
    content = f"# keep\nHOTP alice - {KEY_HEX} 3\n".encode()
    path = make_users_file(tmp_path / "users", content)
    s = UsersFileStore(str(path))
    alice = s.get("alice")
    assert alice is not None

    def boom(*args: object, **kw: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(os, fail_at, boom)
        with pytest.raises(StoreError, match="No space left"):
            s.compare_and_set("alice", alice.version, UserState(TokenState(4)))
    assert path.read_bytes() == content
    assert not Path(f"{path}.new").exists()
    # The store still works, and the caller's version is still current.
    assert s.compare_and_set("alice", alice.version, UserState(TokenState(4))) is not None


def test_stale_new_and_lock_files_do_not_block(tmp_path: Path) -> None:
    path = make_users_file(tmp_path / "users", f"HOTP alice - {KEY_HEX}\n".encode())
    Path(f"{path}.new").write_bytes(b"half a line from a killed wri")
    Path(f"{path}.lock").write_bytes(b"")
    s = UsersFileStore(str(path))
    alice = s.get("alice")
    assert alice is not None
    assert s.compare_and_set("alice", alice.version, UserState(TokenState(1))) is not None
    assert not Path(f"{path}.new").exists()


def test_writers_wait_for_the_reference_lock(tmp_path: Path) -> None:
    path = make_users_file(tmp_path / "users", f"HOTP alice - {KEY_HEX}\n".encode())
    s = UsersFileStore(str(path))
    alice = s.get("alice")
    assert alice is not None
    fd = os.open(f"{path}.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as mod_authn_otp holds it while writing
    results: list[object] = []
    t = threading.Thread(
        target=lambda: results.append(
            s.compare_and_set("alice", alice.version, UserState(TokenState(1)))
        )
    )
    t.start()
    t.join(0.3)
    assert t.is_alive() and results == []  # blocked on the lock
    # Meanwhile the holder changes alice: the waiting writer must lose.
    path.write_bytes(f"HOTP alice - {KEY_HEX} 7\n".encode())
    os.close(fd)
    t.join()
    assert results == [None]
    again = s.get("alice")
    assert again is not None and again.state.token.counter == 7


def test_bare_path_to_sqlite_database_is_named_as_such(tmp_path: Path) -> None:
    from otpgate.store.crypto import create_key_file

    db = tmp_path / "otpgate.db"
    create_key_file(f"{db}.key")
    open_store(f"sqlite:///{db}").close()
    assert db.read_bytes().startswith(b"SQLite format 3")
    with pytest.raises(StoreError, match="SQLite database"):
        open_store(str(db))

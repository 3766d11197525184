"""The sidecar keeps what a line cannot, and the line wins when another tool rewrites it."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from otpgate.otp.verify import TokenState
from otpgate.store import open_store
from otpgate.store.records import UserState
from otpgate.store.usersfile import UsersFileStore

from ..conftest import make_users_file
from .conftest import KEY_HEX, NOW, local, ref_line

# -- the sidecar -------------------------------------------------------------


def test_sidecar_holds_what_the_line_cannot(tmp_path: Path) -> None:
    path = make_users_file(tmp_path / "users", f"T alice 12 {KEY_HEX}\n".encode())
    s = UsersFileStore(str(path))
    alice = s.get("alice")
    assert alice is not None
    state = UserState(TokenState(0, 5), 1, None, NOW + 0.5, None, locked_until=NOW + 60)
    assert s.compare_and_set("alice", alice.version, state) is not None
    side = Path(f"{path}.otpgate.json")
    assert stat.S_IMODE(side.stat().st_mode) == 0o600
    doc = json.loads(side.read_text())
    assert doc["users"]["alice"]["locked_until"] == NOW + 60
    assert "12" not in json.dumps(doc).split("alice")[0]  # no PIN, no key in the sidecar
    assert KEY_HEX not in side.read_text()
    got = s.get("alice")
    assert got is not None and got.state == state
    # The line stays in the reference layout.
    assert path.read_bytes() == ref_line("HOTP/T30", "alice", "12", KEY_HEX, 0, 1)


def test_a_line_rewritten_by_another_tool_wins_over_the_sidecar(tmp_path: Path) -> None:
    path = make_users_file(tmp_path / "users", f"T alice - {KEY_HEX}\n".encode())
    s = UsersFileStore(str(path))
    alice = s.get("alice")
    assert alice is not None
    state = UserState(TokenState(0, 999), 0, None, NOW + 0.5, None, revoked_before=NOW)
    assert s.compare_and_set("alice", alice.version, state) is not None
    # mod_authn_otp accepts a login and rewrites alice's line.
    path.write_bytes(
        ref_line("HOTP/T30", "alice", "-", KEY_HEX, 1, 0, " 123456 2024-01-02T03:04:05L ::1")
    )
    got = s.get("alice")
    t = local("2024-01-02T03:04:05")
    assert got is not None
    assert got.state.token == TokenState(1, int(t) // 30 + 1)
    assert got.state.last_auth == t and got.state.last_ip == "::1"
    assert got.state.revoked_before == NOW  # not a line field: still from the sidecar


def test_remove_drops_the_sidecar_entry(tmp_path: Path) -> None:
    path = make_users_file(tmp_path / "users", f"HOTP alice - {KEY_HEX}\n".encode())
    s = open_store(f"users-file:{path}")
    s.set_recovery_codes("alice", ["d"])
    assert s.remove("alice") is True
    assert json.loads(Path(f"{path}.otpgate.json").read_text())["users"] == {}
    assert path.read_bytes() == b""

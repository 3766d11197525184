"""``otpgate token list|rename|remove`` over passkeys too, and users with no OTP token (issue 20).

``token list`` shows a user's tokens and passkeys (kind ``WEBAUTHN``),
oldest first; ``token rename`` and ``token remove`` take either kind's id and
refuse clearly an id that is not the user's; removing the user's last
authenticator of any kind is refused; the audit line names the kind.  A user
who holds passkeys only is shown, exported and resynced without a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from otpgate.store import open_store
from otpgate.store.passkeys import Passkey, PasskeyStore, new_passkey_id
from otpgate.store.records import Pin, UserRecord

KEY = "3132333435363738393031323334353637383930"
NOW = 1_800_000_000.0

Run = Any


def add_passkey(db: str, user: str, name: str = "Laptop", cred: bytes = b"\x05" * 16) -> str:
    store = open_store(db)
    try:
        assert isinstance(store, PasskeyStore)
        key = Passkey(
            new_passkey_id(), user, cred, b"\xa5" + cred, 0, ("usb",), "0" * 36, name, NOW
        )
        store.add_passkey(key)
    finally:
        store.close()
    return key.id


def listed(run: Run, user: str = "alice") -> list[dict[str, Any]]:
    code, out, err = run("token", "list", user, "--json")
    assert code == 0, err
    got: list[dict[str, Any]] = json.loads(out)
    return got


def admin_lines(audit: Path) -> list[tuple[str, str]]:
    lines = [json.loads(x) for x in audit.read_text().splitlines()]
    return [(x["action"], x.get("detail", "")) for x in lines if x.get("kind") == "admin"]


def test_list_shows_passkeys_oldest_first(env: tuple[Run, Path, str]) -> None:
    run, _audit, db = env
    assert run("user", "add", "alice", "--no-pin", "--key", KEY)[0] == 0
    key_id = add_passkey(db, "alice")  # created NOW: long after the token
    got = listed(run)
    assert [(a["kind"], a["name"]) for a in got] == [("TOTP", "token"), ("WEBAUTHN", "Laptop")]
    assert got[1]["id"] == key_id and got[1]["created"].startswith("2027-01-15")
    code, table, _ = run("token", "list", "alice")
    assert code == 0 and "WEBAUTHN" in table and key_id in table


def test_rename_and_remove_a_passkey_by_its_id(env: tuple[Run, Path, str]) -> None:
    run, audit, db = env
    assert run("user", "add", "alice", "--no-pin", "--key", KEY)[0] == 0
    key_id = add_passkey(db, "alice")
    assert run("token", "rename", "alice", key_id, "Work laptop")[0] == 0
    assert listed(run)[1]["name"] == "Work laptop"
    code, _, err = run("token", "remove", "alice", key_id)
    assert code == 0 and "removed passkey" in err
    assert [a["kind"] for a in listed(run)] == ["TOTP"]
    assert ("rename_token", f"WEBAUTHN {key_id} Work laptop") in admin_lines(audit)
    assert ("remove_token", f"WEBAUTHN {key_id}") in admin_lines(audit)


def test_another_users_id_is_refused_clearly(env: tuple[Run, Path, str]) -> None:
    run, _audit, db = env
    for name in ("alice", "bob"):
        assert run("user", "add", name, "--no-pin", "--key", KEY)[0] == 0
    key_id = add_passkey(db, "alice")
    [bobs] = listed(run, "bob")
    for args in (
        ("token", "remove", "bob", key_id),
        ("token", "rename", "bob", key_id, "Mine"),
        ("token", "remove", "alice", str(bobs["id"])),
    ):
        code, _, err = run(*args)
        assert code != 0 and "has no token or passkey" in err and "Traceback" not in err
    assert len(listed(run)) == 2 and len(listed(run, "bob")) == 1


def test_the_only_token_goes_then_the_passkey_is_the_last(env: tuple[Run, Path, str]) -> None:
    run, audit, db = env
    assert run("user", "add", "alice", "--no-pin", "--key", KEY)[0] == 0
    key_id = add_passkey(db, "alice")
    [token, _] = listed(run)
    code, _, err = run("token", "remove", "alice", str(token["id"]))
    assert code == 0, err
    assert ("remove_token", f"TOTP {token['id']}") in admin_lines(audit)
    code, _, err = run("token", "remove", "alice", key_id)
    assert code != 0 and "last authenticator" in err and "Traceback" not in err
    assert [a["id"] for a in listed(run)] == [key_id]


def test_a_user_with_passkeys_only_is_shown_and_refused_where_a_token_is_needed(
    env: tuple[Run, Path, str], tmp_path: Path
) -> None:
    run, _audit, db = env
    store = open_store(db)
    store.add(UserRecord.passkeys_only("pat", Pin("none")))
    store.close()
    add_passkey(db, "pat")
    code, out, err = run("user", "show", "pat")
    assert code == 0 and "passkeys only" in out, err
    code, out, err = run("user", "show", "pat", "--json")
    assert code == 0 and json.loads(out)["type"] is None and json.loads(out)["tokens"] == 0
    code, out, _ = run("user", "list")
    assert code == 0 and "pat" in out and "none" in out
    code, _, err = run("user", "resync", "pat", "123456", "654321")
    assert code != 0 and "no OTP token" in err and "Traceback" not in err
    target = tmp_path / "users"
    code, _, err = run("export", "--to", f"users-file:{target}")
    assert code != 0 and "no OTP token" in err and "Traceback" not in err

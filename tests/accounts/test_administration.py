"""Administrative actions: the change, and one audit line naming who, where and what.

Every line is checked for secrets: no key, recovery code or link token ever
reaches the log, and a refused action is recorded as refused.
"""

from __future__ import annotations

import io
import json
import math

import pytest

from otpgate.accounts.administration import Actor, Administration, CannotResync
from otpgate.accounts.pin_policy import PinPolicy
from otpgate.accounts.selfservice import SelfService
from otpgate.audit.writer import AuditLog
from otpgate.errors import UnknownUser
from otpgate.login import recovery
from otpgate.login.pins import PinHasher
from otpgate.otp.algorithms import hotp
from otpgate.otp.tokens import parse_token_type
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord, UserState

KEY = bytes(range(20))
NOW = 1_800_000_000.0
ADMIN = Actor("root", "web", "192.0.2.7")


@pytest.fixture
def env() -> tuple[Administration, MemoryStore, io.StringIO]:
    store = MemoryStore()
    store.add(UserRecord("alice", parse_token_type("HOTP/E"), KEY, Pin("plain", "1234")))
    log = io.StringIO()
    audit = AuditLog(log)
    svc = SelfService(
        store, policy=PinPolicy(), hasher=PinHasher(time_cost=1, memory_cost=8), audit=audit
    )
    return Administration(store, audit, svc), store, log


def lines(log: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(x) for x in log.getvalue().splitlines()]


def admin_lines(log: io.StringIO) -> list[dict[str, object]]:
    return [x for x in lines(log) if x.get("kind") == "admin"]


def no_secret(log: io.StringIO, *secrets: str) -> None:
    text = log.getvalue()
    for s in (KEY.hex(), "1234", *secrets):
        assert s not in text


def test_lock_and_unlock_change_the_user_and_say_who(
    env: tuple[Administration, MemoryStore, io.StringIO],
) -> None:
    adm, store, log = env
    adm.lock(ADMIN, "alice", NOW)
    rec = store.get("alice")
    assert (
        rec is not None and rec.state.locked_until == math.inf and rec.state.revoked_before == NOW
    )
    store.compare_and_set("alice", rec.version, UserState(failures=4, locked_until=math.inf))
    adm.unlock(ADMIN, "alice", NOW + 1)
    rec = store.get("alice")
    assert rec is not None and rec.state.locked_until is None and rec.state.failures == 0
    got = admin_lines(log)
    assert [(x["action"], x["actor"], x["via"], x["ip"], x["user"], x["result"]) for x in got] == [
        ("lock", "root", "web", "192.0.2.7", "alice", "ok"),
        ("unlock", "root", "web", "192.0.2.7", "alice", "ok"),
    ]
    assert got[1]["detail"] == "failures 4 -> 0"
    no_secret(log)


def test_resync_needs_two_consecutive_codes(
    env: tuple[Administration, MemoryStore, io.StringIO],
) -> None:
    adm, store, log = env
    with pytest.raises(CannotResync):
        adm.resync(ADMIN, "alice", hotp(KEY, 50), hotp(KEY, 52), NOW)
    assert store.get("alice").state.token.counter == 0  # type: ignore[union-attr]
    adm.resync(ADMIN, "alice", hotp(KEY, 50), hotp(KEY, 51), NOW)
    assert store.get("alice").state.token.counter == 52  # type: ignore[union-attr]
    got = admin_lines(log)
    assert [(x["action"], x["result"]) for x in got] == [("resync", "refused"), ("resync", "ok")]
    assert got[1]["detail"] == "counter 0 -> 52"
    no_secret(log, hotp(KEY, 50), hotp(KEY, 51), hotp(KEY, 52))


def test_recovery_codes_are_returned_once_and_only_their_digests_kept(
    env: tuple[Administration, MemoryStore, io.StringIO],
) -> None:
    adm, store, log = env
    codes = adm.recovery_codes(ADMIN, "alice", NOW)
    assert len(codes) == 10
    assert store.consume_recovery_code("alice", recovery.digest("alice", codes[0]))
    no_secret(log, *codes, *(c.replace("-", "") for c in codes))
    assert admin_lines(log)[0]["action"] == "recovery_codes"


def test_role_remove_and_unknown_users(
    env: tuple[Administration, MemoryStore, io.StringIO],
) -> None:
    adm, store, log = env
    adm.set_role(ADMIN, "alice", "admin", NOW)
    assert store.get_role("alice") == "admin"
    with pytest.raises(ValueError):
        adm.set_role(ADMIN, "alice", "superuser", NOW)
    adm.remove(ADMIN, "alice", NOW)
    assert store.get("alice") is None and store.get_role("alice") == "user"
    for action in (adm.lock, adm.unlock, adm.remove):
        with pytest.raises(UnknownUser):
            action(ADMIN, "alice", NOW)
    with pytest.raises(UnknownUser):
        adm.recovery_codes(ADMIN, "alice", NOW)
    got = admin_lines(log)
    assert [(x["action"], x.get("detail")) for x in got] == [
        ("set_role", "user -> admin"),
        ("remove", None),
    ]


def test_invite_and_reset_links_are_never_logged(
    env: tuple[Administration, MemoryStore, io.StringIO],
) -> None:
    adm, store, log = env
    totp = parse_token_type("HOTP/T30")
    new = adm.invite(ADMIN, "bob", totp, expires_in=86400, reset=False, now=NOW)
    again = adm.invite(ADMIN, "alice", totp, expires_in=3600, reset=True, now=NOW)
    with pytest.raises(ValueError):
        adm.invite(ADMIN, "alice", totp, expires_in=3600, reset=False, now=NOW)
    assert len(store.list_invitations()) == 2
    no_secret(log, new, again)
    got = admin_lines(log)
    assert [(x["action"], x["user"], x["detail"]) for x in got] == [
        ("invite", "bob", "HOTP/T30 link, valid 24 h"),
        ("reset", "alice", "HOTP/T30 link, valid 1 h"),
    ]
    assert adm.revoke_invitations(ADMIN, "bob", NOW) == 1


def test_the_audit_log_refuses_unknown_fields() -> None:
    with pytest.raises(ValueError):
        AuditLog(io.StringIO()).write(NOW, kind="admin", pin="1234")


def test_invited_lists_new_users_with_an_open_link_in_name_order(
    env: tuple[Administration, MemoryStore, io.StringIO],
) -> None:
    adm, store, _ = env
    totp = parse_token_type("HOTP/T30")
    for name, expires_in in (("carol", 60.0), ("bob", 60.0), ("bob", 600.0), ("dave", 60.0)):
        adm.invite(ADMIN, name, totp, expires_in=expires_in, reset=False, now=NOW)
    adm.invite(ADMIN, "alice", totp, expires_in=600.0, reset=True, now=NOW)  # a reset: a user
    adm.invite(ADMIN, "bert", totp, expires_in=60.0, reset=False, now=NOW - 60)  # expired now
    # The latest link counts; names in order, after the last one shown, up to the limit.
    assert adm.invited("", after="", limit=10, now=NOW) == {
        "bob": NOW + 600,
        "carol": NOW + 60,
        "dave": NOW + 60,
    }
    assert adm.invited("b", after="", limit=10, now=NOW) == {"bob": NOW + 600}
    assert adm.invited("", after="bob", limit=1, now=NOW) == {"carol": NOW + 60}
    assert adm.invited("", after="", limit=10, now=NOW + 60) == {"bob": NOW + 600}
    # The status page counts every usable new-user link; a user page shows its own.
    assert len(adm.open_links(None, NOW)) == 4
    assert [i.expires for i in adm.open_links("alice", NOW)] == [NOW + 600]
    assert store.get("alice") is not None and adm.open_links("bert", NOW) == []

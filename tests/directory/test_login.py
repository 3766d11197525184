"""Logins against a real slapd: own PIN, directory password, disabled, removed, renamed users."""

from __future__ import annotations

import time
from collections.abc import Iterator

import ldap
import pytest

from otpgate.login.reasons import Reason
from slapd_proc import AD_BASE, LDAP_BASE, PASSWORDS, ROOT_PW, UAC_DISABLED, OwnSlapd

from .gate import TOTP, Gate, active_directory, openldap

pytestmark = pytest.mark.slapd


def admin(slapd: OwnSlapd, base: str) -> object:
    conn = ldap.initialize(slapd.url)
    conn.set_option(ldap.OPT_X_TLS_CACERTFILE, str(slapd.tls.ca_file))
    conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
    conn.start_tls_s()
    conn.simple_bind_s(f"cn=admin,{base}", ROOT_PW)
    return conn


@pytest.fixture(params=["openldap", "ad"])
def gate(request: pytest.FixtureRequest, slapd: OwnSlapd) -> Iterator[Gate]:
    make = openldap if request.param == "openldap" else active_directory
    g = Gate(make(slapd))
    g.kind = request.param  # type: ignore[attr-defined]
    yield g
    g.close()


def test_own_pin(gate: Gate) -> None:
    gate.enrol("alice", "4711")
    decision = gate.login("alice", "4711" + gate.code())
    assert decision.ok and decision.user == "alice"
    gate.next_step()
    assert not gate.login("alice", "0000" + gate.code()).ok


def test_the_name_is_looked_up_as_the_directory_matches_it(gate: Gate) -> None:
    gate.enrol("alice", "4711")
    decision = gate.login("ALICE", "4711" + gate.code())
    assert decision.ok and decision.user == "alice"  # the directory's spelling


def test_a_nested_group_member_may_log_in(gate: Gate) -> None:
    gate.enrol("bob", "1234")  # in helpdesk, which is inside otp-users
    assert gate.login("bob", "1234" + gate.code()).ok


def test_outside_the_user_group_is_unknown(gate: Gate) -> None:
    gate.enrol("dave", "1234")  # in the directory, in no group
    assert gate.login("dave", "1234" + gate.code()).reason is Reason.UNKNOWN_USER


def test_a_disabled_user_is_refused(gate: Gate) -> None:
    gate.enrol("carol", "1234")
    assert gate.login("carol", "1234" + gate.code()).reason is Reason.UNKNOWN_USER


def test_directory_password(slapd: OwnSlapd) -> None:
    gate = Gate(openldap(slapd, pin="directory"))
    gate.enrol("alice")
    assert gate.login("alice", PASSWORDS["alice"] + gate.code()).ok
    gate.next_step()
    assert not gate.login("alice", "wrong" + gate.code()).ok
    gate.next_step()
    # An empty password is an anonymous bind to LDAP, which succeeds: refused unsent.
    assert not gate.login("alice", gate.code()).ok
    assert gate.checker.binds == 2
    gate.close()


def test_directory_password_on_active_directory(slapd: OwnSlapd) -> None:
    gate = Gate(active_directory(slapd, pin="directory"))
    gate.enrol("bob")
    assert gate.login("bob", PASSWORDS["bob"] + gate.code()).ok
    gate.next_step()
    assert not gate.login("bob", PASSWORDS["alice"] + gate.code()).ok
    gate.close()


def test_no_pin(slapd: OwnSlapd) -> None:
    gate = Gate(openldap(slapd, pin="none"))
    gate.enrol("alice", "4711")  # a PIN given is not kept: the setting decides
    assert gate.login("alice", gate.code()).ok
    gate.close()


def test_disabled_and_removed_at_the_next_fresh_login(gate: Gate, slapd: OwnSlapd) -> None:
    gate.enrol("alice", "4711")
    gate.enrol("erin", "4711")
    assert gate.login("alice", "4711" + gate.code()).ok
    assert gate.login("erin", "4711" + gate.code()).ok
    ad = gate.kind == "ad"  # type: ignore[attr-defined]
    base = AD_BASE if ad else LDAP_BASE
    conn = admin(slapd, base)
    if ad:
        conn.modify_s(  # type: ignore[attr-defined]
            f"cn=alice,ou=people,{base}",
            [(ldap.MOD_REPLACE, "userAccountControl", [str(UAC_DISABLED).encode()])],
        )
        conn.delete_s(f"cn=erin,ou=people,{base}")  # type: ignore[attr-defined]
    else:
        conn.modify_s(  # type: ignore[attr-defined]
            f"uid=alice,ou=people,{base}", [(ldap.MOD_ADD, "employeeType", [b"disabled"])]
        )
        conn.delete_s(f"uid=erin,ou=people,{base}")  # type: ignore[attr-defined]
    gate.next_step()
    # A fresh login asks the directory, whatever its cache holds.
    assert gate.login("alice", "4711" + gate.code()).reason is Reason.UNKNOWN_USER
    assert gate.login("erin", "4711" + gate.code()).reason is Reason.UNKNOWN_USER


def test_sessions_of_a_disabled_user_end_within_session_recheck(slapd: OwnSlapd) -> None:
    gate = Gate(openldap(slapd, session_recheck=0.5))
    gate.enrol("alice", "4711")
    issued = gate.now
    assert gate.login("alice", "4711" + gate.code()).ok
    gate.now += 3  # past state_ttl: the session check reads the store (and the directory)
    assert gate.auth.session_record("alice", issued) is not None
    conn = admin(slapd, LDAP_BASE)
    conn.modify_s(  # type: ignore[attr-defined]
        f"uid=alice,ou=people,{LDAP_BASE}", [(ldap.MOD_ADD, "employeeType", [b"disabled"])]
    )
    gate.now += 3
    # Within session_recheck the lookup may come from the cache ...
    assert gate.auth.session_record("alice", issued) is not None
    time.sleep(0.6)
    gate.now += 3
    # ... after it, the session ends.
    assert gate.auth.session_record("alice", issued) is None
    gate.close()


def test_a_rename_keeps_the_token(gate: Gate, slapd: OwnSlapd) -> None:
    gate.enrol("bob", "1234")
    assert gate.login("bob", "1234" + gate.code()).ok
    ad = gate.kind == "ad"  # type: ignore[attr-defined]
    base = AD_BASE if ad else LDAP_BASE
    conn = admin(slapd, base)
    if ad:
        conn.modify_s(  # type: ignore[attr-defined]
            f"cn=bob,ou=people,{base}", [(ldap.MOD_REPLACE, "sAMAccountName", [b"robert"])]
        )
    else:  # a new RDN: the entry moves, its entryUUID stays (and its group membership goes)
        conn.rename_s(f"uid=bob,ou=people,{base}", "uid=robert", delold=1)  # type: ignore[attr-defined]
        conn.modify_s(  # type: ignore[attr-defined]
            f"cn=helpdesk,ou=groups,{base}",
            [(ldap.MOD_ADD, "member", [f"uid=robert,ou=people,{base}".encode()])],
        )
    gate.next_step()
    decision = gate.login("robert", "1234" + gate.code())
    assert decision.ok and decision.user == "robert"
    assert gate.login("bob", "1234" + gate.code()).reason is Reason.UNKNOWN_USER


def test_a_name_the_directory_does_not_know_gets_no_token(gate: Gate) -> None:
    from otpgate.errors import UnknownUser

    with pytest.raises(UnknownUser):
        gate.enrol("mallory", "1234")
    assert gate.inner.get("mallory") is None


def test_group_based_admin(gate: Gate) -> None:
    gate.enrol("alice", "4711")
    gate.enrol("bob", "1234")
    assert gate.store.get_role("alice") == "admin"
    assert gate.store.get_role("bob") == "user"
    from otpgate.errors import StoreError

    with pytest.raises(StoreError, match="admin_group"):
        gate.store.set_role("bob", "admin")


def test_tokens_are_kept_under_the_stable_id(gate: Gate) -> None:
    gate.enrol("alice", "4711")
    [kept] = list(gate.inner.list_users())
    user = gate.store.directory.find("alice")
    assert kept.username == user.id != "alice"
    assert [r.username for r in gate.store.list_users()] == ["alice"]


@pytest.mark.parametrize("name", ["*", "al*", "alice)(uid=*", "alice\\", "*)(|(uid=*"])
def test_a_name_cannot_widen_the_search(gate: Gate, name: str) -> None:
    gate.enrol("alice", "4711")
    assert gate.store.directory.find(name) is None
    assert gate.login(name, "4711" + gate.code()).reason is Reason.UNKNOWN_USER


def test_a_name_found_twice_is_nobody(slapd: OwnSlapd) -> None:
    gate = Gate(openldap(slapd, user_group=None))
    gate.enrol("dave", "4711")
    conn = admin(slapd, LDAP_BASE)
    conn.add_s(  # type: ignore[attr-defined]
        f"uid=dave,ou=services,{LDAP_BASE}",
        [
            ("objectClass", [b"inetOrgPerson"]),
            ("uid", [b"dave"]),
            ("cn", [b"Another Dave"]),
            ("sn", [b"Dave"]),
        ],
    )
    # Which of the two typed the password? Neither may log in as "dave".
    assert gate.login("dave", "4711" + gate.code()).reason is Reason.UNKNOWN_USER
    gate.close()


def test_removing_a_user_revokes_their_open_invitations(gate: Gate) -> None:
    from otpgate.accounts.pin_policy import PinPolicy
    from otpgate.accounts.selfservice import SelfService
    from otpgate.login.pins import FAST_TEST_HASHER

    service = SelfService(gate.store, policy=PinPolicy(), hasher=FAST_TEST_HASHER)
    gate.enrol("alice", "4711")
    service.invite("bob", TOTP, expires_in=3600, reset=False, now=gate.now)
    assert gate.store.remove("alice") is True
    assert gate.store.remove("bob") is False  # no token, but the link goes
    assert [i.status for i in gate.store.list_invitations()] == ["revoked"]
    assert list(gate.inner.list_users()) == []

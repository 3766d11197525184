"""Connections: StartTLS and ldaps with the test CA, failover, the directory away and back."""

from __future__ import annotations

import dataclasses
import logging
import signal
from pathlib import Path

import ldap
import pytest

from otpgate.directory.client import Directory
from otpgate.directory.entries import DirectoryUnavailable
from otpgate.login.reasons import Reason
from procs import free_port
from slapd_proc import LDAP_BASE, PASSWORDS, OwnSlapd, make_ca

from .gate import Gate, active_directory, openldap

pytestmark = pytest.mark.slapd

ALICE = f"uid=alice,ou=people,{LDAP_BASE}"


def test_starttls_with_the_test_ca(slapd: OwnSlapd) -> None:
    directory = Directory(openldap(slapd))
    assert slapd.url.startswith("ldap://")
    user = directory.find("alice")
    assert user is not None and user.display == "Alice Liddell"
    directory.close()


def test_ldaps_with_the_test_ca(slapd: OwnSlapd) -> None:
    directory = Directory(active_directory(slapd))
    assert directory.find("bob") is not None
    directory.close()


@pytest.mark.parametrize("url", ["starttls", "ldaps"])
def test_a_certificate_from_another_ca_is_refused(
    slapd: OwnSlapd, tmp_path: Path, url: str
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    stranger = make_ca(other)
    urls = (slapd.url,) if url == "starttls" else (slapd.ldaps_url,)
    directory = Directory(openldap(slapd, url=urls, ca_file=str(stranger.ca_file)))
    with pytest.raises(DirectoryUnavailable):
        directory.find("alice")
    directory.close()


def test_plain_ldap_is_never_used(slapd: OwnSlapd) -> None:
    # ldap:// means StartTLS, and the certificate must check out.
    settings = openldap(slapd)
    directory = Directory(settings)
    conn = directory.pool._connect(slapd.url)
    assert conn.get_option(ldap.OPT_X_TLS_REQUIRE_CERT) == ldap.OPT_X_TLS_DEMAND
    conn.unbind_s()
    directory.close()


def test_failover_to_the_next_url(slapd: OwnSlapd) -> None:
    dead = f"ldap://127.0.0.1:{free_port()}"
    directory = Directory(openldap(slapd, url=(dead, slapd.url), timeout=2))
    assert directory.find("alice") is not None
    assert directory.pool.url == slapd.url
    directory.close()


def test_an_empty_password_is_never_sent(slapd: OwnSlapd) -> None:
    directory = Directory(openldap(slapd))
    # What the guard is for: to LDAP, a DN with no password is an anonymous bind, and succeeds.
    conn = directory.pool._connect(slapd.url)
    conn.simple_bind_s(ALICE, "")
    conn.unbind_s()
    assert directory.pool.check_password(ALICE, "") is False
    assert directory.pool.check_password(ALICE, PASSWORDS["alice"]) is True
    assert directory.pool.check_password(ALICE, "nope") is False
    directory.close()


def test_the_directory_away_and_back(slapd: OwnSlapd, caplog: pytest.LogCaptureFixture) -> None:
    gate = Gate(openldap(slapd, timeout=2), max_linger=0)
    gate.enrol("alice", "4711")
    assert gate.login("alice", "4711" + gate.code()).ok
    slapd.stop()
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="otpgate"):
        for _ in range(5):
            gate.next_step()
            decision = gate.login("alice", "4711" + gate.code())
            assert not decision.ok and decision.reason is Reason.STORE_ERROR
        with pytest.raises(DirectoryUnavailable):
            gate.store.ping()
    said = [r for r in caplog.records if "directory unavailable" in r.getMessage()]
    assert len(said) == 1, [r.getMessage() for r in caplog.records]
    assert not [r for r in caplog.records if r.exc_info]  # no traceback: a known state
    slapd.start()
    gate.next_step()
    with caplog.at_level(logging.WARNING, logger="otpgate"):
        assert gate.login("alice", "4711" + gate.code()).ok  # no restart of the gate
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    gate.store.ping()
    gate.close()


def test_a_wrong_service_password_refuses_logins(slapd: OwnSlapd) -> None:
    settings = openldap(slapd)
    assert settings.bind_password_file
    Path(settings.bind_password_file).write_text("wrong\n")
    gate = Gate(settings)
    with pytest.raises(DirectoryUnavailable, match="Invalid credentials"):
        gate.enrol("alice", "4711")
    assert gate.login("alice", "4711" + gate.code()).reason is Reason.STORE_ERROR
    gate.close()


def test_a_bad_user_filter_refuses_logins(slapd: OwnSlapd) -> None:
    settings = dataclasses.replace(openldap(slapd), user_filter="(objectClass=inetOrgPerson)")
    gate = Gate(settings)
    gate.enrol("alice", "4711")
    gate.store.directory.settings = dataclasses.replace(settings, user_filter="(bad filter)")
    assert gate.login("alice", "4711" + gate.code()).reason is Reason.STORE_ERROR
    gate.close()


def test_a_restart_between_two_requests_costs_no_login(slapd: OwnSlapd) -> None:
    directory = Directory(openldap(slapd))
    # Fill the pool with several connections (concurrent lookups leave them there).
    conns = [directory.pool._service() for _ in range(3)]
    for conn in conns:
        directory.pool._give(conn)
    slapd.stop()
    slapd.start()
    assert directory.find("alice") is not None  # stale connections replaced, not an error
    directory.close()


def test_a_server_that_stops_answering_times_out(slapd: OwnSlapd) -> None:
    directory = Directory(openldap(slapd, timeout=1))
    assert directory.find("alice") is not None  # a pooled connection, then a hung server
    assert slapd.proc is not None
    slapd.proc.send_signal(signal.SIGSTOP)
    try:
        with pytest.raises(DirectoryUnavailable):
            directory.find("alice")
        with pytest.raises(DirectoryUnavailable):
            directory.find("alice")  # a new connection: connected, then no answer
    finally:
        slapd.proc.send_signal(signal.SIGCONT)
    assert directory.find("alice") is not None
    directory.close()

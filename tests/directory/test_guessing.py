"""Guessing cannot lock the directory account: a lockout threshold of 5 is never reached.

The test's slapd runs the password policy overlay with ``pwdMaxFailure: 5``,
as an AD lockout threshold of 5: five failed binds lock the account.  The
binds otpgate makes for ``pin = "directory"`` come after the throttle, the
guess budget and the one-time password, and stop at ``max_bind_failures``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from otpgate.login.reasons import Reason
from slapd_proc import LDAP_BASE, PASSWORDS, OwnSlapd, own_slapd

from .gate import Gate, openldap

pytestmark = pytest.mark.slapd

LOCKOUT = 5
ALICE = f"uid=alice,ou=people,{LDAP_BASE}"


@pytest.fixture
def locking(tmp_path: Path) -> Iterator[OwnSlapd]:
    home = tmp_path / "slapd"
    home.mkdir()
    with own_slapd(home, lockout=LOCKOUT) as server:
        yield server


def still_unlocked(gate: Gate) -> bool:
    return gate.store.directory.pool.check_password(ALICE, PASSWORDS["alice"])


def test_the_lockout_is_real(locking: OwnSlapd) -> None:
    # Without otpgate in front, five wrong binds lock the account (the tests below mean it).
    gate = Gate(openldap(locking, pin="directory"))
    for _ in range(LOCKOUT):
        assert not gate.store.directory.pool.check_password(ALICE, "guess")
    assert not still_unlocked(gate)
    gate.close()


def test_guessers_without_the_token_never_cause_a_bind(locking: OwnSlapd) -> None:
    gate = Gate(openldap(locking, pin="directory"))
    gate.enrol("alice")
    for i in range(200):  # from many addresses: no throttle per address helps here
        decision = gate.login("alice", PASSWORDS["alice"] + f"{i:06d}", ip=f"198.51.100.{i % 250}")
        assert not decision.ok
    assert gate.checker.binds == 0
    assert still_unlocked(gate)
    gate.close()


def test_a_token_thief_guessing_the_password_stops_before_the_lockout(locking: OwnSlapd) -> None:
    # The worst case: every guess comes with a right, fresh code, each from another address.
    gate = Gate(openldap(locking, pin="directory"))
    gate.enrol("alice")
    refused = []
    for i in range(20):
        gate.next_step()
        decision = gate.login("alice", f"guess{i}" + gate.code(), ip=f"203.0.113.{i}")
        refused.append(decision.reason)
    assert Reason.OTP not in refused
    assert gate.checker.binds == gate.store.directory.settings.max_bind_failures < LOCKOUT
    assert still_unlocked(gate)
    gate.close()


def test_the_budget_counts_before_any_bind(locking: OwnSlapd) -> None:
    # A guess budget of 2 (all addresses together) ends the guessing before the bind limit.
    gate = Gate(openldap(locking, pin="directory", max_bind_failures=4), guess_budget=2)
    gate.enrol("alice")
    for i in range(10):
        gate.next_step()
        assert not gate.login("alice", f"guess{i}" + gate.code(), ip=f"203.0.113.{i}").ok
    assert gate.checker.binds == 2 < LOCKOUT  # the budget, not the bind limit (4)
    assert still_unlocked(gate)
    gate.close()


def test_a_limit_at_the_threshold_would_lock(locking: OwnSlapd) -> None:
    # The rule is max_bind_failures < the directory's threshold: at it, the account locks.
    gate = Gate(openldap(locking, pin="directory", max_bind_failures=LOCKOUT))
    gate.enrol("alice")
    for i in range(10):
        gate.next_step()
        gate.login("alice", f"guess{i}" + gate.code(), ip=f"203.0.113.{i}")
    assert gate.checker.binds == LOCKOUT
    assert not still_unlocked(gate)
    gate.close()


def test_gates_sharing_redis_count_the_binds_together(
    locking: OwnSlapd, redis_server_url: str, redis_prefix: str
) -> None:
    from otpgate.state import open_state

    states = [open_state(redis_server_url, redis_prefix, 1.0) for _ in range(2)]
    gates = [Gate(openldap(locking, pin="directory"), state=s) for s in states]
    for gate in gates:
        gate.enrol("alice")
    for i in range(20):  # alternating gates, each guess with a right code
        gate = gates[i % 2]
        gate.next_step()
        assert not gate.login("alice", f"guess{i}" + gate.code(), ip=f"203.0.113.{i}").ok
    # Each alone would have bound 3 times: 6 binds, over the threshold of 5.
    assert sum(g.checker.binds for g in gates) == 3 < LOCKOUT
    assert still_unlocked(gates[0])
    for gate, state in zip(gates, states, strict=True):
        gate.close()
        state.close()

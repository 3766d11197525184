"""InvitationStore: enrolment links, found by digest, updated by compare-and-set, every backend."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from otpgate.errors import StoreError
from otpgate.store import InvitationStore, invitations
from otpgate.store.records import Pin, UserRecord

from .conftest import NOW, SECRET, TOTP, Opener, every_backend, invite, pin_for

pytestmark = every_backend


def test_every_backend_is_an_invitation_store(opener: Opener) -> None:
    assert isinstance(opener(), InvitationStore)


def test_round_trip_and_list(opener: Opener) -> None:
    s = opener()
    _, a = invite("dora")
    _, b = invite("erik", reset=True, created=NOW + 1)
    s.add_invitation(a)
    s.add_invitation(b)
    got = s.get_invitation(a.digest)
    assert got == a and got is not None and got.version is not None
    assert [i.username for i in s.list_invitations()] == ["dora", "erik"]
    assert s.list_invitations()[1].reset is True
    assert s.list_invitations()[1].record == b.record != ""
    assert s.get_invitation(invitations.digest(invitations.new_token())) is None
    # Survives reopening (the memory store "reopens" to itself).
    assert opener().get_invitation(b.digest) == b


def test_a_digest_is_unique(opener: Opener) -> None:
    s = opener()
    _, a = invite()
    s.add_invitation(a)
    with pytest.raises(StoreError):
        s.add_invitation(replace(a, username="mallory"))
    assert s.get_invitation(a.digest) == a


def test_update_is_compare_and_set(opener: Opener, backend: str) -> None:
    s = opener()
    _, a = invite()
    s.add_invitation(a)
    first = s.get_invitation(a.digest)
    assert first is not None
    pending = replace(first, status="pending", pending_key=SECRET, pending_pin=pin_for(backend))
    new = s.update_invitation(a.digest, first.version, pending)
    assert new is not None and new.status == "pending"
    assert new.pending_key == SECRET and new.pending_pin == pin_for(backend)
    assert new.version != first.version
    # The old version no longer wins: a second confirmation of one link fails.
    assert s.update_invitation(a.digest, first.version, first.with_status("used")) is None
    assert s.update_invitation(a.digest, new.version, new.with_status("used")) is not None
    assert s.update_invitation(a.digest, new.version, new.with_status("used")) is None
    got = s.get_invitation(a.digest)
    assert got is not None and got.status == "used" and got.pending_key == SECRET
    assert s.update_invitation("0" * 64, 1, a) is None
    for bogus in (True, None, "x", 1.0, 1 << 63, -(1 << 63) - 1, 1 << 64):
        assert s.update_invitation(a.digest, bogus, a) is None


def test_concurrent_confirmations_one_wins(opener: Opener) -> None:
    s = opener()
    _, a = invite()
    s.add_invitation(a)
    current = s.get_invitation(a.digest)
    assert current is not None
    results: list[object] = []
    barrier = threading.Barrier(6)

    def confirm() -> None:
        store = opener()
        barrier.wait()
        results.append(
            store.update_invitation(a.digest, current.version, current.with_status("used"))
        )

    threads = [threading.Thread(target=confirm) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1


def test_invitations_and_users_do_not_disturb_each_other(opener: Opener, backend: str) -> None:
    s = opener()
    s.add(
        UserRecord("dora", TOTP, SECRET, pin_for(backend) if backend != "memory" else Pin("none"))
    )
    before = s.get("dora")
    assert before is not None
    _, a = invite("dora", reset=True)
    s.add_invitation(a)
    got = s.get_invitation(a.digest)
    assert got is not None
    s.update_invitation(a.digest, got.version, got.with_status("revoked"))
    after = s.get("dora")
    assert after is not None and after.version == before.version
    # A user write keeps the invitations.
    assert s.compare_and_set("dora", after.version, after.state) is not None
    s.set_recovery_codes("dora", ["ab" * 32])
    again = s.get_invitation(a.digest)
    assert again is not None and again.status == "revoked"

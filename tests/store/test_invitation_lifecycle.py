"""Invitations against a changing user, in every store: removal, re-adding, sibling links.

The attacks (issue 17, item 1): a reset link outlived ``user remove`` and a
new ``user add`` of the same name, and enrolled the link holder in place of
the new owner; a second link for a user enrolled them again after they were
removed.  A link belongs to the record it was made for (a reset) or to a
name that is free (a new user): when that changes, it is dead.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from otpgate.accounts.pin_policy import PinPolicy
from otpgate.accounts.selfservice import InvitationRefused, SelfService
from otpgate.login.pins import FAST_TEST_HASHER
from otpgate.otp.algorithms import totp
from otpgate.otp.tokens import parse_token_type
from otpgate.store import Store
from otpgate.store.invitations import digest
from otpgate.store.records import Pin, UserRecord

from .conftest import BACKENDS, Opener

pytestmark = pytest.mark.parametrize("store_url", BACKENDS, indirect=True)

TOTP = parse_token_type("HOTP/T30")
T0 = 1_800_000_000.0
HOUR = 3600.0
PIN = "735191"
OLD_KEY = bytes(range(20))
NEW_KEY = bytes(range(20, 40))


def service(store: Store) -> SelfService:
    return SelfService(store, policy=PinPolicy(), hasher=FAST_TEST_HASHER)


def someone(store: Store, name: str, key: bytes) -> None:
    """A user as ``otpgate user add`` makes one (no PIN: every store keeps that)."""
    store.add(UserRecord(name, TOTP, key, Pin("none")))


def enrol(svc: SelfService, token: str, now: float) -> str:
    """Choose a PIN and confirm with the new token's code, as the link holder does."""
    assert svc.choose_pin(token, PIN, PIN, now) == []
    inv = svc.store.get_invitation(digest(token))
    assert inv is not None and inv.pending_key is not None
    return svc.confirm(token, totp(inv.pending_key, now), "192.0.2.1", now)[0]


def refused(svc: SelfService, token: str, now: float) -> str:
    """Why every step of the link is refused (the same reason at each)."""
    whys = set()
    for step in (
        lambda: svc.open(token, now),
        lambda: svc.choose_pin(token, PIN, PIN, now),
        lambda: svc.confirm(token, "000000", "192.0.2.1", now),
    ):
        with pytest.raises(InvitationRefused) as exc:
            step()
        whys.add(exc.value.why)
    assert len(whys) == 1, whys
    return whys.pop()


def test_a_reset_link_dies_with_the_user_it_was_made_for(opener: Opener) -> None:
    # Issue 17, 1(a): enrol ivy; a reset link the old holder keeps; user remove
    # ivy; user add ivy for a new person; the old link enrolled the holder.
    store = opener()
    svc = service(store)
    someone(store, "ivy", OLD_KEY)
    link = svc.invite("ivy", TOTP, expires_in=HOUR, reset=True, now=T0)
    assert store.remove("ivy")
    someone(store, "ivy", NEW_KEY)
    assert refused(svc, link, T0 + 60) == "revoked"
    new_ivy = store.get("ivy")
    assert new_ivy is not None and new_ivy.key == NEW_KEY


def test_a_reset_link_dies_when_the_record_changes_without_a_removal(opener: Opener) -> None:
    # The users file edited by hand, or the user replaced by `user add --force`:
    # no removal revoked anything, the record the link was made for is gone all the same.
    store = opener()
    svc = service(store)
    someone(store, "ivy", OLD_KEY)
    link = svc.invite("ivy", TOTP, expires_in=HOUR, reset=True, now=T0)
    old = store.get("ivy")
    assert old is not None
    store.replace(replace(old, key=NEW_KEY))
    assert refused(svc, link, T0 + 60) == "changed"
    # The PIN, the lock, the state may change: the same record keeps its link.
    store.replace(replace(old, pin=Pin("none")))
    second = svc.invite("ivy", TOTP, expires_in=HOUR, reset=True, now=T0 + 61)
    record = store.get("ivy")
    assert record is not None
    store.replace(replace(record, serial="TOK-1"))
    assert enrol(svc, second, T0 + 90) == "ivy"


def test_a_second_link_does_not_bring_a_removed_user_back(opener: Opener) -> None:
    # Issue 17, 1(b): two links for jon; enrol with A; user remove jon; B enrolled jon again.
    store = opener()
    svc = service(store)
    a = svc.invite("jon", TOTP, expires_in=HOUR, reset=False, now=T0)
    b = svc.invite("jon", TOTP, expires_in=HOUR, reset=False, now=T0)
    assert enrol(svc, a, T0 + 30) == "jon"
    assert store.remove("jon")
    assert refused(svc, b, T0 + 60) == "revoked"
    assert store.get("jon") is None


def test_after_one_reset_link_its_sibling_cannot_replace_the_token(opener: Opener) -> None:
    store = opener()
    svc = service(store)
    someone(store, "erin", OLD_KEY)
    a = svc.invite("erin", TOTP, expires_in=HOUR, reset=True, now=T0)
    b = svc.invite("erin", TOTP, expires_in=HOUR, reset=True, now=T0)
    # B got as far as a pending secret before A was confirmed.
    assert svc.choose_pin(b, PIN, PIN, T0 + 10) == []
    assert enrol(svc, a, T0 + 30) == "erin"
    enrolled = store.get("erin")
    assert enrolled is not None
    assert refused(svc, b, T0 + 60) == "revoked"
    after = store.get("erin")
    assert after is not None and after.key == enrolled.key


def test_a_new_user_link_is_refused_once_the_name_is_taken(opener: Opener) -> None:
    store = opener()
    svc = service(store)
    link = svc.invite("kim", TOTP, expires_in=HOUR, reset=False, now=T0)
    someone(store, "kim", OLD_KEY)  # the administrator made kim another way
    assert refused(svc, link, T0 + 60) == "exists"
    kim = store.get("kim")
    assert kim is not None and kim.key == OLD_KEY


def test_removing_a_user_revokes_their_links_only(opener: Opener) -> None:
    store = opener()
    svc = service(store)
    someone(store, "ivy", OLD_KEY)
    someone(store, "lea", OLD_KEY)
    ivy = svc.invite("ivy", TOTP, expires_in=HOUR, reset=True, now=T0)
    assert svc.choose_pin(ivy, PIN, PIN, T0) == []
    lea = svc.invite("lea", TOTP, expires_in=HOUR, reset=True, now=T0)
    new = svc.invite("ivy-2", TOTP, expires_in=HOUR, reset=False, now=T0)
    assert store.remove("ivy")
    got = store.get_invitation(digest(ivy))
    # Revoked, and the secret and PIN made for it are gone from the store.
    assert got is not None and got.status == "revoked"
    assert got.pending_key is None and got.pending_pin is None
    for other in (lea, new):
        kept = store.get_invitation(digest(other))
        assert kept is not None and kept.status == "open"
    # A name without a user: its links go as well (nothing else to remove).
    assert not store.remove("ivy-2")
    gone = store.get_invitation(digest(new))
    assert gone is not None and gone.status == "revoked"

"""Passkey ceremonies against adversarial answers (a software authenticator makes them).

Each rule has a test that fails when the rule goes: the origin, the RP ID,
the challenge (single use, expiring, bound to its purpose and user), the
credential's owner, user verification without a user name, the counter
(a clone), and answers that are not JSON at all.
"""

from __future__ import annotations

import json

import pytest

from otpgate.login.passkeys import (
    Assertion,
    Ceremonies,
    ClonedPasskey,
    PasskeyRefused,
    RelyingParty,
)
from otpgate.otp.tokens import parse_token_type
from otpgate.state import LocalState
from otpgate.state.challenges import Challenges
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord
from soft_authenticator import UP, SoftAuthenticator, challenge_of

from .test_single_use import KEY

RP = RelyingParty("example.com", ("https://auth.example.com",), "Example", b"k" * 32)
NOW = 1_800_000_000.0


@pytest.fixture
def store() -> MemoryStore:
    s = MemoryStore()
    for name in ("alice", "bob"):
        s.add(UserRecord(name, parse_token_type("HOTP/T30"), KEY, Pin("none")))
    return s


@pytest.fixture
def cer(store: MemoryStore) -> Ceremonies:
    return Ceremonies(RP, Challenges(LocalState(), ttl=120), store)


def enrol(cer: Ceremonies, user: str = "alice", **kw: object) -> SoftAuthenticator:
    soft = SoftAuthenticator(**kw)  # type: ignore[arg-type]
    handle, options = cer.registration_options(user, NOW)
    cer.register(user, handle, soft.create(challenge_of(options)), "Laptop", NOW)
    return soft


def login(
    cer: Ceremonies, soft: SoftAuthenticator, user: str | None = "alice", **kw: object
) -> Assertion:
    handle, options = cer.authentication_options(user, NOW)
    answer = soft.get(challenge_of(options), **kw)  # type: ignore[arg-type]
    return cer.verify(cer.passkey_of(answer), handle, answer, user, NOW + 1)


def test_register_then_sign_in_with_and_without_a_user_name(
    cer: Ceremonies, store: MemoryStore
) -> None:
    soft = enrol(cer)
    (pk,) = store.passkeys("alice")
    assert (pk.name, pk.credential_id, pk.sign_count, pk.transports) == (
        "Laptop",
        soft.credential_id,
        0,
        ("internal",),
    )
    assert login(cer, soft).count == 1
    assert login(cer, soft, None).user_verified
    (pk,) = store.passkeys("alice")
    assert (pk.sign_count, pk.last_used) == (2, NOW + 1)


@pytest.mark.parametrize("where", ["register", "login"])
@pytest.mark.parametrize(
    "wrong",
    [
        {"origin": "https://evil.example.net"},
        {"origin": "http://auth.example.com"},
        {"rp_id": "evil.com"},
    ],
)
def test_a_wrong_origin_or_rp_id_is_refused(
    cer: Ceremonies, where: str, wrong: dict[str, str]
) -> None:
    if where == "register":
        handle, options = cer.registration_options("alice", NOW)
        with pytest.raises(PasskeyRefused):
            cer.register(
                "alice",
                handle,
                SoftAuthenticator().create(challenge_of(options), **wrong),
                "x",
                NOW,
            )
        return
    soft = enrol(cer)
    with pytest.raises(PasskeyRefused):
        login(cer, soft, **wrong)
    assert login(cer, soft).count == 2  # the authenticator's counter moved on; still fine


def test_a_challenge_is_used_once(cer: Ceremonies) -> None:
    soft = enrol(cer)
    handle, options = cer.authentication_options("alice", NOW)
    answer = soft.get(challenge_of(options))
    cer.verify(cer.passkey_of(answer), handle, answer, "alice", NOW)
    again = soft.get(challenge_of(options))  # a fresh signature over the old challenge
    with pytest.raises(PasskeyRefused, match="no such challenge"):
        cer.verify(cer.passkey_of(again), handle, again, "alice", NOW)
    # A registration challenge too.
    handle, options = cer.registration_options("alice", NOW)
    other = SoftAuthenticator()
    cer.register("alice", handle, other.create(challenge_of(options)), "Two", NOW)
    with pytest.raises(PasskeyRefused, match="no such challenge"):
        cer.register(
            "alice", handle, SoftAuthenticator().create(challenge_of(options)), "Three", NOW
        )


@pytest.mark.parametrize(("later", "ok"), [(119.9, True), (120.0, False), (500.0, False)])
def test_a_challenge_expires(cer: Ceremonies, later: float, ok: bool) -> None:
    soft = enrol(cer)
    handle, options = cer.authentication_options("alice", NOW)
    answer = soft.get(challenge_of(options))
    if ok:
        assert cer.verify(cer.passkey_of(answer), handle, answer, "alice", NOW + later).count == 1
    else:
        with pytest.raises(PasskeyRefused, match="no such challenge"):
            cer.verify(cer.passkey_of(answer), handle, answer, "alice", NOW + later)


def test_a_challenge_answers_only_its_purpose_and_user(cer: Ceremonies) -> None:
    soft = enrol(cer)
    handle, options = cer.registration_options("alice", NOW)  # not a sign-in challenge
    answer = soft.get(challenge_of(options))
    with pytest.raises(PasskeyRefused, match="something else"):
        cer.verify(cer.passkey_of(answer), handle, answer, "alice", NOW)
    handle, options = cer.authentication_options("bob", NOW)  # bob's, not alice's
    answer = soft.get(challenge_of(options))
    with pytest.raises(PasskeyRefused, match="something else"):
        cer.verify(cer.passkey_of(answer), handle, answer, "alice", NOW)


def test_another_users_credential_is_refused(cer: Ceremonies, store: MemoryStore) -> None:
    soft = enrol(cer, "alice")
    with pytest.raises(PasskeyRefused, match="another user's"):
        login(cer, soft, "bob")
    assert store.passkeys("alice")[0].sign_count == 0  # nothing counted for bob's try


def test_without_a_user_name_the_user_must_be_verified(cer: Ceremonies) -> None:
    soft = enrol(cer)
    with pytest.raises(PasskeyRefused, match="verif"):
        login(cer, soft, None, flags=UP)
    assert login(cer, soft, "alice", flags=UP).user_verified is False  # the PIN is the other factor


@pytest.mark.parametrize(("step", "cloned"), [(1, False), (0, True), (-3, True)])
def test_a_counter_that_does_not_grow_is_a_clone(
    cer: Ceremonies, store: MemoryStore, step: int, cloned: bool
) -> None:
    soft = enrol(cer)
    login(cer, soft, step=5)
    if not cloned:
        assert login(cer, soft, step=step).count == 6
        return
    with pytest.raises(ClonedPasskey) as exc:
        login(cer, soft, step=step)
    assert exc.value.passkey.sign_count == 5
    assert store.passkeys("alice")[0].sign_count == 5  # not written back


def test_authenticators_without_a_counter_are_not_clones(cer: Ceremonies) -> None:
    soft = enrol(cer)
    assert login(cer, soft, step=0).count == 0
    assert login(cer, soft, step=0).count == 0


def test_a_forged_signature_with_a_low_counter_is_no_clone(cer: Ceremonies) -> None:
    soft = enrol(cer)
    login(cer, soft, step=5)
    forger = SoftAuthenticator(credential_id=soft.credential_id, count=1)  # another key
    with pytest.raises(PasskeyRefused) as exc:
        login(cer, forger)
    assert not isinstance(exc.value, ClonedPasskey)  # a forgery cannot make a passkey look cloned


def test_a_credential_is_registered_once(cer: Ceremonies) -> None:
    soft = enrol(cer, "alice")
    handle, options = cer.registration_options("bob", NOW)
    with pytest.raises(Exception, match="registered already"):
        cer.register("bob", handle, soft.create(challenge_of(options)), "Mine", NOW)


def test_options_name_the_users_passkeys_or_a_decoy(cer: Ceremonies) -> None:
    soft = enrol(cer)
    _, options = cer.authentication_options("alice", NOW)
    assert [c["id"] for c in options["allowCredentials"]] == [json.loads(soft.get(b"x"))["id"]]
    assert options["userVerification"] == "preferred"
    _, ghost1 = cer.authentication_options("ghost", NOW)
    _, ghost2 = cer.authentication_options("ghost", NOW)
    _, bob = cer.authentication_options("bob", NOW)  # known, no passkey: a decoy too
    assert len(ghost1["allowCredentials"]) == len(bob["allowCredentials"]) == 1
    assert ghost1["allowCredentials"] == ghost2["allowCredentials"] != bob["allowCredentials"]
    _, anyone = cer.authentication_options(None, NOW)
    assert anyone.get("allowCredentials", []) == [] and anyone["userVerification"] == "required"
    _, reg = cer.registration_options("alice", NOW)
    assert [c["id"] for c in reg["excludeCredentials"]] == [options["allowCredentials"][0]["id"]]
    assert reg["rp"] == {"id": "example.com", "name": "Example"}


MALFORMED = [
    "",
    "{",
    "[]",
    "null",
    "x" * 20_000,
    '{"id": "AA", "rawId": "AA"}',
    '{"id": "AA", "rawId": "AB", "type": "public-key", "response": {}}',
    '{"id": 1, "rawId": [], "type": "public-key", "response": "no"}',
    '{"id": "AA", "rawId": "AA", "type": "public-key", "response": {"clientDataJSON": "!!",'
    ' "authenticatorData": "AA", "signature": "AA"}}',
]


@pytest.mark.parametrize("answer", MALFORMED)
def test_malformed_answers_are_refused_cleanly(cer: Ceremonies, answer: str) -> None:
    enrol(cer)
    handle, _ = cer.authentication_options("alice", NOW)
    with pytest.raises(PasskeyRefused):
        cer.verify(cer.passkey_of(answer), handle, answer, "alice", NOW)
    handle, _ = cer.registration_options("alice", NOW)
    with pytest.raises(PasskeyRefused):
        cer.register("alice", handle, answer, "Laptop", NOW)


def test_a_corrupted_answer_is_refused(cer: Ceremonies) -> None:
    soft = enrol(cer)
    handle, options = cer.authentication_options("alice", NOW)
    answer = json.loads(soft.get(challenge_of(options)))
    answer["response"]["signature"] = answer["response"]["signature"][:-4] + "AAAA"
    text = json.dumps(answer)
    with pytest.raises(PasskeyRefused):
        cer.verify(cer.passkey_of(text), handle, text, "alice", NOW)


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "a\nb"])
def test_a_bad_name_is_refused_before_the_challenge_is_spent(cer: Ceremonies, name: str) -> None:
    handle, options = cer.registration_options("alice", NOW)
    answer = SoftAuthenticator().create(challenge_of(options))
    with pytest.raises(PasskeyRefused, match="name"):
        cer.register("alice", handle, answer, name, NOW)
    assert cer.register("alice", handle, answer, "ok", NOW).name == "ok"

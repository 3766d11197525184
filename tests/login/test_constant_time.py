"""Secrets are compared with ``hmac.compare_digest``, on every path that compares one.

A secret compared with ``==`` gives the same answers, only sooner when the
first characters differ, so behaviour tests never notice the change
(issue 17: ``pins_equal`` with ``==`` passed the whole suite).  These tests
record the constant-time function's operands (:mod:`compare_spy`) and
assert that the secret each one sends was compared there: the PIN, the
stored last OTP (both the cross-process linger and the replay check), the
OTP against every candidate code (no early exit), htpasswd hashes and the
shared known-credential tag.  The web's secrets (API keys, CSRF tokens, the
session binding) are in tests/web/test_constant_time_web.py.

Not here, on purpose: recovery codes and invitation links are never
compared as such.  The store is asked for the SHA-256 digest of the code or
link token (80 and 256 random bits, :mod:`otpgate.login.recovery`,
:mod:`otpgate.store.invitations`) and finds it by lookup; what a lookup's timing
could tell is how much of a digest matched, which says nothing about a
preimage.  The API key is hashed first for the same reason and then also
compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from pathlib import Path

import pytest

from compare_spy import Comparisons
from otpgate.config.auth import AuthSettings
from otpgate.login import rules
from otpgate.login.authenticator import Authenticator
from otpgate.login.pins import HtpasswdChecker, apr1_md5, pins_equal
from otpgate.login.reasons import Reason
from otpgate.otp.algorithms import HmacKey
from otpgate.otp.tokens import Token, parse_token_type
from otpgate.otp.verify import Policy, TokenState, generate, verify
from otpgate.state.credentials import KnownCredential, seal, unseal
from otpgate.store.memory import MemoryStore
from otpgate.store.records import Pin, UserRecord, UserState

NOW = 1_700_000_010.0
KEY = bytes(range(1, 21))
PIN = "4711"
IP = "192.0.2.1"


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> Comparisons:
    return Comparisons(monkeypatch)


def totp() -> Token:
    return Token(parse_token_type("HOTP/T30"), KEY)


# --- the PIN -------------------------------------------------------------------------------


def test_pins_equal_is_constant_time(compared: Comparisons) -> None:
    assert pins_equal("pïn", "pïn") and not pins_equal("4711", "4712")
    assert compared.saw("pïn", "pïn") and compared.saw("4711", "4712")


@pytest.mark.parametrize("given", [PIN, "0000", "47110"])
def test_the_pin_of_a_login_is_compared_in_constant_time(compared: Comparisons, given: str) -> None:
    store = MemoryStore()
    store.add(UserRecord("alice", totp().type, KEY, Pin("plain", PIN), UserState()))
    a = Authenticator(store, AuthSettings())
    d = a.login(a.attempt("alice", given + generate(totp(), now=NOW), IP), now=NOW)
    assert d.ok is (given == PIN)
    assert compared.saw(PIN, given)


@pytest.mark.parametrize("scheme", ["{SHA}", "$apr1$"])
def test_htpasswd_hashes_are_compared_in_constant_time(
    compared: Comparisons, tmp_path: Path, scheme: str
) -> None:
    if scheme == "{SHA}":
        stored = base64.b64encode(hashlib.sha1(b"s3cret", usedforsecurity=False).digest()).decode()
        line, want = "{SHA}" + stored, stored
    else:
        line = want = apr1_md5(b"s3cret", b"saltsalt")
    path = tmp_path / "htpasswd"
    path.write_text(f"bob:{line}\n", encoding="utf-8")
    checker = HtpasswdChecker(path)
    assert checker.check("bob", "s3cret") is True
    assert compared.saw(want, want)
    assert checker.check("bob", "wrong") is False
    assert compared.with_operand(want) == 2


# --- the stored last OTP (rules.py) -----------------------------------------------------------


def with_last_otp(code: str) -> UserRecord:
    token = totp()
    st = UserState(
        token=TokenState(0, token.step_at(NOW)), last_otp=code, last_auth=NOW - 10, last_ip=IP
    )
    return UserRecord("alice", token.type, KEY, Pin("plain", PIN), st)


@pytest.mark.parametrize(
    ("settings", "reason"),
    [(AuthSettings(max_linger=600), Reason.LINGER), (AuthSettings(max_linger=0), Reason.REPLAYED)],
    ids=["the cross-process linger", "the replay check"],
)
def test_the_stored_last_otp_is_compared_in_constant_time(
    compared: Comparisons, settings: AuthSettings, reason: Reason
) -> None:
    code = generate(totp(), now=NOW)
    out = rules.transition(with_last_otp(code), PIN + code, IP, NOW, settings, PIN.__eq__)
    assert isinstance(out, rules.Outcome) and out.reason is reason
    assert compared.saw(code, code)


# --- the OTP (verify.py, otp.py) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "policy", "candidates"),
    [
        # Ten digits can take two words of a CPython int: compared as text.
        ("HOTP/T30/10", Policy(window=2), 5),
        # A hex code is compared with each counter's decimal and hex forms.
        ("HOTP/E", Policy(look_ahead=10, accept_hex=True), 22),
        ("MOTP", Policy(window=1), 3),
    ],
    ids=["TOTP 10 digits", "HOTP hex", "Mobile-OTP"],
)
def test_the_code_is_compared_with_every_candidate_in_constant_time(
    compared: Comparisons, kind: str, policy: Policy, candidates: int
) -> None:
    token = Token(parse_token_type(kind), KEY)
    pin = "1234" if kind == "MOTP" else ""
    if policy.accept_hex:
        state, code = TokenState(3), token.hex_code(3)
    else:
        state, code = TokenState(), generate(token, now=NOW, pin=pin)
    compared.clear()
    assert verify(token, state, code, now=NOW, policy=policy, pin=pin).matched >= 3
    assert compared.saw(code, code)
    # No early exit: the time does not tell which candidate matched.
    assert compared.with_operand(code) >= candidates


class _Word(int):
    """A code's value that records what it is compared with (``==`` asks a subclass first)."""

    seen: list[object]

    def __eq__(self, other: object) -> bool:
        self.seen.append(other)
        return int(self) == other

    __hash__ = int.__hash__


def recording_finder(token: Token) -> list[object]:
    """Wrap ``token``'s code finder so that every comparison with the code is recorded."""
    seen: list[object] = []
    find = token._hotp_find

    def recording(counters: Iterable[int], code: int) -> list[int]:
        word = _Word(code)
        word.seen = seen
        seen.append(code)  # the code itself first
        return find(counters, word)

    object.__setattr__(token, "_hotp_find", recording)
    return seen


@pytest.mark.parametrize(
    ("kind", "policy", "candidates"),
    [
        ("HOTP/T30", Policy(window=2), 5),
        ("HOTP/T30/9", Policy(window=1), 3),
        ("HOTP/E", Policy(look_ahead=10), 11),
    ],
    ids=["TOTP", "TOTP 9 digits", "HOTP"],
)
def test_a_decimal_code_is_compared_with_every_candidate_as_one_machine_word(
    compared: Comparisons, kind: str, policy: Policy, candidates: int
) -> None:
    # Up to nine digits, the code and each candidate are ints below 2**30: one word of a
    # CPython int, compared in one machine instruction, which is as constant in time as
    # hmac.compare_digest (otp/algorithms.py WORD_DIGITS).
    token = Token(parse_token_type(kind), KEY)
    seen = recording_finder(token)
    if token.type.is_event:
        state, code = TokenState(3), generate(token, counter=3)
    else:
        state, code = TokenState(), generate(token, now=NOW)
    assert verify(token, state, code, now=NOW, policy=policy).matched >= 3
    value, *candidate_values = seen
    assert value == int(code) and type(value) is int
    # No early exit: every candidate is compared, the matching one included.
    assert len(candidate_values) == candidates and int(code) in candidate_values
    assert all(type(v) is int and 0 <= v < 2**30 for v in seen)
    assert not compared.calls  # nothing compared as text on the way


# --- shared known credentials (state/credentials.py) -----------------------------------------


def test_a_known_credential_tag_is_compared_in_constant_time(compared: Comparisons) -> None:
    mac = HmacKey(b"k" * 32, "SHA256")
    sealed = seal(mac, b"digest", KnownCredential("alice", NOW, IP, b"fp"))
    assert unseal(mac, b"digest", sealed) == KnownCredential("alice", NOW, IP, b"fp")
    tag = sealed[:32]
    assert compared.saw(tag, tag)

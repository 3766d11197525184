"""The PIN policy: what a user may choose as a new PIN."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otpgate.pin_policy import PinPolicy, PinProblem

P = PinPolicy()


@pytest.mark.parametrize(
    ("pin", "problems"),
    [
        ("735191", []),
        ("correct horse", []),
        ("1234", [PinProblem.TOO_SHORT, PinProblem.SEQUENCE]),
        ("00000000", [PinProblem.REPEATED]),
        ("aaaaaa", [PinProblem.REPEATED]),
        ("123456", [PinProblem.SEQUENCE]),
        ("987654", [PinProblem.SEQUENCE]),
        ("abcdefg", [PinProblem.SEQUENCE]),
        ("dora2026", [PinProblem.USER_NAME]),
        ("DORA-DORA", [PinProblem.USER_NAME]),
        (" 735191", [PinProblem.CONTROL]),
        ("7351\x0091", [PinProblem.CONTROL]),
        ("x" * 65, [PinProblem.TOO_LONG, PinProblem.REPEATED]),
        ("", [PinProblem.TOO_SHORT]),
    ],
)
def test_rules(pin: str, problems: list[PinProblem]) -> None:
    assert P.problems(pin, "dora") == problems


def test_confirmation_must_match() -> None:
    assert P.problems("735191", "dora", "735192") == [PinProblem.MISMATCH]
    assert P.problems("735191", "dora", "735191") == []


def test_short_user_names_only_match_exactly() -> None:
    # "al" inside a PIN is not a disclosure; the PIN "al..." equal to it would be.
    assert P.problems("always-51", "al") == []
    assert PinPolicy(min_length=4).problems("jo12", "jo") == []


def test_minimum_is_a_setting_and_checked() -> None:
    assert PinPolicy(min_length=8).problems("7351914", "dora") == [PinProblem.TOO_SHORT]
    for bad in (3, 65):
        with pytest.raises(ValueError):
            PinPolicy(min_length=bad)


@given(st.text(max_size=80), st.text(max_size=20))
def test_never_raises_and_accepted_pins_obey_every_rule(pin: str, user: str) -> None:
    problems = P.problems(pin, user)
    if not problems:
        assert 6 <= len(pin) <= 64 and len(set(pin)) > 1
        assert pin == pin.strip()
        assert not user or pin.casefold() != user.casefold()
